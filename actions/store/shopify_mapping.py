"""Shopify's GraphQL answers as Atiende's orders and products: the status tables (fulfillment,
return, refund), the shopper's words as a ReturnReason, and the ``AtiendeOrder`` /
``AtiendeProduct`` fragments (``shopify_queries.py``) read into :class:`Order` and
:class:`Product`. Pure functions, no I/O: the adapter (``shopify.py``) does the asking; the
order-event webhooks (``events.py``) read shipment statuses with the same table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actions.store.base import (
    Order,
    OrderItem,
    OrderStatus,
    Product,
    ProductVariant,
    Refund,
    ReturnRecord,
)
from actions.store.mapping import (
    category_for,
    customer_from,
    first,
    fold,
    format_address,
    gid_number,
    html_to_text,
    option_key,
    parse_datetime,
    payment_method_for,
    to_cents,
)
from actions.store.settings import StoreSettings
from actions.store_calendar import store_day

#: fulfillment display statuses (GraphQL) and shipment statuses (REST webhooks, lower case)
#: -> Atiende status; the order-event webhooks will map ``fulfillments/update`` with this table
SHIPMENT_STATUS: dict[str, OrderStatus] = {
    "delivered": OrderStatus.DELIVERED,
    "in_transit": OrderStatus.IN_TRANSIT,
    "out_for_delivery": OrderStatus.IN_TRANSIT,
    "attempted_delivery": OrderStatus.IN_TRANSIT,
    "ready_for_pickup": OrderStatus.IN_TRANSIT,
    "picked_up": OrderStatus.DELIVERED,
    "failure": OrderStatus.SHIPPED,
    "not_delivered": OrderStatus.SHIPPED,
    "confirmed": OrderStatus.SHIPPED,
    "label_printed": OrderStatus.SHIPPED,
    "label_purchased": OrderStatus.SHIPPED,
    "fulfilled": OrderStatus.SHIPPED,
    "marked_as_fulfilled": OrderStatus.SHIPPED,
    "submitted": OrderStatus.SHIPPED,
}
RETURN_STATUS = {"REQUESTED": "requested", "OPEN": "open", "CLOSED": "closed",
                 "DECLINED": "declined", "CANCELED": "cancelled"}
REFUND_STATUS = {"SUCCESS": "completed", "PENDING": "processing", "AWAITING_RESPONSE": "processing",
                 "FAILURE": "failed", "ERROR": "failed"}
# what the shopper said -> Shopify's ReturnReason enum (first match wins)
RETURN_REASONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("SIZE_TOO_SMALL", ("pequen", "chic", "apret", "small", "tight")),
    ("SIZE_TOO_LARGE", ("grande", "holgad", "large", "big", "loose")),
    ("DEFECTIVE", ("roto", "rota", "defect", "danad", "broken", "damaged", "faulty")),
    ("WRONG_ITEM", ("equivoc", "otro producto", "wrong")),
    ("NOT_AS_DESCRIBED", ("no es como", "descrip", "not as described", "different")),
    ("COLOR", ("color", "colour")),
    ("STYLE", ("estilo", "style", "no me gusta", "don't like")),
    ("UNWANTED", ("no lo quiero", "ya no", "arrepent", "changed my mind", "don't want")),
)


def status_from_shopify(order: Mapping[str, Any]) -> OrderStatus:
    """Atiende's status for a GraphQL order (cancellation, money, then the parcels)."""
    if order.get("cancelledAt"):
        return OrderStatus.CANCELLED
    financial = (order.get("displayFinancialStatus") or "").upper()
    if financial == "REFUNDED":
        return OrderStatus.REFUNDED
    if financial == "VOIDED":
        return OrderStatus.CANCELLED
    parcels = [SHIPMENT_STATUS.get((f.get("displayStatus") or f.get("status") or "").lower())
               for f in order.get("fulfillments") or []
               if (f.get("status") or "").upper() not in {"CANCELLED", "ERROR", "FAILURE"}]
    parcels = [p for p in parcels if p is not None]
    if parcels:
        if all(p == OrderStatus.DELIVERED for p in parcels):
            return OrderStatus.DELIVERED
        if OrderStatus.IN_TRANSIT in parcels:
            return OrderStatus.IN_TRANSIT
        return OrderStatus.SHIPPED
    if financial in {"PAID", "PARTIALLY_REFUNDED", "PARTIALLY_PAID"}:
        return OrderStatus.PAID
    return OrderStatus.PENDING  # PENDING, AUTHORIZED, EXPIRED


def return_reason(text: str) -> str:
    """Shopify's ReturnReason for the shopper's own words (accents and case ignored)."""
    lowered = fold(text)
    return next((code for code, words in RETURN_REASONS if any(w in lowered for w in words)),
                "OTHER")


def _money(bag: Mapping[str, Any] | None) -> int:
    return to_cents(((bag or {}).get("shopMoney") or {}).get("amount"))


