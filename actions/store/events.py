"""Order events from the platforms' webhooks, normalised: the seam for proactive messages.

This module does not receive webhooks (that endpoint, its HMAC check and the messages to shoppers
come with the proactive-messages work); it answers the question the endpoint will ask of each
verified delivery: *which order, and what happened to it?* — in Atiende's terms, with a key that
is the same for every retry of the same delivery so a shopper is told once.

Each platform sends something different:

* WooCommerce ``order.updated`` delivers the whole REST v3 order (the same JSON
  :func:`~actions.store.woocommerce_mapping.order_from_woo` reads), so the status is in the payload;
* Tiendanube delivers only ``{"store_id", "event", "id"}``: the event names what happened
  (``order/fulfilled`` = shipped, ``order/cancelled``...), anything finer (delivered) needs the
  order read again through the adapter;
* Shopify delivers REST-shaped JSON per topic: ``fulfillments/update`` carries
  ``shipment_status`` (``in_transit``, ``out_for_delivery``, ``delivered`` — mapped with
  :data:`~actions.store.shopify_mapping.SHIPMENT_STATUS`), ``refunds/create`` a refund,
  ``orders/cancelled`` an order.

The webhook code should treat the payload as a hint and confirm through the adapter
(``StoreBackend.get_order``) before telling a shopper anything: payloads can be stale or out of
order, the adapter's answer is the platform's current truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actions.store.base import OrderStatus

#: what a shopper may be told about, in the order a parcel lives it
KINDS = ("paid", "shipped", "out_for_delivery", "delivered", "refunded", "cancelled")


@dataclass(frozen=True)
class OrderEvent:
    platform: str
    order_ref: str  # the platform's order id (re-read the order with it)
    number: str | None  # the number the shopper knows, when the payload has it
    kind: str | None  # one of KINDS, or None (nothing to tell the shopper)
    status: OrderStatus | None  # Atiende's status when the payload says it
    key: str  # the same for every retry of one delivery: de-duplicate on it


def _kind_of(status: OrderStatus | None) -> str | None:
    return {OrderStatus.PAID: "paid", OrderStatus.SHIPPED: "shipped",
            OrderStatus.IN_TRANSIT: "shipped", OrderStatus.DELIVERED: "delivered",
            OrderStatus.REFUNDED: "refunded", OrderStatus.CANCELLED: "cancelled"}.get(
                status)  # type: ignore[arg-type]


def from_woocommerce(topic: str, payload: Mapping[str, Any], *, delivery_id: str,
                     completed_means: str = "delivered") -> OrderEvent:
    """``X-WC-Webhook-Topic`` (``order.updated``...), the body, ``X-WC-Webhook-Delivery-ID``."""
    from actions.store.woocommerce_mapping import status_from_woo

    tracked = any(m.get("key") == "_wc_shipment_tracking_items" and m.get("value")
                  for m in payload.get("meta_data") or [])
    status = status_from_woo(str(payload.get("status", "")), tracked=tracked,
                             completed_means=completed_means) if topic.startswith("order.") \
        else None
    return OrderEvent("woocommerce", str(payload.get("id", "")),
                      str(payload.get("number") or "") or None, _kind_of(status), status,
                      f"woocommerce:{delivery_id}")


_TIENDANUBE = {"order/paid": "paid", "order/fulfilled": "shipped",
               "order/cancelled": "cancelled", "order/voided": "cancelled"}


def from_tiendanube(payload: Mapping[str, Any]) -> OrderEvent:
    """Tiendanube posts ``{"store_id": ..., "event": "order/fulfilled", "id": ...}`` only."""
    event = str(payload.get("event", ""))
    kind = _TIENDANUBE.get(event)
    status = {"paid": OrderStatus.PAID, "shipped": OrderStatus.SHIPPED,
              "cancelled": OrderStatus.CANCELLED}.get(kind or "")
    return OrderEvent("tiendanube", str(payload.get("id", "")), None, kind, status,
                      f"tiendanube:{payload.get('store_id')}:{event}:{payload.get('id')}")


#: shipment statuses that are not good news to announce automatically
_SHOPIFY_TROUBLE = frozenset({"failure", "not_delivered", "attempted_delivery"})


def from_shopify(topic: str, payload: Mapping[str, Any], *, webhook_id: str) -> OrderEvent:
    """``X-Shopify-Topic``, the body, ``X-Shopify-Webhook-Id`` (same id on every retry)."""
    from actions.store.shopify_mapping import SHIPMENT_STATUS

    status: OrderStatus | None = None
    kind: str | None = None
    order_ref = str(payload.get("order_id") or payload.get("id") or "")
    number = str(payload.get("name") or "") or None
    if topic.startswith("fulfillments/"):
        shipment = str(payload.get("shipment_status") or "").lower()
        if not shipment and str(payload.get("status") or "").lower() == "success":
            shipment = "fulfilled"  # fulfillments/create: handed over, no carrier scan yet
        status = SHIPMENT_STATUS.get(shipment)
        kind = "out_for_delivery" if shipment == "out_for_delivery" else _kind_of(status)
        if shipment in _SHOPIFY_TROUBLE:
            kind = None  # a failed or missed delivery is an agent's call, not an automatic note
        number = None  # a fulfillment's "name" is the fulfillment's (#1001.1), not the order's
    elif topic == "refunds/create":
        status, kind = OrderStatus.REFUNDED, "refunded"
    elif topic == "orders/cancelled":
        status, kind = OrderStatus.CANCELLED, "cancelled"
    elif topic == "orders/paid":
        status, kind = OrderStatus.PAID, "paid"
    return OrderEvent("shopify", order_ref, number, kind, status, f"shopify:{webhook_id}")
