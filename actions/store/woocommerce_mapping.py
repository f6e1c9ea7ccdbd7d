"""WooCommerce payloads in Atiende's terms: statuses, orders and products from REST v3 JSON (the
same JSON an order webhook delivers, so :mod:`actions.store.events` reuses these functions).

Statuses (``_orders.md``): ``pending``/``on-hold``/``failed`` wait for payment, ``processing`` is
paid (shipped once a tracking number exists), ``completed`` is the end of the road — read as
*delivered* by default (``WOOCOMMERCE_COMPLETED_MEANS=shipped`` for shops that complete on
dispatch), ``cancelled``, ``refunded``. Plugins' ``shipped``/``delivered`` statuses are understood.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from actions.store.base import Order, OrderItem, OrderStatus, Product, ProductVariant, Refund
from actions.store.mapping import (
    category_for,
    customer_from,
    format_address,
    html_to_text,
    option_key,
    parse_datetime,
    payment_method_for,
    to_cents,
)
from actions.store.settings import StoreSettings

logger = logging.getLogger(__name__)

#: WooCommerce order status -> Atiende status ("completed" is decided by completed_means)
WOO_STATUS: dict[str, OrderStatus] = {
    "pending": OrderStatus.PENDING,
    "on-hold": OrderStatus.PENDING,
    "failed": OrderStatus.PENDING,
    "checkout-draft": OrderStatus.PENDING,
    "processing": OrderStatus.PAID,
    "shipped": OrderStatus.SHIPPED,  # common plugin statuses
    "in-transit": OrderStatus.IN_TRANSIT,
    "delivered": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,
    "trash": OrderStatus.CANCELLED,
    "refunded": OrderStatus.REFUNDED,
}


def status_from_woo(status: str, *, tracked: bool, completed_means: str = "delivered"
                    ) -> OrderStatus:
    """Atiende's status for a WooCommerce order (also what an order webhook will map with)."""
    status = status.removeprefix("wc-")
    if status == "completed":
        return OrderStatus.SHIPPED if completed_means == "shipped" else OrderStatus.DELIVERED
    mapped = WOO_STATUS.get(status)
    if mapped is None:
        logger.info("woocommerce: unknown order status %r read as paid", status)
        mapped = OrderStatus.PAID
    if mapped == OrderStatus.PAID and tracked:
        return OrderStatus.SHIPPED  # a tracking number means it left the warehouse
    return mapped


def _meta(items: list[Mapping[str, Any]] | None, *keys: str) -> str:
    for entry in items or []:
        if entry.get("key") in keys and entry.get("value") not in (None, ""):
            return str(entry["value"])
    return ""


def _size_of(item: Mapping[str, Any]) -> str | None:
    for entry in item.get("meta_data") or []:
        if option_key(str(entry.get("key", ""))) == "size" and entry.get("value"):
            return str(entry.get("display_value") or entry["value"])
    return None


