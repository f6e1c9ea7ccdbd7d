"""The hand-back endpoint the handoff API calls when a handoff ends:
``POST /webhooks/atiende/handback`` (``Authorization: Bearer $HANDOFF_BOT_TOKEN``).

Rasa's own HTTP API can resume a conversation and trigger an intent, but it cannot feed a text
message to the bot on the shopper's socket.io / WhatsApp / Messenger channel — and the messages
that arrived while the handoff was closing must be answered by someone. So the hand-back comes
here, to the process that owns the channels: :meth:`bot.handoff_gate.HandoffGate.take_back`
resumes, lets the bot speak (``/handoff_ended{"handoff_outcome": …}``) and gives it the pending
messages, once per ``outbox_id`` however often the API retries.

The body is checked against the contract (``contracts/handoff_api.openapi.json``, schema
``HandbackIn``, the API's ``handback`` webhook): 400 when it is not a JSON object, 422 with the
field and rule when it breaks the contract, 401 without the bot token.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.handoff_gate import get_gate, register_gate_lifecycle

logger = logging.getLogger(__name__)
CONTRACT_SCHEMA = "HandbackIn"  # contracts/handoff_api.openapi.json, webhook "handback"


def _problems(body: Any) -> list[str]:
    """Why ``body`` is not a hand-back of the contract (field and rule, never the values)."""
    import contracts

    if not isinstance(body, dict):
        return ["body must be a JSON object"]
    return contracts.problems(CONTRACT_SCHEMA, body)


class HandbackInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "atiende"

    def __init__(self, token: str | None = None) -> None:
        self.token = token if token is not None else os.environ.get("HANDOFF_BOT_TOKEN", "")

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("atiende_handback", __name__)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            gate = get_gate(request.app)
            return response.json({"status": "ok", "outbox": await gate.outbox.counts()})

        @bp.route("/handback", methods=["POST"])
        async def handback(request: Request) -> HTTPResponse:
            presented = request.headers.get("authorization", "")
            expected = f"Bearer {self.token}"
            if not self.token or not hmac.compare_digest(presented.encode(), expected.encode()):
                return response.json({"detail": "missing or wrong bot token"}, status=401)
            try:
                body = request.json
            except Exception:
                body = None
            if not isinstance(body, dict):
                return response.json({"detail": "body must be a JSON object"}, status=400)
            problems = _problems(body)
            if problems:
                logger.warning("handback.refused: %s", "; ".join(problems))
                return response.json({"detail": problems}, status=422)
            gate = get_gate(request.app)
            gate.bind(request.app, on_new_message)
            # shielded: if the API hangs up (its timeout, or it was killed) the hand-back still
            # runs to the end here; its retry finds it done. Cancelled half-way, it left a message
            # claimed "processing" that the retry then skipped: lost (found by tests/faults)
            status = await asyncio.shield(gate.take_back(body))
            logger.info("handback.%s handoff=%s outcome=%s messages=%d", status,
                        body["handoff_id"], body["outcome"], len(body.get("messages") or []))
            return response.json({"status": status})

        register_gate_lifecycle(bp, on_new_message)
        return bp
