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

from bot.channels.meta import (
    DEFAULT_GRAPH_URL,
    DEFAULT_MAX_BODY_BYTES,
    BackgroundTasks,
    MetaStateStore,
    graph_post,
    setting,
    webhook_blueprint,
)
from bot.channels.texts import tracker_language, unsupported_text
from bot.channels.whatsapp_output import clip, split_text
from bot.handoff_gate import get_gate

logger = logging.getLogger(__name__)

TEXT_LIMIT = 2000
MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_LIMIT = 20


class MessengerOutput(OutputChannel):
    """Send API (``POST /me/messages``) output; buttons become quick replies."""

    @classmethod
    def name(cls) -> str:
        return "messenger"

    def __init__(self, graph_url: str, page_access_token: str) -> None:
        self.url = f"{graph_url.rstrip('/')}/me/messages"
        self.token = page_access_token

    async def _send(self, recipient_id: str, message: dict[str, Any]) -> None:
        body = {"recipient": {"id": recipient_id}, "messaging_type": "RESPONSE",
                "message": message}
        answer = await graph_post(self.url, self.token, body, channel="messenger")
        if answer is not None:
            logger.info("messenger.sent to=%s mid=%s", recipient_id, answer.get("message_id"))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for chunk in split_text(text, TEXT_LIMIT):
            await self._send(recipient_id, {"text": chunk})

    async def send_text_with_buttons(self, recipient_id: str, text: str,
                                     buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        chunks = split_text(text or "", TEXT_LIMIT) or ["…"]
        for chunk in chunks[:-1]:
            await self._send(recipient_id, {"text": chunk})
        if len(buttons) > MAX_QUICK_REPLIES:
            logger.warning("messenger.too_many_buttons %d: sending the first %d",
                           len(buttons), MAX_QUICK_REPLIES)
        quick = [{"content_type": "text",
                  "title": clip(b.get("title", ""), QUICK_REPLY_TITLE_LIMIT),
                  "payload": str(b.get("payload") or b.get("title", ""))[:1000]}
                 for b in buttons[:MAX_QUICK_REPLIES]]
        await self._send(recipient_id, {"text": chunks[-1], "quick_replies": quick})

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
    return {str((e.get("sender") or {}).get("id")) for entry in payload.get("entry") or []
            for e in (entry.get("messaging") if isinstance(entry, dict) else None) or []
            if isinstance(e, dict)}

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
        )

    def __init__(self, page_access_token: str = "", app_secret: str = "",
                 verify_token: str = "", graph_url: str = DEFAULT_GRAPH_URL,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 state: MetaStateStore | None = None) -> None:
        self.page_access_token = page_access_token
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.graph_url = graph_url or DEFAULT_GRAPH_URL
        self.max_body_bytes = max_body_bytes
        self.state = state or MetaStateStore()
        self.tasks = BackgroundTasks()
        missing = [n for n, v in (("MESSENGER_APP_SECRET", app_secret),
                                  ("MESSENGER_VERIFY_TOKEN", verify_token),
                                  ("MESSENGER_PAGE_ACCESS_TOKEN", page_access_token)) if not v]
        if missing:
            logger.warning("messenger.not_configured missing=%s: the webhook answers 503 "
                           "until they are set", ",".join(missing))

    def get_output_channel(self) -> OutputChannel | None:
        return MessengerOutput(self.graph_url, self.page_access_token)

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
            for mid in (event.get("delivery") or {}).get("mids") or [kind]:
                await self.state.record_status("messenger", mid, sender, kind,
                                               float(event.get("timestamp") or 0) / 1000)
            logger.info("messenger.status sender=%s %s", sender, kind)
            return
        if (event.get("message") or {}).get("is_echo"):
            return  # our own outgoing message echoed back
        if "message" not in event and "postback" not in event:
            logger.info("messenger.ignored_event keys=%s", sorted(event))
            return
        mid, text, unsupported = extract(event)
        if not sender or not mid:
            logger.warning("messenger.event_ignored: no sender or mid")
            return
        if not await self.state.claim("messenger", mid):
            logger.info("messenger.duplicate mid=%s sender=%s: already handled", mid, sender)
            return
        ts = float(event.get("timestamp") or time.time() * 1000) / 1000
        await self.state.record_inbound("messenger", sender, ts)
        agent = getattr(app.ctx, "agent", None)
        gate = get_gate(app)
        output = MessengerOutput(self.graph_url, self.page_access_token)
        if text is None:
            if await gate.is_paused(agent, sender):
                text = f"[{unsupported}]"
            else:
                language = await tracker_language(agent, sender) or "es"
                await output.send_text_message(sender, unsupported_text(unsupported or "",
                                                                        language))
                return
        message = UserMessage(text, output, sender, input_channel=self.name(),
                              metadata={"message_id": mid, "channel": "messenger"})
        route = await gate.route(agent, message, on_new_message, message_id=mid, ts=ts)
        logger.info("messenger.routed mid=%s sender=%s route=%s", mid, sender, route.value)
