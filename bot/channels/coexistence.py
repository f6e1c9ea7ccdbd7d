"""A person answering from the business's own phone, and what Meta says about our messages.

**Coexistence** (issue #17). Many small shops keep answering from the WhatsApp Business app on the
number the bot uses, or from the Facebook page's inbox. Meta reports those replies as *echoes*:
WhatsApp's ``smb_message_echoes`` webhook field (``value.message_echoes[]``: ``from`` the business,
``to`` the shopper) and Messenger's ``message`` events with ``is_echo: true`` whose ``app_id`` is
not ours (our own sends carry ``metadata: "atiende"``, see :data:`OUR_METADATA`). A person has
spoken, so the bot must stop talking over them: :func:`handle_echo` asks the handoff API to open a
handoff with reason ``answered_from_phone`` (or to add the reply to the open one) and then pauses
the Rasa conversation, so the gate sends the shopper's next messages to the console. The usual
hand-back from the console resumes the bot. The echo is processed from the durable webhook inbox:
when the handoff API cannot be reached the error propagates, the delivery stays pending and is
retried — the bot is never left talking because a request was lost. An echo does not open or
extend the 24-hour window (it is not the shopper writing).

**Statuses**. Delivery statuses (``sent``, ``delivered``, ``read``, ``failed`` with Meta's error
code) are forwarded to the handoff API (``POST /api/channel-statuses``), which shows them on the
agent's messages in the console; Messenger's ``read`` carries a watermark (everything sent before
it was read) instead of ids. Best effort: they are also kept in the channel state
(:mod:`bot.channels.meta_state`), and a lost tick never loses a shopper's message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.channels.meta import handle_once
from bot.handoff_client import iso_ts
from bot.handoff_gate import get_gate
from contracts.web_conversation import fingerprint

logger = logging.getLogger(__name__)

ECHO_REASON = "answered_from_phone"
OUR_METADATA = "atiende"  # Messenger echoes our own sends back with this metadata
TRANSCRIPT_TURNS = 30


class EchoNotStored(RuntimeError):
    """The handoff API did not store the echo; the webhook delivery is retried."""


def whatsapp_echo_text(echo: dict[str, Any]) -> str:
    kind = str(echo.get("type") or "")
    if kind == "text":
        return str((echo.get("text") or {}).get("body") or "").strip() or "[text]"
    caption = str((echo.get(kind) or {}).get("caption") or "") if isinstance(
        echo.get(kind), dict) else ""
    return f"[{kind or 'message'}] {caption}".strip()


def messenger_echo_text(message: dict[str, Any]) -> str:
    if message.get("text"):
        return str(message["text"])
    attachments = message.get("attachments") or [{}]
    return f"[{attachments[0].get('type') or 'file'}]"


def is_our_messenger_echo(message: dict[str, Any], app_id: str) -> bool:
    """Our own send echoed back (bot or agent relay), not a person on the page's inbox."""
    if str(message.get("metadata") or "") == OUR_METADATA:
        return True
    return bool(app_id) and str(message.get("app_id") or "") == str(app_id)


async def recent_transcript(agent: Any, sender_id: str) -> list[dict[str, Any]]:
    """The last user/bot turns of the conversation, for the agent's context."""
    from rasa.shared.core.events import BotUttered, UserUttered

    store = getattr(agent, "tracker_store", None)
    if store is None:
        return []
    try:
        tracker = await store.retrieve(sender_id)
    except Exception:
        logger.exception("coexistence.transcript_failed sender=%s", fingerprint(sender_id))
        return []
    if tracker is None:
        return []
    turns = []
    for event in tracker.events:
        if isinstance(event, UserUttered) and event.text:
            turns.append({"role": "user", "text": event.text[:20000], "ts": event.timestamp})
        elif isinstance(event, BotUttered) and event.text:
            turns.append({"role": "bot", "text": event.text[:20000], "ts": event.timestamp})
    return turns[-TRANSCRIPT_TURNS:]


async def pause_conversation(agent: Any, sender_id: str) -> bool:
    """Pause the conversation in Rasa (``ConversationPaused``, under its lock), creating the
    tracker when the business wrote first; False when it was paused already."""
    from rasa.shared.core.events import ConversationPaused

    from bot.conversation_pause import async_cm

    store = getattr(agent, "tracker_store", None)
    if store is None:
        raise EchoNotStored("no tracker store to pause the conversation in")
    lock_store = getattr(agent, "lock_store", None)
    lock = lock_store.lock(sender_id) if lock_store is not None else contextlib.nullcontext()
    async with async_cm(lock):
        tracker = await store.get_or_create_tracker(sender_id)
        if tracker.is_paused():
            return False
        tracker.update(ConversationPaused())
        await store.save(tracker)
    logger.info("coexistence.paused sender=%s reason=%s", fingerprint(sender_id), ECHO_REASON)
    return True


async def _post(gate: Any, path: str, body: dict[str, Any]) -> tuple[int, str]:
    client = gate.client
    headers = {"Authorization": f"Bearer {client.token}"}
    async with client._session().post(f"{client.base_url}{path}", json=body,
                                      headers=headers) as resp:
        return resp.status, (await resp.text())[:300]


async def report_echo(gate: Any, *, conversation_id: str, message_id: str, text: str, ts: float,
                      channel: str, language: str | None,
                      transcript: list[dict[str, Any]]) -> None:
    body = {"message_id": message_id, "text": text[:20000] or "…", "ts": iso_ts(ts),
            "channel": channel, "language": language if language in ("es", "en") else "es",
            "transcript": transcript}
    path = f"/api/conversations/{quote(conversation_id, safe='')}/echoes"
    try:
        status, detail = await _post(gate, path, body)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        raise EchoNotStored(f"handoff API unreachable: {type(exc).__name__}") from None
    if not 200 <= status < 300:
        raise EchoNotStored(f"handoff API answered HTTP {status}: {detail[:120]}")


async def handle_echo(app: Any, *, channel: str, conversation_id: str, message_id: str,
                      text: str, ts: float, language: str | None) -> bool:
    """Store the echo with the handoff API and pause the bot, exactly once per echo id; raises
    :class:`EchoNotStored` so the webhook delivery is retried."""
    agent = getattr(app.ctx, "agent", None)
    gate = get_gate(app)

    async def handle() -> None:
        transcript = await recent_transcript(agent, conversation_id)
        await report_echo(gate, conversation_id=conversation_id, message_id=message_id,
                          text=text, ts=ts, channel=channel, language=language,
                          transcript=transcript)
        await pause_conversation(agent, conversation_id)

    handled = await handle_once(app, agent, f"{channel}_echo", conversation_id, message_id,
                                handle)
    logger.info("%s.echo id=%s to=%s %s", channel, message_id, fingerprint(conversation_id),
                "paused the bot" if handled else "already handled")
    return handled


async def forward_statuses(app: Any, channel: str, statuses: list[dict[str, Any]],
                           read_watermark: dict[str, Any] | None = None) -> bool:
    """Tell the handoff API about delivery statuses; False (logged) when it could not."""
    if not statuses and not read_watermark:
        return True
    body: dict[str, Any] = {"channel": channel, "statuses": statuses[:500]}
    if read_watermark:
        body["read_watermark"] = read_watermark
    try:
        status, detail = await _post(get_gate(app), "/api/channel-statuses", body)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        logger.warning("%s.statuses_not_forwarded %s", channel, type(exc).__name__)
        return False
    if not 200 <= status < 300:
        logger.warning("%s.statuses_not_forwarded HTTP %s: %s", channel, status, detail[:120])
        return False
    return True
