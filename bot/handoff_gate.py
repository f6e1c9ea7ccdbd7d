"""The hand-off gate: decides, before NLU, whether a shopper message goes to Rasa or to a human.

Rasa 3.6 pauses a conversation with ``ConversationPaused`` but still runs NLU (and records
intents) for every message that arrives while paused, and it has no notion of "an agent is
answering now". Our input channels therefore route each message themselves:

* tracker paused (``action_handoff`` handed it to a person) → the message is forwarded to the
  handoff API (``POST {HANDOFF_API_URL}/api/conversations/{id}/messages``) and Rasa never
  sees it;
* handoff API unreachable / 5xx → the message is written to the SQLite outbox
  (:mod:`bot.outbox`) and a background task retries it with backoff — nothing is lost;
* otherwise → the message goes to Rasa as usual.

Every decision is logged with the conversation and message ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

import aiohttp
from rasa.core.channels.channel import UserMessage

from bot.outbox import Outbox

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class Route(str, enum.Enum):
    """Where a message went; channels acknowledge with this value."""

    RASA = "rasa"            # handed to Rasa (NLU + dialogue)
    FORWARDED = "forwarded"  # stored by the handoff API for the agent
    QUEUED = "queued"        # handoff API down: stored in the outbox, will be retried


class Delivery(str, enum.Enum):
    """Outcome of one POST to the handoff API."""

    STORED = "stored"              # 201/200
    NO_HANDOFF = "no_handoff"      # 404: no open handoff for this conversation
    REJECTED = "rejected"          # other 4xx: retrying cannot help (413, 422…)
    UNAVAILABLE = "unavailable"    # connection error, timeout, 5xx, 401/403: retry later


def iso_ts(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


def split_for_api(message_id: str, text: str, max_bytes: int) -> list[tuple[str, str]]:
    """(id, text) parts under the handoff API's size limit (413 above 4 KB).

    A long paste from a shopper is sent as ``id#1``, ``id#2``… instead of being refused:
    the agent must see all of it.
    """
    if len(text.encode("utf-8")) <= max_bytes:
        return [(message_id, text)]
    parts, current = [], ""
    for ch in text:
        if len((current + ch).encode("utf-8")) > max_bytes:
            parts.append(current)
            current = ""
        current += ch
    parts.append(current)
    return [(f"{message_id}#{i}", p) for i, p in enumerate(parts, 1)]


class HandoffApiClient:
    """Minimal client for the bot-side endpoint of the handoff API."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def post_message(self, *, conversation_id: str, message_id: str, text: str,
                           ts: float, channel: str) -> tuple[Delivery, str]:
        """POST one shopper message; returns the outcome and a short detail for logs."""
        url = f"{self.base_url}/api/conversations/{conversation_id}/messages"
        body = {"message_id": message_id, "text": text, "ts": iso_ts(ts), "channel": channel}
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                async with session.post(url, json=body, headers=headers) as resp:
                    detail = f"HTTP {resp.status}: {(await resp.text())[:200]}"
                    if 200 <= resp.status < 300:
                        return Delivery.STORED, detail
                    if resp.status == 404:
                        return Delivery.NO_HANDOFF, detail
                    # 401/403: our token is misconfigured; retry once an operator fixes it.
                    if resp.status in (401, 403, 408, 429) or resp.status >= 500:
                        return Delivery.UNAVAILABLE, detail
                    return Delivery.REJECTED, detail
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            return Delivery.UNAVAILABLE, f"{type(exc).__name__}: {exc}"


