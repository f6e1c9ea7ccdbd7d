"""action_refund_status: backend refunds plus a timeline per payment method."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from actions.refunds import ActionRefundStatus
from tests.actions.helpers import demo


def verified(o):
    return {"order_id": o.id, "verified_order_id": o.id, "language": o.customer["language"]}


async def test_completed_refund_with_date(store_db, demo_orders, make_tracker, dispatcher, domain,
                                          said):
    o = demo(demo_orders, "refunded")
    await ActionRefundStatus().run(dispatcher, make_tracker(verified(o)), domain)
    assert "se completó el" in said(dispatcher) and "59,90 €" in said(dispatcher)


async def test_processing_refund_gives_expected_date(store_db, demo_orders, make_tracker,
                                                     dispatcher,
                                                     domain, said):
    o = demo(demo_orders, "returned", language="en")
    await ActionRefundStatus().run(dispatcher, make_tracker(verified(o)), domain)
    text = said(dispatcher)
    assert "processing" in text and "business days" in text and "by" in text


async def test_overdue_refund_offers_a_human(store_db, demo_orders, make_tracker, dispatcher,
                                             domain,
                                             said):
    o = demo(demo_orders, "returned", market="MX")
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat()
    with sqlite3.connect(store_db) as con:
        con.execute("UPDATE refunds SET created_at = ? WHERE order_id = ?", (old, o.id))
    await ActionRefundStatus().run(dispatcher, make_tracker(verified(o)), domain)
    assert "debería haber llegado" in said(dispatcher)
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/human_handoff"


async def test_refund_created_by_cancellation_is_reported(store_db, store, demo_orders,
                                                          make_tracker,
                                                          dispatcher, domain, said):
    o = demo(demo_orders, "cancellable", market="CO")
    await store.cancel_order(o.id)
    await ActionRefundStatus().run(dispatcher, make_tracker(verified(o)), domain)
    assert "pendiente" in said(dispatcher) and "COP" in said(dispatcher)


async def test_open_return_without_refund_explains_next_step(store_db, store, demo_orders,
                                                             make_tracker,
                                                             dispatcher, domain, said):
    o = demo(demo_orders, "return_window")
    rma = await store.create_return(o.id, item_ids=[o.items[2]["id"]], reason="x", refund_cents=100)
    await ActionRefundStatus().run(dispatcher, make_tracker(verified(o)), domain)
    assert rma.rma in said(dispatcher) and "cuando recibimos" in said(dispatcher)
    assert "desde que lo recibimos" in said(dispatcher)


async def test_no_refund(store_db, demo_orders, make_tracker, dispatcher, domain, said):
    o = demo(demo_orders, "in_transit", language="en")
    await ActionRefundStatus().run(dispatcher, make_tracker(verified(o)), domain)
    assert "has no refund" in said(dispatcher)


async def test_refund_timeline_follows_the_article(store_db, demo_orders, make_tracker, dispatcher,
                                                   domain, said):
    o = demo(demo_orders, "returned", language="en")
    now = datetime.now(UTC)
    with sqlite3.connect(store_db) as con:
        con.execute("UPDATE refunds SET method = 'paypal', created_at = ? WHERE order_id = ?",
                    (now.isoformat(), o.id))
    await ActionRefundStatus().run(dispatcher, make_tracker(verified(o)), domain)
    assert "PayPal it takes 1-2 business days" in said(dispatcher)