def order_from_shopify(node: Mapping[str, Any], *, order_id: str,
                       settings: StoreSettings) -> Order:
    """An :class:`Order` from the ``AtiendeOrder`` fragment."""
    ship = node.get("shippingAddress") or {}
    cust = node.get("customer") or {}
    tags = {t.lower() for t in cust.get("tags") or []}
    customer = customer_from(
        cid=cust.get("id"),
        name=first((cust.get("displayName"),
                    f"{ship.get('firstName') or ''} {ship.get('lastName') or ''}".strip())),
        email=first((node.get("email"), cust.get("email"))),
        phone=first((node.get("phone"), cust.get("phone"), ship.get("phone"))),
        country=ship.get("countryCodeV2"), locale=node.get("customerLocale"),
        default_market=settings.default_market, vip=settings.vip_tag.lower() in tags)
    method = payment_method_for(*(node.get("paymentGatewayNames") or []))
    items = []
    for line in (node.get("lineItems") or {}).get("nodes") or []:
        options = {option_key(o.get("name")): o.get("value")
                   for o in (line.get("variant") or {}).get("selectedOptions") or []}
        product = line.get("product") or {}
        items.append(OrderItem(
            id=gid_number(line.get("id")), sku=str(line.get("sku") or ""),
            name=str(line.get("title") or line.get("name") or ""),
            category=category_for(product.get("productType"), *(product.get("tags") or []),
                                  line.get("title"), overrides=settings.category_map),
            size=options.get("size"), quantity=int(line.get("quantity") or 1),
            unit_price_cents=_money(line.get("discountedUnitPriceSet"))))
    live = [f for f in node.get("fulfillments") or []
            if (f.get("status") or "").upper() not in {"CANCELLED", "ERROR", "FAILURE"}]
    parcel = live[0] if live else {}
    tracking = (parcel.get("trackingInfo") or [{}])[0] if parcel else {}
    status = status_from_shopify(node)
    refunds = []
    for r in node.get("refunds") or []:
        transactions = (r.get("transactions") or {}).get("nodes") or []
        states = [REFUND_STATUS.get((t.get("status") or "").upper(), "pending")
                  for t in transactions if (t.get("kind") or "REFUND").upper() == "REFUND"]
        state = ("failed" if states and all(s == "failed" for s in states) else
                 "completed" if "completed" in states else states[0] if states else "pending")
        done = next((parse_datetime(t.get("processedAt")) for t in transactions
                     if (t.get("status") or "").upper() == "SUCCESS"), None)
        refunds.append(Refund(
            id=gid_number(r.get("id")), order_id=order_id,
            amount_cents=_money(r.get("totalRefundedSet")),
            currency=str(node.get("currencyCode") or ""), method=method, status=state,
            created_at=parse_datetime(r.get("createdAt")),  # type: ignore[arg-type]
            completed_at=done if state == "completed" else None))
    returns = []
    for ret in (node.get("returns") or {}).get("nodes") or []:
        lines = (ret.get("returnLineItems") or {}).get("nodes") or []
        returns.append(ReturnRecord(
            rma=str(ret.get("name") or gid_number(ret.get("id"))), order_id=order_id,
            item_ids=tuple(sorted(gid_number(((line.get("fulfillmentLineItem") or {})
                                              .get("lineItem") or {}).get("id"))
                                  for line in lines)),
            reason=", ".join(sorted({line.get("returnReason") or "" for line in lines})),
            kind="refund", status=RETURN_STATUS.get(ret.get("status") or "", "open"),
            refund_cents=0,
            created_at=parse_datetime(ret.get("createdAt")),  # type: ignore[arg-type]
            label_url=None))
    estimated = parse_datetime(parcel.get("estimatedDeliveryAt")) if parcel else None
    return Order(
        id=order_id, customer=customer, status=status,
        currency=str(node.get("currencyCode") or ""),
        total_cents=_money(node.get("totalPriceSet")), payment_method=method,
        placed_at=parse_datetime(node.get("processedAt")
                                 or node.get("createdAt")),  # type: ignore[arg-type]
        shipping_address=format_address(
            address1=ship.get("address1") or "", address2=ship.get("address2") or "",
            postcode=ship.get("zip") or "", city=ship.get("city") or "",
            state=(ship.get("provinceCode") or "") if ship.get("countryCodeV2") == "US" else ""),
        items=tuple(items), carrier=tracking.get("company") or None,
        tracking_number=tracking.get("number") or None, tracking_url=tracking.get("url") or None,
        shipped_at=parse_datetime(parcel.get("createdAt")) if parcel else None,
        estimated_delivery=store_day(estimated) if estimated else None,
        delivered_at=parse_datetime(parcel.get("deliveredAt")) if parcel else None,
        cancelled_at=parse_datetime(node.get("cancelledAt")),
        returns=tuple(returns), refunds=tuple(refunds))


def product_from_shopify(node: Mapping[str, Any], variants: list[Mapping[str, Any]], *,
                         currency: str, settings: StoreSettings) -> Product:
    """A :class:`Product` from the ``AtiendeProduct`` fragment (translated when available)."""
    translated = {t.get("key"): t.get("value") for t in node.get("translations") or []
                  if t.get("value")}
    name = translated.get("title") or node.get("title") or ""
    parsed = []
    for v in variants:
        stock = v.get("inventoryQuantity")
        parsed.append(ProductVariant(
            sku=str(v.get("sku") or ""),
            options=tuple((option_key(o.get("name")), str(o.get("value")))
                          for o in v.get("selectedOptions") or []
                          if o.get("value") and o.get("value") != "Default Title"),
            price_cents=to_cents(v.get("price")), currency=currency,
            stock=int(stock) if stock is not None else None,
            available=bool(v.get("availableForSale"))))
    description = html_to_text(translated.get("body_html")) or str(node.get("description") or "")
    return Product(
        id=str(gid_number(node.get("id"))), sku=first(p.sku for p in parsed), name=name,
        description=description,
        category=category_for(node.get("productType"), *(node.get("tags") or []), name,
                              overrides=settings.category_map),
        url=node.get("onlineStoreUrl") or (
            f"{settings.store_url}/products/{node.get('handle')}" if settings.store_url else None),
        variants=tuple(parsed))
