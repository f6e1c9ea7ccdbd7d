"""The withdrawal record in the demo store (SQLite): one per order, kept across a second
confirmation and concurrent ones, refused on a read-only store, created in a store file seeded
before the table existed; platforms without such a record say so (OperationNotSupported)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import pytest

from actions.store import OperationNotSupported, OrderNotFound
from actions.store.sqlite import SQLiteStore
from actions.store.woocommerce import WooCommerceStore

DECLARED = datetime(2026, 12, 7, 8, 5, tzinfo=UTC)


async def test_one_withdrawal_per_order(store):
    assert await store.get_withdrawal("AT101005") is None
    first = await store.record_withdrawal("AT101005", code="DES-101005", declared_at=DECLARED,
                                          name="Carmen Navarro Gil", channel="socketio",
                                          within_period=True)
    assert (first.code, first.order_id, first.declared_at) == ("DES-101005", "AT101005", DECLARED)
    later = await store.record_withdrawal("AT101005", code="DES-101005",
                                          declared_at=DECLARED.replace(hour=9), name="Otra",
                                          channel="whatsapp", within_period=True)
    assert later == first  # the first declaration stands: its date and time, its name
    assert await store.get_withdrawal("AT101005") == first


async def test_concurrent_confirmations_record_one(store, store_db):
    results = await asyncio.gather(*(
        store.record_withdrawal("AT103005", code="DES-103005", declared_at=DECLARED,
                                name=f"Camila {n}", channel="socketio", within_period=True)
        for n in range(8)))
    assert len({r.name for r in results}) == 1
    with sqlite3.connect(store_db) as db:
        assert db.execute("SELECT count(*) FROM withdrawals").fetchone()[0] == 1
        events = db.execute("SELECT data FROM events WHERE type = 'withdrawal'").fetchall()
    assert len(events) == 1 and "Camila" not in events[0][0]  # no personal data in events


async def test_unknown_order_and_read_only_store(store, store_db):
    with pytest.raises(OrderNotFound):
        await store.record_withdrawal("AT999999", code="DES-999999", declared_at=DECLARED,
                                      name="X Y", channel="web", within_period=True)
    read_only = SQLiteStore(store_db, allow_writes=False)
    with pytest.raises(OperationNotSupported):
        await read_only.record_withdrawal("AT101005", code="DES-101005", declared_at=DECLARED,
                                          name="X Y", channel="web", within_period=True)


async def test_a_store_file_older_than_the_table_gets_it_on_first_use(store, store_db):
    with sqlite3.connect(store_db) as db:
        db.execute("DROP TABLE withdrawals")
    assert await store.get_withdrawal("AT101005") is None
    record = await store.record_withdrawal("AT101005", code="DES-101005", declared_at=DECLARED,
                                           name="Carmen", channel="web", within_period=False)
    assert record.within_period is False


async def test_platforms_without_a_withdrawal_record_say_so():
    woo = WooCommerceStore.__new__(WooCommerceStore)  # no network: the base method answers
    assert await woo.get_withdrawal("AT101005") is None
    with pytest.raises(OperationNotSupported):
        await woo.record_withdrawal("AT101005", code="DES-101005", declared_at=DECLARED,
                                    name="X", channel="web", within_period=True)