def order_from_woo(payload: Mapping[str, Any], *, order_id: str, settings: StoreSettings,
                   refunds: list[Mapping[str, Any]] = (),  # type: ignore[assignment]
                   trackings: list[Mapping[str, Any]] = (),  # type: ignore[assignment]
                   categories: Mapping[int, list[str]] | None = None,
                   completed_means: str = "delivered") -> Order:
    """An :class:`Order` from a REST v3 order (the same JSON an order webhook delivers)."""
    billing = payload.get("billing") or {}
    shipping = payload.get("shipping") or {}
    ship_to = shipping if shipping.get("address_1") else billing
    country = ship_to.get("country") or billing.get("country")
    customer = customer_from(
        cid=payload.get("customer_id"),
        name=f"{billing.get('first_name', '')} {billing.get('last_name', '')}",
        email=billing.get("email", ""), phone=billing.get("phone", ""), country=country,
        locale=_meta(payload.get("meta_data"), "wpml_language", "_wpml_language"),
        default_market=settings.default_market)
    items = []
    for line in payload.get("line_items") or []:
        quantity = int(line.get("quantity") or 1)
        paid = to_cents(line.get("total")) + to_cents(line.get("total_tax"))
        product_cats = (categories or {}).get(int(line.get("product_id") or 0), [])
        items.append(OrderItem(
            id=int(line["id"]), sku=str(line.get("sku") or ""), name=html_to_text(line.get("name")),
            category=category_for(*product_cats, line.get("name"),
                                  overrides=settings.category_map),
            size=_size_of(line), quantity=quantity, unit_price_cents=round(paid / quantity)))
    tracking = trackings[0] if trackings else {}
    status = status_from_woo(str(payload.get("status", "")), tracked=bool(trackings),
                             completed_means=completed_means)
    completed = parse_datetime(payload.get("date_completed_gmt"))
    method = payment_method_for(payload.get("payment_method"), payload.get("payment_method_title"))
    return Order(
        id=order_id, customer=customer, status=status, currency=str(payload.get("currency", "")),
        total_cents=to_cents(payload.get("total")), payment_method=method,
        placed_at=parse_datetime(payload.get("date_created_gmt")
                                 or payload.get("date_created")),  # type: ignore[arg-type]
        shipping_address=format_address(
            address1=ship_to.get("address_1", ""), address2=ship_to.get("address_2", ""),
            postcode=ship_to.get("postcode", ""), city=ship_to.get("city", ""),
            state=ship_to.get("state", "") if country == "US" else ""),
        items=tuple(items),
        carrier=tracking.get("tracking_provider") or None,
        tracking_number=tracking.get("tracking_number") or None,
        tracking_url=tracking.get("tracking_link") or None,
        shipped_at=parse_datetime(tracking.get("date_shipped")) if tracking else None,
        delivered_at=completed if status == OrderStatus.DELIVERED else None,
        cancelled_at=parse_datetime(payload.get("date_modified_gmt"))
        if status == OrderStatus.CANCELLED else None,
        refunds=tuple(Refund(
            id=int(r["id"]), order_id=order_id, amount_cents=abs(to_cents(r.get("amount"))),
            currency=str(payload.get("currency", "")), method=method,
            # a WooCommerce refund is a record of money already sent back (by the gateway when
            # refunded_payment is true, by hand otherwise): it is done when it exists
            status="completed",
            created_at=parse_datetime(r.get("date_created_gmt")
                                      or r.get("date_created")),  # type: ignore[arg-type]
            completed_at=parse_datetime(r.get("date_created_gmt") or r.get("date_created")))
            for r in refunds),
    )


def product_from_woo(product: Mapping[str, Any], variations: list[Mapping[str, Any]], *,
                     currency: str, settings: StoreSettings) -> Product:
    """A :class:`Product` from a REST v3 product and its variations."""
    def variant(entry: Mapping[str, Any]) -> ProductVariant:
        stock = entry.get("stock_quantity") if entry.get("manage_stock") else None
        status = entry.get("stock_status", "instock")
        options = tuple((option_key(a.get("name")), str(a.get("option")))
                        for a in entry.get("attributes") or [] if a.get("option"))
        return ProductVariant(
            sku=str(entry.get("sku") or ""), options=options,
            price_cents=to_cents(entry.get("price") or entry.get("regular_price")),
            currency=currency, stock=int(stock) if stock is not None else None,
            available=status in {"instock", "onbackorder"} and entry.get("purchasable", True)
            and (stock is None or int(stock) > 0 or status == "onbackorder"))

    names = [c.get("name") for c in product.get("categories") or []]
    return Product(
        id=str(product["id"]), sku=str(product.get("sku") or ""),
        name=html_to_text(product.get("name")),
        description=html_to_text(product.get("description") or product.get("short_description")),
        category=category_for(*names, product.get("name"), overrides=settings.category_map),
        url=product.get("permalink") or None,
        variants=tuple(variant(v) for v in variations) if variations else (variant(product),))
