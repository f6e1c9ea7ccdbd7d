"""Fixtures for the identity attacks on the order forms (app env): the real ``validate_*``
actions, a seeded demo store, and the failed-checks ledger on SQLite or on a fresh PostgreSQL
database (random name, dropped afterwards)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

PG_ADMIN_URL = os.environ.get("ATIENDE_TEST_PG_URL",
                              "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
SLOTS = ["language", "order_id", "customer_contact", "verified_order_id", "verification_attempts",
         "customer_vip", "cancel_confirm", "return_item", "return_reason", "new_address",
         "handoff_reason", "requested_slot"]
DOMAIN = {"forms": {"order_status_form": {"required_slots": ["order_id", "customer_contact"]}},
          "slots": {n: {"type": "any", "mappings": [{"type": "custom"}]} for n in SLOTS},
          "responses": {}, "actions": []}


@pytest.fixture(scope="module")
def pg_ledger_url() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means the same here
        admin.dispose()
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({type(exc).__name__})",
                    pytrace=False)
    name = f"atiende_ledger_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``ATIENDE_LEDGER_URL`` for this test: a SQLite file, or PostgreSQL (table emptied)."""
    from actions.attempts import get_attempts

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("pg_ledger_url")
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as conn:
            if conn.execute(text("SELECT to_regclass('public.identity_failures')")).scalar():
                conn.execute(text("DELETE FROM identity_failures"))
        engine.dispose()
    monkeypatch.setenv("ATIENDE_LEDGER_URL", url)
    monkeypatch.setenv("ATIENDE_PRIVACY_KEY", "security-test-privacy-key-0123")
    get_attempts.cache_clear()
    yield url
    get_attempts.cache_clear()


@pytest.fixture
def demo_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The demo orders, seeded into a store file of this test's own."""
    from actions.store import get_store
    from actions.store.seed import build_demo_orders, seed_database

    today = datetime.now(UTC).date()
    seed_database(tmp_path / "store.db", today=today, force=True)
    monkeypatch.setenv("STORE_DATABASE", str(tmp_path / "store.db"))
    monkeypatch.setenv("STORE_BACKEND", "demo")
    get_store.cache_clear()
    yield build_demo_orders(today)
    get_store.cache_clear()


def tracker(sender: str, slots: dict[str, Any], validate: list[str], *,
            input_channel: str = "rest", metadata: dict[str, Any] | None = None) -> Tracker:
    """A tracker as Rasa hands it to ``validate_order_status_form`` in a turn."""
    values = {n: None for n in SLOTS} | {"language": "es"} | slots
    latest = {"text": "", "intent": {}, "entities": [], "metadata": metadata or {}}
    events = [{"event": "user", "text": "", "parse_data": latest, "input_channel": input_channel,
               "metadata": metadata or {}},
              {"event": "action", "name": "order_status_form"},
              *({"event": "slot", "name": n, "value": values[n]} for n in validate)]
    return Tracker(sender_id=sender, slots=values, latest_message=latest, events=events,
                   paused=False, followup_action=None, active_loop={"name": "order_status_form"},
                   latest_action_name="action_listen")


async def turn(sender: str, slots: dict[str, Any], validate: list[str],
               **kw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One run of the real ``validate_order_status_form``: (events, what the bot said)."""
    from actions.forms import ValidateOrderStatusForm

    dispatcher = CollectingDispatcher()
    events = await ValidateOrderStatusForm().run(dispatcher, tracker(sender, slots, validate,
                                                                     **kw), DOMAIN)
    return events, dispatcher.messages


def slot_values(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def order_of(orders: list[Any], scenario: str = "in_transit") -> Any:
    return next(o for o in orders if o.scenario == scenario and o.customer["language"] == "es")
