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

# Message ids are unique per conversation only (two shoppers' clients may both say "m1"), so the
# key is (conversation_id, message_id). The first version keyed on message_id alone and silently
# dropped the second conversation's message; its rows are copied over once (see Outbox._migrate).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS relay_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    text TEXT NOT NULL,
    ts REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | to_bot | dead
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    reported INTEGER NOT NULL DEFAULT 0,  -- dead item reported to the handoff API
    UNIQUE (conversation_id, message_id)
);
CREATE INDEX IF NOT EXISTS relay_outbox_due ON relay_outbox (status, conversation_id, id);
"""
_COLUMNS = ("message_id, conversation_id, channel, text, ts, status, attempts, next_attempt_at, "
            "last_error, created_at, updated_at")


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
    """SQLite-backed queue of shopper messages for the handoff API, first in, first out per
    conversation: only the oldest pending item of a conversation is ever due, so a message never
    overtakes an earlier one of the same shopper while the API is down.

    Statuses: ``pending`` (to be sent; ``next_attempt_at`` says when), ``delivered``
    (the API answered 2xx), ``to_bot`` (the handoff had closed: the bot took it), ``dead`` (the
    API refused it permanently — reported to the handoff API so agents see it in the console and
    operators on ``/health``; never dropped silently).
    """

    def __init__(self, path: Path | str | None = None, *, base_delay: float = 1.0,
                 max_delay: float = 300.0) -> None:
        self.path = Path(path) if path else default_outbox_path()
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._db = SQLiteFile(self.path, _SCHEMA, row_factory=True)
        self._migrated = False

    def _migrate(self) -> None:
        """Copy the rows of the first version's ``outbox`` table (keyed on message_id alone)."""
        if self._migrated:
            return
        with self._db.connect() as conn:
            old = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                               "name = 'outbox'").fetchone()
            if old is not None:
                conn.execute(f"INSERT OR IGNORE INTO relay_outbox ({_COLUMNS}) "
                             f"SELECT {_COLUMNS} FROM outbox")
                conn.execute("DROP TABLE outbox")
                logger.info("outbox: migrated the first version's rows to relay_outbox")
        self._migrated = True

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after ``attempts`` failed tries: base·2^(n-1), capped."""
        return min(self.max_delay, self.base_delay * (2 ** max(0, attempts - 1)))

    # --- sync primitives (run in a thread) -------------------------------------------

    def _add(self, message_id: str, conversation_id: str, channel: str, text: str,
             ts: float, error: str | None, status: str, due_now: bool = False) -> bool:
        self._migrate()
        now = time.time()
        with self._db.connect() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO relay_outbox (message_id, conversation_id, channel, text,"
                " ts, status, attempts, next_attempt_at, last_error, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (message_id, conversation_id, channel, text, ts, status, 0 if due_now else 1,
                 now if due_now else now + self.backoff(1), error, now, now),
            )
            return cur.rowcount == 1

    def _due(self, limit: int) -> list[OutboxItem]:
        """The oldest pending item of each conversation, if due."""
        self._migrate()
        with self._db.connect() as conn:
            rows = conn.execute(
                "SELECT id, message_id, conversation_id, channel, text, ts, attempts"
                " FROM relay_outbox o WHERE status = 'pending' AND next_attempt_at <= ?"
                " AND id = (SELECT MIN(id) FROM relay_outbox h WHERE h.status = 'pending'"
                "           AND h.conversation_id = o.conversation_id)"
                " ORDER BY id LIMIT ?",
                (time.time(), limit),
            ).fetchall()
        return [OutboxItem(**dict(r)) for r in rows]

    def _has_pending(self, conversation_id: str) -> bool:
        self._migrate()
        with self._db.connect() as conn:
            return conn.execute("SELECT 1 FROM relay_outbox WHERE status = 'pending' AND "
                                "conversation_id = ? LIMIT 1", (conversation_id,)
                                ).fetchone() is not None

    def _mark(self, item_id: int, status: str, error: str | None = None) -> None:
        with self._db.connect() as conn:
            conn.execute(
                "UPDATE relay_outbox SET status = ?, last_error = ?, updated_at = ? WHERE id = ?",
                (status, error, time.time(), item_id),
            )

    def _retry_later(self, item_id: int, attempts: int, error: str) -> float:
        delay = self.backoff(attempts)
        with self._db.connect() as conn:
            conn.execute(
                "UPDATE relay_outbox SET attempts = ?, next_attempt_at = ?, last_error = ?,"
                " updated_at = ? WHERE id = ?",
                (attempts, time.time() + delay, error, time.time(), item_id),
            )
        return delay

    def _retry_now(self, conversation_id: str | None) -> int:
        with self._db.connect() as conn:
            query = "UPDATE relay_outbox SET next_attempt_at = ? WHERE status = 'pending'"
            args: tuple = (time.time(),)
            if conversation_id is not None:
                query += " AND conversation_id = ?"
                args += (conversation_id,)
            return conn.execute(query, args).rowcount

    def _unreported_dead(self) -> list[tuple[OutboxItem, str]]:
        self._migrate()
        with self._db.connect() as conn:
            rows = conn.execute(
                "SELECT id, message_id, conversation_id, channel, text, ts, attempts, last_error"
                " FROM relay_outbox WHERE status = 'dead' AND reported = 0 ORDER BY id LIMIT 50"
            ).fetchall()
        return [(OutboxItem(**{k: r[k] for k in r.keys() if k != "last_error"}),
                 r["last_error"] or "refused") for r in rows]

    def _mark_reported(self, item_id: int) -> None:
        with self._db.connect() as conn:
            conn.execute("UPDATE relay_outbox SET reported = 1 WHERE id = ?", (item_id,))

    def _counts(self) -> dict[str, int]:
        self._migrate()
        with self._db.connect() as conn:
            rows = conn.execute("SELECT status, COUNT(*) FROM relay_outbox GROUP BY status"
                                ).fetchall()
        return {r[0]: r[1] for r in rows}

    def _next_due_in(self) -> float | None:
        self._migrate()
        with self._db.connect() as conn:
            row = conn.execute(
                "SELECT MIN(next_attempt_at) FROM relay_outbox WHERE status = 'pending'"
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return max(0.0, row[0] - time.time())

    # --- async API ------------------------------------------------------------------

    async def add(self, *, message_id: str, conversation_id: str, channel: str, text: str,
                  ts: float, error: str | None = None, status: str = "pending",
                  due_now: bool = False) -> bool:
        """Store a message (idempotent on ``(conversation_id, message_id)``); True if new.

        ``status="dead"`` keeps a message the API refused for good, for an operator;
        ``due_now`` queues it behind earlier items of the conversation without a back-off.
        """
        return await asyncio.to_thread(self._add, message_id, conversation_id, channel,
                                       text, ts, error, status, due_now)

    async def has_pending(self, conversation_id: str) -> bool:
        """True while earlier messages of this conversation wait: a new one must queue behind."""
        return await asyncio.to_thread(self._has_pending, conversation_id)

    async def retry_now(self, conversation_id: str | None = None) -> int:
        """Make pending items due now, whatever their back-off (of one conversation, or all):
        the API answered again, or the shopper is writing and waits behind them."""
        self._migrate()
        return await asyncio.to_thread(self._retry_now, conversation_id)

    async def mark_to_bot(self, item_id: int) -> None:
        await asyncio.to_thread(self._mark, item_id, "to_bot")

    async def unreported_dead(self) -> list[tuple[OutboxItem, str]]:
        return await asyncio.to_thread(self._unreported_dead)

    async def mark_reported(self, item_id: int) -> None:
        await asyncio.to_thread(self._mark_reported, item_id)

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
