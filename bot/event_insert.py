"""A tracker's new events written with one Core ``INSERT`` instead of one ORM object each.

``SQLTrackerStore.save`` (Rasa 3.6) makes an ORM ``SQLEvent`` per new event, adds it to the
session and lets the unit of work flush them: per-object bookkeeping that costs more CPU than
the rows themselves (the ORM's flush and commit were ~4 % of the Rasa process per turn, cProfile,
reports/perf/README.md). :meth:`CoreInsertSave.sql_save` is Rasa's ``save`` line for line — the
event broker first (``stream_events``), the same ``_additional_events`` (so ``bot/stored_count.py``
still decides what is new), the same column values computed the same way, in one transaction —
with the rows handed to the table's ``INSERT`` as one ``executemany`` in event order (ids in the
same order; on PostgreSQL the column's sequence gives them, as for the ORM).

Switched with the rest of ``bot/rasa_speedups.py`` (``ATIENDE_RASA_SPEEDUPS_OFF=core_insert``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)


class CoreInsertSave:
    """Mixin for ``SQLTrackerStore`` subclasses: :meth:`sql_save` is their ``save``."""

    core_inserts = True  # the instance sets it from bot.rasa_speedups.enabled("core_insert")

    async def sql_save(self, tracker: DialogueStateTracker) -> None:
        if not self.core_inserts:
            await SQLTrackerStore.save(self, tracker)  # type: ignore[arg-type]
            return
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = []
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                rows.append({
                    "sender_id": tracker.sender_id, "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get(
                        INTENT_NAME_KEY),
                    "action_name": data.get("name"), "data": json.dumps(data)})
            if rows:
                session.execute(self._event_insert(), rows)
            session.commit()
        logger.debug("Tracker with sender_id '%s' stored to database", tracker.sender_id)

    def _event_insert(self) -> Any:
        statement = self.__dict__.get("_atiende_event_insert")
        if statement is None:
            statement = self.SQLEvent.__table__.insert()
            self.__dict__["_atiende_event_insert"] = statement
        return statement
