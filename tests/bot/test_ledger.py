"""The shared ledger (bot/ledger.py) on real SQLite and real PostgreSQL: claims are exclusive across
"replicas" (two Ledger objects on one database), survive a restart, are taken over when their
process dies, and the Meta inbox hands a crashed process's deliveries to the next one."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.ledger import Ledger
from tests.bot.databases import KINDS, database_url


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, "ledger.db") as database:
        yield database


def test_one_claim_wins_among_replicas_racing(url: str) -> None:
    replicas = [Ledger(url) for _ in range(4)]
    replicas[0].engine  # noqa: B018 - create the tables before the race
    results: list[str] = []
    barrier = threading.Barrier(16)

    def race(ledger: Ledger) -> None:
        barrier.wait()
        results.append(ledger.claim("rest", "web-1", "m-1").state)

    threads = [threading.Thread(target=race, args=(replicas[i % 4],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["new"] + ["processing"] * 15
    for ledger in replicas:
        ledger.dispose()


def test_a_done_message_answers_from_the_ledger_after_a_restart(url: str) -> None:
    first = Ledger(url)
    assert first.claim("rest", "web-2", "m-1").state == "new"
    first.done("rest", "web-2", "m-1", {"messages": [{"text": "¡Hola!"}], "route": "rasa"})
    first.dispose()
    restarted = Ledger(url)  # a new process: nothing in memory
    claim = restarted.claim("rest", "web-2", "m-1")
    assert claim.state == "done" and claim.answer["messages"] == [{"text": "¡Hola!"}]
    # the same id in another conversation or channel is another message
    assert restarted.claim("rest", "web-3", "m-1").state == "new"
    assert restarted.claim("socketio", "web-2", "m-1").state == "new"
    restarted.dispose()


def test_a_released_claim_can_be_processed_again(url: str) -> None:
    ledger = Ledger(url)
    assert ledger.claim("rest", "web-4", "m-1").state == "new"
    ledger.release("rest", "web-4", "m-1")
    assert ledger.claim("rest", "web-4", "m-1").state == "new"
    ledger.dispose()


def test_a_dead_process_claim_is_taken_over_once_its_heartbeat_stops(url: str) -> None:
    dying = Ledger(url, lease_seconds=600, heartbeat_seconds=0.5)
    dying.beat()
    assert dying.claim("rest", "web-5", "m-1").state == "new"
    other = Ledger(url, lease_seconds=600, heartbeat_seconds=0.5)
    other.beat()
    assert other.claim("rest", "web-5", "m-1").state == "processing"  # alive: hands off
    # `dying` is killed: it beats no more. Stale after max(4 beats, 10 s)
    with other.engine.begin() as conn:
        conn.execute(sa.text("UPDATE owners SET beat_at = beat_at - 11 WHERE owner = :o"),
                     {"o": dying.owner})
    claim = other.claim("rest", "web-5", "m-1")
    assert claim.state == "new" and claim.answer == "taken_over"
    assert other.claim("rest", "web-5", "m-1").state == "processing"  # taken once
    dying.dispose()
    other.dispose()


def test_a_process_that_never_beat_keeps_its_whole_lease(url: str) -> None:
    """Liveness is judged only for processes that announce it; the lease still bounds the rest."""
    quiet = Ledger(url, lease_seconds=1)
    assert quiet.claim("rest", "web-6", "m-1").state == "new"
    other = Ledger(url, lease_seconds=1)
    assert other.claim("rest", "web-6", "m-1").state == "processing"
    time.sleep(1.1)
    assert other.claim("rest", "web-6", "m-1").state == "new"
    quiet.dispose()
    other.dispose()


def test_the_inbox_gives_a_dead_process_deliveries_to_the_living(url: str) -> None:
    crashed = Ledger(url, lease_seconds=600, heartbeat_seconds=0.5)
    crashed.beat()
    wa = crashed.inbox_add("whatsapp", {"object": "whatsapp_business_account", "n": 1})
    ms = crashed.inbox_add("messenger", {"object": "page", "n": 2})
    survivor = Ledger(url, lease_seconds=600, heartbeat_seconds=0.5)
    survivor.beat()
    assert survivor.inbox_take(None, 10, "whatsapp") == []  # still leased by a live process
    with survivor.engine.begin() as conn:
        conn.execute(sa.text("UPDATE owners SET beat_at = beat_at - 11 WHERE owner = :o"),
                     {"o": crashed.owner})
    taken = survivor.inbox_take(None, 10, "whatsapp")
    assert [(i.id, i.channel, i.payload["n"]) for i in taken] == [(wa, "whatsapp", 1)]
    # the messenger delivery is not leased by the WhatsApp sweep (it used to be, and starved)
    assert [i.id for i in survivor.inbox_take(None, 10, "messenger")] == [ms]
    assert survivor.inbox_take(None, 10, "whatsapp") == []  # leased by the survivor now
    survivor.inbox_done(wa)
    survivor.inbox_done(ms)
    assert survivor.inbox_counts() == {"done": 2}
    crashed.dispose()
    survivor.dispose()


def test_once_keys_are_shared(url: str) -> None:
    a, b = Ledger(url), Ledger(url)
    assert a.first_time("handback:7") is True
    assert b.first_time("handback:7") is False
    assert b.seen("handback:7") and not b.seen("handback:8")
    a.dispose()
    b.dispose()


def test_an_old_ledger_file_gets_the_new_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE meta_inbox (id INTEGER PRIMARY KEY, channel VARCHAR(32) NOT NULL, "
            "payload TEXT NOT NULL, received_at FLOAT NOT NULL, state VARCHAR(16) NOT NULL, "
            "lease_until FLOAT NOT NULL, attempts INTEGER NOT NULL, last_error VARCHAR(500))")
    engine.dispose()
    ledger = Ledger(f"sqlite:///{path}")
    item = ledger.inbox_add("whatsapp", {"x": 1})
    assert item == 1
    ledger.dispose()
