"""Order events as the platforms send them and the store as the adapter answers, for the
order-event tests (``test_store_events*.py``, ``test_store_webhooks.py``, ``test_wa_templates.py``).

Signatures here are computed by the tests themselves (hmac + base64/hex), not with the module's
``sign``, so a wrong scheme in the code fails the tests.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from actions.store.base import (
    Customer,
    Order,
    OrderItem,
    OrderNotFound,
    OrderStatus,
    Refund,
    StoreUnavailable,
)
from handoff_api.app import create_app
from handoff_api.models import Handoff, MailOutbox, OrderNotice
from handoff_api.store_events import OrderNotifier
from tests.handoff_api.conftest import make_settings
from tests.handoff_api.relay.conftest import FakeGraph
from tests.handoff_api.smtp_server import SmtpServer

WOO_SECRET = "woo-webhook-secret-0123456789"
TN_SECRET = "tiendanube-client-secret-0123"
SHOPIFY_SECRET = "shopify-client-secret-0123456"
EMAIL = "lucia.garcia@example.com"
PHONE = "+52 55 1234 5678"  # the order's phone; WhatsApp's id for it is 5215512345678
WA_ID = "5215512345678"


# -- signatures the way each platform documents them ----------------------------------------------
def b64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def woo_headers(body: bytes, *, topic: str = "order.updated", delivery: str = "d-1",
                secret: str = WOO_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Delivery-ID": delivery, "X-WC-Webhook-Source": "https://shop.example/",
            "X-WC-Webhook-Signature": b64(secret, body)}


def shopify_headers(body: bytes, *, topic: str = "fulfillments/update",
                    webhook_id: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043") -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Shopify-Topic": topic,
            "X-Shopify-Webhook-Id": webhook_id, "X-Shopify-Shop-Domain": "shop.myshopify.com",
            "X-Shopify-Hmac-Sha256": b64(SHOPIFY_SECRET, body)}


def tn_headers(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json",
            "x-linkedstore-hmac-sha256": hmac.new(TN_SECRET.encode(), body,
                                                  hashlib.sha256).hexdigest()}


def woo_order(woo_id: int = 7003, number: str = "100234", status: str = "completed") -> bytes:
    """The REST v3 order WooCommerce posts on ``order.updated`` (trimmed)."""
    return json.dumps({"id": woo_id, "number": number, "status": status, "currency": "EUR",
                       "billing": {"email": EMAIL, "phone": PHONE}, "meta_data": [
                           {"id": 1, "key": "_wc_shipment_tracking_items",
                            "value": [{"tracking_number": "SE123"}]}]}).encode()


# -- the store, as the adapter would answer -------------------------------------------------------
def order(number: str = "AT100234", status: OrderStatus = OrderStatus.SHIPPED, *,
          email: str = EMAIL, phone: str = PHONE, language: str = "es",
          refunds: tuple[Refund, ...] = ()) -> Order:
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    return Order(id=number, customer=Customer(1, "Lucía García", email, phone, language, "MX"),
                 status=status, currency="EUR", total_cents=8990, payment_method="card",
                 placed_at=now, shipping_address="Calle Mayor 1, Madrid",
                 items=(OrderItem(1, "UR-42", "Urban Runner", "footwear", "42", 1, 8990),),
                 carrier="SEUR", tracking_number="SE123",
                 tracking_url="https://track.example/SE123", shipped_at=now, refunds=refunds)


class FakeOrders:
    """The store adapter seam: answers by the number (WooCommerce) or the platform id."""

    def __init__(self, platform: str, orders: dict[str, Order]) -> None:
        self.platform = platform
        self.orders = orders
        self.down = False
        self.calls = 0
        self.shop: str | None = None  # the shop this store is, when the platform names shops

    def owns(self, shop: str | None) -> bool:
        return shop is None or self.shop is None or shop == self.shop

    async def order_for(self, event: Any) -> Order:
        self.calls += 1
        await asyncio.sleep(0.01)  # a real lookup takes a while: replays overlap
        if self.down:
            raise StoreUnavailable("timeout")
        found = self.orders.get(event.number or "") or self.orders.get(event.order_ref)
        if found is None:
            raise OrderNotFound(event.order_ref)
        return found


def make_client(database_url: str, smtp: SmtpServer, orders: FakeOrders, *,
                graph: FakeGraph | None = None, templates: str = "",
                **overrides: Any) -> TestClient:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "store_name": "Tienda Demo",
        "smtp_from": "Tienda Demo <ayuda@shop.example>",
        "public_url": "https://ayuda.shop.example", "woocommerce_webhook_secret": WOO_SECRET,
        "tiendanube_webhook_secret": TN_SECRET, "shopify_webhook_secret": SHOPIFY_SECRET,
        "whatsapp_order_templates": templates}
    settings = make_settings(database_url, **{**values, **overrides})
    extra = {"whatsapp": {"access_token": "wa-token", "phone_number_id": "106540352242922",
                          "graph_url": graph.url}} if graph else {"whatsapp": {
                              "access_token": "", "phone_number_id": ""}}
    app = create_app(settings, relay_extra=extra)
    app.state.order_notifier = OrderNotifier(app.state.services, orders=orders)
    return TestClient(app)


def wait_for_mail(smtp: SmtpServer, count: int = 1, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while len(smtp.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def settle(client: TestClient) -> None:
    """Let the background send finish, then run the mail outbox once more (a second send of the
    same notice would show up here)."""
    mail = client.app.state.services.mail
    client.portal.call(mail.deliver_due)  # type: ignore[union-attr]


def notices(client: TestClient) -> list[OrderNotice]:
    with client.app.state.services.sessions() as s:
        return list(s.scalars(select(OrderNotice)))


def mails(client: TestClient) -> list[MailOutbox]:
    with client.app.state.services.sessions() as s:
        return list(s.scalars(select(MailOutbox)))


def talked_on_whatsapp(client: TestClient, wa_id: str = WA_ID) -> None:
    """The store has talked to this number on WhatsApp (a WhatsApp handoff)."""
    with client.app.state.services.write_sessions()() as s:
        s.add(Handoff(conversation_id=wa_id, channel="whatsapp", language="es",
                      reason="asked", status="resolved", packet={}))
        s.commit()
