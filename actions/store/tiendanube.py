"""Tiendanube / Nuvemshop adapter: the REST API ``https://api.tiendanube.com/v1/{store_id}``.

Reference: https://tiendanube.github.io/api-documentation/ (formerly github.com/TiendaNube/api-docs:
README "Making a request", "Rate limiting", "Pagination"; resources/order.md, product.md,
store.md). Every request carries ``Authentication: bearer <token>`` (not ``Authorization``) and a
``User-Agent`` naming the app and a contact; without it Tiendanube answers 400.

The order ``number`` the shopper sees (sequential, from 100) is not the order ``id``: lookups search
``GET /orders?q=<number>`` and keep the order whose ``number`` matches. Status comes from three
fields (``status``, ``payment_status``, ``shipping_status``). The v1 API has no refund records (a
refunded order is ``payment_status=refunded``), no delivery date and no return or address-change
endpoint; ``POST /orders/{id}/cancel`` exists. So the bot can cancel when allowed; address changes
and returns go to an agent. Rate limit: a leaky bucket of 40 requests draining at 2/s, reported in
``X-Rate-Limit-Remaining`` / ``X-Rate-Limit-Reset`` (ms); :class:`LeakyBucketThrottle` slows down
before the bucket overflows.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx

from actions.policy import add_business_days
from actions.store.base import (
    InvalidOperation,
    Order,
    OrderItem,
    OrderNotFound,
    OrderStatus,
    Product,
    ProductVariant,
    Refund,
)
from actions.store.http import PlatformAuthError, retry_after_seconds
from actions.store.mapping import (
    canonical_order_id,
    category_for,
    customer_from,
    first,
    html_to_text,
    join_address,
    numbers_match,
    option_key,
    order_digits,
    parse_datetime,
    payment_method_for,
    pick_language,
    to_cents,
)
from actions.store.remote import RemoteStore, first_hits, platform_client
from actions.store.search import rank
from actions.store.settings import StoreSettings
from actions.store_calendar import store_day

logger = logging.getLogger(__name__)

BUCKET_RESERVE = 4  # keep this many requests free for the other conversations
LEAK_PER_SECOND = 2.0


class LeakyBucketThrottle:
    """Waits when Tiendanube's bucket is nearly full (documented: 40 requests, 2/s drain)."""

    def __init__(self, reserve: int = BUCKET_RESERVE, leak: float = LEAK_PER_SECOND) -> None:
        self.reserve, self.leak = reserve, leak
        self.remaining: int | None = None
        self.seen_at = 0.0

    async def before(self, deadline: float) -> None:
        if self.remaining is None or self.remaining >= self.reserve:
            return
        drained = (time.monotonic() - self.seen_at) * self.leak
        wait = max(0.0, (self.reserve - self.remaining - drained) / self.leak)
        if wait and time.monotonic() + wait < deadline:
            logger.info("tiendanube: %d requests left in the bucket, waiting %.2f s",
                        self.remaining, wait)
            await asyncio.sleep(wait)

    def after(self, response: httpx.Response) -> None:
        raw = response.headers.get("X-Rate-Limit-Remaining")
        if raw is not None and raw.strip().lstrip("-").isdigit():
            self.remaining = int(raw)
            self.seen_at = time.monotonic()


def retry_hint(response: httpx.Response) -> float | None:
    """Seconds to wait after a 429: ``Retry-After`` when sent, else one drained slot (0.5 s)."""
    if response.status_code != 429:
        return None
    return retry_after_seconds(response) or 1 / LEAK_PER_SECOND


def status_from_tiendanube(status: str | None, payment_status: str | None,
                           shipping_status: str | None) -> OrderStatus:
    """Atiende's status from Tiendanube's three order fields (order webhooks reuse this)."""
    status, payment, shipping = (status or "").lower(), (payment_status or "").lower(), \
        (shipping_status or "").lower()
    if status == "cancelled" or payment == "voided":
        return OrderStatus.CANCELLED
    if payment == "refunded":
        return OrderStatus.REFUNDED
    if shipping == "delivered":
        return OrderStatus.DELIVERED
    if shipping in {"fulfilled", "shipped"}:
        return OrderStatus.SHIPPED
    if payment in {"paid", "partially_refunded"}:
        return OrderStatus.PAID
    return OrderStatus.PENDING  # pending, authorized, partially_paid, abandoned


