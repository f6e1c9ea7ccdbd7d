"""REST input channel routed through the hand-off gate.

Same request/response as Rasa's ``rest`` channel (``POST /webhooks/rest/webhook`` with
``{sender, message, metadata?, message_id?}`` → list of bot messages), plus:

* a paused conversation's message goes to the handoff API instead of Rasa; the answer is
  then ``[]`` and the header ``X-Atiende-Route`` says ``forwarded`` or ``queued``;
* a clear 400 for a body that is not JSON, lacks ``sender``/``message``, has an empty or
  whitespace-only message, a lone surrogate, or ``metadata`` that is not an object (all were 500);
* 413 with a reply in the shopper's language over ``ATIENDE_MAX_MESSAGE_CHARS``; 429 with a polite
  slow-down (and ``Retry-After``) for a sender flooding the bot (see ``bot/channels/guard.py``),
  and for a turn not admitted (too many turns of this client, or of everyone, in progress:
  ``bot/channels/admission.py``) — never run, so the client resends it;
* identity is never taken from the body: ``input_channel`` in the body is ignored (Rasa's
  ``RestInput`` lets the client name the channel, so a body saying ``"whatsapp"`` made the actions
  treat the sender id as a verified phone), and reserved ``atiende_*`` metadata keys are dropped
  (``bot/channels/identity.py``);
* exactly once when the client sends ``message_id``: the id is claimed in the shared ledger
  (``bot/ledger.py``) before processing, so a resend — after a timeout, a Rasa restart, or to
  another replica — gets the stored answer (header ``X-Atiende-Duplicate: 1``) instead of a second
  turn.
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

from bot.channels.admission import Refused, get_admission
from bot.channels.guard import (
    Busy,
    SenderGuard,
    slow_down_reply,
    text_problem,
    too_long,
    too_long_reply,
)
from bot.channels.identity import client_metadata
from bot.channels.socketio import is_meta_conversation_id
from bot.channels.texts import t, tracker_language
from bot.conversation_pause import recorded_turn
from bot.handoff_gate import get_gate, register_gate_lifecycle
from contracts import web_conversation

logger = logging.getLogger(__name__)


def polite_429(sender_id: str, error: str, text: str, retry_after: float) -> HTTPResponse:
    """A refusal the client resends after ``Retry-After``, with the shopper's text."""
    return response.json({"error": error, "messages": [{"recipient_id": sender_id,
                                                        "text": text}]},
                         status=429, headers={"Retry-After": str(max(1, int(retry_after + 0.5)))})


