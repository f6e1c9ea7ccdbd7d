"""A WooCommerce REST API v3 stand-in (``/wp-json/wc/v3``) seeded with the demo store.

Shapes come from the fixtures in ``fixtures/woocommerce/`` (each names its documentation page).
What it checks and does like the real API:

* HTTP Basic authentication with the consumer key and secret; a wrong key gets the documented
  401 body, a *read* key used for a write gets WooCommerce's "does not have write permissions";
* order ``number`` differs from ``id`` (as with a sequential-numbers plugin), so lookups by the
  number the shopper sees must search;
* pagination with ``per_page``/``page`` and the ``X-WP-Total``/``X-WP-TotalPages``/``Link``
  headers (``max_per_page`` can shrink pages to exercise it);
* ``PUT`` status/shipping, order notes, refunds, products with variations, the store currency
  and the Shipment Tracking extension's endpoint (``tracking=False``: not installed -> 404
  ``rest_no_route``).
"""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.actions.store.standins.common import (
    StandIn,
    fixture,
    iso,
    money,
    split_demo_address,
)

WOO_STATUS = {"pending": "pending", "paid": "processing", "shipped": "processing",
              "in_transit": "processing", "delivered": "completed", "returned": "completed",
              "cancelled": "cancelled", "refunded": "refunded"}
GATEWAYS = {"card": ("stripe", "Tarjeta de crédito (Stripe)"), "paypal": ("ppcp-gateway", "PayPal"),
            "bizum": ("bizum", "Bizum"), "bank_transfer": ("bacs", "Transferencia bancaria"),
            "cash_on_delivery": ("cod", "Contra reembolso"),
            "mercadopago": ("woo-mercado-pago-basic", "Mercado Pago"),
            "oxxo": ("woo-mercado-pago-ticket", "OXXO"), "pse": ("pse", "PSE"),
            "nequi": ("nequi", "Nequi"), "apple_pay": ("stripe", "Apple Pay (Stripe)")}
CATEGORIES = {"footwear": "Calzado", "apparel": "Ropa", "accessories": "Accesorios",
              "swimwear": "Baño", "underwear": "Ropa interior", "gift_card": "Tarjetas regalo",
              "personalised": "Joyería personalizada"}
ORDER_ID_BASE = 7000
PRODUCT_ID_BASE = 500