_SIZE = re.compile(r"^(\d{1,2}([.,]5)?|XXS|XS|S|M|L|XL|XXL)$", re.IGNORECASE)


def _size(values: list[Any] | None) -> str | None:
    return next((str(v) for v in values or [] if _SIZE.match(str(v).strip())), None)


def _address(data: Mapping[str, Any] | None) -> str:
    if not data:
        return ""
    street, number = data.get("address") or "", data.get("number") or ""
    if (data.get("country") or "").upper() == "US":
        return join_address(f"{number} {street}", data.get("floor"), data.get("locality"),
                            data.get("city"), f"{data.get('province') or ''} "
                            f"{data.get('zipcode') or ''}".strip())
    return join_address(f"{street} {number}", data.get("floor"), data.get("locality"),
                        f"{data.get('zipcode') or ''} {data.get('city') or ''}".strip())


def order_from_tiendanube(payload: Mapping[str, Any], *, order_id: str,
                          settings: StoreSettings) -> Order:
    """An :class:`Order` from a v1 order (what ``GET /orders/{id}`` returns)."""
    customer_data = payload.get("customer") or {}
    ship = payload.get("shipping_address") or {}
    country = ship.get("country") or payload.get("billing_country")
    customer = customer_from(
        cid=customer_data.get("id"),
        name=first((payload.get("contact_name"), customer_data.get("name"), ship.get("name"))),
        email=first((payload.get("contact_email"), customer_data.get("email"))),
        phone=first((payload.get("contact_phone"), customer_data.get("phone"), ship.get("phone"),
                     payload.get("billing_phone"))),
        country=country, locale=payload.get("language"), default_market=settings.default_market)
    currency = str(payload.get("currency") or "")
    status = status_from_tiendanube(payload.get("status"), payload.get("payment_status"),
                                    payload.get("shipping_status"))
    items = [OrderItem(
        id=int(p.get("id") or 0), sku=str(p.get("sku") or ""), name=str(p.get("name") or ""),
        category=category_for(p.get("name"), overrides=settings.category_map),
        size=_size(p.get("variant_values")), quantity=int(p.get("quantity") or 1),
        unit_price_cents=to_cents(p.get("price"))) for p in payload.get("products") or []]
    updated = parse_datetime(payload.get("updated_at"))
    shipped = parse_datetime(payload.get("shipped_at")) if status.is_shipped else None
    eta = None
    if shipped and payload.get("shipping_max_days") and status != OrderStatus.DELIVERED:
        eta = add_business_days(store_day(shipped), int(payload["shipping_max_days"]))
    refunds = ()
    if status == OrderStatus.REFUNDED:
        # v1 keeps no refund records: a refunded order was refunded in full, last update = when
        refunds = (Refund(id=int(payload.get("id") or 0), order_id=order_id,
                          amount_cents=to_cents(payload.get("total")), currency=currency,
                          method=payment_method_for(payload.get("gateway"),
                                                    payload.get("gateway_name")),
                          status="completed", created_at=updated,  # type: ignore[arg-type]
                          completed_at=updated),)
    details = payload.get("payment_details") or {}
    return Order(
        id=order_id, customer=customer, status=status, currency=currency,
        total_cents=to_cents(payload.get("total")),
        payment_method=payment_method_for(details.get("method"), payload.get("gateway"),
                                          payload.get("gateway_name")),
        placed_at=parse_datetime(payload.get("created_at")),  # type: ignore[arg-type]
        shipping_address=_address(ship), items=tuple(items),
        carrier=(first((payload.get("shipping_option"), payload.get("shipping"))) or None)
        if payload.get("shipping_tracking_number") else None,
        tracking_number=payload.get("shipping_tracking_number") or None,
        tracking_url=payload.get("shipping_tracking_url") or None,
        shipped_at=shipped, estimated_delivery=eta,
        # the v1 order has no delivery date: the last update of a delivered order is the closest
        delivered_at=updated if status == OrderStatus.DELIVERED else None,
        cancelled_at=parse_datetime(payload.get("cancelled_at")) or
        (updated if status == OrderStatus.CANCELLED else None),
        refunds=refunds)


