"""Reading a conversation's tracker only to look at it, without rebuilding it every time.

Before Rasa reads a turn's tracker under the conversation's lock, two of our checks read it too:
the channel for the shopper's language (``bot.channels.texts.tracker_language``) and the hand-off
gate for the pause (``bot.conversation_pause.is_paused``) — three reads per turn, each one SQL,
JSON and replaying every event of the latest session into a new ``DialogueStateTracker``
(``from_dict``: most of a read's CPU). Those two checks only look. They are outside the lock, so
they must see what the database holds *now* (reusing the channel's read for the gate once let the
first message of a just-queued shopper reach the bot: reports/perf/README.md).

:meth:`PeekedReads.peek` asks the database one cheap question first — the conversation's
*signature*: how many rows it has, its largest row id and latest timestamp (one indexed
aggregate, no row data) — and answers with the tracker it remembered for that exact signature, or
reads (Rasa's own ``retrieve``) and remembers the result with the signature taken *before* the
read. Rows of a conversation are only ever added (Rasa's SQL store) or deleted all together
(privacy erasure and retention, ``privacy/sql_stores.py``): any write changes the signature (a
conversation erased and written again has later timestamps), so a remembered tracker is used
only while the database holds exactly the rows it was built from. A read that raced a write is
remembered with the older signature: it is never used.

A save of this process also leaves the tracker it wrote to the next look, when the saved tracker
holds exactly the rows of the latest session (its event count known for sure by
``bot/stored_count.py``, no new session written) — a copy of it, with the signature the database
gives after the commit. That relies on what ``bot/stored_count.py`` already relies on: a
conversation is written only under its lock (every writer here: Rasa's turn, the gate's resume,
a hand-back; the Redis lock store across replicas), and the save holds it.

What a look returns is shared: callers must not change it (``tracker_language`` reads a slot,
``is_paused`` a flag). A journaled conversation (database down, ``bot/tracker_store.py``) and
any error take Rasa's own read. Switched with the rest of ``bot/rasa_speedups.py``
(``ATIENDE_RASA_SPEEDUPS_OFF=read_cache``, or ``stored_count`` off).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.shared.core.trackers import DialogueStateTracker

KEPT = 2_000  # conversations remembered (LRU); a few KB each


@dataclass(frozen=True)
class Peeked:
    signature: tuple
    tracker: DialogueStateTracker | None


class PeekedReads:
    """Mixin for ``DurableSQLTrackerStore`` (needs ``SQLTrackerStore`` and ``KnownEventCount``)."""

    peeks = True  # the instance sets it from bot.rasa_speedups.enabled("read_cache")

    def _peeked(self) -> OrderedDict[str, Peeked]:
        return self.__dict__.setdefault("_atiende_peeked", OrderedDict())

    def _signature_query(self) -> Any:
        query = self.__dict__.get("_atiende_signature_query")
        if query is None:
            table = self.SQLEvent.__table__
            query = (sa.select(sa.func.count(), sa.func.max(table.c.id),
                               sa.func.max(table.c.timestamp))
                     .where(table.c.sender_id == sa.bindparam("sender_id")))
            self.__dict__["_atiende_signature_query"] = query
        return query

    def signature(self, sender_id: str) -> tuple:
        """(rows, largest id, latest timestamp) of the conversation in the database."""
        with self.engine.connect() as conn:
            return tuple(conn.execute(self._signature_query(), {"sender_id": sender_id}).one())

    def _remember(self, sender_id: str, signature: tuple,
                  tracker: DialogueStateTracker | None) -> None:
        peeked = self._peeked()
        peeked[sender_id] = Peeked(signature, tracker)
        peeked.move_to_end(sender_id)
        if len(peeked) > KEPT:
            peeked.popitem(last=False)

    async def peek(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session's tracker as ``retrieve`` gives it, **to look at only**."""
        if not self.peeks or self._journal_path(sender_id).exists():
            return await self.retrieve(sender_id)
        try:
            signature = self.signature(sender_id)
        except Exception:  # the database blips: Rasa's read retries, or answers from the journal
            return await self.retrieve(sender_id)
        known = self._peeked().get(sender_id)
        if known is not None and known.signature == signature:
            self._peeked().move_to_end(sender_id)
            return known.tracker
        tracker = await self.retrieve(sender_id)
        self._remember(sender_id, signature, tracker)
        return tracker

    def saved(self, tracker: DialogueStateTracker) -> None:
        """After a save of ``tracker`` under its conversation's lock: the next look may use a copy
        of it, if it holds exactly the latest session's rows."""
        if not self.peeks:
            return
        self._peeked().pop(tracker.sender_id, None)
        stored = self.remembered(tracker)  # bot/stored_count.py: counts known for sure
        if stored is None or stored.events != len(tracker.events) \
                or stored.rows != len(tracker.events):
            return
        try:
            signature = self.signature(tracker.sender_id)
        except Exception:
            return
        self._remember(tracker.sender_id, signature, tracker.copy())


async def peek(store: Any, sender_id: str) -> DialogueStateTracker | None:
    """``store.retrieve(sender_id)`` for a caller that only looks at the tracker; through Rasa's
    wrappers (``FailSafeTrackerStore``, ``AwaitableTrackerStore``) to our store's
    :meth:`PeekedReads.peek` when there is one."""
    inner = store
    for _ in range(4):
        if isinstance(inner, PeekedReads):
            return await inner.peek(sender_id)
        inner = getattr(inner, "_tracker_store", None)
        if inner is None:
            break
    return await store.retrieve(sender_id)
