"""A subset of the fault suite with the handoff API on PostgreSQL (127.0.0.1:5432, trust auth):
a throwaway database per run, dropped afterwards. Rasa and the action server keep running (their
model loads once per suite); only the handoff API is restarted on the new database, and the
auditor reads that database. Rasa's tracker store, the bot's ledger and outbox stay on SQLite
(restarting Rasa on another tracker store costs a model load: minutes).

What runs: kill -9 of the API mid-handoff (outbox catch-up, hand-back after a crash), shopper
messages racing a resolve and a hand-back, 50 clients flooding the widget replay while a queued
shopper writes — the same bodies as on SQLite, counted the same way (0 lost, 0 duplicated).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.records import throwaway_postgres
from tests.faults.system import Seam
from tests.faults.test_kills import kill_api_mid_handoff
from tests.faults.test_races_replays_floods import race_the_close, widget_flood

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def pg_seam(seam: Seam) -> Iterator[Seam]:
    sqlite_url = seam.database_url
    try:
        with throwaway_postgres() as url:
            seam.use_database(url)
            assert seam.on_postgres and seam.health()["database"] == "ok"
            try:
                yield seam
            finally:
                seam.use_database(sqlite_url)  # the other modules' tests run on SQLite
    except Exception as exc:  # noqa: BLE001 - the server is absent: say so, loudly
        if "could not connect" in str(exc) or "Connection refused" in str(exc):
            pytest.fail(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc}", pytrace=False)
        raise


@pytest.fixture
def pg_alive(pg_seam: Seam) -> Iterator[Seam]:
    yield pg_seam
    for service in pg_seam.system.services:
        if service.process is None or service.process.poll() is not None:
            pg_seam.restart(service.name)


def test_postgres_kill9_handoff_api_mid_handoff(pg_alive: Seam) -> None:
    assert pg_alive.on_postgres
    kill_api_mid_handoff(pg_alive, "pg-kill-api")


def test_postgres_shopper_messages_racing_the_close(pg_alive: Seam) -> None:
    race_the_close(pg_alive, "pg-race")


def test_postgres_widget_flood_does_not_stall_the_bot(pg_alive: Seam) -> None:
    widget_flood(pg_alive, "pg-flood-widget")