def product_from_tiendanube(product: Mapping[str, Any], *, lang: str, currency: str,
                            base_url: str, settings: StoreSettings) -> Product:
    """A :class:`Product` from a v1 product (variants inline, names per language)."""
    attributes = [option_key(pick_language(a, lang)) for a in product.get("attributes") or []]
    variants = []
    for v in product.get("variants") or []:
        values = [pick_language(value, lang) for value in v.get("values") or []]
        stock = v.get("stock") if v.get("stock_management") else None
        variants.append(ProductVariant(
            sku=str(v.get("sku") or ""),
            options=tuple(zip(attributes, values, strict=False)),
            price_cents=to_cents(v.get("promotional_price") or v.get("price")),
            currency=currency, stock=int(stock) if stock is not None else None,
            available=v.get("price") is not None and (stock is None or int(stock) > 0)))
    name = pick_language(product.get("name"), lang)
    handle = pick_language(product.get("handle"), lang)
    return Product(
        id=str(product.get("id")), sku=first(v.sku for v in variants), name=name,
        description=html_to_text(pick_language(product.get("description"), lang)),
        category=category_for(name, product.get("tags"), overrides=settings.category_map),
        url=f"{base_url}/productos/{handle}/" if handle and base_url else None,
        variants=tuple(variants))


