"""A look at a tracker (the channel's language, the gate's pause) gives what Rasa's own read gives
at that moment, and rebuilds the tracker only when the conversation changed
(bot/tracker_peek.py)."""

from __future__ import annotations

import asyncio
import itertools

import pytest
import sqlalchemy as sa
from rasa.shared.core.events import ConversationPaused, ConversationResumed, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot import tracker_peek
from bot.tracker_store import DurableSQLTrackerStore
from tests.bot.databases import KINDS, database_url
from tests.bot.test_stored_count import DOMAIN, Clock, ListBroker, add, session_start, turn


def make_store(url: str, tmp_path, name: str, monkeypatch, off: str = "",
               ) -> DurableSQLTrackerStore:
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS", "1")
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS_OFF", off)
    parsed = sa.engine.make_url(url)
    where = ({"dialect": "sqlite", "db": parsed.database} if parsed.drivername == "sqlite" else
             {"dialect": "postgresql", "host": parsed.host, "port": parsed.port,
              "db": parsed.database, "username": parsed.username})
    return DurableSQLTrackerStore(domain=DOMAIN, journal_dir=str(tmp_path / f"j-{name}"),
                                  retry_delays=(0.0,), event_broker=ListBroker(), **where)


class Rebuilds:
    """Counts the trackers built from stored rows (Rasa's read: ``from_dict``)."""

    def __init__(self, monkeypatch) -> None:
        self.count = itertools.count()
        original = DialogueStateTracker.from_dict.__func__

        def counted(cls, *args, **kwargs):
            next(self.count)
            return original(cls, *args, **kwargs)

        monkeypatch.setattr(DialogueStateTracker, "from_dict", classmethod(counted))

    def __call__(self) -> int:
        return next(self.count)  # (counts itself too: compare differences)


def image(tracker: DialogueStateTracker | None) -> object:
    """What a look may depend on: the events, the slots and the pause."""
    if tracker is None:
        return None
    return ([e.as_dict() for e in tracker.events], tracker.current_slot_values(),
            tracker.is_paused())


async def steps(store: DurableSQLTrackerStore, other: DurableSQLTrackerStore):
    """A conversation as the processor, the gate and a second replica write it; yields after
    every step (the caller looks then)."""
    clock = Clock()
    yield "nothing stored"
    tracker = await store.get_or_create_tracker("ana", append_action_listen=False)
    add(tracker, session_start(clock) + turn(clock, "hola"))
    await store.save(tracker)
    yield "first turn"
    for text in ("¿y mi pedido?", "quiero una persona"):
        tracker = await store.retrieve("ana")
        add(tracker, turn(clock, text))
        await store.save(tracker)
        yield f"turn {text}"
    add(tracker, [clock(SlotSet("language", "en")), clock(ConversationPaused())])
    await store.save(tracker)  # the same tracker saved again: paused
    yield "paused"
    replica = await other.retrieve("ana")  # another process resumes it
    add(replica, [clock(ConversationResumed())])
    await other.save(replica)
    yield "resumed by another replica"
    tracker = await store.retrieve("ana")
    add(tracker, session_start(clock) + turn(clock, "otra vez"))
    await store.save(tracker)  # a new session mid-turn
    yield "new session"
    with store.engine.begin() as conn:  # privacy erasure: the whole conversation goes
        conn.execute(sa.text("DELETE FROM events WHERE sender_id = 'ana'"))
    yield "erased"
    tracker = await store.get_or_create_tracker("ana", append_action_listen=False)
    add(tracker, session_start(clock) + turn(clock, "hola"))
    await store.save(tracker)
    yield "written again"


@pytest.mark.parametrize("kind", KINDS)
def test_every_look_is_what_rasa_reads_at_that_moment(kind, tmp_path, monkeypatch) -> None:
    with database_url(kind, tmp_path, "peek.db") as url:
        store = make_store(url, tmp_path, "a", monkeypatch)
        other = make_store(url, tmp_path, "b", monkeypatch)
        stock = make_store(url, tmp_path, "stock", monkeypatch, off="stored_count")
        assert store.peeks and not stock.peeks

        async def run() -> list[str]:
            seen = []
            async for step in steps(store, other):
                for _ in range(2):  # the channel's look, then the gate's
                    looked = await tracker_peek.peek(store, "ana")
                    assert image(looked) == image(await stock.retrieve("ana")), step
                seen.append(step)
            return seen

        assert len(asyncio.run(run())) == 9
        for each in (store, other, stock):
            each.engine.dispose()


@pytest.mark.parametrize("off", ["", "read_cache"])
def test_an_unchanged_conversation_is_not_rebuilt(off, tmp_path, monkeypatch) -> None:
    store = make_store(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, "r", monkeypatch, off=off)

    async def run() -> list[int]:
        clock = Clock()
        tracker = await store.get_or_create_tracker("ana", append_action_listen=False)
        add(tracker, session_start(clock) + turn(clock, "hola"))
        await store.save(tracker)
        rebuilds = Rebuilds(monkeypatch)
        counts = []
        for text in ("uno", "dos"):
            start = rebuilds()
            await tracker_peek.peek(store, "ana")  # channel
            await tracker_peek.peek(store, "ana")  # gate
            tracker = await store.retrieve("ana")  # Rasa, under the lock
            add(tracker, turn(clock, text))
            await store.save(tracker)
            counts.append(rebuilds() - start - 1)
        return counts

    # the first turn's save started a session (not remembered): one rebuild for both looks;
    # then the saved tracker serves the next looks
    assert asyncio.run(run()) == ([3, 3] if off else [2, 1])


def test_a_read_that_raced_a_write_is_not_reused(tmp_path, monkeypatch) -> None:
    store = make_store(f"sqlite:///{tmp_path / 'race.db'}", tmp_path, "race", monkeypatch)
    other = make_store(f"sqlite:///{tmp_path / 'race.db'}", tmp_path, "other", monkeypatch)

    async def run() -> bool:
        clock = Clock()
        tracker = await store.get_or_create_tracker("ana", append_action_listen=False)
        add(tracker, session_start(clock) + turn(clock, "hola"))
        await store.save(tracker)
        original = store.retrieve

        async def racing(sender_id: str):  # the agent's pause lands between signature and read
            replica = await other.retrieve(sender_id)
            add(replica, [clock(ConversationPaused())])
            await other.save(replica)
            return await original(sender_id)

        store.retrieve = racing
        assert (await tracker_peek.peek(store, "ana")).is_paused()
        store.retrieve = original
        replica = await other.retrieve("ana")
        add(replica, [clock(ConversationResumed())])
        await other.save(replica)
        return (await tracker_peek.peek(store, "ana")).is_paused()

    assert asyncio.run(run()) is False


def test_through_rasas_wrappers(tmp_path, monkeypatch) -> None:
    from rasa.core.tracker_store import AwaitableTrackerStore, FailSafeTrackerStore

    store = make_store(f"sqlite:///{tmp_path / 'w.db'}", tmp_path, "w", monkeypatch)
    called = []
    store.peek = lambda sender_id: called.append(sender_id) or asyncio.sleep(0)
    wrapped = FailSafeTrackerStore(AwaitableTrackerStore(store))
    asyncio.run(tracker_peek.peek(wrapped, "ana"))
    assert called == ["ana"]
