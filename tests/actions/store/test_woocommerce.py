"""WooCommerce specifics against the stand-in: numbers that are not ids, Basic auth, pagination,
the Shipment Tracking extension being absent, the writes (cancel + gateway refund + order note,
address). The status table order webhooks reuse: ``test_woocommerce_mapping.py``."""

from __future__ import annotations

import base64
import json

import pytest

from actions.store import InvalidOperation, OperationNotSupported, OrderStatus, StoreUnavailable
from actions.store.woocommerce import WooCommerceStore
from tests.actions.helpers import demo
from tests.actions.store.conftest import settings_for


def store(woo, **overrides) -> WooCommerceStore:
    return WooCommerceStore(settings_for(woo, **overrides))


async def test_number_is_not_the_id_so_the_adapter_searches(woo):
    expected = demo(woo.orders, "cancellable")
    order = await store(woo).get_order(expected.id)
    assert order.id == expected.id
    paths = [(r.method, r.path, r.query.get("search")) for r in woo.requests]
    digits = expected.id[2:]
    assert ("GET", f"/wp-json/wc/v3/orders/{digits}", None) in paths  # tried as an id first
    assert ("GET", "/wp-json/wc/v3/orders", digits) in paths  # then searched by number


async def test_every_request_carries_basic_auth_with_the_consumer_key(woo):
    await store(woo).get_order(demo(woo.orders, "in_transit").id)
    expected = "Basic " + base64.b64encode(f"{woo.key}:{woo.secret}".encode()).decode()
    assert woo.requests and all(r.headers["authorization"] == expected for r in woo.requests)
    assert all("consumer_secret" not in r.query for r in woo.requests)  # never in the URL


async def test_pagination_follows_total_pages(woo):
    woo.max_per_page = 3
    products = await store(woo).search_products("zapatillas urban runner")
    runner = products[0]
    assert len(runner.variants) == 20  # 7 pages of 3 variations
    pages = [r.query.get("page") for r in woo.requests if r.path.endswith("/variations")]
    assert pages == [str(n) for n in range(1, 8)]


async def test_customer_orders_by_email_walk_the_pages(woo):
    woo.max_per_page = 1
    customer = demo(woo.orders, "in_transit").customer
    orders = await store(woo).list_customer_orders(customer["email"].upper())
    mine = [o for o in woo.orders if o.customer["email"] == customer["email"]]
    assert len(mine) >= 2  # so one page of one order is not enough
    newest = sorted(mine, key=lambda o: o.placed_at, reverse=True)[:2]  # two pages at most
    assert [o.id for o in orders] == [o.id for o in newest]


async def test_without_the_tracking_extension_orders_still_load(woo):
    woo.tracking = False
    expected = demo(woo.orders, "in_transit")
    order = await store(woo).get_order(expected.id)
    assert order.tracking_number is None and order.status == OrderStatus.PAID
    before = len(woo.calls("shipment-trackings"))
    await store(woo).get_order(demo(woo.orders, "pending").id)
    assert len(woo.calls("shipment-trackings")) == before + 1  # asked once per adapter


async def test_cancelling_a_paid_order_refunds_through_the_gateway_and_notes_it(woo):
    expected = demo(woo.orders, "cancellable")
    adapter = store(woo)
    await adapter.cancel_order(expected.id)
    woo_id = next(k for k, v in woo.woo_orders.items() if v["number"] == expected.id[2:])
    refund = woo.calls(f"/orders/{woo_id}/refunds", "POST")
    assert len(refund) == 1 and json.loads(refund[0].body)["api_refund"] is True
    assert "cancelado" in woo.notes[woo_id][0]["note"]
    assert woo.notes[woo_id][0]["customer_note"] is False
    fresh = await adapter.get_order(expected.id)
    assert fresh.status == OrderStatus.CANCELLED
    assert [r.amount_cents for r in fresh.refunds] == [expected.total_cents]


async def test_cannot_cancel_a_shipped_order(woo):
    with pytest.raises(InvalidOperation):
        await store(woo).cancel_order(demo(woo.orders, "in_transit").id)
    assert not woo.calls("/wp-json/wc/v3/orders", "PUT")


async def test_a_read_key_makes_writes_an_agent_job(woo):
    woo.permissions = "read"
    with pytest.raises(OperationNotSupported) as info:
        await store(woo).cancel_order(demo(woo.orders, "cancellable").id)
    assert info.value.why == "permission"


async def test_returns_are_not_in_the_woocommerce_api(woo):
    adapter = store(woo)
    assert not adapter.supports("create_return") and adapter.supports("cancel_order")
    with pytest.raises(OperationNotSupported) as info:
        await adapter.create_return(demo(woo.orders, "return_window").id, item_ids=[1],
                                    reason="talla")
    assert info.value.why == "unsupported"
    assert not [r for r in woo.requests if r.method != "GET"]


async def test_address_change_writes_the_shipping_fields_and_a_note(woo):
    expected = demo(woo.orders, "cancellable")
    adapter = store(woo)
    await adapter.change_address(expected.id, "Calle Mayor 5, 2º A, 28013 Madrid")
    woo_id = next(k for k, v in woo.woo_orders.items() if v["number"] == expected.id[2:])
    shipping = woo.woo_orders[woo_id]["shipping"]
    assert (shipping["address_1"], shipping["address_2"], shipping["postcode"],
            shipping["city"]) == ("Calle Mayor 5", "2º A", "28013", "Madrid")
    assert (await adapter.get_order(expected.id)).shipping_address == \
        "Calle Mayor 5, 2º A, 28013 Madrid"
    assert "dirección" in woo.notes[woo_id][0]["note"]


async def test_a_write_is_never_sent_twice_after_a_5xx(woo):
    woo.faults.add(503, path="/orders/", method="PUT")
    with pytest.raises(StoreUnavailable):
        await store(woo).cancel_order(demo(woo.orders, "cancellable").id)
    assert len(woo.calls("/wp-json/wc/v3/orders/", "PUT")) == 1
