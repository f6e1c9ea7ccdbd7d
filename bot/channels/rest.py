"""REST input channel routed through the hand-off gate.

Same request/response as Rasa's ``rest`` channel (``POST /webhooks/rest/webhook`` with
``{sender, message, metadata?, message_id?}`` → list of bot messages), plus:

* a paused conversation's message goes to the handoff API instead of Rasa; the answer is
  then ``[]`` and the header ``X-Atiende-Route`` says ``forwarded`` or ``queued``;
* a clear 400 for a body that is not JSON or lacks ``sender``/``message``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.socketio import is_meta_conversation_id
from bot.handoff_gate import get_gate, register_gate_lifecycle

logger = logging.getLogger(__name__)


class HandoffAwareRestInput(RestInput):
    """``rest`` channel whose messages pass the hand-off gate."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:
                body = None
            if not isinstance(body, dict):
                return response.json({"error": "body must be a JSON object"}, status=400)
            sender_id, text = body.get("sender"), body.get("message")
            if not isinstance(sender_id, str) or not sender_id:
                return response.json({"error": "'sender' (string) is required"}, status=400)
            if is_meta_conversation_id(sender_id):
                return response.json({"error": "'sender' must not be a phone number or "
                                               "Messenger id: those conversations belong to "
                                               "the WhatsApp/Messenger channels"}, status=400)
            if not isinstance(text, str):
                return response.json({"error": "'message' (string) is required"}, status=400)
            metadata: dict[str, Any] = dict(body.get("metadata") or {})
            message_id = str(body.get("message_id") or uuid.uuid4().hex)
            metadata.setdefault("message_id", message_id)
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender_id,
                                  input_channel=self._extract_input_channel(request),
                                  metadata=metadata)
            agent = getattr(request.app.ctx, "agent", None)
            try:
                route = await get_gate(request.app).route(agent, message, on_new_message,
                                                          message_id=message_id)
            except asyncio.CancelledError:
                logger.error("rest.message_timeout sender=%s message_id=%s", sender_id,
                             message_id)
                raise
            except Exception:
                logger.exception("rest.message_failed sender=%s message_id=%s", sender_id,
                                 message_id)
                return response.json({"error": "the message could not be processed"},
                                     status=500)
            return response.json(collector.messages, headers={"X-Atiende-Route": route.value})

        register_gate_lifecycle(bp)
        return bp