class HandoffGate:
    """Routes messages of paused conversations away from Rasa; owns the outbox retrier."""

    def __init__(self, client: HandoffApiClient, outbox: Outbox, *,
                 poll_interval: float = 30.0, max_message_bytes: int = 4096) -> None:
        self.client = client
        self.max_message_bytes = max_message_bytes
        self.outbox = outbox
        self.poll_interval = poll_interval
        self._retrier: asyncio.Task | None = None
        self._wake = asyncio.Event()

    @classmethod
    def from_env(cls) -> HandoffGate:
        """Settings from the environment (contract: HANDOFF_API_URL, HANDOFF_BOT_TOKEN)."""
        url = os.environ.get("HANDOFF_API_URL", "http://127.0.0.1:8000")
        token = os.environ.get("HANDOFF_BOT_TOKEN", "")
        if not token:
            logger.warning("handoff_gate.config HANDOFF_BOT_TOKEN is empty: the handoff API "
                           "will refuse forwarded messages (401) outside development")
        return cls(HandoffApiClient(url, token), Outbox())

    # --- routing ---------------------------------------------------------------------

    async def is_paused(self, agent: Any, sender_id: str) -> bool:
        """True when the stored tracker is paused (a human owns the conversation)."""
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return False
        try:
            tracker = await store.retrieve(sender_id)
        except Exception:  # the tracker store is down: Rasa will report it itself
            logger.exception("handoff_gate.tracker_load_failed sender=%s", sender_id)
            return False
        return bool(tracker is not None and tracker.is_paused())

    async def route(self, agent: Any, message: UserMessage, on_new_message: OnNewMessage, *,
                    message_id: str, ts: float | None = None) -> Route:
        """Send ``message`` to the agent side if its conversation is paused, else to Rasa."""
        sender = message.sender_id
        channel = message.input_channel or "unknown"
        ts = ts if ts is not None else time.time()
        if not await self.is_paused(agent, sender):
            logger.info("handoff_gate.to_rasa sender=%s message_id=%s channel=%s",
                        sender, message_id, channel)
            await on_new_message(message)
            return Route.RASA

        text = message.text or ""
        logger.info("handoff_gate.paused sender=%s message_id=%s channel=%s: forwarding",
                    sender, message_id, channel)
        routes = []
        for part_id, part in split_for_api(message_id, text, self.max_message_bytes):
            route = await self._forward(sender, part_id, part, ts, channel)
            if route is Route.RASA:  # no open handoff: Rasa keeps the whole message
                await on_new_message(message)
                return Route.RASA
            routes.append(route)
        return Route.QUEUED if Route.QUEUED in routes else Route.FORWARDED

    async def _forward(self, sender: str, message_id: str, text: str, ts: float,
                       channel: str) -> Route:
        outcome, detail = await self.client.post_message(
            conversation_id=sender, message_id=message_id, text=text, ts=ts, channel=channel)
        if outcome is Delivery.STORED:
            logger.info("handoff_gate.forwarded sender=%s message_id=%s (%s)",
                        sender, message_id, detail)
            return Route.FORWARDED
        if outcome is Delivery.NO_HANDOFF:
            # Paused tracker but the API has no open handoff (resolved while the hand-back
            # call to Rasa failed). Rasa records the message in the tracker, so it is kept.
            logger.warning("handoff_gate.no_open_handoff sender=%s message_id=%s: tracker is "
                           "paused but the handoff API has no open handoff; giving it to Rasa",
                           sender, message_id)
            return Route.RASA
        # UNAVAILABLE or REJECTED: keep it durably. A REJECTED one is stored as dead so an
        # operator can see it; an unavailable one is retried.
        rejected = outcome is Delivery.REJECTED
        await self.outbox.add(message_id=message_id, conversation_id=sender, channel=channel,
                              text=text, ts=ts, error=detail,
                              status="dead" if rejected else "pending")
        if rejected:
            logger.error("handoff_gate.rejected sender=%s message_id=%s (%s): kept in outbox "
                         "as dead", sender, message_id, detail)
            return Route.QUEUED
        logger.warning("handoff_gate.queued sender=%s message_id=%s (%s): handoff API "
                       "unavailable, stored in outbox %s", sender, message_id, detail,
                       self.outbox.path)
        self.start()
        self._wake.set()
        return Route.QUEUED

    # --- outbox retrier --------------------------------------------------------------

    def start(self) -> None:
        """Start the background retrier (idempotent; needs a running event loop)."""
        if self._retrier is None or self._retrier.done():
            self._retrier = asyncio.get_running_loop().create_task(self._retry_loop())

    async def close(self) -> None:
        """Stop the retrier; pending items stay in SQLite for the next start."""
        if self._retrier is not None:
            self._retrier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrier
            self._retrier = None

    async def flush_once(self) -> int:
        """Try every due outbox item once; returns how many were delivered."""
        delivered = 0
        for item in await self.outbox.due():
            outcome, detail = await self.client.post_message(
                conversation_id=item.conversation_id, message_id=item.message_id,
                text=item.text, ts=item.ts, channel=item.channel)
            if outcome is Delivery.STORED:
                await self.outbox.mark_delivered(item.id)
                delivered += 1
                logger.info("handoff_gate.outbox_delivered sender=%s message_id=%s after %d "
                            "attempt(s)", item.conversation_id, item.message_id,
                            item.attempts + 1)
            elif outcome is Delivery.UNAVAILABLE:
                delay = await self.outbox.retry_later(item.id, item.attempts + 1, detail)
                logger.warning("handoff_gate.outbox_retry sender=%s message_id=%s attempt=%d "
                               "next_in=%.1fs (%s)", item.conversation_id, item.message_id,
                               item.attempts + 1, delay, detail)
            else:  # NO_HANDOFF or REJECTED: retrying cannot help
                await self.outbox.mark_dead(item.id, detail)
                logger.error("handoff_gate.outbox_dead sender=%s message_id=%s (%s)",
                             item.conversation_id, item.message_id, detail)
        return delivered

    async def _retry_loop(self) -> None:
        logger.info("handoff_gate.retrier_started outbox=%s", self.outbox.path)
        while True:
            try:
                await self.flush_once()
                wait = await self.outbox.next_due_in()
            except Exception:  # never let the retrier die on a transient SQLite error
                logger.exception("handoff_gate.retrier_error")
                wait = None
            wait = self.poll_interval if wait is None else min(wait, self.poll_interval)
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.01))


def get_gate(app: Any) -> HandoffGate:
    """The gate of a Sanic app (one per app, shared by all our channels)."""
    gate = getattr(app.ctx, "atiende_gate", None)
    if gate is None:
        gate = HandoffGate.from_env()
        app.ctx.atiende_gate = gate
    return gate


def register_gate_lifecycle(blueprint: Any) -> None:
    """Start the retrier with the server (flushing leftovers of a previous run), stop it after."""

    @blueprint.listener("after_server_start")
    async def _start_gate(app: Any, _loop: Any) -> None:
        get_gate(app).start()

    @blueprint.listener("before_server_stop")
    async def _stop_gate(app: Any, _loop: Any) -> None:
        await get_gate(app).close()
