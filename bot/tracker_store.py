"""A SQL tracker store that never silently forgets a conversation.

Rasa wraps every tracker store in `FailSafeTrackerStore`: when the database blips, a failed `save`
goes to an in-memory store (gone at the next restart, and invisible to the next `retrieve`, which
reads the database again), and a failed `retrieve` returns `None`, so the shopper suddenly talks to
a bot that has forgotten them. This store retries briefly, and if the database is still unavailable
it journals the whole tracker to a file under the data directory; the journal is what `retrieve`
answers with while the database is down, and it is written back to the database (then deleted) on
the next successful access. Every step is logged.

endpoints.yml:
    tracker_store:
      type: bot.tracker_store.DurableSQLTrackerStore
      dialect: sqlite
      db: ${RASA_TRACKER_DB}
      journal_dir: ${ATIENDE_DATA_DIR}/tracker_journal
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm  # noqa: F401 - sa.orm.session
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from bot.event_insert import CoreInsertSave
from bot.stored_count import KnownEventCount
from bot.tracker_peek import PeekedReads

logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.1, 0.4, 1.0)


class DurableSQLTrackerStore(PeekedReads, KnownEventCount, CoreInsertSave, SQLTrackerStore):
    """`SQLTrackerStore` with retries and a file journal instead of a silent in-memory fallback;
    saves reuse the event count their read found (`bot/stored_count.py`); the channels' and the
    gate's looks at a tracker reuse an unchanged one (`bot/tracker_peek.py`)."""

    def __init__(self, *args: Any, journal_dir: str | None = None,
                 retry_delays: tuple[float, ...] = RETRY_DELAYS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from bot import rasa_speedups

        self.known_counts = rasa_speedups.enabled("stored_count")
        self.peeks = self.known_counts and rasa_speedups.enabled("read_cache")
        self.core_inserts = rasa_speedups.enabled("core_insert")
        self.batched_events = rasa_speedups.enabled("event_log")
        if rasa_speedups.enabled() and rasa_speedups.is_sqlite_file(self.engine):
            # pooled connections in WAL mode instead of a new connection and two fsyncs per
            # read/write (bot/rasa_speedups.py)
            url = self.engine.url
            self.engine.dispose()
            self.engine = rasa_speedups.sqlite_engine(url)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        base = journal_dir or os.path.join(os.environ.get("ATIENDE_DATA_DIR", "var"),
                                           "tracker_journal")
        self.journal_dir = Path(base)
        self.journal_dir.mkdir(parents=True, exist_ok=True)
        self.retry_delays = retry_delays
        # every Rasa server we run builds this store: install the per-turn speed-ups of Rasa
        # (bot/rasa_speedups.py) and, for bench/turn_latency.py only, the stage timings
        from bot import action_fallback, timing_hooks

        action_fallback.install()  # a polite reply when a custom action cannot run
        rasa_speedups.install()
        timing_hooks.install()

    async def _stream_new_events(self, event_broker: Any, new_events: list, sender_id: str
                                 ) -> None:
        """The events of one save to the event log in one transaction (bot/rasa_speedups.py)."""
        publish_many = getattr(event_broker, "publish_many", None)
        if publish_many is None or not self.batched_events:
            await super()._stream_new_events(event_broker, new_events, sender_id)
            return
        if new_events:
            publish_many([{"sender_id": sender_id, **event.as_dict()} for event in new_events])

    # -- journal -------------------------------------------------------------------------------
    def _journal_path(self, sender_id: str) -> Path:
        digest = hashlib.sha256(sender_id.encode()).hexdigest()[:32]
        return self.journal_dir / f"{digest}.json"

    def _write_journal(self, tracker: DialogueStateTracker) -> Path:
        path = self._journal_path(tracker.sender_id)
        payload = {"sender_id": tracker.sender_id, "events": [e.as_dict() for e in tracker.events]}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, path)  # atomic: a crash leaves the previous journal intact
        return path

    def _read_journal(self, sender_id: str) -> DialogueStateTracker | None:
        path = self._journal_path(sender_id)
        if not path.exists():
            return None
        payload = json.loads(path.read_text(encoding="utf-8"))
        return DialogueStateTracker.from_dict(sender_id, payload["events"], self.domain.slots)

    async def _flush_journal(self, sender_id: str) -> bool:
        """Write a journaled tracker back to the database (True if there was one); raises if the
        database is still down."""
        tracker = self._read_journal(sender_id)
        if tracker is None:
            return False
        self.wrote(sender_id)
        try:
            await super().save(tracker)
        finally:
            self.wrote(sender_id)
        self._journal_path(sender_id).unlink(missing_ok=True)
        logger.warning("tracker store is back: journaled conversation %s written to the database",
                       sender_id)
        return True

    # -- TrackerStore API ----------------------------------------------------------------------
    async def _with_retries(self, what: str, operation):
        error: Exception | None = None
        for attempt, delay in enumerate((0.0, *self.retry_delays)):
            if delay:
                await asyncio.sleep(delay)
            try:
                return await operation()
            except Exception as exc:  # the database driver's errors vary by dialect
                error = exc
                logger.warning("tracker store %s failed (attempt %d): %s", what, attempt + 1, exc)
        assert error is not None
        raise error

    async def save(self, tracker: DialogueStateTracker) -> None:
        attempts = itertools.count()

        async def sql_write(saving) -> None:
            if await self._flush_journal(tracker.sender_id) and saving is not None:
                saving.forget()
            token = self.bind(saving)
            try:
                await self.sql_save(tracker)  # SQLTrackerStore.save (bot/event_insert.py)
            finally:
                self.unbind(token)

        async def write() -> None:
            # a retried save asks the database again: the failed attempt may have committed
            await self.save_counted(tracker, sql_write, first_attempt=next(attempts) == 0)

        try:
            await self._with_retries("save", write)
        except Exception as exc:
            path = self._write_journal(tracker)
            logger.error("tracker database unavailable (%s); conversation %s kept in journal %s "
                         "until it comes back", exc, tracker.sender_id, path)
            return
        self.saved(tracker)  # the next look at it may reuse it (bot/tracker_peek.py)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._retrieve_durably(sender_id, full=False)

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._retrieve_durably(sender_id, full=True)

    async def _retrieve_durably(self, sender_id: str, full: bool) -> DialogueStateTracker | None:
        async def read() -> DialogueStateTracker | None:
            await self._flush_journal(sender_id)
            if full:
                return await SQLTrackerStore.retrieve_full_tracker(self, sender_id)
            return await SQLTrackerStore.retrieve(self, sender_id)

        try:
            return await self._with_retries("retrieve", read)
        except Exception as exc:
            journaled = self._read_journal(sender_id)
            if journaled is not None:
                logger.error("tracker database unavailable (%s); answering conversation %s from "
                             "its journal", exc, sender_id)
                return journaled
            raise
