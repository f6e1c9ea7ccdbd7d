"""action_order_status and action_cancel_order on the seeded SQLite store."""

from __future__ import annotations

import sqlite3

import pytest

from actions.orders import ActionCancelOrder, ActionOrderStatus
from actions.store import OrderStatus, get_store
from tests.actions.helpers import demo

FLOW = {"cancel_confirm", "return_item", "return_reason", "new_address"}


def verified(o, **extra):
    lang = o.customer["language"]
    return {"order_id": o.id, "verified_order_id": o.id, "language": lang, **extra}


async def test_status_shows_carrier_tracking_eta_and_masks_data(store_db, demo_orders, make_tracker,
                                                                dispatcher, domain, said, slots_of):
    o = demo(demo_orders, "in_transit")
    events = await ActionOrderStatus().run(dispatcher, make_tracker(verified(o)), domain)
    text = said(dispatcher)
    assert o.id in text and "en tránsito" in text
    assert o.carrier in text and o.tracking_number in text and o.tracking_url in text
    assert "Entrega prevista" in text
    assert o.customer["email"] not in text and o.address not in text
    assert "***" in text
    slots = slots_of(events)
    assert FLOW <= set(slots) and all(slots[s] is None for s in FLOW)
    # kept for the next question
    assert "order_id" not in slots and "verified_order_id" not in slots


async def test_status_in_english_with_delivery_date(store_db, demo_orders, make_tracker, dispatcher,
                                                    domain, said):
    o = demo(demo_orders, "return_window", language="en")
    await ActionOrderStatus().run(dispatcher, make_tracker(verified(o)), domain)
    text = said(dispatcher)
    assert "delivered" in text and "Delivered on" in text and "Total: $262.00" in text


async def test_nothing_is_shown_without_verification(store_db, demo_orders, make_tracker,
                                                     dispatcher,
                                                     domain, said):
    o = demo(demo_orders, "in_transit")
    tracker = make_tracker({"order_id": o.id, "verified_order_id": "AT101002"})
    await ActionOrderStatus().run(dispatcher, tracker, domain)
    assert o.tracking_number not in said(dispatcher) and "verificarlo" in said(dispatcher)


async def test_backend_down_gives_polite_message_and_human_offer(tmp_path, monkeypatch, demo_orders,
                                                                 make_tracker, dispatcher, domain,
                                                                 said, slots_of):
    monkeypatch.setenv("STORE_DATABASE", str(tmp_path / "gone.db"))
    get_store.cache_clear()
    try:
        o = demo(demo_orders, "in_transit")
        events = await ActionOrderStatus().run(dispatcher, make_tracker(verified(o)), domain)
    finally:
        get_store.cache_clear()
    assert slots_of(events)["handoff_reason"] == "backend_error"
    assert "no puedo consultar el sistema de pedidos" in said(dispatcher)
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/human_handoff"


async def test_unexpected_error_is_not_a_stack_trace(store_db, demo_orders, monkeypatch,
                                                     make_tracker,
                                                     dispatcher, domain, said, slots_of, caplog):
    async def boom(self, order_id):
        raise RuntimeError("driver exploded")

    monkeypatch.setattr("actions.store.sqlite.SQLiteStore.get_order", boom)
    o = demo(demo_orders, "in_transit")
    events = await ActionOrderStatus().run(dispatcher, make_tracker(verified(o)), domain)
    assert slots_of(events)["handoff_reason"] == "backend_error"
    assert "exploded" not in said(dispatcher) and "driver exploded" in caplog.text


async def test_cancel_paid_order_confirms_from_backend_with_refund_timeline(
        store_db, store, demo_orders, make_tracker, dispatcher, domain, said):
    o = demo(demo_orders, "cancellable")
    await ActionCancelOrder().run(dispatcher, make_tracker(verified(o, cancel_confirm=True)),
                                  domain)
    assert (await store.get_order(o.id)).status == OrderStatus.CANCELLED
    text = said(dispatcher)
    assert "está cancelado" in text and "139,80 €" in text and "días hábiles" in text


async def test_cancel_unpaid_order_says_nothing_was_charged(store_db, demo_orders, make_tracker,
                                                            dispatcher, domain, said):
    o = demo(demo_orders, "pending", market="MX")
    await ActionCancelOrder().run(dispatcher, make_tracker(verified(o, cancel_confirm=True)),
                                  domain)
    assert "No se te llegó a cobrar" in said(dispatcher)


