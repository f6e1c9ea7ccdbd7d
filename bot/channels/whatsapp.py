"""WhatsApp Cloud API input channel (``whatsapp``): ``/webhooks/whatsapp/webhook``.

GET answers Meta's subscription handshake. POST is authenticated with
``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret), acknowledged at
once with 200 and processed in a background task — a slow model turn must not make Meta
time out and retry. Retries that still happen are dropped by message id (persistent store).

Text, button replies and list replies go to Rasa (replies carry the button payload), unless
the conversation is with an agent (the hand-off gate forwards them). Images, documents, audio
and video are downloaded on arrival and stored (``bot/channels/media_in.py``); stickers,
locations… get a polite reply saying what the bot can read. Delivery statuses (sent,
delivered, read, failed) are recorded. The shopper's number, taken from the signed payload, is
passed to the actions as a verified identity (``metadata.atiende_verified``, E.164
``+5215512345678``; see ``bot/channels/identity.py``) for the order identity check. This is the
only place that sets it, and only after :func:`bot.channels.meta.check_signature` accepted the
delivery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint

from bot.channels import media_in
from bot.channels.coexistence import forward_statuses, handle_echo, whatsapp_echo_text
from bot.channels.guard import too_long, too_long_reply
from bot.channels.identity import verified_phone
from bot.channels.meta import (
    DEFAULT_GRAPH_URL,
    DEFAULT_MAX_BODY_BYTES,
    BackgroundTasks,
    MetaStateStore,
    handle_once,
    setting,
    webhook_blueprint,
)
from bot.channels.options import OfferedOptions
from bot.channels.texts import language_from_phone, t, tracker_language, unsupported_text
from bot.channels.whatsapp_output import WhatsAppOutput
from bot.handoff_gate import get_gate
from bot.outgoing import TurnReplies

logger = logging.getLogger(__name__)

IGNORED_TYPES = {"reaction", "system", "ephemeral"}  # nothing to answer
#: payload of the quick-reply button of order-notice templates (handoff_api.store_events
#: STOP_PAYLOAD): the shopper wants no more order notices
STOP_NOTICES_PAYLOAD = "atiende_stop_order_notices"
STATUSES = ("sent", "delivered", "read", "failed")  # what the console shows


def extract_text(message: dict[str, Any]) -> str | None:
    """What Rasa should read for this message, or None when the type is not readable."""
    kind = message.get("type")
    if kind == "text":
        return str((message.get("text") or {}).get("body", ""))
    if kind == "interactive":
        inter = message.get("interactive") or {}
        reply = inter.get(inter.get("type", ""), {})  # button_reply / list_reply
        return str(reply.get("id") or reply.get("title") or "") or None
    if kind == "button":  # quick-reply button of a template message
        button = message.get("button") or {}
        return str(button.get("payload") or button.get("text") or "") or None
    return None


def senders(payload: dict[str, Any]) -> set[str]:
    """Shoppers whose messages are in this delivery (to keep each one's messages in order) —
    also those a person answered from the business phone (an echo's ``to``)."""
    found = set()
    for entry in payload.get("entry") or []:
        for change in (entry.get("changes") if isinstance(entry, dict) else None) or []:
            value = change.get("value") or {} if isinstance(change, dict) else {}
            for message in value.get("messages") or []:
                if isinstance(message, dict) and message.get("from"):
                    found.add(str(message["from"]))
            for echo in value.get("message_echoes") or []:
                if isinstance(echo, dict) and echo.get("to"):
                    found.add(str(echo["to"]))
    return found


def status_body(status: dict[str, Any]) -> dict[str, Any]:
    """One webhook ``statuses`` item as the handoff API's ``POST /api/channel-statuses`` takes it
    (Meta's error as ``<code> <title>``)."""
    errors = status.get("errors") or []
    error = "; ".join(f"{e.get('code')} {e.get('title', '')}".strip() for e in errors) or None
    try:
        ts = float(status.get("timestamp") or time.time())
    except (TypeError, ValueError):
        ts = time.time()
    return {"external_id": str(status.get("id"))[:200], "status": str(status.get("status")),
            "ts": ts, "error": error[:300] if error else None}


class WhatsAppInput(InputChannel):
    """Meta WhatsApp Cloud API webhook."""

    @classmethod
    def name(cls) -> str:
        return "whatsapp"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        c = credentials or {}
        return cls(
            access_token=setting(c, "access_token", "WHATSAPP_ACCESS_TOKEN"),
            app_secret=setting(c, "app_secret", "WHATSAPP_APP_SECRET"),
            verify_token=setting(c, "verify_token", "WHATSAPP_VERIFY_TOKEN"),
            phone_number_id=setting(c, "phone_number_id", "WHATSAPP_PHONE_NUMBER_ID"),
            graph_url=setting(c, "graph_url", "WHATSAPP_GRAPH_URL", DEFAULT_GRAPH_URL),
            max_body_bytes=int(c.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES),
        )

    def __init__(self, access_token: str = "", app_secret: str = "", verify_token: str = "",
                 phone_number_id: str = "", graph_url: str = DEFAULT_GRAPH_URL,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 state: MetaStateStore | None = None) -> None:
        self.access_token = access_token
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.phone_number_id = phone_number_id
        self.graph_url = graph_url or DEFAULT_GRAPH_URL
        self.max_body_bytes = max_body_bytes
        self.state = state or MetaStateStore()
        self.options = OfferedOptions(database=self.state.db)
        self.tasks = BackgroundTasks()
        self.app: Any = None  # the Sanic app, once served (the shopper's language on hand-backs)
        missing = [n for n, v in (("WHATSAPP_APP_SECRET", app_secret),
                                  ("WHATSAPP_VERIFY_TOKEN", verify_token),
                                  ("WHATSAPP_ACCESS_TOKEN", access_token),
                                  ("WHATSAPP_PHONE_NUMBER_ID", phone_number_id)) if not v]
        if missing:
            logger.warning("whatsapp.not_configured missing=%s: the webhook answers 503 until "
                           "they are set", ",".join(missing))

    def output(self, language: str = "es", replies: TurnReplies | None = None) -> WhatsAppOutput:
        """``replies``: the outgoing ledger of the shopper message whose turn this output serves
        (``bot/outgoing.py``: what reached Meta is not sent again if the turn runs again)."""
        return WhatsAppOutput(self.graph_url, self.phone_number_id, self.access_token,
                              self.state, language, options=self.options,
                              language_of=self.language_of, replies=replies)

    async def language_of(self, conversation_id: str) -> str:
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        return await tracker_language(agent, conversation_id) or \
            language_from_phone(conversation_id)

    def get_output_channel(self) -> OutputChannel | None:
        """Used by ``trigger_intent?output_channel=latest`` (hand-back after an agent)."""
        return self.output()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = webhook_blueprint("whatsapp", self, senders, on_new_message)

        @bp.listener("after_server_start")
        async def _keep_app(app: Any, _loop: Any) -> None:
            self.app = app

        return bp

    # --- background processing ----------------------------------------------------------

    async def process(self, payload: dict[str, Any], app: Any,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Handle every message and status of one webhook delivery."""
        if payload.get("object") != "whatsapp_business_account":
            logger.info("whatsapp.ignored object=%r", payload.get("object"))
            return
        for entry in payload.get("entry") or []:
            for change in entry.get("changes") or []:
                value = change.get("value") or {}
                if change.get("field") == "smb_message_echoes":
                    # a person answered from the WhatsApp Business app: the bot steps aside.
                    # Errors propagate: the delivery stays in the inbox and is retried.
                    for echo in value.get("message_echoes") or []:
                        await self.handle_echo(echo, app)
                    continue
                if change.get("field") != "messages":
                    logger.info("whatsapp.ignored field=%r", change.get("field"))
                    continue
                names = {c.get("wa_id"): (c.get("profile") or {}).get("name")
                         for c in value.get("contacts") or []}
                statuses = value.get("statuses") or []
                for status in statuses:
                    await self.handle_status(status)
                if statuses:
                    await forward_statuses(app, "whatsapp", [
                        status_body(s) for s in statuses
                        if s.get("id") and s.get("status") in STATUSES])
                for message in value.get("messages") or []:
                    try:
                        await self.handle_message(message, names, app, on_new_message)
                    except Exception:
                        logger.exception("whatsapp.message_failed id=%s", message.get("id"))

    async def handle_status(self, status: dict[str, Any]) -> None:
        errors = status.get("errors") or []
        error = "; ".join(f"{e.get('code')} {e.get('title', '')}".strip() for e in errors) or None
        await self.state.record_status("whatsapp", str(status.get("id")),
                                       status.get("recipient_id"), str(status.get("status")),
                                       float(status.get("timestamp") or time.time()), error)
        log = logger.warning if status.get("status") == "failed" else logger.info
        log("whatsapp.status id=%s to=%s status=%s%s", status.get("id"),
            status.get("recipient_id"), status.get("status"), f" error={error}" if error else "")

    async def handle_echo(self, echo: dict[str, Any], app: Any) -> None:
        """One ``smb_message_echoes`` item: the business (``from``) wrote to ``to``."""
        message_id, to = str(echo.get("id") or ""), str(echo.get("to") or "")
        if not message_id or not to.isdigit():
            logger.warning("whatsapp.echo_ignored: no id or recipient")
            return
        if str(echo.get("type")) in ("revoke", "reaction", "edit"):
            logger.info("whatsapp.echo_ignored id=%s type=%s", message_id, echo.get("type"))
            return
        agent = getattr(app.ctx, "agent", None)
        language = await tracker_language(agent, to) or language_from_phone(to)
        await handle_echo(app, channel="whatsapp", conversation_id=to, message_id=message_id,
                          text=whatsapp_echo_text(echo),
                          ts=float(echo.get("timestamp") or time.time()), language=language)

    async def handle_message(self, message: dict[str, Any], names: dict[str, Any], app: Any,
                             on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        message_id, sender = str(message.get("id", "")), str(message.get("from", ""))
        if not message_id or not sender:
            logger.warning("whatsapp.message_ignored: no id or sender")
            return
        agent = getattr(app.ctx, "agent", None)
        handled = await handle_once(app, agent, "whatsapp", sender, message_id,
                                    lambda: self._handle(message, names, app, on_new_message,
                                                         message_id, sender))
        if not handled:
            logger.info("whatsapp.duplicate id=%s from=%s: already handled (Meta retry)",
                        message_id, sender)

    async def _handle(self, message: dict[str, Any], names: dict[str, Any], app: Any,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]], message_id: str,
                      sender: str) -> None:
        ts = float(message.get("timestamp") or time.time())
        await self.state.record_inbound("whatsapp", sender, ts)
        kind = str(message.get("type"))
        logger.info("whatsapp.received id=%s from=%s type=%s", message_id, sender, kind)
        if kind in IGNORED_TYPES:
            return
        agent = getattr(app.ctx, "agent", None)
        gate = get_gate(app)
        language = await tracker_language(agent, sender) or language_from_phone(sender)
        output = self.output(language, TurnReplies(gate.ledger.outgoing, "whatsapp", sender,
                                                   message_id))
        metadata = {"phone": f"+{sender}", "message_id": message_id, "channel": "whatsapp",
                    "language": language, "whatsapp_name": names.get(sender),
                    **verified_phone(self.name(), sender)}
        text = extract_text(message)
        incoming = media_in.whatsapp_incoming(message) if text is None else None
        if incoming is not None:  # downloaded now: Meta's media URL expires within minutes
            turn = await media_in.whatsapp_turn(self, incoming, sender, language, agent, gate,
                                                output)
            if turn.text is None:
                return
            text = turn.text
            metadata.update(turn.metadata)
        if text is None:
            if await gate.is_paused(agent, sender):
                # The agent must know the shopper sent something they cannot see here.
                text = f"[{kind}]"
            else:
                logger.info("whatsapp.unsupported id=%s type=%s lang=%s", message_id, kind,
                            language)
                await output.send_text_message(sender, unsupported_text(kind, language))
                return
        if too_long(text):
            await output.send_text_message(sender, too_long_reply(language))
            return
        if kind == "text":  # "2" after a menu sent as text is that option's payload
            text = await self.options.resolve("whatsapp", sender, text)
        if kind == "button" and text == STOP_NOTICES_PAYLOAD:
            stopped = await gate.client.opt_out_notices(phone=sender)
            logger.info("whatsapp.notices_opt_out id=%s recorded=%s", message_id, stopped)
            await output.send_text_message(
                sender, t("notices_stopped" if stopped else "notices_stop_failed", language))
            return
        user_message = UserMessage(text, output, sender, input_channel=self.name(),
                                   message_id=message_id, metadata=metadata)
        route = await gate.route(agent, user_message, on_new_message, message_id=message_id,
                                 ts=ts)
        logger.info("whatsapp.routed id=%s from=%s route=%s", message_id, sender, route.value)
