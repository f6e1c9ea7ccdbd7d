"""What every input channel checks before a message may reach Rasa or the queue.

* **shape**: text must be a real string — not empty or whitespace-only, no lone UTF-16 surrogate
  (valid JSON, but it crashes the tracker store's UTF-8 write: a 500), no NUL;
* **length**: at most ``ATIENDE_MAX_MESSAGE_CHARS`` characters (2,000, the widget's own limit). A
  100 KB paste used to occupy Rasa's featurizers for 10 s, stalling every shopper; now it is
  refused at the channel with a clear reply in the shopper's language;
* **pace**: per sender, at most ``ATIENDE_SENDER_RATE`` messages per
  ``ATIENDE_SENDER_WINDOW_SECONDS`` and ``ATIENDE_SENDER_MAX_WAITING`` waiting for their turn. A
  flood of 1,000 messages in 10 s from one sender gave 881 x 500 and lost 7 answered turns from
  the tracker (the lock store's tickets expired and turns overwrote each other); now the excess
  gets a polite slow-down and is never half-processed.

The pace limit lives in this process (each replica allows a sender its own budget).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.channels.texts import t


def max_chars() -> int:
    return int(os.environ.get("ATIENDE_MAX_MESSAGE_CHARS", "2000"))


def text_problem(text: object) -> str | None:
    """Why ``text`` cannot be a shopper message, or None."""
    if not isinstance(text, str):
        return "'message' must be a string"
    if not text.strip():
        return "'message' is empty or only whitespace"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "'message' contains a lone UTF-16 surrogate (not valid Unicode)"
    if "\x00" in text:
        return "'message' contains a NUL character"
    return None


def too_long(text: str) -> bool:
    return len(text) > max_chars()


def too_long_reply(language: str) -> str:
    return t("too_long", language, limit=max_chars())


def slow_down_reply(language: str) -> str:
    return t("slow_down", language)


class Busy(Exception):
    """The sender is over their pace; ``retry_after`` seconds until they may write again."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after:.0f} s")
        self.retry_after = retry_after


class SenderGuard:
    """Per-sender sliding-window rate limit plus a cap on messages waiting for their turn."""

    def __init__(self, rate: int | None = None, window: float | None = None,
                 max_waiting: int | None = None) -> None:
        self.rate = rate or int(os.environ.get("ATIENDE_SENDER_RATE", "20"))
        self.window = window or float(os.environ.get("ATIENDE_SENDER_WINDOW_SECONDS", "10"))
        self.max_waiting = max_waiting or int(os.environ.get("ATIENDE_SENDER_MAX_WAITING", "5"))
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._waiting: dict[str, int] = defaultdict(int)
        self._locks: dict[str, asyncio.Lock] = {}

    def check(self, sender: str) -> None:
        """Count one message from ``sender``; raise :class:`Busy` when over the pace."""
        now = time.monotonic()
        hits = self._hits[sender]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.rate:
            raise Busy(max(1.0, hits[0] + self.window - now))
        if self._waiting[sender] >= self.max_waiting:
            raise Busy(2.0)
        hits.append(now)
        if len(self._hits) > 50_000:  # forget idle senders
            for key in [k for k, v in self._hits.items() if not v or v[-1] < now - self.window]:
                self._hits.pop(key, None)

    @asynccontextmanager
    async def turn(self, sender: str) -> AsyncIterator[None]:
        """One message of ``sender`` at a time, in arrival order (Rasa's lock store would
        otherwise expire the tickets of a long queue and let turns overwrite each other)."""
        self._waiting[sender] += 1
        lock = self._locks.setdefault(sender, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            self._waiting[sender] -= 1
            if self._waiting[sender] <= 0:
                self._waiting.pop(sender, None)
                if not lock.locked():
                    self._locks.pop(sender, None)
