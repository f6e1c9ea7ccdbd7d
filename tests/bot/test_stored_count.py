"""A save that reuses its read's event count writes and publishes exactly what Rasa's would
(bot/stored_count.py), without Rasa's count() and read-back."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)

from bot.tracker_store import DurableSQLTrackerStore

DOMAIN = Domain.from_yaml("version: '3.1'\nintents: [greet]\nslots:\n  language:\n"
                          "    type: text\n    mappings: [{type: custom}]\n")
T0 = 1_700_000_000.0


class ListBroker(EventBroker):
    def __init__(self) -> None:
        self.published: list[dict] = []

    def publish(self, event: dict) -> None:
        self.published.append(event)


class Meter:
    """Counts the store's reads and the count() queries it sends."""

    def __init__(self, store: DurableSQLTrackerStore) -> None:
        self.counts = self.reads = 0
        sa.event.listen(store.engine, "before_cursor_execute", self._statement)
        original = store.retrieve

        async def retrieve(sender_id: str):
            self.reads += 1
            return await original(sender_id)

        store.retrieve = retrieve

    def _statement(self, _conn, _cursor, statement: str, *_args) -> None:
        # Rasa's count() of stored events, not the looks' signature (bot/tracker_peek.py)
        if "count(" in statement.lower() and "max(events.id)" not in statement.lower():
            self.counts += 1


def make_store(tmp_path: Path, name: str, monkeypatch, speedups: bool) -> DurableSQLTrackerStore:
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS", "1" if speedups else "0")
    return DurableSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / f"{name}.db"),
                                  journal_dir=str(tmp_path / f"j-{name}"), retry_delays=(0.0,),
                                  event_broker=ListBroker())


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self, event: Event) -> Event:
        self.now += 1.0
        event.timestamp = self.now
        return event


def turn(clock: Clock, text: str) -> list[Event]:
    return [clock(UserUttered(text, {"name": "greet", "confidence": 1.0})),
            clock(ActionExecuted("utter_greet")), clock(BotUttered(f"re: {text}")),
            clock(ActionExecuted("action_listen"))]


def add(tracker, events: list[Event]) -> None:
    tracker.update_with_events(events, DOMAIN, override_timestamp=False)


async def first_turn(store: DurableSQLTrackerStore, clock: Clock) -> None:
    """A new conversation as the processor makes it: an empty tracker saved, then its turn."""
    tracker = await store.get_or_create_tracker("ana", append_action_listen=False)
    add(tracker, session_start(clock) + turn(clock, "hola"))
    await store.save(tracker)


def session_start(clock: Clock) -> list[Event]:
    return [clock(ActionExecuted("action_session_start")), clock(SessionStarted()),
            clock(SlotSet("language", "es")), clock(ActionExecuted("action_listen"))]


async def script(store: DurableSQLTrackerStore) -> None:
    """Turns as the Rasa processor and the hand-off gate make them, plus the awkward cases."""
    clock = Clock()
    # a new conversation: nothing stored, an empty tracker saved, then its first turn
    tracker = await store.get_or_create_tracker("ana", append_action_listen=False)
    add(tracker, session_start(clock) + turn(clock, "hola"))
    await store.save(tracker)
    # two ordinary turns, each read then saved; the second saved twice
    for text in ("¿y mi pedido?", "gracias"):
        tracker = await store.retrieve("ana")
        add(tracker, turn(clock, text))
        await store.save(tracker)
    add(tracker, turn(clock, "otra"))
    await store.save(tracker)
    # two reads of the same conversation; the later one is saved first
    first, second = await store.retrieve("ana"), await store.retrieve("ana")
    add(second, turn(clock, "segunda"))
    await store.save(second)
    add(first, turn(clock, "primera"))
    add(first, turn(clock, "primera bis"))
    await store.save(first)
    # a new session in the middle of a turn, then a second save of the same tracker
    tracker = await store.retrieve("ana")
    add(tracker, session_start(clock) + turn(clock, "nueva"))
    await store.save(tracker)
    add(tracker, turn(clock, "después"))
    await store.save(tracker)
    # an event stamped before the latest session start (another machine's clock)
    tracker = await store.retrieve("ana")
    late = turn(clock, "tarde")
    late[0].timestamp = T0
    add(tracker, late)
    await store.save(tracker)
    add(tracker, turn(clock, "luego"))
    await store.save(tracker)


