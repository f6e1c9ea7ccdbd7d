"""Shared fixtures for action tests (app env).

A seeded temporary SQLite store and rasa-sdk trackers.

Generic on purpose so every action module's tests can use them:

- ``store_db``: path of a freshly seeded demo store (reference day = the store's today,
  ``actions.store_calendar``); ``STORE_DATABASE`` points at it and ``actions.store.get_store``
  is reset, so actions read this file.
- ``store``: an :class:`actions.store.sqlite.SQLiteStore` on that file.
- ``demo_orders``: the seeded orders (``actions.store.seed.DemoOrder``), e.g. to pick a scenario.
- ``attempts_ledger`` (autouse): failed identity checks go to a ledger file of the test's own;
- ``clear_of_the_stores_midnight`` (autouse): no test straddles the store's midnight;
- ``make_tracker(slots=..., text=..., intent=..., entities=..., validate=..., active_loop=...,
  sender_id=..., input_channel=..., metadata=...)``:
  a ``rasa_sdk.Tracker``; ``validate`` lists slot names set in the current turn, the way Rasa's
  FormAction hands them to a ``validate_<form>`` action (``tracker.slots_to_validate()``).
- ``dispatcher``: a ``CollectingDispatcher``; ``texts(dispatcher)`` joins what it said.
- ``domain``: a minimal domain dict with the contract's forms and slots.
- ``woo`` / ``tn`` / ``shop``: the WooCommerce, Tiendanube and Shopify stand-ins, reseeded per test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.store_calendar import store_zone
from actions.store_calendar import today as store_today

# the platform stand-ins (tests/actions/store/standins), for action tests on real adapters
from tests.actions.store.conftest import (  # noqa: F401 - fixtures used by name
    shop,
    shop_server,
    tn,
    tn_server,
    woo,
    woo_server,
)

FORMS = {
    "order_status_form": ["order_id", "customer_contact"],
    "cancel_order_form": ["order_id", "customer_contact", "cancel_confirm"],
    "return_form": ["order_id", "customer_contact", "return_item", "return_seal", "return_reason",
                    "return_exchange", "return_confirm"],
    "refund_status_form": ["order_id", "customer_contact"],
    "change_address_form": ["order_id", "customer_contact", "new_address"],
    "csat_form": ["csat_comment"],
    "claim_form": ["order_id", "customer_contact", "claim_item", "claim_photo", "claim_remedy",
                   "claim_confirm"],
}
SLOTS = [
    "language", "order_id", "customer_contact", "verified_order_id", "verification_attempts",
    "customer_vip", "cancel_confirm", "return_item", "return_seal", "return_reason",
    "return_exchange", "return_confirm", "new_address",
    "kb_last_article", "kb_articles_shown", "handoff_reason", "handoff_id", "handoff_active",
    "rating", "csat_comment", "requested_slot", "problem", "claim_item", "claim_photo",
    "claim_remedy", "claim_confirm", "claim_photo_asks", "claim_description", "store_request",
]


@pytest.fixture(autouse=True)
def clear_of_the_stores_midnight() -> Iterator[None]:
    """Tests read the store's day more than once (seeding the demo store, then the action and
    the assertion); one that straddled the store's midnight would compare two days. Within
    5 minutes of it, the test's clock runs from a minute past it instead (time-machine; a
    shift of at most 6 minutes, which subprocess servers on the real clock tolerate)."""
    now = datetime.now(UTC)
    midnight = datetime.combine(store_today(now) + timedelta(days=1), time(), store_zone())
    if midnight - now > timedelta(minutes=5):
        yield
        return
    with time_machine.travel(midnight + timedelta(minutes=1), tick=True):
        yield


@pytest.fixture(autouse=True)
def attempts_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Failed identity checks are counted in a ledger of this test's own (actions/attempts.py)."""
    from actions.attempts import get_attempts

    path = tmp_path / "ledger.db"
    monkeypatch.setenv("ATIENDE_LEDGER_URL", f"sqlite:///{path}")
    monkeypatch.setenv("ATIENDE_PRIVACY_KEY", "test-privacy-key-0123456789")
    get_attempts.cache_clear()
    yield path
    get_attempts.cache_clear()


@pytest.fixture
def store_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from actions.store import get_store
    from actions.store.seed import seed_database

    path = tmp_path / "store.db"
    seed_database(path, today=store_today(), force=True)
    monkeypatch.setenv("STORE_DATABASE", str(path))
    monkeypatch.setenv("STORE_BACKEND", "sqlite")
    get_store.cache_clear()
    yield path
    get_store.cache_clear()


@pytest.fixture
def store(store_db: Path) -> Any:
    from actions.store.sqlite import SQLiteStore

    return SQLiteStore(store_db, timeout=3.0)


@pytest.fixture
def demo_orders() -> list[Any]:
    from actions.store.seed import build_demo_orders

    return build_demo_orders(store_today())


@pytest.fixture
def domain() -> dict[str, Any]:
    return {
        "forms": {name: {"required_slots": slots} for name, slots in FORMS.items()},
        "slots": {name: {"type": "any", "mappings": [{"type": "custom"}]} for name in SLOTS},
        "responses": {},
        "actions": [],
    }


@pytest.fixture
def make_tracker() -> Callable[..., Tracker]:
    def factory(
        slots: dict[str, Any] | None = None,
        *,
        text: str = "",
        intent: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        validate: list[str] | tuple[str, ...] = (),
        active_loop: str | None = None,
        sender_id: str = "test-user",
        input_channel: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Tracker:
        values = {name: None for name in SLOTS}
        values["language"] = "es"
        values.update(slots or {})
        latest = {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0} if intent else {},
            "entities": entities or [],
        }
        latest["metadata"] = metadata or {}
        events: list[dict[str, Any]] = [{"event": "user", "text": text, "parse_data": latest,
                                         "input_channel": input_channel,
                                         "metadata": metadata or {}}]
        if active_loop:
            events.append({"event": "action", "name": active_loop})
        events += [{"event": "slot", "name": n, "value": values[n]} for n in validate]
        return Tracker(
            sender_id=sender_id, slots=values, latest_message=latest, events=events, paused=False,
            followup_action=None, active_loop={"name": active_loop} if active_loop else {},
            latest_action_name="action_listen",
        )

    return factory


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def texts(dispatcher: CollectingDispatcher) -> str:
    """Everything the dispatcher said, texts and response names, one per line."""
    return "\n".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages)


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The last value each slot was set to by ``events``."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture(name="said")
def said_fixture() -> Callable[[CollectingDispatcher], str]:
    """``said(dispatcher)``: see :func:`texts`."""
    return texts


@pytest.fixture(name="slots_of")
def slots_of_fixture() -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    """``slots_of(events)``: see :func:`slot_events`."""
    return slot_events
