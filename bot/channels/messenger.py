"""Facebook Messenger input channel (``messenger``): ``/webhooks/messenger/webhook``.

Rasa's built-in ``facebook`` connector checks the old SHA-1 ``X-Hub-Signature`` with ``==``
and processes the event before answering. This one checks ``X-Hub-Signature-256`` in
constant time, answers 200 first and processes in the background, drops Meta's retries by
message id (``mid``), sends buttons as quick replies, and treats postbacks like button taps.
Every message passes the hand-off gate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint

from bot.channels import media_in
from bot.channels.coexistence import (
    OUR_METADATA,
    forward_statuses,
    handle_echo,
    is_our_messenger_echo,
    messenger_echo_text,
)
from bot.channels.formatting import to_plain
from bot.channels.guard import too_long, too_long_reply
from bot.channels.meta import (
    DEFAULT_GRAPH_URL,
    DEFAULT_MAX_BODY_BYTES,
    BackgroundTasks,
    MetaStateStore,
    graph_post,
    graph_send,
    handle_once,
    setting,
    webhook_blueprint,
)
from bot.channels.options import OfferedOptions, numbered_text, payloads
from bot.channels.texts import tracker_language, unsupported_text
from bot.channels.whatsapp_output import clip, split_text
from bot.handoff_gate import get_gate
from bot.outgoing import TurnReplies

logger = logging.getLogger(__name__)

TEXT_LIMIT = 2000
MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_LIMIT = 20
WINDOW_CODES = {10, 551}  # outside the allowed window / person not available: text fails too


class MessengerOutput(OutputChannel):
    """Send API (``POST /me/messages``) output: plain text (Markdown answers flattened by
    :func:`bot.channels.formatting.to_plain`); buttons become quick replies."""

    @classmethod
    def name(cls) -> str:
        return "messenger"

    def __init__(self, graph_url: str, page_access_token: str,
                 options: OfferedOptions | None = None,
                 replies: TurnReplies | None = None) -> None:
        self.url = f"{graph_url.rstrip('/')}/me/messages"
        self.token = page_access_token
        self.options = options
        #: the turn's outgoing ledger (``bot/outgoing.py``): a turn run again after a crash does
        #: not send again what reached Meta; None outside a shopper message's turn
        self.replies = replies

    async def _post(self, body: dict[str, Any]) -> Any:
        """:func:`graph_post`, once per turn (a reply that went out before answers ``{}``)."""
        def post() -> Any:
            return graph_post(self.url, self.token, body, channel="messenger")
        if self.replies is None:
            return await post()
        return await self.replies.send(body, post, lambda a: a is not None, {})

    async def _post_detailed(self, body: dict[str, Any]) -> Any:
        """:func:`graph_send`, once per turn (a reply that went out before: ``({}, 200, None)``)."""
        def post() -> Any:
            return graph_send(self.url, self.token, body, channel="messenger")
        if self.replies is None:
            return await post()
        return await self.replies.send(body, post, lambda a: a[0] is not None, ({}, 200, None))

    @staticmethod
    def body(recipient_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """A bot message: always ``RESPONSE``, never a message tag (``HUMAN_AGENT`` is for a
        person's replies only, issue #17); the metadata tells its echo from a person's reply."""
        return {"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE",
                "message": {**message, "metadata": OUR_METADATA}}

    async def _send(self, recipient_id: str, message: dict[str, Any]) -> None:
        answer = await self._post(self.body(recipient_id, message))
        if answer is not None:
            logger.info("messenger.sent to=%s mid=%s", recipient_id, answer.get("message_id"))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for chunk in split_text(to_plain(text), TEXT_LIMIT):  # Markdown answers as plain text
            await self._send(recipient_id, {"text": chunk})

    async def send_text_with_buttons(self, recipient_id: str, text: str,
                                     buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        if len(buttons) > MAX_QUICK_REPLIES:
            logger.info("messenger.too_many_buttons %d > %d: sending the menu as text",
                        len(buttons), MAX_QUICK_REPLIES)
            await self.send_menu_as_text(recipient_id, text, buttons)
            return
        chunks = split_text(to_plain(text or ""), TEXT_LIMIT) or ["…"]
        for chunk in chunks[:-1]:
            await self._send(recipient_id, {"text": chunk})
        quick = [{"content_type": "text",
                  "title": clip(b.get("title", ""), QUICK_REPLY_TITLE_LIMIT),
                  "payload": str(b.get("payload") or b.get("title", ""))[:1000]}
                 for b in buttons]
        answer, status, code = await self._post_detailed(
            self.body(recipient_id, {"text": chunks[-1], "quick_replies": quick}))
        if answer is None and 400 <= status < 500 and status != 429 and \
                code not in WINDOW_CODES:
            logger.warning("messenger.quick_replies_refused to=%s code=%s: sending the menu as "
                           "text", recipient_id, code)
            await self.send_menu_as_text(recipient_id, chunks[-1], buttons)

    async def send_menu_as_text(self, recipient_id: str, text: str,
                                buttons: list[dict[str, Any]]) -> None:
        if self.options is not None:
            await self.options.remember("messenger", recipient_id, payloads(buttons))
        await self.send_text_message(recipient_id, numbered_text(to_plain(text or ""), buttons))

    async def send_quick_replies(self, recipient_id: str, text: str,
                                 quick_replies: list[dict[str, Any]], **kwargs: Any) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(recipient_id, {"attachment": {"type": "image", "payload": {
            "url": image, "is_reusable": True}}})

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any],
                               **kwargs: Any) -> None:
        raw = json_message.get("messenger") if isinstance(json_message, dict) else None
        if isinstance(raw, dict):
            await self._send(recipient_id, raw)


def extract(event: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(message id, text for Rasa, unsupported kind) of one ``messaging`` event."""
    if "postback" in event:
        postback = event["postback"] or {}
        mid = postback.get("mid") or f"postback:{event.get('sender', {}).get('id')}:" \
                                     f"{event.get('timestamp')}"
        return mid, str(postback.get("payload") or postback.get("title") or ""), None
    message = event.get("message") or {}
    mid = message.get("mid")
    if (message.get("quick_reply") or {}).get("payload"):
        return mid, str(message["quick_reply"]["payload"]), None
    if message.get("text"):
        return mid, str(message["text"]), None
    attachments = message.get("attachments") or [{}]
    return mid, None, str(attachments[0].get("type") or "file")



def senders(payload: dict[str, Any]) -> set[str]:
    """Page-scoped ids of the shoppers in this delivery (to keep each one's messages in order)."""
    return {str((e.get("recipient") if (e.get("message") or {}).get("is_echo")
                 else e.get("sender") or {}).get("id"))  # an echo's shopper is its recipient
            for entry in payload.get("entry") or []
            for e in (entry.get("messaging") if isinstance(entry, dict) else None) or []
            if isinstance(e, dict) and isinstance(e.get("recipient") or {}, dict)}

class MessengerInput(InputChannel):
    """Meta Messenger Platform webhook."""

    @classmethod
    def name(cls) -> str:
        return "messenger"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        c = credentials or {}
        return cls(
            page_access_token=setting(c, "page_access_token", "MESSENGER_PAGE_ACCESS_TOKEN"),
            app_secret=setting(c, "app_secret", "MESSENGER_APP_SECRET"),
            verify_token=setting(c, "verify_token", "MESSENGER_VERIFY_TOKEN"),
            graph_url=setting(c, "graph_url", "MESSENGER_GRAPH_URL", DEFAULT_GRAPH_URL),
            max_body_bytes=int(c.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES),
            app_id=setting(c, "app_id", "MESSENGER_APP_ID"),
        )

    def __init__(self, page_access_token: str = "", app_secret: str = "",
                 verify_token: str = "", graph_url: str = DEFAULT_GRAPH_URL,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 state: MetaStateStore | None = None, app_id: str = "") -> None:
        self.page_access_token = page_access_token
        self.app_id = app_id  # echoes of our own app's sends are ours, not a person's
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.graph_url = graph_url or DEFAULT_GRAPH_URL
        self.max_body_bytes = max_body_bytes
        self.state = state or MetaStateStore()
        self.options = OfferedOptions(database=self.state.db)
        self.tasks = BackgroundTasks()
        missing = [n for n, v in (("MESSENGER_APP_SECRET", app_secret),
                                  ("MESSENGER_VERIFY_TOKEN", verify_token),
                                  ("MESSENGER_PAGE_ACCESS_TOKEN", page_access_token)) if not v]
        if missing:
            logger.warning("messenger.not_configured missing=%s: the webhook answers 503 "
                           "until they are set", ",".join(missing))

    def get_output_channel(self) -> OutputChannel | None:
        return MessengerOutput(self.graph_url, self.page_access_token, self.options)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return webhook_blueprint("messenger", self, senders, on_new_message)

    async def process(self, payload: dict[str, Any], app: Any,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        if payload.get("object") != "page":
            logger.info("messenger.ignored object=%r", payload.get("object"))
            return
        for entry in payload.get("entry") or []:
            for event in entry.get("messaging") or []:
                try:
                    await self.handle_event(event, app, on_new_message)
                except Exception:
                    logger.exception("messenger.event_failed")

    async def handle_event(self, event: dict[str, Any], app: Any,
                           on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        sender = str((event.get("sender") or {}).get("id", ""))
        if "delivery" in event or "read" in event:
            kind = "delivery" if "delivery" in event else "read"
            mids = [str(m) for m in (event.get("delivery") or {}).get("mids") or []]
            for mid in mids or [kind]:
                await self.state.record_status("messenger", mid, sender, kind,
                                               float(event.get("timestamp") or 0) / 1000)
            logger.info("messenger.status sender=%s %s", sender, kind)
            watermark = (event.get(kind) or {}).get("watermark")
            await forward_statuses(
                app, "messenger",
                [{"external_id": m[:200], "status": "delivered"} for m in mids],
                {"conversation_id": sender, "ts": float(watermark) / 1000}
                if kind == "read" and watermark and sender else None)
            return
        message = event.get("message") or {}
        if message.get("is_echo"):
            if is_our_messenger_echo(message, self.app_id):
                return  # our own outgoing message echoed back
            # a person answered on the page's inbox (or the Pages app): the bot steps aside
            shopper = str((event.get("recipient") or {}).get("id") or "")
            mid = str(message.get("mid") or "")
            if shopper and mid:
                agent = getattr(app.ctx, "agent", None)
                await handle_echo(app, channel="messenger", conversation_id=shopper,
                                  message_id=mid, text=messenger_echo_text(message),
                                  ts=float(event.get("timestamp") or time.time() * 1000) / 1000,
                                  language=await tracker_language(agent, shopper))
            return
        if "message" not in event and "postback" not in event:
            logger.info("messenger.ignored_event keys=%s", sorted(event))
            return
        mid, text, unsupported = extract(event)
        if not sender or not mid:
            logger.warning("messenger.event_ignored: no sender or mid")
            return
        handled = await handle_once(app, getattr(app.ctx, "agent", None), "messenger", sender, mid,
                                    lambda: self._handle(event, app, on_new_message, mid, sender,
                                                         text, unsupported))
        if not handled:
            logger.info("messenger.duplicate mid=%s sender=%s: already handled", mid, sender)

    async def _handle(self, event: dict[str, Any], app: Any,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]], mid: str,
                      sender: str, text: str | None, unsupported: str | None) -> None:
        ts = float(event.get("timestamp") or time.time() * 1000) / 1000
        await self.state.record_inbound("messenger", sender, ts)
        agent = getattr(app.ctx, "agent", None)
        gate = get_gate(app)
        replies = TurnReplies(gate.ledger.outgoing, "messenger", sender, mid)
        output = MessengerOutput(self.graph_url, self.page_access_token, self.options, replies)
        metadata = {"message_id": mid, "channel": "messenger"}
        incoming = media_in.messenger_incoming(event) if text is None else []
        if incoming:  # downloaded now: attachment URLs expire
            language = await tracker_language(agent, sender) or "es"
            turn = await media_in.messenger_turn(incoming, sender, language, agent, gate, output)
            if turn.text is None:
                return
            text = turn.text
            metadata.update(turn.metadata)
        if text is None:
            if await gate.is_paused(agent, sender):
                text = f"[{unsupported}]"
            else:
                language = await tracker_language(agent, sender) or "es"
                await output.send_text_message(sender, unsupported_text(unsupported or "",
                                                                        language))
                return
        if too_long(text):
            language = await tracker_language(agent, sender) or "es"
            await output.send_text_message(sender, too_long_reply(language))
            return
        text = await self.options.resolve("messenger", sender, text)  # "2" after a text menu
        message = UserMessage(text, output, sender, input_channel=self.name(), message_id=mid,
                              metadata=metadata)
        route = await gate.route(agent, message, on_new_message, message_id=mid, ts=ts)
        logger.info("messenger.routed mid=%s sender=%s route=%s", mid, sender, route.value)
