"""The demo store's orders and catalogue as Shopify GraphQL nodes (the 2025-01 shapes of
``fixtures/shopify/schema.graphql``), with the connection and money helpers the stand-in
(:mod:`tests.actions.store.standins.shopify`) also uses for what it writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.actions.store.standins.common import iso, money, split_demo_address

GATEWAYS = {"card": "shopify_payments", "paypal": "paypal", "bizum": "Bizum",
            "bank_transfer": "Bank Deposit", "cash_on_delivery": "Cash on Delivery (COD)",
            "mercadopago": "mercado_pago", "oxxo": "OXXO", "pse": "PSE", "nequi": "Nequi",
            "apple_pay": "Apple Pay"}
PRODUCT_TYPES = {"footwear": "Calzado", "apparel": "Ropa", "accessories": "Accesorios",
                 "swimwear": "Baño", "underwear": "Ropa interior", "gift_card": "Tarjeta regalo",
                 "personalised": "Personalizado"}
FULFILLMENT = {"shipped": "CONFIRMED", "in_transit": "IN_TRANSIT", "delivered": "DELIVERED",
               "returned": "DELIVERED", "refunded": "DELIVERED"}


def gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def bag(cents: int, currency: str) -> dict[str, Any]:
    money_v2 = {"amount": money(cents), "currencyCode": currency}
    return {"shopMoney": money_v2, "presentmentMoney": money_v2}


def page(items: list[Any], first: int | None = None, after: str | None = None
         ) -> dict[str, Any]:
    start = int(after) if after else 0
    first = first or 10
    chunk = items[start:start + first]
    end = start + len(chunk)
    return {"nodes": chunk, "pageInfo": {"hasNextPage": end < len(items),
                                         "endCursor": str(end) if chunk else None,
                                         "hasPreviousPage": start > 0,
                                         "startCursor": str(start)}}


def connection(items: list[Any]) -> Any:
    return lambda info, first=None, after=None, **_: page(items, first, after)


def listing(items: list[Any]) -> Any:
    return lambda info, first=None, **_: items[:first] if first else items


def product_node(n: int, p: Any, need: Callable[[str, str], None]) -> dict[str, Any]:
    """The demo catalogue's product ``n`` as a ``Product`` node; ``need`` checks a scope when a
    field that requires one is resolved (inventory, translations)."""
    variants = []
    for m, v in enumerate(p.variants):
        options = ([{"name": "Talla", "value": v.size}] if v.size else []) + \
            ([{"name": "Color", "value": v.colour_es}] if v.colour_es else [])
        stock = v.stock
        variants.append({
            "id": gid("ProductVariant", 40000 + n * 100 + m), "sku": v.sku,
            "title": " / ".join(o["value"] for o in options) or "Default Title",
            "price": money(v.price_cents),
            "inventoryQuantity": lambda info, stock=stock: (
                need("read_inventory", "inventoryQuantity"), stock)[1],
            "availableForSale": stock > 0, "selectedOptions": options or [
                {"name": "Title", "value": "Default Title"}]})
    translations = {"en": [{"key": "title", "value": p.name_en, "locale": "en"},
                           {"key": "body_html", "value": f"<p>{p.description_en}</p>",
                            "locale": "en"}]}
    sizes = list(dict.fromkeys(v.size for v in p.variants if v.size))
    colours = list(dict.fromkeys(v.colour_es for v in p.variants if v.colour_es))
    options = ([{"name": "Talla", "values": sizes}] if sizes else []) + \
        ([{"name": "Color", "values": colours}] if colours else [])
    return {
        "id": gid("Product", 8000 + n), "title": p.name_es, "handle": p.handle,
        "description": p.description_es, "descriptionHtml": f"<p>{p.description_es}</p>",
        "productType": PRODUCT_TYPES[p.category], "tags": [p.category],
        "onlineStoreUrl": f"https://tienda.atiende-demo.example/products/{p.handle}",
        "options": options,
        "translations": lambda info, locale, t=translations: (
            need("read_translations", "translations"), t.get(locale, []))[1],
        "variants": connection(variants), "_variants": variants,
    }


def order_node(n: int, o: Any) -> dict[str, Any]:
    """The demo store's order ``n`` as an ``Order`` node."""
    c = o.customer
    address = split_demo_address(o.address, c["market"])
    first_name, _, last_name = c["name"].partition(" ")
    currency = o.currency
    lines = []
    for item in o.items:
        options = [{"name": "Talla", "value": item["size"]}] if item["size"] else []
        lines.append({
            "id": gid("LineItem", item["id"]), "title": item["name"],
            "name": item["name"] + (f" - {item['size']}" if item["size"] else ""),
            "sku": item["sku"], "quantity": item["quantity"], "variantTitle": item["size"],
            "originalUnitPriceSet": bag(item["unit_price_cents"], currency),
            "discountedUnitPriceSet": bag(item["unit_price_cents"], currency),
            "variant": {"id": gid("ProductVariant", item["id"]), "sku": item["sku"],
                        "title": item["size"] or "Default Title", "price": "0.00",
                        "availableForSale": True, "inventoryQuantity": None,
                        "selectedOptions": options},
            "product": {"productType": PRODUCT_TYPES[item["category"]],
                        "tags": [item["category"]]},
        })
    fulfillments = []
    if o.shipped_at:
        tracking = [{"company": o.carrier, "number": o.tracking_number,
                     "url": o.tracking_url}]
        fulfillments.append({
            "id": gid("Fulfillment", 60000 + n), "status": "SUCCESS",
            "displayStatus": FULFILLMENT[o.status] if o.status in FULFILLMENT
            else "FULFILLED", "createdAt": iso(o.shipped_at, z=True),
            "inTransitAt": iso(o.shipped_at, z=True) if o.status != "shipped" else None,
            "deliveredAt": iso(o.delivered_at, z=True),
            "estimatedDeliveryAt": iso(o.estimated_delivery) + "T18:00:00Z"
            if o.estimated_delivery and not o.delivered_at else None,
            "trackingInfo": listing(tracking),
            "fulfillmentLineItems": connection([
                {"id": gid("FulfillmentLineItem", 100000 + item["id"]),
                 "quantity": item["quantity"], "lineItem": {"id": gid("LineItem", item["id"])}}
                for item in o.items])})
    refunds = []
    for m, f in enumerate(o.refunds):
        done = f["status"] == "completed"
        refunds.append({
            "id": gid("Refund", 70000 + n * 10 + m), "createdAt": iso(f["created_at"], z=True),
            "note": None, "totalRefundedSet": bag(f["amount_cents"], currency),
            "transactions": connection([{
                "id": gid("OrderTransaction", 80000 + n * 10 + m),
                "gateway": GATEWAYS[o.payment_method], "kind": "REFUND",
                "status": "SUCCESS" if done else "PENDING",
                "processedAt": iso(f["completed_at"], z=True) if done else None}])})
    returns = []
    for m, r in enumerate(o.returns):
        returns.append({
            "id": gid("Return", 90000 + n * 10 + m), "name": f"#{o.id[2:]}-R{m + 1}",
            "status": "CLOSED" if r["status"] == "refunded" else "OPEN",
            "createdAt": iso(r["created_at"], z=True),
            "returnLineItems": connection([
                {"id": gid("ReturnLineItem", 95000 + i), "quantity": 1,
                 "returnReason": "SIZE_TOO_SMALL", "customerNote": r["reason"],
                 "fulfillmentLineItem": {"id": gid("FulfillmentLineItem", 100000 + i),
                                         "quantity": 1, "lineItem": {"id": gid("LineItem", i)}}}
                for i in r["item_ids"]])})
    financial = {"pending": "PENDING", "refunded": "REFUNDED"}.get(o.status, "PAID")
    if o.status == "cancelled":
        financial = "REFUNDED" if o.refunds else "VOIDED"
    return {
        "id": gid("Order", 5000000 + n), "name": f"#{o.id[2:]}",
        "createdAt": iso(o.placed_at, z=True), "processedAt": iso(o.placed_at, z=True),
        "cancelledAt": iso(o.cancelled_at, z=True), "closedAt": None,
        "email": c["email"], "phone": c["phone"],
        "customerLocale": f"{c['language']}-{c['market']}", "currencyCode": currency,
        "displayFinancialStatus": financial,
        "displayFulfillmentStatus": "FULFILLED" if o.shipped_at else "UNFULFILLED",
        "paymentGatewayNames": [GATEWAYS[o.payment_method]],
        "totalPriceSet": bag(o.total_cents, currency),
        "customer": {"id": gid("Customer", c["id"]), "displayName": c["name"],
                     "firstName": first_name, "lastName": last_name, "email": c["email"],
                     "phone": c["phone"], "tags": ["VIP"] if c["vip"] else [],
                     "locale": c["language"]},
        "shippingAddress": {"name": c["name"], "firstName": first_name,
                            "lastName": last_name, "address1": address["address1"],
                            "address2": address["address2"] or None, "city": address["city"],
                            "province": address["state"] or None,
                            "provinceCode": address["state"] or None,
                            "zip": address["postcode"] or None,
                            "countryCodeV2": c["market"], "phone": c["phone"]},
        "lineItems": connection(lines), "fulfillments": listing(fulfillments),
        "refunds": listing(refunds), "returns": connection(returns),
        "_fulfillments": fulfillments, "_refunds": refunds, "_returns": returns,
    }
