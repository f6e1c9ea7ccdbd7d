"""The bot's client of the handoff API (contract: contracts/handoff_api.openapi.json).

One POST per shopper message of a paused conversation (:meth:`HandoffApiClient.post_message`,
whose outcome is a :class:`Delivery`), leaving the queue, dead letters and order-notice opt-outs,
over one keep-alive session per event loop. Used by the hand-off gate (:mod:`bot.handoff_gate`)
and its outbox retrier (:mod:`bot.outbox_retrier`).
"""

from __future__ import annotations

import asyncio
import enum
import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.outbox import OutboxItem


class Delivery(str, enum.Enum):
    """Outcome of one POST to the handoff API."""

    STORED = "stored"              # 201/200
    NO_HANDOFF = "no_handoff"      # 404: no open handoff for this conversation
    REJECTED = "rejected"          # other 4xx: retrying cannot help (413, 422…)
    UNAVAILABLE = "unavailable"    # connection error, timeout, 5xx, 401/403: retry later
    TO_BOT = "to_bot"              # 202: the handoff has just closed; the resumed bot answers


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
        self._kept: aiohttp.ClientSession | None = None
        self._kept_loop: Any = None

    @staticmethod
    def message_body(message_id: str, text: str, ts: float, channel: str) -> dict[str, Any]:
        """The ``ShopperMessageIn`` body of the contract (contracts/handoff_api.openapi.json)."""
        return {"message_id": message_id, "text": text, "ts": iso_ts(ts), "channel": channel}

    def _url(self, conversation_id: str, tail: str) -> str:
        return f"{self.base_url}/api/conversations/{quote(conversation_id, safe='')}/{tail}"

    def _session(self) -> aiohttp.ClientSession:
        """One session (and its keep-alive connections) per event loop, instead of a new
        connection for every forwarded message."""
        loop = asyncio.get_running_loop()
        if self._kept is None or self._kept.closed or self._kept_loop is not loop:
            self._kept = aiohttp.ClientSession(
                timeout=self.timeout, connector=aiohttp.TCPConnector(keepalive_timeout=10))
            self._kept_loop = loop
        return self._kept

    async def close(self) -> None:
        if self._kept is not None and not self._kept.closed:
            await self._kept.close()
        self._kept = None

    async def _post(self, url: str, body: dict[str, Any]) -> tuple[int, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self._session().post(url, json=body, headers=headers) as resp:
            return resp.status, (await resp.text())[:500]

    async def leave_queue(self, *, conversation_id: str, message_id: str, text: str,
                          ts: float, channel: str) -> dict[str, Any] | None:
        """Ask to leave the queue; the API's answer (``left``, ``handoff_id``) or None when the
        API could not be reached or has no open handoff."""
        try:
            status, raw = await self._post(self._url(conversation_id, "leave-queue"),
                                           self.message_body(message_id, text, ts, channel))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return None
        if status != 200:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    async def post_dead_letter(self, item: OutboxItem, reason: str) -> bool:
        body = {"conversation_id": item.conversation_id, "message_id": item.message_id,
                "channel": item.channel, "text": item.text, "reason": reason[:500] or "refused"}
        try:
            status, _ = await self._post(f"{self.base_url}/api/dead-letters", body)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return False
        return 200 <= status < 300

    async def opt_out_notices(self, *, phone: str, source: str = "whatsapp") -> bool:
        """The shopper asked for no more order notices (``POST /api/notifications/opt-out``);
        True once the handoff API recorded it."""
        try:
            status, _ = await self._post(f"{self.base_url}/api/notifications/opt-out",
                                         {"phone": phone, "source": source})
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return False
        return status == 200

    async def is_up(self, timeout: float = 2.0) -> bool:
        """True when the handoff API answers its ``/health`` with 2xx (no token needed)."""
        try:
            async with self._session().get(f"{self.base_url}/health",
                                           timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                return 200 <= resp.status < 300
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return False

    async def post_message(self, *, conversation_id: str, message_id: str, text: str,
                           ts: float, channel: str) -> tuple[Delivery, str]:
        """POST one shopper message; returns the outcome and a short detail for logs."""
        url = self._url(conversation_id, "messages")
        body = self.message_body(message_id, text, ts, channel)
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with self._session().post(url, json=body, headers=headers) as resp:
                detail = f"HTTP {resp.status}"
                if resp.status == 202:
                    return Delivery.TO_BOT, detail
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
