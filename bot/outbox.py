"""Durable bot-side outbox for shopper messages the handoff API could not take yet.

When a conversation is with a human agent, shopper messages bypass Rasa and go to the
handoff API. If that API is down (restart, deploy, crash) the message must not be lost, and
it must survive a restart of the Rasa server too — so it is written to SQLite
(``$ATIENDE_DATA_DIR/relay_outbox.db``) before anyone is told "stored", and a background
task retries it with exponential backoff until the API accepts it.

SQLite calls are tiny but blocking, so they run in a worker thread (``asyncio.to_thread``)
to keep the Sanic event loop free.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from bot.sqlite_file import SQLiteFile

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    text TEXT NOT NULL,
    ts REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | dead
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at);
"""


def default_outbox_path() -> Path:
    """``$ATIENDE_DATA_DIR/relay_outbox.db`` (contract path), resolved at call time."""
    return Path(os.environ.get("ATIENDE_DATA_DIR", "var")) / "relay_outbox.db"


@dataclass(frozen=True)
class OutboxItem:
    """One shopper message waiting for the handoff API."""

    id: int
    message_id: str
    conversation_id: str
    channel: str
    text: str
    ts: float
    attempts: int


class Outbox:
    """SQLite-backed queue of shopper messages for the handoff API.

    Statuses: ``pending`` (to be sent; ``next_attempt_at`` says when), ``delivered``
    (the API answered 2xx), ``dead`` (the API refused it permanently, e.g. 413 — kept
    for an operator to inspect, never dropped silently).
    """

    def __init__(self, path: Path | str | None = None, *, base_delay: float = 1.0,
                 max_delay: float = 300.0) -> None:
        self.path = Path(path) if path else default_outbox_path()
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._db = SQLiteFile(self.path, _SCHEMA, row_factory=True)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after ``attempts`` failed tries: base·2^(n-1), capped."""
        return min(self.max_delay, self.base_delay * (2 ** max(0, attempts - 1)))

    # --- sync primitives (run in a thread) -------------------------------------------

    def _add(self, message_id: str, conversation_id: str, channel: str, text: str,
             ts: float, error: str | None, status: str) -> bool:
        now = time.time()
        with self._db.connect() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO outbox (message_id, conversation_id, channel, text, ts,"
                " status, attempts, next_attempt_at, last_error, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                (message_id, conversation_id, channel, text, ts, status,
                 now + self.backoff(1), error, now, now),
            )
            return cur.rowcount == 1

    def _due(self, limit: int) -> list[OutboxItem]:
        with self._db.connect() as conn:
            rows = conn.execute(
                "SELECT id, message_id, conversation_id, channel, text, ts, attempts FROM outbox"
                " WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
                (time.time(), limit),
            ).fetchall()
        return [OutboxItem(**dict(r)) for r in rows]

    def _mark(self, item_id: int, status: str, error: str | None = None) -> None:
        with self._db.connect() as conn:
            conn.execute(
                "UPDATE outbox SET status = ?, last_error = ?, updated_at = ? WHERE id = ?",
                (status, error, time.time(), item_id),
            )

    def _retry_later(self, item_id: int, attempts: int, error: str) -> float:
        delay = self.backoff(attempts)
        with self._db.connect() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ?,"
                " updated_at = ? WHERE id = ?",
                (attempts, time.time() + delay, error, time.time(), item_id),
            )
        return delay

    def _counts(self) -> dict[str, int]:
        with self._db.connect() as conn:
            rows = conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
        return {r[0]: r[1] for r in rows}

    def _next_due_in(self) -> float | None:
        with self._db.connect() as conn:
            row = conn.execute(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending'"
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return max(0.0, row[0] - time.time())

    # --- async API ------------------------------------------------------------------

    async def add(self, *, message_id: str, conversation_id: str, channel: str, text: str,
                  ts: float, error: str | None = None, status: str = "pending") -> bool:
        """Store a message (idempotent on ``message_id``); True if it was new.

        ``status="dead"`` keeps a message the API refused for good, for an operator.
        """
        return await asyncio.to_thread(self._add, message_id, conversation_id, channel,
                                       text, ts, error, status)

    async def due(self, limit: int = 50) -> list[OutboxItem]:
        return await asyncio.to_thread(self._due, limit)

    async def mark_delivered(self, item_id: int) -> None:
        await asyncio.to_thread(self._mark, item_id, "delivered")

    async def mark_dead(self, item_id: int, error: str) -> None:
        await asyncio.to_thread(self._mark, item_id, "dead", error)

    async def retry_later(self, item_id: int, attempts: int, error: str) -> float:
        return await asyncio.to_thread(self._retry_later, item_id, attempts, error)

    async def counts(self) -> dict[str, int]:
        """Number of items per status (for logs, health checks and tests)."""
        return await asyncio.to_thread(self._counts)

    async def next_due_in(self) -> float | None:
        """Seconds until the next pending item is due, or None when nothing is pending."""
        return await asyncio.to_thread(self._next_due_in)
