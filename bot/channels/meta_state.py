"""The Meta channels' persistent state (WhatsApp and Messenger), shared by every Rasa replica.

What must survive a restart and be the same whichever replica Meta's webhook reaches: the last
inbound time per conversation (the 24-hour customer-service window), delivery statuses, message
ids already seen, and the last menu sent as numbered text (:mod:`bot.channels.options`).

A SQLite file by default (``$ATIENDE_DATA_DIR/meta_channels.db``: replicas on one host share it),
PostgreSQL by configuration (``ATIENDE_CHANNEL_STATE_URL=postgresql://…``: replicas on any host
share it). Writes are single statements (insert, or insert-or-update on the key), so two replicas
writing the same key at once both succeed and the rules hold (a window only moves forward; an id
is claimed once). Calls run in a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from bot.sql_state import LazyEngine, create_tables, safe_url, sqlite_path, url_from_env

WINDOW_SECONDS = 24 * 3600
_LOCK_KEY = 731800913  # PostgreSQL advisory lock for the CREATE TABLE of replicas starting together

metadata = sa.MetaData()
seen_messages = sa.Table(
    "seen_messages", metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("message_id", sa.Text, primary_key=True),
    sa.Column("seen_at", sa.Float, nullable=False),
)
last_inbound = sa.Table(
    "last_inbound", metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("conversation_id", sa.Text, primary_key=True),
    sa.Column("at", sa.Float, nullable=False),
)
delivery_status = sa.Table(
    "delivery_status", metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("message_id", sa.Text, primary_key=True),
    sa.Column("recipient_id", sa.Text),
    sa.Column("status", sa.Text, primary_key=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("error", sa.Text),
)
offered_options = sa.Table(  # issue #17: the last menu sent as numbered text, per conversation
    "offered_options", metadata,
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("conversation_id", sa.Text, primary_key=True),
    sa.Column("options", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)


def default_state_path() -> Path:
    """``$ATIENDE_DATA_DIR/meta_channels.db`` (the embedded default), resolved at call time."""
    return sqlite_path(default_state_url()) or Path("var") / "meta_channels.db"


def default_state_url() -> str:
    """``ATIENDE_CHANNEL_STATE_URL``, else the SQLite file in ``$ATIENDE_DATA_DIR``."""
    return url_from_env("ATIENDE_CHANNEL_STATE_URL", "meta_channels.db")


class StateDatabase:
    """The channel state database, its tables created on first use."""

    def __init__(self, path: Path | str | None = None, *, url: str | None = None) -> None:
        self.url = url or (f"sqlite:///{path}" if path else default_state_url())
        file = sqlite_path(self.url)
        self.path: Path | str = file if file is not None else safe_url(self.url)  # for log lines
        self._db = LazyEngine(self.url, lambda engine: create_tables(engine, metadata, _LOCK_KEY))

    @property
    def engine(self) -> sa.engine.Engine:
        return self._db.get()

    def upsert(self, conn: Any, table: sa.Table, values: dict[str, Any],
               update: dict[str, Any]) -> None:
        """INSERT, or UPDATE ``update`` on the primary key's conflict, in one statement."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        keys = [c.name for c in table.primary_key.columns]
        statement = dialect.insert(table).values(**values)
        conn.execute(statement.on_conflict_do_update(
            index_elements=keys, set_=update))

    def dispose(self) -> None:
        self._db.dispose()


class MetaStateStore:
    """Persistent channel state (see module docstring). Seen ids older than ``dedupe_ttl`` are
    pruned. ``path`` (a SQLite file), ``url`` or ``database`` chooses where; none: the
    environment (:func:`default_state_url`)."""

    def __init__(self, path: Path | str | None = None, *, url: str | None = None,
                 database: StateDatabase | None = None,
                 dedupe_ttl: float = 7 * 24 * 3600) -> None:
        self.db = database or StateDatabase(path, url=url)
        self.path = self.db.path
        self.dedupe_ttl = dedupe_ttl
        self._writes = 0

    def _claim(self, channel: str, message_id: str) -> bool:
        now = time.time()
        self._writes += 1
        if self._writes % 500 == 0:
            with self.db.engine.begin() as conn:
                conn.execute(seen_messages.delete().where(
                    seen_messages.c.seen_at < now - self.dedupe_ttl))
        try:
            with self.db.engine.begin() as conn:
                conn.execute(seen_messages.insert().values(channel=channel, message_id=message_id,
                                                           seen_at=now))
            return True
        except IntegrityError:  # seen before, by this replica or another one
            return False

    async def claim(self, channel: str, message_id: str) -> bool:
        """Atomically mark ``message_id`` seen; False if it was seen before (a retry)."""
        return await asyncio.to_thread(self._claim, channel, message_id)

    def _touch(self, channel: str, conversation_id: str, at: float) -> None:
        latest = sa.case((last_inbound.c.at > sa.literal(at), last_inbound.c.at), else_=at)
        with self.db.engine.begin() as conn:
            self.db.upsert(conn, last_inbound, {"channel": channel,
                                                "conversation_id": conversation_id, "at": at},
                           {"at": latest})

    async def record_inbound(self, channel: str, conversation_id: str, at: float) -> None:
        """Remember the shopper's last message time (opens/extends the 24 h window; an older
        time arriving late never shortens it)."""
        await asyncio.to_thread(self._touch, channel, conversation_id, at)

    def _last(self, channel: str, conversation_id: str) -> float | None:
        with self.db.engine.begin() as conn:
            return conn.execute(sa.select(last_inbound.c.at).where(
                last_inbound.c.channel == channel,
                last_inbound.c.conversation_id == conversation_id)).scalar()

    async def last_inbound(self, channel: str, conversation_id: str) -> float | None:
        return await asyncio.to_thread(self._last, channel, conversation_id)

    async def window_open(self, channel: str, conversation_id: str,
                          now: float | None = None) -> bool:
        """True while the shopper wrote less than 24 h ago."""
        last = await self.last_inbound(channel, conversation_id)
        return last is not None and (now or time.time()) - last < WINDOW_SECONDS

    def _status(self, channel: str, message_id: str, recipient: str | None, status: str,
                at: float, error: str | None) -> None:
        with self.db.engine.begin() as conn:
            self.db.upsert(conn, delivery_status, {
                "channel": channel, "message_id": message_id, "recipient_id": recipient,
                "status": status, "at": at, "error": error},
                {"recipient_id": recipient, "at": at, "error": error})

    async def record_status(self, channel: str, message_id: str, recipient: str | None,
                            status: str, at: float, error: str | None = None) -> None:
        await asyncio.to_thread(self._status, channel, message_id, recipient, status, at, error)

    def _statuses(self, channel: str, message_id: str) -> list[tuple[str, str | None]]:
        d = delivery_status
        with self.db.engine.begin() as conn:
            rows = conn.execute(sa.select(d.c.status, d.c.error).where(
                d.c.channel == channel, d.c.message_id == message_id).order_by(d.c.at)).all()
        return [(r[0], r[1]) for r in rows]

    async def statuses(self, channel: str, message_id: str) -> list[tuple[str, str | None]]:
        """(status, error) rows recorded for one outgoing message, oldest first."""
        return await asyncio.to_thread(self._statuses, channel, message_id)
