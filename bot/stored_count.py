"""Saving a tracker without asking the database what it already holds.

Rasa's ``SQLTrackerStore.save`` asks the database, on every save, how many events of the
conversation it holds since the latest session start (``_additional_events``: a ``count()`` over
a sub-query) and, with an event broker configured (ours: ``bot.event_log``), reads the whole
tracker back and deserialises it (``stream_events``) to know which events are new. Both answers
are already known: the turn read that tracker under the conversation's lock moments before, and
nothing has written to the conversation since. Together ~10 % of the Rasa process's CPU per
turn (py-spy, reports/perf/README.md).

So every read remembers, on the tracker object it returns, what the database held: the number of
rows since the latest session start (what ``count()`` gives), the number of events they
deserialised to (what ``stream_events``' read-back gives) and the latest ``SessionStarted``
timestamp. A save of that tracker uses those numbers instead of asking again — when they are
still true, and falls back to Rasa's own code when they may not be:

* a **write generation** per conversation: every save (and a journal flush) moves it, before and
  after writing; a remembered count is used only if no write of this process has happened since
  it was taken (a copy of the tracker saved first, another tracker of the same conversation);
* a save that is retried after a failure (the commit may have happened), a journal written back
  first, a tracker with ``max_event_history``: Rasa's own count;
* after a save, the new numbers are remembered only when they follow for sure: no new
  ``SessionStarted`` among the written events and none stamped before the latest session start
  (``count()`` filters on timestamps); otherwise the next save of that object counts again.

Writers in other processes (a second Rasa replica) write a conversation only under its lock
(the Redis lock store), and every turn reads its tracker under that lock before saving it, so a
count remembered from that read stays true until the save. Switched with the rest of
``bot/rasa_speedups.py`` (``ATIENDE_RASA_SPEEDUPS=0``: Rasa's own ``save``).
"""

from __future__ import annotations

import contextvars
import itertools
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker, TrackerEventDiffEngine

GENERATIONS_KEPT = 100_000
_ATTRIBUTE = "_atiende_stored"


@dataclass(frozen=True)
class Stored:
    """What the database held for a conversation when a tracker was read or saved."""

    generation: int
    rows: int  # rows since the latest session start: Rasa's count()
    events: int | None  # the events they deserialise to: Rasa's read-back in stream_events
    session_start: float | None  # timestamp of the latest SessionStarted row (None: no such row)


@dataclass
class _Saving:
    """The save in progress in this task: the numbers it uses or finds out."""

    tracker: DialogueStateTracker
    rows: int | None = None
    events: int | None = None
    session_start: float | None = None
    session_start_known: bool = False

    def forget(self) -> None:
        """Something else was written first (a journal): ask the database."""
        self.rows = self.events = self.session_start = None
        self.session_start_known = False


_SAVING: contextvars.ContextVar[_Saving | None] = contextvars.ContextVar("atiende_saving",
                                                                         default=None)