class TiendanubeStore(RemoteStore):
    platform = "tiendanube"
    native_operations = frozenset({"cancel_order"})

    def __init__(self, settings: StoreSettings,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.throttle = LeakyBucketThrottle()
        http = platform_client(
            "tiendanube", f"{settings.tiendanube_api_url}/{settings.tiendanube_store_id}",
            settings, headers={"Authentication": f"bearer {settings.tiendanube_token}",
                     "User-Agent": settings.tiendanube_user_agent,
                     "Content-Type": "application/json; charset=utf-8"},
            throttle=self.throttle, retry_hint=retry_hint, transport=transport)
        super().__init__(settings, http)
        self._store: Mapping[str, Any] | None = None

    async def _pages(self, path: str, route: str, *, max_pages: int = 3,
                     **params: Any) -> list[Any]:
        """A paginated list, following the ``Link: <...>; rel="next"`` header as documented."""
        items: list[Any] = []
        for page in range(1, max_pages + 1):
            body, response = await self.get_json(path, route, page=page, **params)
            if not isinstance(body, list):
                break  # Tiendanube answers 404 past the last page of a search
            items.extend(body)
            if 'rel="next"' not in response.headers.get("Link", ""):
                break
        return items

    async def store_info(self) -> Mapping[str, Any]:
        if self._store is None:
            body, _ = await self.get_json("/store", "store.get")
            self._store = body or {}
        return self._store

    async def _find(self, order_id: str) -> Mapping[str, Any]:
        for candidate in await self._pages("/orders", "orders.search", q=order_digits(order_id),
                                           per_page=50):
            if numbers_match(candidate.get("number"), order_id, self.settings.order_prefix):
                return candidate  # type: ignore[no-any-return]
        raise OrderNotFound(order_id)

    async def _fetch_order(self, order_id: str) -> Order:
        return order_from_tiendanube(await self._find(order_id), order_id=order_id,
                                     settings=self.settings)

    async def _fetch_order_by_ref(self, ref: str) -> Order:
        body, _ = await self.get_json(f"/orders/{ref}", "orders.get")
        if not isinstance(body, dict):
            raise OrderNotFound(ref)
        return order_from_tiendanube(body, order_id=canonical_order_id(body.get("number")),
                                     settings=self.settings)

    async def _fetch_customer_orders(self, email: str) -> list[Order]:
        wanted = email.strip().lower()
        orders = []
        for payload in await self._pages("/orders", "orders.by_email", q=wanted, per_page=50):
            contact = first((payload.get("contact_email"),
                             (payload.get("customer") or {}).get("email"))).lower()
            if contact == wanted:
                orders.append(order_from_tiendanube(
                    payload, order_id=canonical_order_id(payload.get("number")),
                    settings=self.settings))
        return sorted(orders, key=lambda o: o.placed_at, reverse=True)

    async def _search_products(self, query: str, *, lang: str, limit: int) -> list[Product]:
        found = await first_hits(query, lambda term: self._pages(
            "/products", "products.search", max_pages=1, q=term, per_page=20, published="true"),
            key=lambda product: str(product.get("id")))
        if not found:
            return []
        store = await self.store_info()
        domain = first((*(store.get("domains") or []), store.get("original_domain")))
        base_url = self.settings.store_url or (f"https://{domain}" if domain else "")
        currency = str(store.get("main_currency") or "")
        return rank([product_from_tiendanube(p, lang=lang, currency=currency, base_url=base_url,
                                             settings=self.settings)
                     for p in found.values()], query, limit)

    async def _cancel(self, order_id: str, reason: str) -> None:
        payload = await self._find(order_id)
        status = status_from_tiendanube(payload.get("status"), payload.get("payment_status"),
                                        payload.get("shipping_status"))
        if status not in {OrderStatus.PENDING, OrderStatus.PAID}:
            raise InvalidOperation(f"order is {status.value}, cannot cancel")
        tid = payload["id"]
        response = await self.http.request("POST", f"/orders/{tid}/cancel", route="orders.cancel",
                                           json={"reason": "customer", "email": True,
                                                 "restock": True})
        if response.status_code >= 400:
            raise InvalidOperation(f"tiendanube orders.cancel: HTTP {response.status_code}")
        if status == OrderStatus.PAID:
            # cancelling does not give the money back: leave the team a note on the order
            note = first((payload.get("owner_note"),))
            text = "Atiende: cancelado a petición del cliente por chat; falta emitir el reembolso."
            response = await self.http.request(
                "PUT", f"/orders/{tid}", route="orders.note",
                json={"owner_note": f"{note}\n{text}".strip()})
            if response.status_code >= 400:
                logger.warning("tiendanube: owner note not written (HTTP %s)",
                               response.status_code)

    # -- python -m actions.store check ------------------------------------------------------
    async def check(self) -> list[Any]:
        from actions.store.check import Probe

        try:
            store = await self.store_info()
        except PlatformAuthError as exc:
            return [Probe("credentials", False, f"rejected (HTTP {exc.status}): check "
                          "TIENDANUBE_ACCESS_TOKEN and TIENDANUBE_STORE_ID")]
        name = pick_language(store.get("name"), "es")
        probes = [Probe("credentials", True, f"store {name!r}"),
                  Probe("store currency", True, str(store.get("main_currency") or "?"))]
        for resource, scope in (("orders", "read_orders"), ("products", "read_products")):
            try:
                await self.get_json(f"/{resource}", f"check.{resource}", per_page=1)
                probes.append(Probe(f"read {resource}", True, "ok"))
            except PlatformAuthError:
                probes.append(Probe(f"read {resource}", False, f"the app lacks {scope}"))
        try:  # order 0 does not exist: with write_orders the answer is 404
            response = await self.http.request("POST", "/orders/0/cancel", route="check.write",
                                               json={"reason": "other", "email": False})
            probes.append(Probe("write permission", response.status_code in {404, 422},
                                "write_orders granted" if response.status_code in {404, 422}
                                else f"unexpected HTTP {response.status_code}"))
        except PlatformAuthError:
            probes.append(Probe("write permission", False, "no write_orders scope"))
        return probes
