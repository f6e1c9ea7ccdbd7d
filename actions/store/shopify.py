"""Shopify adapter: the GraphQL Admin API (``/admin/api/<version>/graphql.json``).

Reference: https://shopify.dev/docs/api/admin-graphql (version pinned by ``SHOPIFY_API_VERSION``,
default 2025-01). Authentication: the ``X-Shopify-Access-Token`` header of a custom app.

GraphQL errors arrive in a 200 body (``errors``), so every answer is inspected: ``THROTTLED``
means wait and retry, ``ACCESS_DENIED`` means the app lacks a scope (a write then goes to an
agent), anything else is "unavailable". Rate limits are a cost bucket reported in
``extensions.cost.throttleStatus`` (token and cost bucket: :mod:`actions.store.shopify_http`).

The shopper's number is the order ``name`` (``#101003``, or with the store's prefix). The bot may
cancel (``orderCancel`` with refund and restock, an asynchronous job it waits for), change the
shipping address (``orderUpdate``) and request a return (``returnRequest``: Shopify records it as
REQUESTED for the team to approve) when the app has the write scopes and writes are allowed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from actions.store import shopify_queries as q
from actions.store.base import (
    InvalidOperation,
    Order,
    OrderNotFound,
    OrderStatus,
    Product,
    ReturnRecord,
    StoreUnavailable,
)
from actions.store.http import PlatformAuthError, json_body
from actions.store.mapping import (
    canonical_order_id,
    gid_number,
    numbers_match,
    order_digits,
    split_address,
)
from actions.store.remote import RemoteStore, first_hits, platform_client
from actions.store.search import rank
from actions.store.settings import StoreSettings
from actions.store.shopify_http import AccessDenied, CostThrottle, ShopifyTokenAuth, throttled_wait
from actions.store.shopify_mapping import (
    RETURN_STATUS,
    order_from_shopify,
    product_from_shopify,
    return_reason,
    status_from_shopify,
)

logger = logging.getLogger(__name__)


class ShopifyStore(RemoteStore):
    platform = "shopify"
    native_operations = frozenset({"cancel_order", "change_address", "create_return"})

    def __init__(self, settings: StoreSettings,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.throttle = CostThrottle()
        http = platform_client(
            "shopify", f"{settings.shopify_url}/admin/api/{settings.shopify_api_version}",
            settings, headers={"Content-Type": "application/json", "Accept": "application/json"},
            auth=ShopifyTokenAuth(settings, settings.timeout),
            throttle=self.throttle, retry_hint=throttled_wait, transport=transport)
        super().__init__(settings, http)
        self._translations = True  # read_translations granted (until Shopify says otherwise)
        self._inventory = True  # read_inventory granted

    async def graphql(self, document: str, variables: Mapping[str, Any] | None = None, *,
                      route: str, mutation: bool = False) -> Mapping[str, Any]:
        """``data`` of a GraphQL answer; errors in the body become :class:`StoreError`s."""
        response = await self.http.request(
            "POST", "/graphql.json", route=route, idempotent=not mutation,
            json={"query": document, "variables": dict(variables or {})})
        if response.status_code >= 400:
            raise StoreUnavailable(f"shopify {route}: HTTP {response.status_code}")
        body = json_body(response, "shopify", route)
        errors = body.get("errors") if isinstance(body, Mapping) else None
        if errors:
            codes = sorted({str((e.get("extensions") or {}).get("code") or "GRAPHQL")
                            for e in errors if isinstance(e, Mapping)} or {"GRAPHQL"})
            if "ACCESS_DENIED" in codes:
                denied = AccessDenied(f"shopify {route}: access denied (missing scope)", 403)
                denied.fields = {m.group(1) for e in errors if isinstance(e, Mapping)
                                 for m in [re.search(r"Access denied for (\w+) field",
                                                     str(e.get("message", "")))] if m}
                raise denied
            raise StoreUnavailable(f"shopify {route}: GraphQL errors {', '.join(codes)}")
        if not isinstance(body, Mapping) or not isinstance(body.get("data"), Mapping):
            raise StoreUnavailable(f"shopify {route}: answer without data")
        return body["data"]  # type: ignore[no-any-return]

    # -- reads ------------------------------------------------------------------------------
    def _name_query(self, order_id: str) -> str:
        digits = order_digits(order_id)
        prefix = self.settings.order_prefix or "#"
        return f"name:{json.dumps(prefix + digits)}"

    async def _full(self, gid: str) -> Mapping[str, Any]:
        node = (await self.graphql(q.ORDER, {"id": gid}, route="orders.get")).get("order")
        if not node:
            raise OrderNotFound(gid)
        return node  # type: ignore[no-any-return]

    async def _find(self, order_id: str) -> Mapping[str, Any]:
        data = await self.graphql(q.ORDER_IDS, {"query": self._name_query(order_id)},
                                  route="orders.by_name")
        for node in (data.get("orders") or {}).get("nodes") or []:
            if numbers_match(node.get("name"), order_id, self.settings.order_prefix):
                return await self._full(node["id"])
        raise OrderNotFound(order_id)

    async def _fetch_order(self, order_id: str) -> Order:
        return order_from_shopify(await self._find(order_id), order_id=order_id,
                                  settings=self.settings)

    async def _fetch_order_by_ref(self, ref: str) -> Order:
        node = await self._full(f"gid://shopify/Order/{ref}")  # webhooks carry the legacy id
        return order_from_shopify(node, order_id=canonical_order_id(node.get("name")),
                                  settings=self.settings)

    async def _fetch_customer_orders(self, email: str) -> list[Order]:
        wanted = email.strip().lower()
        data = await self.graphql(q.ORDER_IDS, {"query": f"email:{json.dumps(wanted)}"},
                                  route="orders.by_email")
        orders = []
        for summary in (data.get("orders") or {}).get("nodes") or []:
            if (summary.get("email") or "").lower() == wanted:
                orders.append(order_from_shopify(
                    await self._full(summary["id"]),
                    order_id=canonical_order_id(summary.get("name")), settings=self.settings))
        return sorted(orders, key=lambda o: o.placed_at, reverse=True)

    async def _catalogue(self, build: Any, variables: dict[str, Any], lang: str,
                         route: str) -> Mapping[str, Any]:
        """A catalogue query with the optional fields the app's scopes allow, learnt once:
        without read_translations names stay in the store's language, without read_inventory
        availability comes from ``availableForSale`` alone."""
        while True:
            extra = {"locale": lang} if self._translations else {}
            try:
                return await self.graphql(build(translations=self._translations,
                                                inventory=self._inventory),
                                          {**variables, **extra}, route=route)
            except AccessDenied as exc:
                if "translations" in exc.fields and self._translations:
                    self._translations = False
                elif "inventoryQuantity" in exc.fields and self._inventory:
                    self._inventory = False
                else:
                    raise StoreUnavailable(f"shopify {route}: access denied") from exc
                logger.warning("shopify: scope missing for %s; asking without it",
                               ", ".join(sorted(exc.fields)))

    async def _variants(self, node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        connection = node.get("variants") or {}
        variants = list(connection.get("nodes") or [])
        page = connection.get("pageInfo") or {}
        while page.get("hasNextPage") and len(variants) < 2000:
            data = await self.graphql(q.more_variants_query(inventory=self._inventory),
                                      {"id": node["id"], "after": page.get("endCursor")},
                                      route="variants.more")
            connection = (data.get("product") or {}).get("variants") or {}
            variants.extend(connection.get("nodes") or [])
            page = connection.get("pageInfo") or {}
        return variants

    async def _search_products(self, query: str, *, lang: str, limit: int) -> list[Product]:
        currency = ""

        async def fetch(words: str) -> list[Mapping[str, Any]]:
            nonlocal currency
            # search syntax: bare words are ANDed, "word*" is a prefix (botas* finds "Botas")
            text = " ".join(f"{w}*" if len(w) > 3 else w for w in words.split())
            data = await self._catalogue(
                lambda translations, inventory: q.product_ids_query(translations=translations),
                {"query": f"status:active AND ({text})"}, lang, "products.search")
            currency = str((data.get("shop") or {}).get("currencyCode") or "")
            return list((data.get("products") or {}).get("nodes") or [])

        found = await first_hits(query, fetch, key=lambda node: str(node.get("id")))
        # rank the cheap candidates by name, then read variants only for the best few
        stubs = [product_from_shopify(node, [], currency=currency, settings=self.settings)
                 for node in found.values()]
        by_id = {str(gid_number(node.get("id"))): node for node in found.values()}
        products = []
        for stub in rank(stubs, query, min(limit, 3)):
            data = await self._catalogue(q.product_query, {"id": by_id[stub.id]["id"]}, lang,
                                         "products.get")
            node = data.get("product")
            if node:
                products.append(product_from_shopify(node, await self._variants(node),
                                                     currency=currency, settings=self.settings))
        return products

    # -- changes ----------------------------------------------------------------------------
    async def _cancel(self, order_id: str, reason: str) -> None:
        node = await self._find(order_id)
        status = status_from_shopify(node)
        if status not in {OrderStatus.PENDING, OrderStatus.PAID}:
            raise InvalidOperation(f"order is {status.value}, cannot cancel")
        data = await self.graphql(q.ORDER_CANCEL, {
            "orderId": node["id"], "staffNote": "Atiende: cancelled at the customer's request"},
            route="orders.cancel", mutation=True)
        payload = data.get("orderCancel") or {}
        if payload.get("orderCancelUserErrors"):
            codes = [e.get("code") for e in payload["orderCancelUserErrors"]]
            raise InvalidOperation(f"shopify orders.cancel refused: {codes}")
        job = payload.get("job") or {}
        # the cancellation runs as a background job: wait (briefly) until Shopify says it is done
        deadline = time.monotonic() + self.settings.deadline
        while job.get("id") and not job.get("done") and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            job = (await self.graphql(q.JOB, {"id": job["id"]}, route="job.get")).get("job") or {}

    async def _change_address(self, order_id: str, address: str) -> None:
        node = await self._find(order_id)
        status = status_from_shopify(node)
        if status not in {OrderStatus.PENDING, OrderStatus.PAID}:
            raise InvalidOperation(f"order is {status.value}, address is fixed")
        current = node.get("shippingAddress") or {}
        country = current.get("countryCodeV2")
        fields = split_address(address, country)
        data = await self.graphql(q.ORDER_UPDATE_ADDRESS, {"input": {
            "id": node["id"], "shippingAddress": {
                "firstName": current.get("firstName"), "lastName": current.get("lastName"),
                "address1": fields["address1"], "address2": fields["address2"],
                "city": fields["city"], "zip": fields["postcode"], "countryCode": country,
                "provinceCode": fields["state"] or current.get("provinceCode"),
                "phone": current.get("phone")}}}, route="orders.address", mutation=True)
        errors = (data.get("orderUpdate") or {}).get("userErrors")
        if errors:
            raise InvalidOperation(f"shopify orders.address refused ({len(errors)} errors)")

    async def _create_return(self, order_id: str, *, item_ids: list[int], reason: str,
                             kind: str, refund_cents: int) -> ReturnRecord:
        node = await self._find(order_id)
        fulfilled: dict[int, Mapping[str, Any]] = {}
        for parcel in node.get("fulfillments") or []:
            for line in (parcel.get("fulfillmentLineItems") or {}).get("nodes") or []:
                fulfilled[gid_number((line.get("lineItem") or {}).get("id"))] = line
        missing = [i for i in item_ids if i not in fulfilled]
        if missing:
            raise InvalidOperation(f"items {missing} were not shipped")
        note = reason if kind == "refund" else f"{reason} (cambio de talla / size exchange)"
        data = await self.graphql(q.RETURN_REQUEST, {"input": {
            "orderId": node["id"],
            "returnLineItems": [{"fulfillmentLineItemId": fulfilled[i]["id"],
                                 "quantity": int(fulfilled[i].get("quantity") or 1),
                                 "returnReason": return_reason(reason),
                                 "customerNote": note[:300]} for i in item_ids]}},
            route="returns.request", mutation=True)
        payload = data.get("returnRequest") or {}
        created = payload.get("return") or {}
        if payload.get("userErrors") or not created:
            raise InvalidOperation("shopify returns.request refused")
        return ReturnRecord(rma=str(created.get("name")), order_id=order_id,
                            item_ids=tuple(sorted(item_ids)), reason=reason, kind=kind,
                            status=RETURN_STATUS.get(created.get("status") or "", "requested"),
                            refund_cents=refund_cents, created_at=datetime.now(UTC))

    async def access_scopes(self) -> tuple[str, list[str]]:
        """(shop name, granted scopes) for ``python -m actions.store check``."""
        data = await self.graphql(q.ACCESS_SCOPES, route="app.scopes")
        scopes = [s.get("handle", "") for s in
                  (data.get("currentAppInstallation") or {}).get("accessScopes") or []]
        return str((data.get("shop") or {}).get("name") or ""), scopes

    # -- python -m actions.store check ------------------------------------------------------
    async def check(self) -> list[Any]:
        from actions.store.check import Probe

        try:
            name, scopes = await self.access_scopes()
        except PlatformAuthError as exc:
            return [Probe("credentials", False, f"rejected (HTTP {exc.status}): check "
                          "SHOPIFY_SHOP and SHOPIFY_ACCESS_TOKEN")]
        except StoreUnavailable as exc:
            return [Probe("credentials", False, str(exc))]
        granted = set(scopes)
        probes = [Probe("credentials", True, f"shop {name!r}"),
                  Probe("read orders", "read_orders" in granted,
                        "read_orders" if "read_orders" in granted else "read_orders missing"),
                  Probe("read products", "read_products" in granted,
                        "read_products" if "read_products" in granted
                        else "read_products missing")]
        for scope, why in (("read_inventory", "stock counts"),
                           ("read_translations", "product names in the shopper's language"),
                           ("read_returns", "returns on orders")):
            probes.append(Probe(scope, True if scope in granted else None,
                                "granted" if scope in granted else f"missing: no {why}"))
        writes = {"write_orders", "write_returns"} & granted
        probes.append(Probe("write permission", bool(writes),
                            ", ".join(sorted(writes)) if writes else "read-only app"))
        return probes
