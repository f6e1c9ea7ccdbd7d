"""The relay outbox (bot/outbox.py) on real SQLite and real PostgreSQL, shared by replicas: two
workers (two Outbox objects, as two Rasa replicas have) racing for the same items post each one
exactly once and in order per conversation; a replica that dies holding a lease only delays its
item; a SQLite file of the previous version (no lease columns) is upgraded in place."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.outbox import Outbox
from tests.bot.databases import KINDS, database_url


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, "relay_outbox.db") as found:
        yield found


async def fill(outbox: Outbox, conversations: int, per_conversation: int) -> None:
    for n in range(per_conversation):  # interleaved, as shoppers write
        for c in range(conversations):
            await outbox.add(message_id=f"m{n}", conversation_id=f"c{c}", channel="rest",
                             text=f"text {n}", ts=time.time(), due_now=True)


def test_two_replicas_racing_post_every_item_once_and_in_order(url: str) -> None:
    replicas = [Outbox(url=url), Outbox(url=url)]
    asyncio.run(fill(replicas[0], conversations=12, per_conversation=5))
    posted: list[tuple[str, str, int]] = []  # (conversation, message, replica)
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def work(index: int) -> None:
        outbox = replicas[index]
        barrier.wait()
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < 3.0:
            items = outbox._due(5)
            if not items:
                time.sleep(0.01)
                continue
            idle_since = time.monotonic()
            for item in items:
                with lock:
                    posted.append((item.conversation_id, item.message_id, index))
                time.sleep(0.002)  # the HTTP post: the other replica runs meanwhile
                outbox._mark(item.id, "delivered")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    counts = Counter((c, m) for c, m, _ in posted)
    assert len(counts) == 60, "every item posted"
    assert [key for key, n in counts.items() if n > 1] == [], "no item posted twice"
    by_conversation: dict[str, list[str]] = defaultdict(list)
    for c, m, _ in posted:
        by_conversation[c].append(m)
    assert all(ms == [f"m{n}" for n in range(5)] for ms in by_conversation.values())
    assert {r for _, _, r in posted} == {0, 1}, "both replicas took part"
    assert asyncio.run(replicas[1].counts()) == {"delivered": 60}


def test_a_lease_keeps_an_item_from_the_other_replica_until_it_runs_out(url: str,
                                                                       monkeypatch) -> None:
    a, b = Outbox(url=url, lease_seconds=30.0), Outbox(url=url, lease_seconds=30.0)
    asyncio.run(fill(a, conversations=1, per_conversation=2))
    taken = a._due(10)
    assert [i.message_id for i in taken] == ["m0"], "only the head of a conversation"
    assert b._due(10) == [], "leased by a: not b's, nor is the message behind it"
    assert asyncio.run(b.retry_now()) == 2
    assert b._due(10) == [], "retry_now does not break a lease"
    assert asyncio.run(b.has_pending("c0"))
    # a died without an answer: its lease runs out (the clock moved on, not slept: a 1 s lease
    # could run out between two statements on a loaded machine)
    later = time.time() + 31.0
    monkeypatch.setattr(time, "time", lambda: later)
    again = b._due(10)
    assert [i.message_id for i in again] == ["m0"]
    b._mark(again[0].id, "delivered")
    assert [i.message_id for i in a._due(10)] == ["m1"]


def test_a_failed_try_gives_the_item_back_with_its_back_off(url: str, monkeypatch) -> None:
    # a long back-off and a clock moved past it: a 0.3 s back-off had run out before
    # next_due_in was asked on a loaded machine (no wall-clock timing in tests)
    a, b = Outbox(url=url, base_delay=30.0), Outbox(url=url)
    asyncio.run(fill(a, conversations=1, per_conversation=1))
    item = a._due(10)[0]
    assert a._retry_later(item.id, 1, "HTTP 503") == pytest.approx(30.0)
    assert b._due(10) == []
    wait = asyncio.run(b.next_due_in())
    assert wait is not None and 0 < wait <= 30.0
    later = time.time() + 31.0
    monkeypatch.setattr(time, "time", lambda: later)
    assert [i.attempts for i in b._due(10)] == [1]


def test_the_same_message_is_stored_once_whoever_stores_it(url: str) -> None:
    a, b = Outbox(url=url), Outbox(url=url)
    kw = {"message_id": "m1", "conversation_id": "c1", "channel": "rest", "text": "hola",
          "ts": 1.0}
    assert asyncio.run(a.add(**kw)) is True
    assert asyncio.run(b.add(**kw)) is False
    assert asyncio.run(b.add(**{**kw, "conversation_id": "c2"})) is True
    assert asyncio.run(a.counts()) == {"pending": 2}


def test_a_file_of_the_previous_version_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "relay_outbox.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE relay_outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL,
            conversation_id TEXT NOT NULL, channel TEXT NOT NULL, text TEXT NOT NULL,
            ts REAL NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL, last_error TEXT,
            created_at REAL NOT NULL, updated_at REAL NOT NULL,
            reported INTEGER NOT NULL DEFAULT 0, UNIQUE (conversation_id, message_id));
        CREATE TABLE outbox (
            message_id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, channel TEXT NOT NULL,
            text TEXT NOT NULL, ts REAL NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL,
            last_error TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
    """)
    conn.execute("INSERT INTO relay_outbox (message_id, conversation_id, channel, text, ts, "
                 "next_attempt_at, created_at, updated_at) VALUES ('m1', 'c1', 'rest', 'uno', 1, "
                 "0, 1, 1)")
    conn.execute("INSERT INTO outbox (message_id, conversation_id, channel, text, ts, "
                 "next_attempt_at, created_at, updated_at) VALUES ('m9', 'c9', 'rest', 'nueve', "
                 "1, 0, 1, 1)")
    conn.commit()
    conn.close()
    outbox = Outbox(path)
    assert sorted(i.message_id for i in outbox._due(10)) == ["m1", "m9"]
    assert Outbox(path)._due(10) == [], "both leased by the first replica"


def test_outbox_backoff_grows_and_is_capped() -> None:
    box = Outbox(Path("/nonexistent/never-opened.db"), base_delay=1, max_delay=30)
    assert [box.backoff(n) for n in (1, 2, 3, 4, 6, 10)] == [1, 2, 4, 8, 30, 30]