def stored_rows(store: DurableSQLTrackerStore) -> list[tuple]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT sender_id, type_name, timestamp, intent_name, "
                                    "action_name, data FROM events ORDER BY id")).fetchall()
    return [(*row[:5], json.loads(row[5])) for row in rows]


def test_the_same_rows_and_broker_events_as_rasa(tmp_path, monkeypatch) -> None:
    results = {}
    for speedups in (False, True):
        store = make_store(tmp_path, f"speedups-{speedups}", monkeypatch, speedups)
        asyncio.run(script(store))
        read = asyncio.run(store.retrieve("ana"))
        results[speedups] = (stored_rows(store), store.event_broker.published,
                             [e.as_dict() for e in read.events])
    stock_rows, stock_published, stock_read = results[False]
    rows, published, read = results[True]
    assert read == stock_read and len(read) < len(rows)  # the latest session only
    assert len(stock_rows) > 40
    assert rows == stock_rows
    assert published == stock_published


def test_a_turn_saves_without_count_or_read_back(tmp_path, monkeypatch) -> None:
    async def run(store: DurableSQLTrackerStore) -> tuple[int, int]:
        clock = Clock()
        await first_turn(store, clock)
        meter = Meter(store)
        for text in ("uno", "dos", "tres"):
            tracker = await store.retrieve("ana")
            add(tracker, turn(clock, text))
            await store.save(tracker)
        return meter.counts, meter.reads

    stock = make_store(tmp_path, "stock", monkeypatch, speedups=False)
    assert asyncio.run(run(stock)) == (3, 6)  # Rasa: a count() and a read-back per save
    fast = make_store(tmp_path, "fast", monkeypatch, speedups=True)
    assert asyncio.run(run(fast)) == (0, 3)  # only the turns' own reads
    assert stored_rows(fast) == stored_rows(stock)


def test_a_stale_tracker_asks_the_database(tmp_path, monkeypatch) -> None:
    async def run() -> int:
        store = make_store(tmp_path, "stale", monkeypatch, speedups=True)
        clock = Clock()
        await first_turn(store, clock)
        old = await store.retrieve("ana")
        newer = await store.retrieve("ana")
        add(newer, turn(clock, "newer"))
        await store.save(newer)
        meter = Meter(store)
        add(old, turn(clock, "old"))
        add(old, turn(clock, "old 2"))
        await store.save(old)
        texts = [e.text for e in (await store.retrieve("ana")).events
                 if isinstance(e, UserUttered)]
        # Rasa's rule: the stored count decides what is new (old's first 4 events were "newer"'s)
        assert texts == ["hola", "newer", "old 2"]
        return meter.counts

    assert asyncio.run(run()) == 1


def test_a_save_retried_after_a_commit_asks_the_database(tmp_path, monkeypatch) -> None:
    from bot.stored_count import _SAVING

    async def run() -> list[str]:
        store = make_store(tmp_path, "retry", monkeypatch, speedups=True)
        clock = Clock()
        await first_turn(store, clock)
        tracker = await store.retrieve("ana")
        add(tracker, turn(clock, "otra"))
        original = store.session_scope
        failures = [True]

        def committed_then_failed():
            scope = original()

            class Scope:
                def __enter__(self):
                    return scope.__enter__()

                def __exit__(self, *exc):
                    scope.__exit__(*exc)
                    if failures and exc[0] is None and _SAVING.get() is not None:
                        failures.pop()
                        raise OSError("connection lost after the commit")

            return Scope()

        store.session_scope = committed_then_failed
        await store.save(tracker)
        store.session_scope = original
        return [e.text for e in (await store.retrieve("ana")).events
                if isinstance(e, UserUttered)]

    assert asyncio.run(run()) == ["hola", "otra"]