class WooCommerceStandIn(StandIn):
    platform = "woocommerce"

    def __init__(self, *, key: str = "ck_standin_key", secret: str = "cs_standin_secret",
                 permissions: str = "read_write", tracking: bool = True,
                 max_per_page: int = 100, **kwargs: Any) -> None:
        self.key, self.secret, self.permissions = key, secret, permissions
        self.tracking = tracking
        self.max_per_page = max_per_page
        super().__init__(**kwargs)

    # -- seeding --------------------------------------------------------------------------------
    def seed(self) -> None:
        self.products: list[dict[str, Any]] = []
        self.variations: dict[int, list[dict[str, Any]]] = {}
        product_ids: dict[str, int] = {}
        variation_ids: dict[str, int] = {}
        next_variation = 9000
        for n, p in enumerate(self.catalogue):
            pid = PRODUCT_ID_BASE + n
            product_ids[p.sku] = pid
            body = fixture("woocommerce/product.yml")
            sizes = list(dict.fromkeys(v.size for v in p.variants if v.size))
            colours = list(dict.fromkeys(v.colour_es for v in p.variants if v.colour_es))
            body.update(
                id=pid, name=p.name_es, slug=p.handle, sku=p.sku,
                permalink=f"https://tienda.atiende-demo.example/producto/{p.handle}/",
                description=f"<p>{p.description_es}</p>",
                short_description=f"<p>{p.description_es.split('. ')[0]}.</p>",
                price=money(p.variants[0].price_cents),
                categories=[{"id": 15, "name": CATEGORIES[p.category],
                             "slug": p.category.replace("_", "-")}],
                attributes=[a for a in (
                    {"id": 1, "name": "Talla", "position": 0, "visible": True, "variation": True,
                     "options": sizes} if sizes else None,
                    {"id": 2, "name": "Color", "position": 1, "visible": True, "variation": True,
                     "options": colours} if colours else None) if a])
            rows = []
            for v in p.variants:
                next_variation += 1
                variation_ids[v.sku] = next_variation
                var = fixture("woocommerce/variation.yml")
                var.update(id=next_variation, sku=v.sku, price=money(v.price_cents),
                           regular_price=money(v.price_cents), stock_quantity=v.stock,
                           stock_status="instock" if v.stock > 0 else "outofstock",
                           permalink=body["permalink"],
                           attributes=[a for a in (
                               {"id": 1, "name": "Talla", "option": v.size} if v.size else None,
                               {"id": 2, "name": "Color", "option": v.colour_es}
                               if v.colour_es else None) if a])
                rows.append(var)
            body["variations"] = [r["id"] for r in rows]
            self.variations[pid] = rows
            self.products.append(body)

        self.woo_orders: dict[int, dict[str, Any]] = {}
        self.notes: dict[int, list[dict[str, Any]]] = {}
        self.woo_refunds: dict[int, list[dict[str, Any]]] = {}
        self.trackings: dict[int, list[dict[str, Any]]] = {}
        next_refund = 800
        for n, o in enumerate(self.orders):
            woo_id = ORDER_ID_BASE + n
            c = o.customer
            first, _, last = c["name"].partition(" ")
            address = split_demo_address(o.address, c["market"])
            gateway, title = GATEWAYS[o.payment_method]
            country = {"US": "US"}.get(c["market"], c["market"])
            body = fixture("woocommerce/order.yml")
            status = WOO_STATUS[o.status]
            if o.status == "pending" and o.payment_method in {"bank_transfer", "oxxo"}:
                status = "on-hold"
            body.update(
                id=woo_id, number=o.id[2:], order_key=f"wc_order_{o.id.lower()}",
                status=status, currency=o.currency, total=money(o.total_cents),
                customer_id=c["id"], payment_method=gateway, payment_method_title=title,
                date_created=iso(o.placed_at), date_created_gmt=iso(o.placed_at),
                date_modified_gmt=iso(o.cancelled_at or o.delivered_at or o.shipped_at
                                      or o.placed_at),
                date_paid_gmt=iso(o.placed_at) if o.status != "pending" else None,
                date_completed_gmt=iso(o.delivered_at) if status == "completed" else None,
                billing={**body["billing"], "first_name": first, "last_name": last,
                         "email": c["email"], "phone": c["phone"], "country": country,
                         "address_1": address["address1"], "address_2": address["address2"],
                         "city": address["city"], "postcode": address["postcode"],
                         "state": address["state"]},
                shipping={**body["shipping"], "first_name": first, "last_name": last,
                          "country": country, "address_1": address["address1"],
                          "address_2": address["address2"], "city": address["city"],
                          "postcode": address["postcode"], "state": address["state"]},
                meta_data=[{"id": 1, "key": "wpml_language", "value": c["language"]}],
            )
            lines = []
            for item in o.items:
                line = fixture("woocommerce/line_item.yml")
                total = item["unit_price_cents"] * item["quantity"]
                variant_sku = next((v.sku for p in self.catalogue if p.sku == item["sku"]
                                    for v in p.variants if v.size == item["size"]), item["sku"])
                line.update(id=item["id"], name=item["name"], sku=item["sku"],
                            product_id=product_ids[item["sku"]],
                            variation_id=variation_ids.get(variant_sku, 0),
                            quantity=item["quantity"], subtotal=money(total), total=money(total),
                            price=item["unit_price_cents"] / 100,
                            meta_data=[{"id": 1, "key": "pa_talla", "value": item["size"],
                                        "display_key": "Talla", "display_value": item["size"]}]
                            if item["size"] else [])
                lines.append(line)
            body["line_items"] = lines
            refunds = []
            for f in o.refunds:
                next_refund += 1
                refund = fixture("woocommerce/refund.yml")
                refund.update(id=next_refund, amount=money(f["amount_cents"]),
                              date_created=iso(f["created_at"]),
                              date_created_gmt=iso(f["created_at"]),
                              reason="Devolución" if f["rma"] else "Pedido cancelado")
                refunds.append(refund)
            self.woo_refunds[woo_id] = refunds
            body["refunds"] = [{"id": r["id"], "reason": r["reason"], "total": f"-{r['amount']}"}
                               for r in refunds]
            if o.carrier and o.tracking_number:
                item = fixture("woocommerce/tracking.yml")
                item.update(tracking_id=f"trk{woo_id}", tracking_provider=o.carrier,
                            tracking_number=o.tracking_number, tracking_link=o.tracking_url,
                            date_shipped=o.shipped_at.date().isoformat()
                            if o.shipped_at else None)
                self.trackings[woo_id] = [item]
            self.woo_orders[woo_id] = body
            self.notes[woo_id] = []

    # -- HTTP -----------------------------------------------------------------------------------
    def check_auth(self, request: Request) -> Response | None:
        expected = base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse(fixture("woocommerce/errors.yml")["unauthorized"], 401)
        if request.method not in {"GET", "HEAD"} and self.permissions == "read":
            return JSONResponse(fixture("woocommerce/errors.yml")["read_only_key"], 401)
        return None

    def page(self, request: Request, items: list[Any]) -> JSONResponse:
        per_page = min(int(request.query_params.get("per_page", 10)), 100, self.max_per_page)
        page = max(int(request.query_params.get("page", 1)), 1)
        total_pages = max(math.ceil(len(items) / per_page), 1)
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(total_pages)}
        if page < total_pages:
            headers["Link"] = f'<{request.url.include_query_params(page=page + 1)}>; rel="next"'
        return JSONResponse(chunk, headers=headers)

    @staticmethod
    def not_found(kind: str = "invalid_order") -> JSONResponse:
        return JSONResponse(fixture("woocommerce/errors.yml")[kind], 404)

    def routes(self) -> list[Route]:
        api = "/wp-json/wc/v3"
        return [
            Route(f"{api}/orders", self.list_orders, methods=["GET"]),
            Route(f"{api}/orders/{{oid:int}}", self.order, methods=["GET", "PUT"]),
            Route(f"{api}/orders/{{oid:int}}/notes", self.order_notes, methods=["GET", "POST"]),
            Route(f"{api}/orders/{{oid:int}}/refunds", self.refunds, methods=["GET", "POST"]),
            Route(f"{api}/products", self.list_products, methods=["GET"]),
            Route(f"{api}/products/{{pid:int}}/variations", self.list_variations,
                  methods=["GET"]),
            Route(f"{api}/data/currencies/current", self.currency, methods=["GET"]),
            Route("/wp-json/wc-shipment-tracking/v3/orders/{oid:int}/shipment-trackings",
                  self.shipment_trackings, methods=["GET"]),
            Route("/{rest:path}", lambda request: self.not_found("no_route"),
                  methods=["GET", "POST", "PUT", "DELETE"]),
        ]

    async def list_orders(self, request: Request) -> Response:
        term = request.query_params.get("search", "").lower()
        with self.lock:
            orders = sorted(self.woo_orders.values(), key=lambda o: o["date_created_gmt"],
                            reverse=True)
            if term:
                orders = [o for o in orders if term in o["number"] or term in str(o["id"])
                          or term in o["billing"]["email"].lower()
                          or term in f"{o['billing']['first_name']} {o['billing']['last_name']}"
                          .lower()]
            return self.page(request, orders)

    async def order(self, request: Request) -> Response:
        oid = request.path_params["oid"]
        with self.lock:
            body = self.woo_orders.get(oid)
            if body is None:
                return JSONResponse({"code": "woocommerce_rest_shop_order_invalid_id",
                                     "message": "Invalid ID.", "data": {"status": 400}}, 400) \
                    if request.method == "PUT" else self.not_found()
            if request.method == "PUT":
                changes = await request.json()
                if "status" in changes:
                    body["status"] = changes["status"]
                if "shipping" in changes:
                    body["shipping"] = {**body["shipping"], **changes["shipping"]}
                body["date_modified_gmt"] = iso(datetime.now(UTC))
            return JSONResponse(body)

    async def order_notes(self, request: Request) -> Response:
        oid = request.path_params["oid"]
        with self.lock:
            if oid not in self.notes:
                return self.not_found()
            if request.method == "GET":
                return JSONResponse(self.notes[oid])
            data = await request.json()
            note = {"id": len(self.notes[oid]) + 1, "author": "WooCommerce",
                    "date_created_gmt": iso(datetime.now(UTC)), "note": data["note"],
                    "customer_note": bool(data.get("customer_note"))}
            self.notes[oid].append(note)
            return JSONResponse(note, 201)

    async def refunds(self, request: Request) -> Response:
        oid = request.path_params["oid"]
        with self.lock:
            if oid not in self.woo_orders:
                return self.not_found()
            if request.method == "GET":
                return self.page(request, list(reversed(self.woo_refunds[oid])))
            data = await request.json()
            refund = fixture("woocommerce/refund.yml")
            now = iso(datetime.now(UTC))
            refund.update(id=900 + sum(len(r) for r in self.woo_refunds.values()),
                          amount=str(data.get("amount", "0.00")), reason=data.get("reason", ""),
                          date_created=now, date_created_gmt=now,
                          refunded_payment=bool(data.get("api_refund", True)))
            self.woo_refunds[oid].append(refund)
            order = self.woo_orders[oid]
            order["refunds"].append({"id": refund["id"], "reason": refund["reason"],
                                     "total": f"-{refund['amount']}"})
            return JSONResponse(refund, 201)

    async def list_products(self, request: Request) -> Response:
        params = request.query_params
        with self.lock:
            items = list(self.products)
        if params.get("include"):
            wanted = {int(i) for i in params["include"].split(",") if i.strip()}
            items = [p for p in items if p["id"] in wanted]
        if params.get("search"):
            # WordPress search: every word must appear in the title, content or excerpt
            words = params["search"].lower().split()
            items = [p for p in items if all(
                w in f"{p['name']} {p['description']} {p['sku']}".lower() for w in words)]
        return self.page(request, items)

    async def list_variations(self, request: Request) -> Response:
        with self.lock:
            rows = self.variations.get(request.path_params["pid"])
        if rows is None:
            return self.not_found("no_route")
        return self.page(request, rows)

    async def currency(self, request: Request) -> Response:
        return JSONResponse({"code": "EUR", "name": "Euro", "symbol": "&euro;"})

    async def shipment_trackings(self, request: Request) -> Response:
        if not self.tracking:
            return self.not_found("no_route")
        oid = request.path_params["oid"]
        with self.lock:
            if oid not in self.woo_orders:
                return self.not_found()
            return JSONResponse(self.trackings.get(oid, []))
