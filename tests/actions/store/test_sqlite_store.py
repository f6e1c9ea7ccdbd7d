"""The SQLite demo store through the StoreBackend interface, on a real seeded file."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from actions.store import (
    InvalidOperation,
    OrderNotFound,
    OrderStatus,
    StoreUnavailable,
    get_store,
    normalize_order_id,
)
from actions.store.sqlite import SQLiteStore
from actions.store_calendar import store_day
from actions.store_calendar import today as store_today


def by_scenario(demo_orders, scenario, language="es", market=None):
    return next(o for o in demo_orders if o.scenario == scenario
                and o.customer["language"] == language
                and (market is None or o.customer["market"] == market))


@pytest.mark.parametrize("raw", ["AT100234", "at-100234", "AT 100234", "#100234", "100234",
                                 "mi pedido es el at100234, gracias", "Nº 100234",
                                 "AT 100 234", "at-100-234", "pedido AT 100 234, gracias"])
def test_normalize_order_id_accepts_shopper_spellings(raw):
    assert normalize_order_id(raw) == "AT100234"


@pytest.mark.parametrize("raw", [None, "", "hola", "12345", "1234567", "+34 612 345 678", "AT12345",
                                 "100 234", "AT 100 2345"])
def test_normalize_order_id_rejects_non_ids(raw):
    assert normalize_order_id(raw) is None


async def test_get_order_returns_everything_the_bot_shows(store, demo_orders):
    demo = by_scenario(demo_orders, "in_transit", market="MX")
    order = await store.get_order(demo.id)
    assert order.status == OrderStatus.IN_TRANSIT
    assert order.currency == "MXN" and order.market == "MX"
    assert order.carrier and order.tracking_number and order.tracking_url.startswith("https://")
    assert order.tracking_number in order.tracking_url
    assert order.estimated_delivery > store_today()
    assert order.total_cents == sum(i.total_cents for i in order.items)
    assert {i.category for i in order.items} <= {"apparel", "footwear", "accessories", "swimwear",
                                                 "underwear", "gift_card", "personalised"}
    assert order.email == demo.customer["email"]


async def test_unknown_order_raises_not_found(store):
    with pytest.raises(OrderNotFound):
        await store.get_order("AT999999")


async def test_list_customer_orders_is_case_insensitive_and_newest_first(store, demo_orders):
    email = demo_orders[0].customer["email"]
    orders = await store.list_customer_orders(email.upper())
    assert orders and all(o.email == email for o in orders)
    assert [o.placed_at for o in orders] == sorted((o.placed_at for o in orders), reverse=True)
    assert await store.list_customer_orders("nobody@example.com") == []


async def test_cancel_paid_order_creates_pending_refund_and_event(store, store_db, demo_orders):
    demo = by_scenario(demo_orders, "cancellable")
    await store.cancel_order(demo.id)
    order = await store.get_order(demo.id)
    assert order.status == OrderStatus.CANCELLED and order.cancelled_at is not None
    assert [(r.status, r.amount_cents) for r in order.refunds] == [("pending", order.total_cents)]
    with sqlite3.connect(store_db) as con:
        kinds = [r[0] for r in con.execute("SELECT type FROM events WHERE order_id = ?",
                                           (demo.id,))]
    assert "cancelled" in kinds


async def test_cancel_pending_order_refunds_nothing(store, demo_orders):
    demo = by_scenario(demo_orders, "pending")
    await store.cancel_order(demo.id)
    assert (await store.get_refunds(demo.id)) == []


async def test_cancel_shipped_order_is_refused_and_unchanged(store, demo_orders):
    demo = by_scenario(demo_orders, "in_transit")
    with pytest.raises(InvalidOperation):
        await store.cancel_order(demo.id)
    assert (await store.get_order(demo.id)).status == OrderStatus.IN_TRANSIT


async def test_create_return_stores_rma_and_refuses_twice(store, demo_orders):
    demo = by_scenario(demo_orders, "return_window")
    item = demo.items[0]["id"]
    rma = await store.create_return(demo.id, item_ids=[item], reason="talla", kind="exchange")
    assert rma.rma == f"RMA-{demo.id[2:]}-01" and rma.label_url.endswith(rma.rma)
    order = await store.get_order(demo.id)
    assert [r.rma for r in order.returns] == [rma.rma] and order.returned_item_ids() == {item}
    with pytest.raises(InvalidOperation):
        await store.create_return(demo.id, item_ids=[item], reason="otra vez")


async def test_create_return_refuses_undelivered_and_foreign_items(store, demo_orders):
    transit = by_scenario(demo_orders, "in_transit")
    with pytest.raises(InvalidOperation):
        await store.create_return(transit.id, item_ids=[transit.items[0]["id"]], reason="x")
    delivered = by_scenario(demo_orders, "return_window")
    with pytest.raises(InvalidOperation):
        await store.create_return(delivered.id, item_ids=[transit.items[0]["id"]], reason="x")


async def test_change_address_only_before_shipping(store, demo_orders):
    paid = by_scenario(demo_orders, "cancellable", market="AR")
    await store.change_address(paid.id, "  Av.  Santa Fe 1234,   C1059 CABA ")
    assert (await store.get_order(paid.id)).shipping_address == "Av. Santa Fe 1234, C1059 CABA"
    shipped = by_scenario(demo_orders, "shipped", market="AR")
    with pytest.raises(InvalidOperation):
        await store.change_address(shipped.id, "Av. Santa Fe 1234, C1059 CABA")


async def test_refunds_of_refunded_order_are_completed(store, demo_orders):
    demo = by_scenario(demo_orders, "refunded", language="en")
    refunds = await store.get_refunds(demo.id)
    assert [r.status for r in refunds] == ["completed"] and refunds[0].completed_at is not None
    with pytest.raises(OrderNotFound):
        await store.get_refunds("AT999999")


async def test_missing_database_is_unavailable_and_not_created(tmp_path):
    path = tmp_path / "absent.db"
    with pytest.raises(StoreUnavailable):
        await SQLiteStore(path).get_order("AT101001")
    assert not path.exists()


async def test_slow_store_times_out(store_db):
    slow = SQLiteStore(store_db, timeout=0.05, simulated_latency=1.0)
    started = asyncio.get_running_loop().time()
    with pytest.raises(StoreUnavailable, match="within"):
        await slow.get_order("AT101001")
    assert asyncio.get_running_loop().time() - started < 0.5


async def test_locked_database_is_unavailable_not_a_hang(store_db):
    con = sqlite3.connect(store_db, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable):
            await SQLiteStore(store_db, timeout=0.2).cancel_order("AT101003")
    finally:
        con.execute("ROLLBACK")
        con.close()


def test_get_store_reads_environment_and_is_cached(store_db, monkeypatch):
    monkeypatch.setenv("STORE_TIMEOUT_SECONDS", "1.5")
    get_store.cache_clear()
    first = get_store()
    assert isinstance(first, SQLiteStore) and first.path == Path(store_db) and first.timeout == 1.5
    assert get_store() is first
    monkeypatch.setenv("STORE_BACKEND", "shopify")
    get_store.cache_clear()
    with pytest.raises(ValueError, match="STORE_BACKEND"):
        get_store()
    get_store.cache_clear()


def test_bad_timeout_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("STORE_TIMEOUT_SECONDS", "soon")
    get_store.cache_clear()
    with pytest.raises(ValueError, match="STORE_TIMEOUT_SECONDS"):
        get_store()
    get_store.cache_clear()


async def test_delivered_dates_are_relative_to_today(store, demo_orders):
    order = await store.get_order(by_scenario(demo_orders, "return_window").id)
    assert store_day(order.delivered_at) == store_today() - timedelta(days=6)
