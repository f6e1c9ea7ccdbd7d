"""A Tiendanube/Nuvemshop v1 API stand-in (``/v1/{store_id}``) seeded with the demo store.

Like the real API it wants ``Authentication: bearer <token>`` (401 otherwise) and a User-Agent
(400 without one), gives orders a customer-facing ``number`` that is not their ``id``, paginates
with ``page``/``per_page`` and ``Link`` headers (404 past the last page), keeps a leaky bucket of
``bucket`` requests draining at 2/s with the ``X-Rate-Limit-*`` headers and answers 429 when it
overflows, and cancels orders with ``POST /orders/{id}/cancel``.
"""

from __future__ import annotations

import math
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actions.store.demo_catalogue import CURRENCY
from tests.actions.store.standins.common import (
    StandIn,
    fixture,
    money,
    split_demo_address,
)

ORDER_ID_BASE = 450789000


def tn_time(value: datetime | None) -> str | None:
    """Tiendanube writes dates as 2022-02-23T12:25:18+0000."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000") if value else None


def street_and_number(line: str, market: str) -> tuple[str, str]:
    if market == "US":
        number, _, street = line.partition(" ")
        return street, number
    match = re.match(r"^(.*?)\s+(\S*\d\S*)$", line)
    return (match.group(1), match.group(2)) if match else (line, "")


class TiendanubeStandIn(StandIn):
    platform = "tiendanube"

    def __init__(self, *, token: str = "tn_standin_token", store_id: str = "271146",
                 bucket: int = 40, write: bool = True, **kwargs: Any) -> None:
        self.token, self.store_id, self.bucket = token, store_id, bucket
        self.write = write  # the app was granted write_orders
        self.level = 0.0
        self.rejected = 0
        self.level_at = time.monotonic()
        self.bucket_lock = threading.Lock()
        super().__init__(**kwargs)

    def seed(self) -> None:
        self.store = fixture("tiendanube/store.yml")
        self.store["main_currency"] = CURRENCY
        self.products: list[dict[str, Any]] = []
        for n, p in enumerate(self.catalogue):
            body = fixture("tiendanube/product.yml")
            attributes = []
            if any(v.size for v in p.variants):
                attributes.append({"es": "Talle", "en": "Size"})
            if any(v.colour_es for v in p.variants):
                attributes.append({"es": "Color", "en": "Colour"})
            body.update(id=1000 + n, name={"es": p.name_es, "en": p.name_en},
                        description={"es": f"<p>{p.description_es}</p>",
                                     "en": f"<p>{p.description_en}</p>"},
                        handle={"es": p.handle, "en": p.handle}, attributes=attributes)
            variants = []
            for m, v in enumerate(p.variants):
                variant = fixture("tiendanube/variant.yml")
                values = ([{"es": v.size, "en": v.size}] if v.size else []) + \
                    ([{"es": v.colour_es, "en": v.colour_en}] if v.colour_es else [])
                variant.update(id=20000 + n * 100 + m, product_id=body["id"], position=m + 1,
                               price=money(v.price_cents), stock=v.stock, sku=v.sku,
                               values=values)
                variants.append(variant)
            body["variants"] = variants
            self.products.append(body)

        self.tn_orders: dict[int, dict[str, Any]] = {}
        for n, o in enumerate(self.orders):
            c = o.customer
            address = split_demo_address(o.address, c["market"])
            street, number = street_and_number(address["address1"], c["market"])
            body = fixture("tiendanube/order.yml")
            payment = {"pending": "pending", "cancelled": "refunded" if o.refunds else "voided",
                       "refunded": "refunded"}.get(o.status, "paid")
            shipping = {"shipped": "fulfilled", "in_transit": "fulfilled",
                        "delivered": "delivered", "returned": "delivered",
                        "refunded": "delivered"}.get(o.status, "unpacked")
            updated = o.placed_at
            if o.delivered_at:
                updated = o.delivered_at
            if o.status == "refunded" and o.refunds:
                updated = o.refunds[0]["completed_at"] or o.refunds[0]["created_at"]
            if o.cancelled_at:
                updated = o.cancelled_at
            body.update(
                id=ORDER_ID_BASE + n, number=int(o.id[2:]), token=f"tok{o.id.lower()}",
                contact_email=c["email"], contact_phone=c["phone"], contact_name=c["name"],
                currency=o.currency, language=c["language"], total=money(o.total_cents),
                subtotal=money(o.total_cents), gateway=o.payment_method,
                gateway_name=o.payment_method.replace("_", " ").title(),
                payment_details={**body["payment_details"], "method": o.payment_method},
                status="cancelled" if o.status == "cancelled" else
                ("closed" if shipping == "delivered" else "open"),
                payment_status=payment, shipping_status=shipping,
                created_at=tn_time(o.placed_at), updated_at=tn_time(updated),
                paid_at=tn_time(o.placed_at) if payment != "pending" else None,
                shipped_at=tn_time(o.shipped_at), cancelled_at=tn_time(o.cancelled_at),
                shipping_tracking_number=o.tracking_number, shipping_tracking_url=o.tracking_url,
                shipping_option=o.carrier or "Envío a domicilio",
                shipping=(o.carrier or "table").lower().replace(" ", "-"),
                billing_country=c["market"], billing_phone=c["phone"], billing_name=c["name"],
                customer={**body["customer"], "id": c["id"], "name": c["name"],
                          "email": c["email"], "phone": c["phone"]},
                shipping_address={**body["shipping_address"], "address": street,
                                  "number": number, "floor": address["address2"] or None,
                                  "zipcode": address["postcode"], "city": address["city"],
                                  "province": address["state"], "country": c["market"],
                                  "name": c["name"], "phone": c["phone"]},
            )
            products = []
            for item in o.items:
                line = fixture("tiendanube/order_product.yml")
                line.update(id=item["id"], name=item["name"], sku=item["sku"],
                            price=money(item["unit_price_cents"]),
                            quantity=str(item["quantity"]),
                            variant_values=[item["size"]] if item["size"] else [])
                products.append(line)
            body["products"] = products
            self.tn_orders[body["id"]] = body

    # -- HTTP -------------------------------------------------------------------------------
    def check_auth(self, request: Request) -> Response | None:
        errors = fixture("tiendanube/errors.yml")
        if not request.headers.get("user-agent"):
            return JSONResponse(errors["no_user_agent"], 400)
        if request.headers.get("authentication") != f"bearer {self.token}":
            return JSONResponse(errors["unauthorized"], 401)
        if request.method not in {"GET", "HEAD"} and not self.write:
            return JSONResponse(errors["forbidden"], 403)
        with self.bucket_lock:  # leaky bucket: +1 per request, drains 2 per second
            now = time.monotonic()
            self.level = max(0.0, self.level - (now - self.level_at) * 2)
            self.level_at = now
            if self.level + 1 > self.bucket:
                self.rejected += 1
                return JSONResponse(errors["too_many"], 429, headers=self.limit_headers())
            self.level += 1
        return None

    def limit_headers(self) -> dict[str, str]:
        return {"X-Rate-Limit-Limit": str(self.bucket),
                "X-Rate-Limit-Remaining": str(max(0, int(self.bucket - self.level))),
                "X-Rate-Limit-Reset": str(int(self.level / 2 * 1000))}

    def answer(self, body: Any, status: int = 200, headers: dict[str, str] | None = None
               ) -> JSONResponse:
        return JSONResponse(body, status, headers={**self.limit_headers(), **(headers or {})})

    def page(self, request: Request, items: list[Any]) -> JSONResponse:
        per_page = min(int(request.query_params.get("per_page", 30)), 200)
        page = max(int(request.query_params.get("page", 1)), 1)
        last = math.ceil(len(items) / per_page)
        if page > last:
            error = dict(fixture("tiendanube/errors.yml")["last_page"])
            error["description"] = f"Last page is {last}"
            return self.answer(error, 404)
        links = []
        if page < last:
            links.append(f'<{request.url.include_query_params(page=page + 1)}>; rel="next"')
        links.append(f'<{request.url.include_query_params(page=last)}>; rel="last"')
        return self.answer(items[(page - 1) * per_page: page * per_page],
                           headers={"X-Total-Count": str(len(items)), "Link": ", ".join(links)})

    def routes(self) -> list[Route]:
        base = f"/v1/{self.store_id}"
        return [
            Route(f"{base}/store", self.get_store, methods=["GET"]),
            Route(f"{base}/orders", self.list_orders, methods=["GET"]),
            Route(f"{base}/orders/{{oid:int}}", self.order, methods=["GET", "PUT"]),
            Route(f"{base}/orders/{{oid:int}}/cancel", self.cancel, methods=["POST"]),
            Route(f"{base}/products", self.list_products, methods=["GET"]),
        ]

    async def get_store(self, request: Request) -> Response:
        return self.answer(self.store)

    async def list_orders(self, request: Request) -> Response:
        q = request.query_params.get("q", "").lower()
        with self.lock:
            orders = sorted(self.tn_orders.values(), key=lambda o: o["created_at"], reverse=True)
        if q:  # "by the given number; or containing the given text in the customer name or email"
            orders = [o for o in orders if q == str(o["number"]) or q in o["contact_email"].lower()
                      or q in o["contact_name"].lower()]
        return self.page(request, orders)

    async def order(self, request: Request) -> Response:
        oid = request.path_params["oid"]
        with self.lock:
            body = self.tn_orders.get(oid)
            if body is None:
                return self.answer(fixture("tiendanube/errors.yml")["not_found"], 404)
            if request.method == "PUT":
                changes = await request.json()
                for key in ("owner_note", "status"):
                    if key in changes:
                        body[key] = changes[key]
            return self.answer(body)

    async def cancel(self, request: Request) -> Response:
        oid = request.path_params["oid"]
        data = await request.json()
        with self.lock:
            body = self.tn_orders.get(oid)
            if body is None:
                return self.answer(fixture("tiendanube/errors.yml")["not_found"], 404)
            if body["status"] == "cancelled" or body["shipping_status"] != "unpacked":
                return self.answer(fixture("tiendanube/errors.yml")["invalid"], 422)
            now = datetime.now(UTC)
            body.update(status="cancelled", cancel_reason=data.get("reason", "other"),
                        cancelled_at=tn_time(now), updated_at=tn_time(now))
            if body["payment_status"] == "pending":
                body["payment_status"] = "voided"
            return self.answer(body)

    async def list_products(self, request: Request) -> Response:
        q = request.query_params.get("q", "").lower()
        with self.lock:
            items = list(self.products)
        if q:  # names, descriptions or SKU, in any language
            items = [p for p in items if q in " ".join(
                [*p["name"].values(), *p["description"].values(),
                 *(v["sku"] for v in p["variants"])]).lower()]
        return self.page(request, items)
