"""action_create_return: policy, RMA from the backend, next steps, approvals."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, time, timedelta

from actions.order_common import format_date, today
from actions.returns import ActionCreateReturn
from actions.store import get_store
from tests.actions.helpers import demo


def verified(o, **extra):
    """A verified order whose read-back the shopper confirmed (actions/return_form.py asks)."""
    return {"order_id": o.id, "verified_order_id": o.id, "language": o.customer["language"],
            "return_confirm": True, **extra}


async def test_refund_return_gives_rma_label_and_next_steps(store_db, store, demo_orders,
                                                            make_tracker,
                                                            dispatcher, domain, said, slots_of):
    o = demo(demo_orders, "return_window")
    tracker = make_tracker(verified(o, return_item="Vestido de lino Mediterráneo",
                                    return_reason="no me gusta el color"))
    events = await ActionCreateReturn().run(dispatcher, tracker, domain)
    order = await store.get_order(o.id)
    assert len(order.returns) == 1 and order.returns[0].kind == "refund"
    text = said(dispatcher)
    assert order.returns[0].rma in text and order.returns[0].label_url in text
    assert "69,00 €" in text and "días hábiles desde que llegue a nuestro almacén" in text
    assert "1." in text and "3." in text
    # how-to-return article: drop the parcel off within 7 days.
    assert f"antes del {format_date(today() + timedelta(days=7), 'es')}" in text
    slots = slots_of(events)
    assert slots["return_item"] is None and slots["return_reason"] is None


async def test_size_problem_becomes_free_exchange(store_db, store, demo_orders, make_tracker,
                                                  dispatcher, domain, said):
    o = demo(demo_orders, "return_window", language="en")
    tracker = make_tracker(verified(o, return_item="boots", return_reason="too small",
                                    return_exchange="size=42"))  # in stock in the demo catalogue
    await ActionCreateReturn().run(dispatcher, tracker, domain)
    order = await store.get_order(o.id)
    assert order.returns[0].kind == "exchange" and order.returns[0].refund_cents == 0
    text = said(dispatcher)
    assert "size exchange" in text and "free" in text
    assert "as soon as the carrier scans your parcel" in text.lower()  # size-exchange article


async def test_sealed_swimwear_is_returned_with_the_seal_condition(store_db, store, demo_orders,
                                                                   make_tracker, dispatcher, domain,
                                                                   said):
    o = demo(demo_orders, "return_window", market="MX")
    tracker = make_tracker(verified(o, return_item="Bañador Marea", return_reason="no me gusta",
                                    return_seal=True))
    await ActionCreateReturn().run(dispatcher, tracker, domain)
    returns = (await store.get_order(o.id)).returns
    assert len(returns) == 1 and returns[0].refund_cents == 798_00
    assert "precinto higiénico intacto" in said(dispatcher)


async def test_underwear_is_not_returnable(store_db, store, demo_orders, make_tracker, dispatcher,
                                           domain, said):
    o = demo(demo_orders, "return_window", market="MX")
    with sqlite3.connect(store_db) as con:
        con.execute("UPDATE order_items SET category = 'underwear' WHERE id = ?",
                    (o.items[1]["id"],))
    tracker = make_tracker(verified(o, return_item="Bañador Marea", return_reason="no me gusta"))
    await ActionCreateReturn().run(dispatcher, tracker, domain)
    assert (await store.get_order(o.id)).returns == ()
    assert "no admite devolución" in said(dispatcher) and "Bañador Marea" in said(dispatcher)


async def test_us_refund_deducts_the_prepaid_label(store_db, store, demo_orders, make_tracker,
                                                   dispatcher, domain, said):
    o = demo(demo_orders, "return_window", language="en", market="US")
    dress = o.items[2]
    tracker = make_tracker(verified(o, return_item=dress["name"], return_reason="changed my mind"))
    await ActionCreateReturn().run(dispatcher, tracker, domain)
    record = (await store.get_order(o.id)).returns[0]
    assert record.refund_cents == dress["unit_price_cents"] - 6_95
    assert "$6.95 for the prepaid label" in said(dispatcher)


def _set_dates(path, order_id, placed: date, delivered: date) -> None:
    at = lambda d: datetime.combine(d, time(12), tzinfo=UTC).isoformat()  # noqa: E731
    with sqlite3.connect(path) as con:
        con.execute("UPDATE orders SET placed_at = ?, delivered_at = ? WHERE id = ?",
                    (at(placed), at(delivered), order_id))


async def test_holiday_purchase_returnable_until_15_january(store_db, store, demo_orders,
                                                            monkeypatch,
                                                            make_tracker, dispatcher, domain, said):
    o = demo(demo_orders, "return_window")
    _set_dates(store_db, o.id, date(2026, 11, 27), date(2026, 11, 30))
    monkeypatch.setattr("actions.returns.today", lambda: date(2027, 1, 15))
    tracker = make_tracker(verified(o, return_item="el vestido", return_reason="no me gusta"))
    await ActionCreateReturn().run(dispatcher, tracker, domain)
    assert len((await store.get_order(o.id)).returns) == 1


async def test_holiday_window_expired_names_the_extension(store_db, store, demo_orders, monkeypatch,
                                                          make_tracker, dispatcher, domain, said):
    o = demo(demo_orders, "return_window", language="en")
    _set_dates(store_db, o.id, date(2026, 11, 27), date(2026, 11, 30))
    monkeypatch.setattr("actions.returns.today", lambda: date(2027, 1, 16))
    tracker = make_tracker(verified(o, return_item="dress", return_reason="changed my mind"))
    await ActionCreateReturn().run(dispatcher, tracker, domain)
    assert (await store.get_order(o.id)).returns == ()
    assert "ended on January 15, 2027" in said(dispatcher) and "Christmas" in said(dispatcher)


async def test_not_delivered_holiday_order_mentions_15_january(store_db, demo_orders, make_tracker,
                                                               dispatcher, domain, said):
    o = demo(demo_orders, "in_transit")
    with sqlite3.connect(store_db) as con:
        con.execute("UPDATE orders SET placed_at = ? WHERE id = ?",
                    ("2026-11-28T10:00:00+00:00", o.id))
    await ActionCreateReturn().run(dispatcher, make_tracker(verified(o, return_item="-")), domain)
    assert "todavía no se ha entregado" in said(dispatcher)
    assert "hasta el 15 de enero de 2027" in said(dispatcher)


async def test_outside_window_explains_the_deadline(store_db, store, demo_orders, make_tracker,
                                                    dispatcher, domain, said):
    o = demo(demo_orders, "window_expired", market="CO")
    tracker = make_tracker(verified(o, return_item="-", return_reason="-"))
    await ActionCreateReturn().run(dispatcher, tracker, domain)
    assert (await store.get_order(o.id)).returns == ()
    assert "plazo de devolución" in said(dispatcher) and "30 días" in said(dispatcher)


async def test_unshipped_order_suggests_cancelling(store_db, demo_orders, make_tracker, dispatcher,
                                                   domain, said):
    o = demo(demo_orders, "cancellable", language="en")
    await ActionCreateReturn().run(dispatcher, make_tracker(verified(o, return_item="-")), domain)
    assert "cancel it" in said(dispatcher)


async def test_high_refund_goes_to_an_agent(store_db, store, demo_orders, make_tracker, dispatcher,
                                            domain, slots_of):
    o = demo(demo_orders, "high_return", market="AR")
    tracker = make_tracker(verified(o, return_item="todo", return_reason="cambié de opinión"))
    events = await ActionCreateReturn().run(dispatcher, tracker, domain)
    assert slots_of(events)["handoff_reason"] == "approval_required"
    assert any(e["event"] == "followup" and e["name"] == "action_handoff" for e in events)
    assert (await store.get_order(o.id)).returns == ()


async def test_return_not_visible_after_create_is_not_confirmed(store_db, demo_orders, monkeypatch,
                                                                make_tracker, dispatcher, domain,
                                                                said, slots_of):
    from actions.store import ReturnRecord

    async def ghost(self, order_id, **kw):
        from datetime import UTC, datetime
        return ReturnRecord("RMA-GHOST", order_id, (1,), "x", "refund", "label_sent", 0,
                            datetime.now(UTC))

    monkeypatch.setattr("actions.store.sqlite.SQLiteStore.create_return", ghost)
    o = demo(demo_orders, "return_window")
    tracker = make_tracker(verified(o, return_item="el vestido", return_reason="no me gusta"))
    events = await ActionCreateReturn().run(dispatcher, tracker, domain)
    assert "RMA-GHOST" not in said(dispatcher)
    assert slots_of(events)["handoff_reason"] == "backend_error"


async def test_slow_backend_during_return(store_db, demo_orders, monkeypatch, make_tracker,
                                          dispatcher,
                                          domain, said, slots_of):
    monkeypatch.setenv("STORE_TIMEOUT_SECONDS", "0.05")
    get_store.cache_clear()
    get_store().simulated_latency = 0.5
    try:
        o = demo(demo_orders, "return_window", language="en")
        events = await ActionCreateReturn().run(dispatcher, make_tracker(verified(o)), domain)
    finally:
        get_store.cache_clear()
    assert slots_of(events)["handoff_reason"] == "backend_error"
    assert "can't reach the order system" in said(dispatcher)