class HandoffAwareRestInput(RestInput):
    """``rest`` channel whose messages pass the hand-off gate."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = SenderGuard()

    def _extract_input_channel(self, req: Request) -> str:
        """Always ``rest``: the channel is where the message came in, not what the body says."""
        return self.name()

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
            if not isinstance(sender_id, str) or not sender_id or len(sender_id) > 200 \
                    or text_problem(sender_id):
                return response.json({"error": "'sender' (string of 1-200 characters) is "
                                               "required"}, status=400)
            if is_meta_conversation_id(sender_id):
                return response.json({"error": "'sender' must not be a phone number or "
                                               "Messenger id: those conversations belong to "
                                               "the WhatsApp/Messenger channels"}, status=400)
            if web_conversation.is_web_conversation_id(sender_id):  # (secweb, issue #10)
                return response.json({"error": "'sender' is a web widget conversation id: "
                                               "those are opened only through the socket.io "
                                               "channel, with their token"}, status=400)
            if text_problem(text):
                return response.json({"error": text_problem(text)}, status=400)
            raw_metadata = body.get("metadata")
            if raw_metadata is not None and not isinstance(raw_metadata, dict):
                return response.json({"error": "'metadata' must be a JSON object"}, status=400)
            raw_id = body.get("message_id")
            if raw_id is not None and (not isinstance(raw_id, str | int) or isinstance(raw_id, bool)
                                       or not 0 < len(str(raw_id)) <= 200
                                       or text_problem(str(raw_id))):
                return response.json({"error": "'message_id' must be a string of 1-200 "
                                               "characters"}, status=400)
            metadata: dict[str, Any] = client_metadata(raw_metadata)
            agent = getattr(request.app.ctx, "agent", None)
            language = metadata.get("language") if metadata.get("language") in ("es", "en") \
                else (await tracker_language(agent, sender_id) or "es")
            if too_long(text):
                return response.json({"error": "'message' is longer than the limit",
                                      "messages": [{"recipient_id": sender_id,
                                                    "text": too_long_reply(language)}]},
                                     status=413)
            try:
                self.guard.check(sender_id)
            except Busy as busy:
                return polite_429(sender_id, "too many messages from this sender",
                                  slow_down_reply(language), busy.retry_after)
            gate = get_gate(request.app)
            message_id = str(raw_id) if raw_id is not None else uuid.uuid4().hex
            if raw_id is not None:
                claim = await asyncio.to_thread(gate.ledger.claim, "rest", sender_id, message_id)
                if claim.state == "done":
                    answer = claim.answer or {"messages": [], "route": "rasa"}
                    return response.json(answer["messages"], headers={
                        "X-Atiende-Route": answer["route"], "X-Atiende-Duplicate": "1"})
                if claim.state == "processing":
                    return response.json({"error": "this message_id is being processed; "
                                                   "retry in a moment"}, status=409,
                                         headers={"Retry-After": "2"})
                if claim.answer == "taken_over":  # its first process died; did the turn run?
                    turn = await recorded_turn(agent, sender_id, message_id)
                    if turn is not None:
                        await asyncio.to_thread(gate.ledger.done, "rest", sender_id, message_id,
                                                {"messages": turn, "route": "rasa"})
                        return response.json(turn, headers={"X-Atiende-Route": "rasa",
                                                            "X-Atiende-Duplicate": "1"})
            metadata.setdefault("message_id", message_id)
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender_id,
                                  input_channel=self._extract_input_channel(request),
                                  message_id=message_id, metadata=metadata)
            admission, admitted = get_admission(request.app), False
            try:
                async with self.guard.turn(sender_id), \
                        admission.turn(admission.client_of(request)):
                    admitted = True
                    route = await gate.route(agent, message, on_new_message,
                                             message_id=message_id)
            except Refused as refused:  # not run: the client resends it (same id: run once)
                if raw_id is not None:
                    await asyncio.to_thread(gate.ledger.release, "rest", sender_id, message_id)
                logger.info("rest.turn_refused sender=%s message_id=%s reason=%s",
                            web_conversation.fingerprint(sender_id), message_id, refused.reason)
                return polite_429(sender_id, refused.error, t(refused.text_key, language),
                                  refused.retry_after)
            except asyncio.CancelledError:
                logger.error("rest.message_timeout sender=%s message_id=%s",
                             web_conversation.fingerprint(sender_id), message_id)
                if raw_id is not None and not admitted:  # it never ran: the resend may run it
                    await asyncio.shield(asyncio.to_thread(gate.ledger.release, "rest",
                                                           sender_id, message_id))
                raise
            except Exception:
                logger.exception("rest.message_failed sender=%s message_id=%s",
                                 web_conversation.fingerprint(sender_id), message_id)
                if raw_id is not None:
                    await asyncio.to_thread(gate.ledger.release, "rest", sender_id, message_id)
                return response.json({"error": "the message could not be processed"},
                                     status=500)
            if raw_id is not None:
                await asyncio.to_thread(gate.ledger.done, "rest", sender_id, message_id,
                                        {"messages": collector.messages, "route": route.value})
            return response.json(collector.messages, headers={"X-Atiende-Route": route.value})

        register_gate_lifecycle(bp, on_new_message)
        return bp
