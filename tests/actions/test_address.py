"""action_change_address: only before shipping, re-read, masked confirmation."""

from __future__ import annotations

from actions.address import ActionChangeAddress, clean_address
from tests.actions.helpers import demo


def verified(o, **extra):
    return {"order_id": o.id, "verified_order_id": o.id, "language": o.customer["language"],
            **extra}


def test_clean_address():
    assert clean_address("  Calle Mayor 5,   28013 Madrid ") == "Calle Mayor 5, 28013 Madrid"
    assert clean_address("mi casa") is None and clean_address("12345678") is None
    assert clean_address(None) is None and clean_address("x" * 290 + " 1 calle " * 5) is None


async def test_address_changed_and_confirmed_masked(store_db, store, demo_orders, make_tracker,
                                                    dispatcher, domain, said, slots_of):
    o = demo(demo_orders, "cancellable")
    new = "Calle de Alcalá 99, 4º izq, 28009 Madrid"
    events = await ActionChangeAddress().run(dispatcher, make_tracker(verified(o, new_address=new)),
                                             domain)
    assert (await store.get_order(o.id)).shipping_address == new
    text = said(dispatcher)
    assert "***, 280** Madrid" in text and "Alcalá" not in text
    assert slots_of(events)["new_address"] is None


async def test_shipped_order_address_is_not_changed(store_db, store, demo_orders, make_tracker,
                                                    dispatcher, domain, said):
    o = demo(demo_orders, "shipped", market="US", language="en")
    tracker = make_tracker(verified(o, new_address="500 Main St, Springfield, IL 62701"))
    await ActionChangeAddress().run(dispatcher, tracker, domain)
    assert (await store.get_order(o.id)).shipping_address == o.address
    assert "can't change the address" in said(dispatcher)
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/human_handoff"


async def test_address_change_the_backend_does_not_show_is_not_confirmed(
        store_db, demo_orders, monkeypatch, make_tracker, dispatcher, domain, said, slots_of):
    async def dropped(self, order_id, new_address):
        return None

    monkeypatch.setattr("actions.store.sqlite.SQLiteStore.change_address", dropped)
    o = demo(demo_orders, "pending")
    events = await ActionChangeAddress().run(
        dispatcher, make_tracker(verified(o, new_address="Calle Nueva 1, 28001 Madrid")), domain)
    assert "no puedo confirmarlo" in said(dispatcher) and "Hecho" not in said(dispatcher)
    assert slots_of(events)["handoff_reason"] == "backend_error"
