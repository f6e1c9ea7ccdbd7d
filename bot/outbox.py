"""Durable bot-side outbox for shopper messages the handoff API could not take yet.

When a conversation is with a human agent, shopper messages bypass Rasa and go to the
handoff API. If that API is down (restart, deploy, crash) the message must not be lost, and
it must survive a restart of the Rasa server too — so it is written to a database before anyone
is told "stored", and a background task retries it with exponential backoff until the API
accepts it.

The database is a SQLite file by default (``$ATIENDE_DATA_DIR/relay_outbox.db``: Rasa replicas
on one host share it) or PostgreSQL by configuration (``ATIENDE_OUTBOX_URL=postgresql://…``:
replicas on any host share it). Any replica may deliver any item: :meth:`Outbox.due` *leases*
the items it returns (``lease_until``, ``lease_owner``) in one transaction — on PostgreSQL
``SELECT … FOR UPDATE SKIP LOCKED`` plus a compare-and-set on the lease, on SQLite under the
file's write lock (``BEGIN IMMEDIATE``) — so two replicas never post the same item at once. A
replica that dies holding a lease only delays its items until the lease runs out.

Calls are short blocking transactions; they run in a worker thread (``asyncio.to_thread``) to
keep the Sanic event loop free.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.sql_state import (
    LazyEngine,
    add_missing_columns,
    create_tables,
    safe_url,
    sqlite_path,
    url_from_env,
)

logger = logging.getLogger(__name__)

# Message ids are unique per conversation only (two shoppers' clients may both say "m1"), so the
# key is (conversation_id, message_id). The first version keyed on message_id alone and silently
# dropped the second conversation's message; its rows are copied over once (see _migrate).
metadata = sa.MetaData()
relay_outbox = sa.Table(
    "relay_outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.Text, nullable=False),
    sa.Column("conversation_id", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
    # pending | delivered | to_bot | dead
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    # a dead item was reported to the handoff API
    sa.Column("reported", sa.Integer, nullable=False, server_default=sa.text("0")),
    # a replica is posting the item until then (see Outbox.due)
    sa.Column("lease_until", sa.Float, nullable=False, server_default=sa.text("0")),
    sa.Column("lease_owner", sa.Text),
    sa.UniqueConstraint("conversation_id", "message_id"),
    sa.Index("relay_outbox_due", "status", "conversation_id", "id"),
)
_COLUMNS = ("message_id, conversation_id, channel, text, ts, status, attempts, next_attempt_at, "
            "last_error, created_at, updated_at")
_ITEM = ("id", "message_id", "conversation_id", "channel", "text", "ts", "attempts")
_LOCK_KEY = 731800912  # PostgreSQL advisory lock for the CREATE TABLE of replicas starting together


def default_outbox_path() -> Path:
    """``$ATIENDE_DATA_DIR/relay_outbox.db`` (contract path), resolved at call time."""
    return Path(os.environ.get("ATIENDE_DATA_DIR", "var")) / "relay_outbox.db"


def default_outbox_url() -> str:
    """``ATIENDE_OUTBOX_URL``, else the SQLite file :func:`default_outbox_path`."""
    return url_from_env("ATIENDE_OUTBOX_URL", "relay_outbox.db")


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
    """Queue of shopper messages for the handoff API, first in, first out per conversation: only
    the oldest pending item of a conversation is ever due, so a message never overtakes an
    earlier one of the same shopper while the API is down (nor while another replica is posting
    that earlier one: a leased head keeps the rest of its conversation waiting).

    Statuses: ``pending`` (to be sent; ``next_attempt_at`` says when), ``delivered``
    (the API answered 2xx), ``to_bot`` (the handoff had closed: the bot took it), ``dead`` (the
    API refused it permanently — reported to the handoff API so agents see it in the console and
    operators on ``/health``; never dropped silently).

    ``path`` (a SQLite file) or ``url`` (any SQLAlchemy URL) chooses the database; neither: the
    environment (:func:`default_outbox_url`). ``lease_seconds``: how long an item returned by
    :meth:`due` stays with this replica before another may post it (longer than one HTTP try).
    """

    def __init__(self, path: Path | str | None = None, *, url: str | None = None,
                 base_delay: float = 1.0, max_delay: float = 300.0,
                 lease_seconds: float = 60.0) -> None:
        self.url = url or (f"sqlite:///{path}" if path else default_outbox_url())
        file = sqlite_path(self.url)
        self.path: Path | str = file if file is not None else safe_url(self.url)  # for log lines
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease_seconds = lease_seconds
        self.owner = uuid.uuid4().hex
        self._db = LazyEngine(self.url, _set_up)

    @property
    def engine(self) -> sa.engine.Engine:
        return self._db.get()

    def dispose(self) -> None:
        self._db.dispose()

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after ``attempts`` failed tries: base·2^(n-1), capped."""
        return min(self.max_delay, self.base_delay * (2 ** max(0, attempts - 1)))

    # --- sync primitives (run in a thread) -------------------------------------------

    def _add(self, message_id: str, conversation_id: str, channel: str, text: str,
             ts: float, error: str | None, status: str, due_now: bool = False) -> bool:
        now = time.time()
        try:
            with self.engine.begin() as conn:
                conn.execute(relay_outbox.insert().values(
                    message_id=message_id, conversation_id=conversation_id, channel=channel,
                    text=text, ts=ts, status=status, attempts=0 if due_now else 1,
                    next_attempt_at=now if due_now else now + self.backoff(1), last_error=error,
                    created_at=now, updated_at=now, reported=0, lease_until=0.0))
            return True
        except IntegrityError:  # already stored (a resend of the same message id)
            return False

    def _due(self, limit: int) -> list[OutboxItem]:
        """Lease the oldest pending item of each conversation, if due and not leased."""
        now = time.time()
        o, h = relay_outbox, relay_outbox.alias("h")
        head = sa.select(sa.func.min(h.c.id)).where(
            h.c.status == "pending", h.c.conversation_id == o.c.conversation_id).scalar_subquery()
        query = (sa.select(*(o.c[name] for name in _ITEM), o.c.lease_until)
                 .where(o.c.status == "pending", o.c.next_attempt_at <= now,
                        o.c.lease_until <= now, o.c.id == head)
                 .order_by(o.c.id).limit(limit)
                 .with_for_update(skip_locked=True, of=o))  # SQLite: BEGIN IMMEDIATE instead
        taken: list[OutboxItem] = []
        with self.engine.begin() as conn:
            for row in conn.execute(query).all():
                leased = conn.execute(o.update().where(
                    o.c.id == row.id, o.c.status == "pending",
                    o.c.lease_until == row.lease_until).values(
                    lease_until=now + self.lease_seconds, lease_owner=self.owner)).rowcount
                if leased == 1:
                    taken.append(OutboxItem(**{name: row._mapping[name] for name in _ITEM}))
        return taken

    def _has_pending(self, conversation_id: str) -> bool:
        o = relay_outbox
        with self.engine.begin() as conn:
            return conn.execute(sa.select(o.c.id).where(
                o.c.status == "pending", o.c.conversation_id == conversation_id).limit(1)
            ).first() is not None

    def _mark(self, item_id: int, status: str, error: str | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(relay_outbox.update().where(relay_outbox.c.id == item_id).values(
                status=status, last_error=error, updated_at=time.time(), lease_until=0.0,
                lease_owner=None))

    def _retry_later(self, item_id: int, attempts: int, error: str) -> float:
        delay = self.backoff(attempts)
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(relay_outbox.update().where(relay_outbox.c.id == item_id).values(
                attempts=attempts, next_attempt_at=now + delay, last_error=error,
                updated_at=now, lease_until=0.0, lease_owner=None))
        return delay

    def _retry_now(self, conversation_id: str | None) -> int:
        """Pending items due now; an item leased by a replica stays with it until it answers."""
        query = relay_outbox.update().where(relay_outbox.c.status == "pending")
        if conversation_id is not None:
            query = query.where(relay_outbox.c.conversation_id == conversation_id)
        with self.engine.begin() as conn:
            return conn.execute(query.values(next_attempt_at=time.time())).rowcount

    def _unreported_dead(self) -> list[tuple[OutboxItem, str]]:
        o = relay_outbox
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(*(o.c[name] for name in _ITEM), o.c.last_error).where(
                o.c.status == "dead", o.c.reported == 0).order_by(o.c.id).limit(50)).all()
        return [(OutboxItem(**{name: r._mapping[name] for name in _ITEM}),
                 r.last_error or "refused") for r in rows]

    def _mark_reported(self, item_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(relay_outbox.update().where(relay_outbox.c.id == item_id)
                         .values(reported=1))

    def _counts(self) -> dict[str, int]:
        o = relay_outbox
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(o.c.status, sa.func.count()).group_by(o.c.status)).all()
        return {r[0]: int(r[1]) for r in rows}

    def _next_due_in(self) -> float | None:
        o = relay_outbox
        when = sa.case((o.c.lease_until > o.c.next_attempt_at, o.c.lease_until),
                       else_=o.c.next_attempt_at)
        with self.engine.begin() as conn:
            first = conn.execute(sa.select(sa.func.min(when)).where(o.c.status == "pending")
                                 ).scalar()
        if first is None:
            return None
        return max(0.0, float(first) - time.time())

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


def _set_up(engine: sa.engine.Engine) -> None:
    create_tables(engine, metadata, _LOCK_KEY)
    add_missing_columns(engine, "relay_outbox", {
        "lease_until": "FLOAT NOT NULL DEFAULT 0", "lease_owner": "TEXT"})
    _migrate(engine)


def _migrate(engine: sa.engine.Engine) -> None:
    """Copy the rows of the first version's ``outbox`` table (keyed on message_id alone; SQLite
    files only — PostgreSQL support came later)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as conn:
        old = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                   "name = 'outbox'").first()
        if old is not None:
            conn.exec_driver_sql(f"INSERT OR IGNORE INTO relay_outbox ({_COLUMNS}) "
                                 f"SELECT {_COLUMNS} FROM outbox")
            conn.exec_driver_sql("DROP TABLE outbox")
            logger.info("outbox: migrated the first version's rows to relay_outbox")
