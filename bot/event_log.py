"""Rasa's SQL event broker, writing the bot's half of the event log into the handoff database.

``endpoints.yml``::

    event_broker:
      type: bot.event_log.EventLogBroker
      dialect: sqlite
      db: ${ATIENDE_DATA_DIR}/handoff.db

Rasa 3.6 ships ``SQLEventBroker`` (``type: SQL``), which stores every tracker event as raw JSON
in an ``events`` table: message texts, e-mails and phone numbers included. This subclass keeps its
connection handling (same ``dialect``/``host``/``port``/``db``/``username``/``password`` keys)
and replaces what is written: each event goes through ``bot.event_projection`` (pseudonymous ids,
redacted text, only what a metric needs) into the ``event_log`` table the handoff API's
migrations create (docs/metrics.md). ``HANDOFF_DATABASE_URL``, when set, wins over those keys so
the bot writes where the handoff API reads (PostgreSQL in production).

A row that cannot be written (database locked or down, table not migrated yet) is kept in memory
(up to ``MAX_PENDING`` rows, oldest dropped first, counted in the log) and written with the next
event; a log line says how many, never what.
"""

from __future__ import annotations

import logging
import os
from asyncio import AbstractEventLoop
from collections import deque
from datetime import datetime, timezone
from typing import Any

import sqlalchemy
from rasa.core.brokers.sql import SQLEventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.event_projection import EventProjector
from privacy.records import privacy_key

UTC = timezone.utc  # Python 3.10 (the bot side) has no datetime.UTC

logger = logging.getLogger(__name__)
MAX_PENDING = 10_000
COLUMNS = ("at", "source", "type", "conversation", "customer", "channel", "language", "market",
           "handoff_id", "agent_id", "reason", "intent", "action", "value", "text")
INSERT = sqlalchemy.text(
    f"INSERT INTO event_log ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})")


class EventLogBroker(SQLEventBroker):
    def __init__(self, dialect: str = "sqlite", host: str | None = None,
                 port: int | None = None, db: str = "handoff.db",
                 username: str | None = None, password: str | None = None,
                 url: str | None = None, key: bytes | None = None) -> None:
        # not super().__init__: that creates Rasa's raw ``events`` table in our database
        from rasa.core.tracker_store import SQLTrackerStore

        engine_url = url or SQLTrackerStore.get_db_url(dialect, host, port, db, username,
                                                       password)
        is_sqlite = str(engine_url).startswith("sqlite")
        self.engine = sqlalchemy.create_engine(
            engine_url, connect_args={"timeout": 10} if is_sqlite else {},
            pool_pre_ping=not is_sqlite)
        from bot import rasa_speedups

        if rasa_speedups.enabled("event_log") and rasa_speedups.is_sqlite_file(self.engine):
            # a kept connection and no fsync per commit (WAL, synchronous=NORMAL, as the
            # handoff API's own connections to this file) instead of a new connection and a
            # synced commit for every event (bot/rasa_speedups.py)
            self.engine.dispose()
            self.engine = rasa_speedups.sqlite_engine(self.engine.url, timeout=10.0)
        self.sqlite = is_sqlite
        self.sessionmaker = sqlalchemy.orm.sessionmaker(bind=self.engine)
        self.projector = EventProjector(key if key is not None else privacy_key())
        self.pending: deque[dict[str, Any]] = deque(maxlen=MAX_PENDING)
        self.dropped = 0

    @classmethod
    async def from_endpoint_config(cls, broker_config: EndpointConfig,
                                   event_loop: AbstractEventLoop | None = None
                                   ) -> EventLogBroker:
        kwargs = dict(broker_config.kwargs)
        kwargs.pop("type", None)
        url = os.environ.get("HANDOFF_DATABASE_URL") or None
        return cls(host=broker_config.url, url=url, **kwargs)

    def _bind(self, row: dict[str, Any]) -> dict[str, Any]:
        at: datetime = row["at"]
        if self.sqlite:  # the text form the handoff API's UTCDateTime stores on SQLite
            row = {**row, "at": at.astimezone(UTC).replace(tzinfo=None)
                   .isoformat(sep=" ", timespec="microseconds")}
        return row

    def publish(self, event: dict[str, Any]) -> None:
        self.publish_many([event])

    def publish_many(self, events: list[dict[str, Any]]) -> None:
        """The events of one tracker save, written in one transaction (``publish`` writes one:
        Rasa's ``TrackerStore`` calls it per event; ``bot.tracker_store`` calls this)."""
        for event in events:
            try:
                rows = self.projector.project(event)
            except Exception:  # noqa: BLE001 - analytics must never break a conversation
                logger.exception("event log: could not project a %s event", event.get("event"))
                continue
            if len(self.pending) + len(rows) > MAX_PENDING:
                self.dropped += len(self.pending) + len(rows) - MAX_PENDING
            self.pending.extend(rows)
        if not self.pending:
            return
        batch = [self._bind(r) for r in self.pending]
        try:
            with self.session_scope() as session:
                session.execute(INSERT, batch)
                session.commit()
        except sqlalchemy.exc.SQLAlchemyError as exc:
            logger.warning("event log: %d row(s) kept for the next try (%s)", len(self.pending),
                           type(exc).__name__)
            return
        self.pending.clear()
        if self.dropped:
            logger.warning("event log: %d row(s) were dropped while the database was down",
                           self.dropped)
            self.dropped = 0

    async def close(self) -> None:
        self.engine.dispose()
