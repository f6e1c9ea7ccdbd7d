"""WooCommerce adapter: the WooCommerce REST API v3 (``/wp-json/wc/v3``), consumer key + secret.

Reference: https://woocommerce.github.io/woocommerce-rest-api-docs/ (source:
github.com/woocommerce/woocommerce-rest-api-docs, ``source/includes/wp-api-v3``). Authentication is
HTTP Basic with the consumer key and secret over HTTPS (``_authentication.md``).

What the shopper's number means: WooCommerce's ``number`` is what the shopper sees; it equals the
post ``id`` unless a sequential-numbers plugin renumbers orders, so the adapter tries ``GET
/orders/<digits>`` and checks its ``number``, and otherwise searches ``?search=<digits>``.

Statuses (``_orders.md``): ``pending``/``on-hold``/``failed`` wait for payment, ``processing`` is
paid (shipped once a tracking number exists), ``completed`` is the end of the road — read as
*delivered* by default (``WOOCOMMERCE_COMPLETED_MEANS=shipped`` for shops that complete on
dispatch), ``cancelled``, ``refunded``. Plugins' ``shipped``/``delivered`` statuses are understood
(:mod:`actions.store.woocommerce_mapping`).
Tracking comes from the official Shipment Tracking extension's endpoint when it is installed.

The bot may cancel (``PUT status=cancelled``, then a refund through the payment gateway for paid
orders) and change the shipping address; each change leaves a private order note for the team.
WooCommerce has no returns API: return requests go to an agent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from actions.store.base import (
    InvalidOperation,
    Order,
    OrderNotFound,
    OrderStatus,
    Product,
    StoreUnavailable,
)
from actions.store.http import PlatformAuthError, json_body
from actions.store.mapping import (
    canonical_order_id,
    numbers_match,
    order_digits,
    split_address,
    to_cents,
)
from actions.store.remote import RemoteStore, first_hits, platform_client
from actions.store.search import rank
from actions.store.settings import StoreSettings
from actions.store.woocommerce_mapping import order_from_woo, product_from_woo, status_from_woo

logger = logging.getLogger(__name__)

API = "/wc/v3"
TRACKING_API = "/wc-shipment-tracking/v3"
PAGE_SIZE = 100  # WooCommerce's maximum per_page


class WooCommerceStore(RemoteStore):
    platform = "woocommerce"
    native_operations = frozenset({"cancel_order", "change_address"})

    def __init__(self, settings: StoreSettings,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        http = platform_client(
            "woocommerce", settings.woocommerce_url + "/wp-json", settings,
            auth=httpx.BasicAuth(settings.woocommerce_key, settings.woocommerce_secret),
            headers={"Accept": "application/json", "User-Agent": "Atiende (store adapter)"},
            transport=transport)
        super().__init__(settings, http)
        self.completed_means = settings.woocommerce_completed_means
        self._currency: str | None = None
        self._tracking_installed: bool | None = None

    # -- helpers ----------------------------------------------------------------------------
    async def _pages(self, path: str, route: str, *, max_pages: int = 5,
                     **params: Any) -> list[Any]:
        """Every item of a paginated collection (``X-WP-TotalPages``), up to ``max_pages``."""
        items: list[Any] = []
        page = 1
        while True:
            body, response = await self.get_json(path, route, page=page, **params)
            if not isinstance(body, list):
                break
            items.extend(body)
            total = int(response.headers.get("X-WP-TotalPages", "1") or 1)
            if page >= min(total, max_pages):
                break
            page += 1
        return items

    async def _find(self, order_id: str) -> Mapping[str, Any]:
        digits = order_digits(order_id)
        prefix = self.settings.order_prefix
        body, _ = await self.get_json(f"{API}/orders/{digits}", "orders.get")
        if isinstance(body, dict) and numbers_match(body.get("number"), order_id, prefix):
            return body
        for candidate in await self._pages(f"{API}/orders", "orders.search", max_pages=2,
                                           search=digits, per_page=20):
            if numbers_match(candidate.get("number"), order_id, prefix):
                return candidate  # type: ignore[no-any-return]
        raise OrderNotFound(order_id)

    async def _trackings(self, woo_id: int) -> list[Mapping[str, Any]]:
        if self._tracking_installed is False:
            return []
        body, response = await self.get_json(f"{TRACKING_API}/orders/{woo_id}/shipment-trackings",
                                         "tracking.list")
        if body is None and "rest_no_route" in response.text:
            self._tracking_installed = False  # the extension is not installed on this store
            return []
        self._tracking_installed = True
        return list(body or [])

    async def _categories(self, payload: Mapping[str, Any]) -> dict[int, list[str]]:
        ids = sorted({int(i.get("product_id") or 0) for i in payload.get("line_items") or []} - {0})
        if not ids:
            return {}
        try:
            products = await self._pages(f"{API}/products", "products.include", max_pages=1,
                                         include=",".join(map(str, ids)), per_page=PAGE_SIZE)
        except StoreUnavailable as exc:  # categories refine the policy; names still work
            logger.warning("woocommerce: product categories unavailable (%s)", exc)
            return {}
        return {int(p["id"]): [c.get("name", "") for c in p.get("categories") or []]
                for p in products}

    async def _load(self, payload: Mapping[str, Any], order_id: str) -> Order:
        woo_id = int(payload["id"])
        refunds = []
        if payload.get("refunds"):
            refunds = await self._pages(f"{API}/orders/{woo_id}/refunds", "refunds.list",
                                        per_page=PAGE_SIZE)
        return order_from_woo(payload, order_id=order_id, settings=self.settings,
                              refunds=refunds, trackings=await self._trackings(woo_id),
                              categories=await self._categories(payload),
                              completed_means=self.completed_means)

    # -- reads ------------------------------------------------------------------------------
    async def _fetch_order(self, order_id: str) -> Order:
        return await self._load(await self._find(order_id), order_id)

    async def _fetch_order_by_ref(self, ref: str) -> Order:
        body, _ = await self.get_json(f"{API}/orders/{ref}", "orders.get")
        if not isinstance(body, dict):
            raise OrderNotFound(ref)
        return await self._load(body, canonical_order_id(body.get("number")))

    async def _fetch_customer_orders(self, email: str) -> list[Order]:
        wanted = email.strip().lower()
        found = [o for o in await self._pages(f"{API}/orders", "orders.by_email", max_pages=2,
                                              search=wanted, per_page=50)
                 if (o.get("billing") or {}).get("email", "").strip().lower() == wanted]
        orders = [await self._load(o, canonical_order_id(o.get("number"))) for o in found]
        return sorted(orders, key=lambda o: o.placed_at, reverse=True)

    async def currency(self) -> str:
        if self._currency is None:
            body, _ = await self.get_json(f"{API}/data/currencies/current", "currency.current")
            self._currency = str((body or {}).get("code") or "")
        return self._currency

    async def _search_products(self, query: str, *, lang: str, limit: int) -> list[Product]:
        found = await first_hits(query, lambda term: self._pages(
            f"{API}/products", "products.search", max_pages=1, search=term, status="publish",
            per_page=20), key=lambda product: int(product["id"]))
        if not found:
            return []
        currency = await self.currency()
        candidates = []
        for product in found.values():
            variations = []
            if product.get("type") == "variable":
                variations = await self._pages(f"{API}/products/{product['id']}/variations",
                                               "variations.list", max_pages=20,
                                               per_page=PAGE_SIZE)
            candidates.append(product_from_woo(product, variations, currency=currency,
                                               settings=self.settings))
        return rank(candidates, query, limit)

    # -- changes ----------------------------------------------------------------------------
    async def _write(self, method: str, path: str, route: str, body: Any) -> Any:
        response = await self.http.request(method, path, route=route, json=body)
        if response.status_code == 404:
            raise OrderNotFound(path.rsplit("/", 1)[-1])
        if response.status_code >= 400:
            code = (json_body(response, "woocommerce", route) or {}).get("code", "")
            raise InvalidOperation(f"woocommerce {route}: HTTP {response.status_code} {code}")
        return json_body(response, "woocommerce", route)

    async def _note(self, woo_id: int, text: str) -> None:
        try:
            await self._write("POST", f"{API}/orders/{woo_id}/notes", "notes.create",
                              {"note": text, "customer_note": False})
        except (InvalidOperation, StoreUnavailable) as exc:  # the change itself stands
            logger.warning("woocommerce: order note not written (%s)", exc)

    async def _cancel(self, order_id: str, reason: str) -> None:
        payload = await self._find(order_id)
        status = status_from_woo(str(payload.get("status", "")), tracked=False,
                                 completed_means=self.completed_means)
        woo_id = int(payload["id"])
        if status not in {OrderStatus.PENDING, OrderStatus.PAID} or await self._trackings(woo_id):
            raise InvalidOperation(f"order is {payload.get('status')}, cannot cancel")
        await self._write("PUT", f"{API}/orders/{woo_id}", "orders.cancel", {"status": "cancelled"})
        note = "Atiende: pedido cancelado a petición del cliente (chat)."
        if status == OrderStatus.PAID and to_cents(payload.get("total")) > 0:
            try:
                await self._write("POST", f"{API}/orders/{woo_id}/refunds", "refunds.create", {
                    "amount": payload.get("total"), "reason": "Cancelado por el cliente (Atiende)",
                    "api_refund": True})
                note += " Reembolso emitido por la pasarela de pago."
            except (InvalidOperation, StoreUnavailable) as exc:
                logger.warning("woocommerce: refund after cancellation not issued (%s)", exc)
                note += " ATENCIÓN: el reembolso automático falló; hay que emitirlo a mano."
        await self._note(woo_id, note)

    async def _change_address(self, order_id: str, address: str) -> None:
        payload = await self._find(order_id)
        woo_id = int(payload["id"])
        status = status_from_woo(str(payload.get("status", "")), tracked=False,
                                 completed_means=self.completed_means)
        if status not in {OrderStatus.PENDING, OrderStatus.PAID} or await self._trackings(woo_id):
            raise InvalidOperation(f"order is {payload.get('status')}, address is fixed")
        shipping = dict(payload.get("shipping") or {})
        country = shipping.get("country") or (payload.get("billing") or {}).get("country")
        fields = split_address(address, country)
        shipping.update(address_1=fields["address1"], address_2=fields["address2"],
                        postcode=fields["postcode"], city=fields["city"],
                        state=fields["state"] or shipping.get("state", ""))
        await self._write("PUT", f"{API}/orders/{woo_id}", "orders.address", {"shipping": shipping})
        await self._note(woo_id, "Atiende: el cliente cambió la dirección de envío por chat.")


    # -- python -m actions.store check ------------------------------------------------------
    async def check(self) -> list[Any]:
        from actions.store.check import Probe

        try:
            _, response = await self.get_json(f"{API}/orders", "check.orders", per_page=1)
        except PlatformAuthError as exc:
            return [Probe("credentials", False, f"rejected (HTTP {exc.status}): check the "
                          "consumer key and secret, and that WOOCOMMERCE_URL is the https site")]
        total = response.headers.get("X-WP-Total")
        probes = [Probe("credentials", True, "accepted"),
                  Probe("read orders", True, f"{total} orders" if total else "ok")]
        try:
            _, response = await self.get_json(f"{API}/products", "check.products", per_page=1)
            total = response.headers.get("X-WP-Total")
            probes.append(Probe("read products", True, f"{total} products" if total else "ok"))
            probes.append(Probe("store currency", True, await self.currency()))
        except PlatformAuthError:
            probes.append(Probe("read products", False, "the key's user cannot read products"))
        _, response = await self.get_json(f"{TRACKING_API}/orders/0/shipment-trackings",
                                      "check.tracking")
        installed = "rest_no_route" not in response.text
        probes.append(Probe("Shipment Tracking extension", True if installed else None,
                            "installed" if installed else
                            "not installed: orders will show no tracking number"))
        try:  # order 0 does not exist: a read/write key gets 400/404, a read key 401
            await self.http.request("PUT", f"{API}/orders/0", route="check.write", json={})
            probes.append(Probe("write permission", True, "read/write key"))
        except PlatformAuthError:
            probes.append(Probe("write permission", False, "read-only key"))
        return probes
