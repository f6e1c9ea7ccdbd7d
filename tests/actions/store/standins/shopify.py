"""A Shopify GraphQL Admin API stand-in (``/admin/api/<version>/graphql.json``).

It does not pattern-match the adapter's queries: it VALIDATES and EXECUTES them with graphql-core
against ``fixtures/shopify/schema.graphql`` (the 2025-01 fields Atiende uses, written from the
reference), over the demo store's orders and catalogue (as nodes: ``shopify_data.py``). Like
Shopify it:

* wants ``X-Shopify-Access-Token`` (401 with Shopify's body otherwise): the fixed token of an
  admin-created app, or one issued by ``POST /admin/oauth/access_token`` (client credentials
  grant of a Dev Dashboard app), which expires after ``token_ttl`` seconds;
* answers GraphQL errors in a 200 body (validation errors, ACCESS_DENIED for a missing scope,
  MAX_COST_EXCEEDED above 1,000 requested points);
* keeps a cost bucket (``maximum`` points, ``restore`` points/s), reports it in
  ``extensions.cost`` and answers THROTTLED (200) when a query asks for more than is left;
* runs ``orderCancel`` as a job that is done on the next look, keeps ``orderUpdate`` shipping
  addresses and records ``returnRequest`` returns as REQUESTED.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from graphql import GraphQLError, build_schema, graphql_sync
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actions.store.demo_catalogue import CURRENCY
from tests.actions.store.standins.common import (
    FIXTURES,
    StandIn,
    fixture,
    iso,
)
from tests.actions.store.standins.shopify_cost import MAX_QUERY_COST, requested_cost
from tests.actions.store.standins.shopify_data import (
    bag,
    connection,
    gid,
    listing,
    order_node,
    page,
    product_node,
)

SCHEMA = build_schema((FIXTURES / "shopify" / "schema.graphql").read_text(encoding="utf-8"))
ALL_SCOPES = ("read_orders", "write_orders", "read_products", "read_inventory",
              "read_returns", "write_returns", "read_customers", "read_translations")


class ShopifyStandIn(StandIn):
    platform = "shopify"

    def __init__(self, *, token: str = "shpat_standin_token", maximum: float = 1000.0,
                 restore: float = 100.0, scopes: tuple[str, ...] = ALL_SCOPES,
                 client_id: str = "standin-client-id", client_secret: str = "standin-secret",
                 **kwargs: Any) -> None:
        self.token, self.maximum, self.restore = token, maximum, restore
        self.client_id, self.client_secret = client_id, client_secret
        self.token_ttl = 86399  # seconds a client-credentials token lives
        self.issued: dict[str, float] = {}  # client-credentials token -> expiry (monotonic)
        self.scopes = set(scopes)
        self.available = maximum
        self.available_at = time.monotonic()
        self.throttled = 0
        self.costs: list[int] = []
        self.bucket_lock = threading.Lock()
        super().__init__(**kwargs)

    # -- seeding ----------------------------------------------------------------------------
    def need(self, scope: str, field: str) -> None:
        if scope not in self.scopes:
            error = fixture("shopify/errors.yml")["access_denied"]
            raise GraphQLError(error["message"].format(field=field, scope=scope),
                               extensions={k: str(v).format(scope=scope)
                                           for k, v in error["extensions"].items()})

    def seed(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.products = [product_node(n, p, self.need) for n, p in enumerate(self.catalogue)]
        self.shop_orders = [order_node(n, o) for n, o in enumerate(self.orders)]

    @staticmethod
    def _filters(query: str) -> tuple[dict[str, str], list[str]]:
        filters = {k: v.strip('"') for k, v in re.findall(r'(\w+):("[^"]*"|\S+)', query)}
        rest = re.sub(r'\w+:("[^"]*"|\S+)', " ", query)
        words = [w.strip("()").lower() for w in rest.split()
                 if w.strip("()") and w.strip("()").upper() not in {"AND", "OR"}]
        return filters, words

    def root(self) -> dict[str, Any]:
        def orders(info: Any, first: int = 10, after: str | None = None, query: str = "",
                   reverse: bool = False) -> Any:
            self.need("read_orders", "orders")
            filters, _ = self._filters(query or "")
            with self.lock:
                found = [o for o in self.shop_orders
                         if ("name" not in filters or o["name"].lower() == filters["name"].lower())
                         and ("email" not in filters
                              or (o["email"] or "").lower() == filters["email"].lower())]
            found.sort(key=lambda o: o["processedAt"], reverse=reverse)
            return page(found, first, after)

        def order(info: Any, id: str) -> Any:  # noqa: A002 - GraphQL argument name
            self.need("read_orders", "order")
            return next((o for o in self.shop_orders if o["id"] == id), None)

        def products(info: Any, first: int = 10, after: str | None = None, query: str = ""
                     ) -> Any:
            self.need("read_products", "products")
            _, words = self._filters(query or "")

            def matches(p: dict[str, Any]) -> bool:
                haystack = re.findall(r"[^\W_]+(?:-[^\W_]+)*", " ".join(
                    [p["title"], p["productType"], *p["tags"],
                     *(v["sku"] for v in p["_variants"])]).lower())
                return all(any(t.startswith(w.rstrip("*")) if w.endswith("*") else t == w
                               for t in haystack) for w in words)

            return page([p for p in self.products if matches(p)], first, after)

        def product(info: Any, id: str) -> Any:  # noqa: A002
            self.need("read_products", "product")
            return next((p for p in self.products if p["id"] == id), None)

        def job(info: Any, id: str) -> Any:  # noqa: A002
            state = self.jobs.get(id)
            if state is None:
                return None
            answer = dict(state)
            state["done"] = True  # done the next time anyone looks
            return answer

        return {
            "orders": orders, "order": order, "products": products, "product": product,
            "job": job,
            "shop": {"name": "Atiende Demo", "currencyCode": CURRENCY,
                     "myshopifyDomain": "atiende-demo.myshopify.com"},
            "currentAppInstallation": lambda info: {
                "accessScopes": [{"handle": s} for s in sorted(self.scopes)]},
            # mutations share the root value
            "orderCancel": self.order_cancel, "orderUpdate": self.order_update,
            "returnRequest": self.return_request,
        }

    # -- mutations -----------------------------------------------------------------------------
    def _find(self, order_id: str) -> dict[str, Any] | None:
        return next((o for o in self.shop_orders if o["id"] == order_id), None)

    def order_cancel(self, info: Any, orderId: str, reason: str, refund: bool,  # noqa: N803
                     restock: bool, notifyCustomer: bool | None = None,  # noqa: N803
                     staffNote: str | None = None) -> Any:  # noqa: N803
        self.need("write_orders", "orderCancel")
        with self.lock:
            order = self._find(orderId)
            if order is None:
                return {"job": None, "userErrors": [], "orderCancelUserErrors": [
                    {"field": ["orderId"], "message": "Order not found", "code": "NOT_FOUND"}]}
            if order["cancelledAt"] or order["_fulfillments"]:
                return {"job": None, "userErrors": [], "orderCancelUserErrors": [
                    {"field": ["orderId"], "message": "Cannot cancel a fulfilled order",
                     "code": "INVALID"}]}
            now = iso(datetime.now(UTC), z=True)
            order["cancelledAt"] = now
            paid = order["displayFinancialStatus"] == "PAID"
            if refund and paid:
                cents = int(round(float(order["totalPriceSet"]["shopMoney"]["amount"]) * 100))
                order["_refunds"].append({
                    "id": gid("Refund", 71000 + len(order["_refunds"])), "createdAt": now,
                    "note": staffNote, "totalRefundedSet": bag(cents, order["currencyCode"]),
                    "transactions": connection([{
                        "id": gid("OrderTransaction", 81000), "kind": "REFUND",
                        "gateway": order["paymentGatewayNames"][0], "status": "PENDING",
                        "processedAt": None}])})
                order["refunds"] = listing(order["_refunds"])
            order["displayFinancialStatus"] = "REFUNDED" if paid and refund else "VOIDED"
            job = gid("Job", uuid.uuid4())
            self.jobs[job] = {"id": job, "done": False}
            return {"job": {"id": job, "done": False}, "orderCancelUserErrors": [],
                    "userErrors": []}

    def order_update(self, info: Any, input: dict[str, Any]) -> Any:  # noqa: A002
        self.need("write_orders", "orderUpdate")
        with self.lock:
            order = self._find(input["id"])
            if order is None:
                return {"order": None, "userErrors": [{"field": ["id"],
                                                       "message": "Order does not exist"}]}
            if "shippingAddress" in input:
                new = input["shippingAddress"]
                address = order["shippingAddress"]
                address.update({k: new.get(k) for k in ("firstName", "lastName", "address1",
                                                        "address2", "city", "zip", "phone")})
                address["provinceCode"] = new.get("provinceCode")
                address["countryCodeV2"] = new.get("countryCode") or address["countryCodeV2"]
            return {"order": order, "userErrors": []}

    def return_request(self, info: Any, input: dict[str, Any]) -> Any:  # noqa: A002
        self.need("write_returns", "returnRequest")
        with self.lock:
            order = self._find(input["orderId"])
            shipped = {line["id"]: line for f in (order or {}).get("_fulfillments", [])
                       for line in f["fulfillmentLineItems"](None)["nodes"]}
            wanted = [line["fulfillmentLineItemId"] for line in input["returnLineItems"]]
            if order is None or not wanted or any(w not in shipped for w in wanted):
                return {"return": None, "userErrors": [
                    {"field": ["input", "returnLineItems"], "message": "Invalid line items",
                     "code": "INVALID"}]}
            created = {
                "id": gid("Return", 96000 + len(order["_returns"])),
                "name": f"{order['name']}-R{len(order['_returns']) + 1}",
                "status": "REQUESTED", "createdAt": iso(datetime.now(UTC), z=True),
                "returnLineItems": connection([
                    {"id": gid("ReturnLineItem", 97000 + n), "quantity": line["quantity"],
                     "returnReason": line["returnReason"],
                     "customerNote": line.get("customerNote"),
                     "fulfillmentLineItem": shipped[line["fulfillmentLineItemId"]]}
                    for n, line in enumerate(input["returnLineItems"])])}
            order["_returns"].append(created)
            order["returns"] = connection(order["_returns"])
            return {"return": created, "userErrors": []}

    # -- HTTP -------------------------------------------------------------------------------
    def check_auth(self, request: Request) -> Response | None:
        if request.url.path == "/admin/oauth/access_token":
            return None  # the token endpoint checks the client credentials itself
        token = request.headers.get("x-shopify-access-token")
        if token == self.token or self.issued.get(token or "", 0) > time.monotonic():
            return None
        return JSONResponse(fixture("shopify/errors.yml")["unauthorized"], 401)

    async def access_token(self, request: Request) -> Response:
        """Client credentials grant (form-encoded), as for a Dev Dashboard app."""
        form = await request.form()
        if form.get("grant_type") != "client_credentials" or \
                form.get("client_id") != self.client_id or \
                form.get("client_secret") != self.client_secret:
            return JSONResponse({"error": "invalid_client",
                                 "error_description": "Client credentials are invalid"}, 400)
        token = f"shpat_cc_{uuid.uuid4().hex}"
        self.issued[token] = time.monotonic() + self.token_ttl
        return JSONResponse({"access_token": token, "scope": ",".join(sorted(self.scopes)),
                             "expires_in": self.token_ttl})

    def fault_response(self, fault: Any) -> Response:
        body = fault.body if fault.body is not None else fixture("shopify/errors.yml")["internal"]
        return JSONResponse(body, status_code=fault.status, headers=fault.headers)

    def routes(self) -> list[Route]:
        return [Route("/admin/api/{version}/graphql.json", self.graphql, methods=["POST"]),
                Route("/admin/oauth/access_token", self.access_token, methods=["POST"])]

    def _bucket(self, cost: int) -> tuple[bool, dict[str, Any]]:
        with self.bucket_lock:
            now = time.monotonic()
            self.available = min(self.maximum,
                                 self.available + (now - self.available_at) * self.restore)
            self.available_at = now
            allowed = cost <= self.available
            if allowed:
                self.available -= cost
            status = {"maximumAvailable": self.maximum,
                      "currentlyAvailable": round(self.available),
                      "restoreRate": self.restore}
            return allowed, status

    async def graphql(self, request: Request) -> Response:
        payload = await request.json()
        source, variables = payload.get("query", ""), payload.get("variables") or {}
        try:
            cost = requested_cost(SCHEMA, source, variables)
        except GraphQLError as exc:
            return JSONResponse({"errors": [exc.formatted]})
        self.costs.append(cost)
        if cost > MAX_QUERY_COST:
            return JSONResponse({"errors": [{
                "message": f"Query cost is {cost}, which exceeds the single query max cost "
                           f"limit ({MAX_QUERY_COST}).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost,
                               "maxCost": MAX_QUERY_COST}}]})
        allowed, status = self._bucket(cost)
        if not allowed:
            self.throttled += 1
            body = fixture("shopify/errors.yml")["throttled"]
            body["extensions"] = {"cost": {"requestedQueryCost": cost, "actualQueryCost": None,
                                           "throttleStatus": status}}
            return JSONResponse(body)
        result = graphql_sync(SCHEMA, source, root_value=self.root(),
                              variable_values=variables)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        body["extensions"] = {"cost": {"requestedQueryCost": cost, "actualQueryCost": cost,
                                       "throttleStatus": status}}
        return JSONResponse(body)