class KnownEventCount:
    """Mixin for ``SQLTrackerStore``: reads remember the stored count, saves use it."""

    known_counts = True  # the instance sets it from bot.rasa_speedups.enabled("stored_count")

    def _generation(self, sender_id: str, *, new: bool = False) -> int:
        generations: OrderedDict[str, int] = self.__dict__.setdefault(
            "_atiende_generations", OrderedDict())
        counter = self.__dict__.setdefault("_atiende_counter", itertools.count(1))
        if new or sender_id not in generations:
            generations[sender_id] = next(counter)
            generations.move_to_end(sender_id)
            if len(generations) > GENERATIONS_KEPT:
                generations.popitem(last=False)  # its trackers count again: still correct
        return generations[sender_id]

    def remembered(self, tracker: DialogueStateTracker) -> Stored | None:
        """The stored count of ``tracker`` if it is still true, else None."""
        stored = tracker.__dict__.get(_ATTRIBUTE)
        if (stored is None or not self.known_counts or tracker.events.maxlen is not None
                or stored.generation != self._generation(tracker.sender_id)):
            return None
        return stored

    def wrote(self, sender_id: str) -> None:
        """Something wrote to this conversation: every count remembered so far may be stale."""
        self._generation(sender_id, new=True)

    # -- read ----------------------------------------------------------------------------------
    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> DialogueStateTracker | None:
        """``SQLTrackerStore._retrieve`` that also remembers what it read (latest session)."""
        if fetch_events_from_all_sessions or not self.known_counts:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        generation = self._generation(sender_id)
        with self.session_scope() as session:
            rows = session.execute(self._latest_session_query(),
                                   {"sender_id": sender_id}).all()
            starts = [row.timestamp for row in rows
                      if row.type_name == SessionStarted.type_name and row.timestamp is not None]
            events = [json.loads(row.data) for row in rows]
        if not (self.domain and events):
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        tracker.__dict__[_ATTRIBUTE] = Stored(generation, len(rows), len(tracker.events),
                                              max(starts) if starts else None)
        return tracker

    def _latest_session_query(self) -> Any:
        """``SQLTrackerStore._event_query(fetch_events_from_all_sessions=False)`` — the same
        conditions, order and FROM — as a Core statement built once, selecting only the columns
        used: ORM entities and the query built anew per read were half of a read's CPU."""
        query = self.__dict__.get("_atiende_latest_session_query")
        if query is None:
            table = self.SQLEvent.__table__
            sender = sa.bindparam("sender_id")
            start = (sa.select(sa.func.max(table.c.timestamp).label("session_start"))
                     .where(table.c.sender_id == sender,
                            table.c.type_name == SessionStarted.type_name)
                     .subquery())
            query = (sa.select(table.c.type_name, table.c.timestamp, table.c.data)
                     .where(table.c.sender_id == sender,
                            sa.or_(table.c.timestamp >= start.c.session_start,
                                   start.c.session_start.is_(None)))
                     .order_by(table.c.id))
            self.__dict__["_atiende_latest_session_query"] = query
        return query

    # -- write: the two questions SQLTrackerStore.save asks -----------------------------------
    def _saving(self, tracker: DialogueStateTracker) -> _Saving | None:
        saving = _SAVING.get()
        return saving if saving is not None and saving.tracker is tracker else None

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        if self.event_broker is None:
            return
        saving = self._saving(tracker)
        if saving is not None and saving.events is not None:
            new_events = list(itertools.islice(tracker.events, saving.events,
                                               len(tracker.events)))
        else:  # Rasa's TrackerStore.stream_events
            old_tracker = await self.retrieve(tracker.sender_id)
            new_events = TrackerEventDiffEngine.event_difference(old_tracker, tracker)
            if saving is not None:
                saving.events = len(old_tracker.events) if old_tracker else 0
        await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Any:
        saving = self._saving(tracker)
        if saving is None:
            return super()._additional_events(session, tracker)
        if saving.rows is None:  # Rasa's count(), kept for the numbers after the save
            saving.rows = self._event_query(session, tracker.sender_id,
                                            fetch_events_from_all_sessions=False).count()
            # no row since the latest session start: no SessionStarted row at all (it would
            # count itself)
            saving.session_start_known = saving.rows == 0
        return itertools.islice(tracker.events, saving.rows, len(tracker.events))

    async def save_counted(self, tracker: DialogueStateTracker, write: Any,
                           first_attempt: bool) -> None:
        """Run ``write`` (flush the journal if it returns True, then SQLTrackerStore.save) with
        the remembered count of ``tracker`` when it holds, and remember the new one."""
        if not self.known_counts:
            await write(None)
            return
        sender_id = tracker.sender_id
        stored = self.remembered(tracker) if first_attempt else None
        tracker.__dict__.pop(_ATTRIBUTE, None)
        self.wrote(sender_id)
        saving = _Saving(tracker)
        if stored is not None:
            saving.rows, saving.events = stored.rows, stored.events
            saving.session_start, saving.session_start_known = stored.session_start, True
        try:
            await write(saving)
        finally:
            self.wrote(sender_id)  # reads made while this save was under way are stale too
        after = self._after(tracker, saving)
        if after is not None:
            tracker.__dict__[_ATTRIBUTE] = after

    def _after(self, tracker: DialogueStateTracker, saving: _Saving) -> Stored | None:
        if saving.rows is None or not saving.session_start_known:
            return None
        if self.event_broker is not None and saving.events is None:
            return None
        written = list(itertools.islice(tracker.events, saving.rows, len(tracker.events)))
        start = saving.session_start
        for event in written:
            if isinstance(event, SessionStarted):
                return None  # the latest session changes: count() filters differently
            if start is not None and (event.timestamp is None or event.timestamp < start):
                return None  # written, but not counted by count()
        events = None if saving.events is None else saving.events + len(written)
        return Stored(self._generation(tracker.sender_id), saving.rows + len(written), events,
                      start)

    @staticmethod
    def bind(saving: _Saving | None) -> contextvars.Token | None:
        return _SAVING.set(saving) if saving is not None else None

    @staticmethod
    def unbind(token: contextvars.Token | None) -> None:
        if token is not None:
            _SAVING.reset(token)