async def test_cancel_cash_on_delivery_order_says_nothing_was_charged(store_db, demo_orders,
                                                                       make_tracker, dispatcher,
                                                                       domain, said):
    # cancel-order article: cash on delivery was never charged, so there is nothing to refund.
    o = demo(demo_orders, "cancellable", market="CO")
    with sqlite3.connect(store_db) as con:
        con.execute("UPDATE orders SET payment_method = 'cash_on_delivery' WHERE id = ?", (o.id,))
    await ActionCancelOrder().run(dispatcher, make_tracker(verified(o, cancel_confirm=True)),
                                  domain)
    assert "No se te llegó a cobrar" in said(dispatcher) and "reembolso" not in said(dispatcher)


async def test_cancel_refund_uses_the_article_card_timeline(store_db, demo_orders, make_tracker,
                                                            dispatcher, domain, said):
    o = demo(demo_orders, "cancellable", language="en")
    with sqlite3.connect(store_db) as con:
        con.execute("UPDATE orders SET payment_method = 'card' WHERE id = ?", (o.id,))
    await ActionCancelOrder().run(dispatcher, make_tracker(verified(o, cancel_confirm=True)),
                                  domain)
    assert "3-5 business days" in said(dispatcher)


async def test_cancel_unpaid_order_above_threshold_goes_to_an_agent(store_db, demo_orders,
                                                                    make_tracker, dispatcher,
                                                                    domain,
                                                                    slots_of):
    o = demo(demo_orders, "high_amount", market="ES")
    with sqlite3.connect(store_db) as con:
        con.execute("UPDATE orders SET status = 'pending' WHERE id = ?", (o.id,))
    events = await ActionCancelOrder().run(dispatcher,
                                           make_tracker(verified(o, cancel_confirm=True)),
                                           domain)
    assert slots_of(events)["handoff_reason"] == "approval_required"


def test_high_amount_demo_orders_are_over_every_threshold(demo_orders):
    from actions.policy import needs_approval
    from actions.policy_markets import market_policy

    for o in demo_orders:
        if o.scenario == "high_amount":
            assert needs_approval(o.total_cents, market_policy(o.customer["market"])), o.id


async def test_cancel_denied_changes_nothing(store_db, store, demo_orders, make_tracker, dispatcher,
                                             domain, said):
    o = demo(demo_orders, "cancellable", language="en")
    await ActionCancelOrder().run(dispatcher, make_tracker(verified(o, cancel_confirm=False)),
                                  domain)
    assert (await store.get_order(o.id)).status == OrderStatus.PAID
    assert "won't cancel" in said(dispatcher)


async def test_cancel_shipped_order_offers_a_return(store_db, store, demo_orders, make_tracker,
                                                    dispatcher, domain, said):
    o = demo(demo_orders, "in_transit", language="en")
    await ActionCancelOrder().run(dispatcher, make_tracker(verified(o, cancel_confirm=True)),
                                  domain)
    assert (await store.get_order(o.id)).status == OrderStatus.IN_TRANSIT
    assert "can't be cancelled" in said(dispatcher) and "return it" in said(dispatcher)


async def test_cancel_above_threshold_goes_to_an_agent(store_db, store, demo_orders, make_tracker,
                                                       dispatcher, domain, said, slots_of):
    o = demo(demo_orders, "high_amount", market="CO")
    events = await ActionCancelOrder().run(dispatcher,
                                           make_tracker(verified(o, cancel_confirm=True)),
                                           domain)
    assert slots_of(events)["handoff_reason"] == "approval_required"
    assert {"event": "followup", "name": "action_handoff"}.items() <= next(
        e for e in events if e["event"] == "followup").items()
    assert (await store.get_order(o.id)).status == OrderStatus.PAID
    assert "COP" in said(dispatcher)


async def test_cancel_that_the_backend_does_not_show_is_not_confirmed(
        store_db, demo_orders, monkeypatch, make_tracker, dispatcher, domain, said, slots_of):
    async def silently_ignored(self, order_id, *, reason="x"):
        return None

    monkeypatch.setattr("actions.store.sqlite.SQLiteStore.cancel_order", silently_ignored)
    o = demo(demo_orders, "cancellable")
    events = await ActionCancelOrder().run(dispatcher,
                                           make_tracker(verified(o, cancel_confirm=True)),
                                           domain)
    assert "no puedo confirmarla" in said(dispatcher) and "está cancelado" not in said(dispatcher)
    assert slots_of(events)["handoff_reason"] == "backend_error"


@pytest.mark.parametrize("scenario, phrase", [("cancelled", "ya estaba cancelado"),
                                              ("refunded", "no hay nada que cancelar")])
async def test_cancel_closed_orders_explains(scenario, phrase, store_db, demo_orders, make_tracker,
                                             dispatcher, domain, said):
    o = demo(demo_orders, scenario)
    await ActionCancelOrder().run(dispatcher, make_tracker(verified(o, cancel_confirm=True)),
                                  domain)
    assert phrase in said(dispatcher)
