"""Order-event normalisation (the seam the proactive-message webhooks will use): each platform's
webhook payload, in its documented shape, becomes (order, what happened, de-duplication key)."""

from __future__ import annotations

import pytest

from actions.store import OrderStatus
from actions.store.events import OrderEvent, from_shopify, from_tiendanube, from_woocommerce
from tests.actions.helpers import demo
from tests.actions.store.standins.common import fixture


def test_woocommerce_order_updated_carries_the_order():
    # order webhooks deliver the REST v3 order itself (same fixture as the stand-in)
    order = fixture("woocommerce/order.yml")
    order.update(id=7003, number="101003", status="completed")
    event = from_woocommerce("order.updated", order, delivery_id="d-41")
    assert (event.order_ref, event.number, event.kind, event.status) == (
        "7003", "101003", "delivered", OrderStatus.DELIVERED)
    assert event.key == from_woocommerce("order.updated", order, delivery_id="d-41").key
    order["status"] = "processing"
    order["meta_data"] = [{"key": "_wc_shipment_tracking_items",
                           "value": [{"tracking_number": "1"}]}]
    assert from_woocommerce("order.updated", order, delivery_id="d-42").kind == "shipped"


def test_tiendanube_names_the_event_only():
    event = from_tiendanube({"store_id": 271146, "event": "order/fulfilled", "id": 450789469})
    assert (event.order_ref, event.kind, event.status) == ("450789469", "shipped",
                                                           OrderStatus.SHIPPED)
    assert from_tiendanube({"store_id": 1, "event": "order/updated", "id": 2}).kind is None


def test_shopify_fulfillment_updates_map_shipment_statuses():
    out = from_shopify("fulfillments/update", {"id": 255858046, "order_id": 450789469,
                                               "name": "#1001.1",
                                               "shipment_status": "out_for_delivery"},
                       webhook_id="b54557e4")
    assert (out.order_ref, out.number, out.kind, out.status) == (
        "450789469", None, "out_for_delivery", OrderStatus.IN_TRANSIT)
    delivered = from_shopify("fulfillments/update", {"order_id": 1, "shipment_status": "delivered"},
                             webhook_id="x")
    assert delivered.kind == "delivered" and delivered.key == "shopify:x"
    refund = from_shopify("refunds/create", {"id": 9, "order_id": 1}, webhook_id="y")
    assert (refund.order_ref, refund.kind) == ("1", "refunded")


# -- re-reading the order an event names, by the platform's own id (the webhook's seam) ---------
async def _by_ref(backend, ref: str):
    from handoff_api.store_events import StoreOrderSource

    return backend, await StoreOrderSource(backend).order_for(
        OrderEvent(backend.platform, ref, None, "shipped", None, "k"))


@pytest.mark.parametrize("platform", ["woocommerce", "tiendanube", "shopify"])
async def test_an_event_without_the_number_is_read_by_the_platform_id(platform, request):
    """Tiendanube's webhook and Shopify's fulfillment webhooks carry only the platform's id; the
    adapter reads the order by it (uncached) and answers with the number the shopper knows."""
    from actions.store import OrderNotFound, build_store
    from tests.actions.store.conftest import settings_for

    standin = request.getfixturevalue({"woocommerce": "woo", "tiendanube": "tn",
                                       "shopify": "shop"}[platform])
    wanted = demo(standin.orders, "in_transit")
    if platform == "woocommerce":
        ref = next(str(k) for k, o in standin.woo_orders.items() if o["number"] == wanted.id[2:])
    elif platform == "tiendanube":
        ref = next(str(k) for k, o in standin.tn_orders.items()
                   if str(o["number"]) == wanted.id[2:])
    else:
        ref = next(o["id"].rsplit("/", 1)[1] for o in standin.shop_orders
                   if o["name"].endswith(wanted.id[2:]))
    # patient: three reads per platform on a shared, busy machine (not a timeout test)
    backend = build_store(settings_for(standin, timeout=10.0, deadline=30.0))
    try:
        _, found = await _by_ref(backend, ref)
        by_number = await backend.get_order(wanted.id)
        assert found.id == wanted.id and found.status == by_number.status
        assert found.status.is_shipped and found.tracking_number == by_number.tracking_number
        assert found.customer.email == wanted.customer["email"]
        with pytest.raises(OrderNotFound):
            await _by_ref(backend, "999999999")
    finally:
        await backend.close()


def test_shopify_new_fulfillment_is_shipped_and_failed_deliveries_are_not_announced():
    created = from_shopify("fulfillments/create", {"id": 5, "order_id": 1, "status": "success",
                                                   "shipment_status": None}, webhook_id="c")
    assert (created.kind, created.status) == ("shipped", OrderStatus.SHIPPED)
    for trouble in ("failure", "not_delivered", "attempted_delivery"):
        event = from_shopify("fulfillments/update", {"order_id": 1, "shipment_status": trouble},
                             webhook_id="t")
        assert event.kind is None, trouble
    cancelled = from_shopify("fulfillments/create", {"order_id": 1, "status": "cancelled"},
                             webhook_id="x")
    assert cancelled.kind is None


def test_the_store_adapter_says_which_shop_it_is():
    """Deliveries name their shop (Tiendanube store_id, Shopify X-Shopify-Shop-Domain); the
    webhook side only acts on its own shop's."""
    from actions.store.settings import StoreSettings
    from handoff_api.store_events import StoreOrderSource, origin

    class Store:
        def __init__(self, platform, **settings):
            self.platform = platform
            self.settings = StoreSettings(backend=platform, **settings)

    tn = StoreOrderSource(Store("tiendanube", tiendanube_store_id="271146"))
    body = b'{"store_id": 271146, "event": "order/fulfilled", "id": 1}'
    assert tn.owns(origin("tiendanube", {}, body))
    assert not tn.owns(origin("tiendanube", {}, body.replace(b"271146", b"271147")))
    shop = StoreOrderSource(Store("shopify", shopify_url="https://mitienda.myshopify.com"))
    assert shop.owns(origin("shopify", {"X-Shopify-Shop-Domain": "MiTienda.myshopify.com"}, b""))
    assert not shop.owns(origin("shopify", {"X-Shopify-Shop-Domain": "otra.myshopify.com"}, b""))
    assert shop.owns(None)  # the platform did not say: the signature is all there is
