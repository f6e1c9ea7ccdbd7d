"""Order events → proactive messages (issue #16), through the HTTP interface, on SQLite and
PostgreSQL: signed platform webhooks become exactly one e-mail (a real local SMTP server) or one
WhatsApp template (a fake Graph API server), whatever the replays; bad signatures, irrelevant
topics, malformed and oversize bodies are refused or ignored with a reason; opt-outs honoured.

Signatures here are computed by the test itself (hmac + base64/hex), not with the module's
``sign``, so a wrong scheme in the code fails the test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
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
from handoff_api.store_events import STOP_PAYLOAD, OrderNotifier
from tests.handoff_api.conftest import BOT, make_settings
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


class GraphThread:
    """The fake Graph API on its own event loop in a thread (the app runs in TestClient's)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.graph = asyncio.run_coroutine_threadsafe(FakeGraph().start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.graph.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    runner = GraphThread()
    yield runner.graph
    runner.stop()


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


# -- the done-when: one signed shipped event, exactly one message ---------------------------------
def test_signed_shipped_event_sends_exactly_one_email(database_url: str,
                                                      smtp: SmtpServer) -> None:
    orders = FakeOrders("woocommerce", {"100234": order("AT100234")})
    body = woo_order(status="processing")  # processing + tracking = shipped
    with make_client(database_url, smtp, orders) as client:
        r = client.post("/webhooks/store/woocommerce", content=body, headers=woo_headers(body))
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "mailed", "detail": "e-mail",
                            "key": "woocommerce:7003:shipped"}
        wait_for_mail(smtp)
        # WooCommerce retries the same delivery; the store edits the order and sends another
        for delivery in ("d-1", "d-2"):
            again = client.post("/webhooks/store/woocommerce", content=body,
                                headers=woo_headers(body, delivery=delivery))
            assert again.status_code == 200 and again.json()["status"] == "duplicate"
        settle(client)
        [mail] = smtp.messages
        assert mail["To"] == EMAIL
        assert mail["Subject"] == "Tu pedido AT100234 está en camino · Tienda Demo"
        text = mail.get_content()
        assert text.startswith("Hola Lucía:") and "Seguimiento (SEUR): SE123" in text
        assert "https://track.example/SE123" in text
        stop_link = mail["List-Unsubscribe"].strip("<>")
        assert stop_link.startswith("https://ayuda.shop.example/notifications/stop?t=")
        assert stop_link in text and mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        [notice] = notices(client)
        assert (notice.status, notice.channel) == ("mailed", "email")
        assert orders.calls == 1  # the duplicates never reached the store


def test_five_concurrent_replays_send_one_email(database_url: str, smtp: SmtpServer) -> None:
    orders = FakeOrders("shopify", {"450789469": order("AT100234", OrderStatus.IN_TRANSIT)})
    body = json.dumps({"id": 255858046, "order_id": 450789469, "status": "success",
                       "shipment_status": "out_for_delivery", "name": "#1001.1"}).encode()
    with make_client(database_url, smtp, orders) as client:
        def post(_: int) -> Any:
            return client.post("/webhooks/store/shopify", content=body,
                               headers=shopify_headers(body))

        with ThreadPoolExecutor(5) as pool:
            answers = list(pool.map(post, range(5)))
        assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
        statuses = sorted(a.json()["status"] for a in answers)
        assert statuses == ["duplicate"] * 4 + ["mailed"]
        wait_for_mail(smtp)
        settle(client)
        assert len(smtp.messages) == 1
        assert smtp.messages[0]["Subject"] == "Tu pedido AT100234 llega hoy · Tienda Demo"
        assert len(mails(client)) == 1 and len(notices(client)) == 1


def test_whatsapp_contact_gets_one_template(database_url: str, smtp: SmtpServer,
                                            graph: FakeGraph) -> None:
    orders = FakeOrders("tiendanube", {"450789469": order("AT100234", language="en")})
    body = json.dumps({"store_id": 271146, "event": "order/fulfilled",
                       "id": 450789469}).encode()
    with make_client(database_url, smtp, orders, graph=graph,
                     templates="shipped=pedido_enviado,delivered=pedido_entregado",
                     whatsapp_template_languages="es=es,en=en_US") as client:
        talked_on_whatsapp(client)
        with ThreadPoolExecutor(5) as pool:
            answers = list(pool.map(lambda _: client.post(
                "/webhooks/store/tiendanube", content=body, headers=tn_headers(body)), range(5)))
        assert sorted(a.json()["status"] for a in answers) == ["duplicate"] * 4 + ["sent"]
        settle(client)
    [request] = graph.requests
    assert request["path"] == "/v19.0/106540352242922/messages"
    sent = request["json"]
    assert (sent["type"], sent["to"]) == ("template", WA_ID)
    assert sent["template"]["name"] == "pedido_enviado"
    assert sent["template"]["language"] == {"code": "en_US"}
    assert sent["template"]["components"][0]["parameters"] == [{"type": "text",
                                                                "text": "AT100234"}]
    assert sent["template"]["components"][1] == {
        "type": "button", "sub_type": "quick_reply", "index": "0",
        "parameters": [{"type": "payload", "payload": STOP_PAYLOAD}]}
    assert smtp.messages == []  # WhatsApp instead of e-mail, not both


def test_the_bot_knows_the_stop_buttons_payload() -> None:
    """The bot process cannot import this package; its WhatsApp connector must recognise the
    payload this side puts on the template's button."""
    source = (Path(__file__).parents[2] / "bot" / "channels" / "whatsapp.py").read_text()
    assert f'STOP_NOTICES_PAYLOAD = "{STOP_PAYLOAD}"' in source


def talked_on_whatsapp(client: TestClient, wa_id: str = WA_ID) -> None:
    """The store has talked to this number on WhatsApp (a WhatsApp handoff)."""
    with client.app.state.services.write_sessions()() as s:
        s.add(Handoff(conversation_id=wa_id, channel="whatsapp", language="es",
                      reason="asked", status="resolved", packet={}))
        s.commit()


def test_unknown_whatsapp_contact_or_no_template_goes_by_email(database_url: str,
                                                               smtp: SmtpServer,
                                                               graph: FakeGraph) -> None:
    orders = FakeOrders("shopify", {"1": order("AT100001", OrderStatus.DELIVERED),
                                    "2": order("AT100002", phone="+34 600 111 222")})
    with make_client(database_url, smtp, orders, graph=graph,
                     templates="shipped=pedido_enviado") as client:
        talked_on_whatsapp(client)
        # a phone the store never talked to on WhatsApp: e-mail
        shipped = json.dumps({"order_id": 2, "shipment_status": "in_transit"}).encode()
        r = client.post("/webhooks/store/shopify", content=shipped,
                        headers=shopify_headers(shipped, webhook_id="w1"))
        assert r.json()["status"] == "mailed"
        wait_for_mail(smtp)
        # no template for "delivered": e-mail, though the phone is a WhatsApp contact
        delivered = json.dumps({"order_id": 1, "shipment_status": "delivered"}).encode()
        r = client.post("/webhooks/store/shopify", content=delivered,
                        headers=shopify_headers(delivered, webhook_id="w2"))
        assert r.json()["status"] == "mailed"
        wait_for_mail(smtp, 2)
    assert graph.requests == [] and len(smtp.messages) == 2


def test_the_bots_whatsapp_state_names_known_contacts(database_url: str, smtp: SmtpServer,
                                                      graph: FakeGraph, tmp_path: Path) -> None:
    """A shopper who wrote to the bot on WhatsApp (recorded by the connector in
    meta_channels.db), never handed to a person, gets the template too."""
    import sqlite3

    with sqlite3.connect(tmp_path / "meta_channels.db") as conn:
        conn.execute("CREATE TABLE last_inbound (channel TEXT NOT NULL, conversation_id TEXT "
                     "NOT NULL, at REAL NOT NULL, PRIMARY KEY (channel, conversation_id))")
        conn.execute("INSERT INTO last_inbound VALUES ('whatsapp', ?, ?)", (WA_ID, time.time()))
        conn.execute("INSERT INTO last_inbound VALUES ('messenger', '612345678', 1)")
    orders = FakeOrders("tiendanube", {"1": order("AT100001")})
    body = json.dumps({"store_id": 1, "event": "order/fulfilled", "id": 1}).encode()
    with make_client(database_url, smtp, orders, graph=graph, data_dir=tmp_path,
                     templates="shipped=pedido_enviado") as client:
        r = client.post("/webhooks/store/tiendanube", content=body, headers=tn_headers(body))
        assert r.json()["status"] == "sent"
    [request] = graph.requests
    assert request["json"]["to"] == WA_ID and smtp.messages == []


def test_the_bots_shared_whatsapp_state_names_known_contacts(database_url: str,
                                                             smtp: SmtpServer, graph: FakeGraph,
                                                             tmp_path: Path) -> None:
    """Replicas on several hosts keep the channel state in a database (ATIENDE_CHANNEL_STATE_URL,
    bot/channels/meta_state.py): read from there, not from a file in the data dir."""
    from sqlalchemy import create_engine
    from sqlalchemy import text as sql_text

    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sql_text("DROP TABLE IF EXISTS last_inbound"))
        conn.execute(sql_text("CREATE TABLE last_inbound (channel TEXT NOT NULL, conversation_id "
                              "TEXT NOT NULL, at FLOAT NOT NULL, PRIMARY KEY (channel, "
                              "conversation_id))"))
        conn.execute(sql_text("INSERT INTO last_inbound VALUES ('whatsapp', :c, :t)"),
                     {"c": WA_ID, "t": time.time()})
    orders = FakeOrders("tiendanube", {"1": order("AT100001")})
    body = json.dumps({"store_id": 1, "event": "order/fulfilled", "id": 1}).encode()
    try:
        with make_client(database_url, smtp, orders, graph=graph, data_dir=tmp_path,
                         channel_state_url=database_url,
                         templates="shipped=pedido_enviado") as client:
            r = client.post("/webhooks/store/tiendanube", content=body,
                            headers=tn_headers(body))
            assert r.json()["status"] == "sent"
    finally:  # the handoff test database is shared by the session: leave it as it was
        with engine.begin() as conn:
            conn.execute(sql_text("DROP TABLE last_inbound"))
        engine.dispose()
    [request] = graph.requests
    assert request["json"]["to"] == WA_ID and smtp.messages == []
    assert not (tmp_path / "meta_channels.db").exists()


def test_permanent_whatsapp_refusal_falls_back_to_email(database_url: str, smtp: SmtpServer,
                                                        graph: FakeGraph) -> None:
    graph.status = 400
    graph.reply = {"error": {"code": 132001, "message": "Template name does not exist"}}
    orders = FakeOrders("tiendanube", {"1": order("AT100001")})
    body = json.dumps({"store_id": 1, "event": "order/fulfilled", "id": 1}).encode()
    with make_client(database_url, smtp, orders, graph=graph,
                     templates="shipped=pedido_enviado") as client:
        talked_on_whatsapp(client)
        r = client.post("/webhooks/store/tiendanube", content=body, headers=tn_headers(body))
        assert r.json()["status"] == "mailed"
        wait_for_mail(smtp)
        [notice] = notices(client)
        assert "132001" in (notice.detail or "")
    assert len(graph.requests) == 1 and len(smtp.messages) == 1


# -- refusals -------------------------------------------------------------------------------------
def test_bad_or_missing_signature_is_401_and_nothing_happens(database_url: str,
                                                             smtp: SmtpServer) -> None:
    orders = FakeOrders("woocommerce", {"100234": order()})
    body = woo_order(status="processing")
    with make_client(database_url, smtp, orders) as client:
        wrong = client.post("/webhooks/store/woocommerce", content=body,
                            headers=woo_headers(body, secret="someone-elses-secret"))
        assert wrong.status_code == 401 and "does not match" in wrong.json()["detail"]
        tampered = body.replace(b"100234", b"100235")
        r = client.post("/webhooks/store/woocommerce", content=tampered,
                        headers=woo_headers(body))
        assert r.status_code == 401
        headers = woo_headers(body)
        del headers["X-WC-Webhook-Signature"]
        missing = client.post("/webhooks/store/woocommerce", content=body, headers=headers)
        assert missing.status_code == 401 and "missing" in missing.json()["detail"]
        # the Shopify scheme (base64) is not accepted in hex, nor Tiendanube's (hex) in base64
        tn = json.dumps({"store_id": 1, "event": "order/fulfilled", "id": 1}).encode()
        as_b64 = {"x-linkedstore-hmac-sha256": b64(TN_SECRET, tn)}
        assert client.post("/webhooks/store/tiendanube", content=tn,
                           headers=as_b64).status_code == 401
        shop = json.dumps({"order_id": 1, "shipment_status": "delivered"}).encode()
        as_hex = {**shopify_headers(shop), "X-Shopify-Hmac-Sha256": hmac.new(
            SHOPIFY_SECRET.encode(), shop, hashlib.sha256).hexdigest()}
        assert client.post("/webhooks/store/shopify", content=shop,
                           headers=as_hex).status_code == 401
        time.sleep(0.2)
        assert notices(client) == [] and mails(client) == [] and orders.calls == 0
    assert smtp.messages == []


def test_unconfigured_platform_is_503_not_accepted(database_url: str, smtp: SmtpServer) -> None:
    orders = FakeOrders("shopify", {})
    body = json.dumps({"order_id": 1, "shipment_status": "delivered"}).encode()
    with make_client(database_url, smtp, orders, shopify_webhook_secret="") as client:
        r = client.post("/webhooks/store/shopify", content=body, headers=shopify_headers(body))
        assert r.status_code == 503 and "SHOPIFY_WEBHOOK_SECRET" in r.json()["detail"]


@pytest.mark.parametrize("platform,topic,body", [
    ("woocommerce", "product.updated", b'{"id": 12, "name": "Urban Runner"}'),
    ("woocommerce", "order.created", b'{"id": 7003, "number": "100234", "status": "pending"}'),
    ("woocommerce", "order.created", b'{"id": 7004, "number": "100235", "status": "completed"}'),
    ("woocommerce", "order.updated", b'{"id": 7003, "number": "100234", "status": "on-hold"}'),
    ("shopify", "orders/create", b'{"id": 450789469, "name": "#1001"}'),
    ("shopify", "orders/paid", b'{"id": 450789469, "name": "#1001"}'),
    ("tiendanube", "", b'{"store_id": 1, "event": "order/paid", "id": 2}'),
    ("tiendanube", "", b'{"store_id": 1, "event": "product/updated", "id": 2}'),
])
def test_irrelevant_topics_are_acknowledged_and_ignored(database_url: str, smtp: SmtpServer,
                                                        platform: str, topic: str,
                                                        body: bytes) -> None:
    orders = FakeOrders(platform, {})
    headers = {"woocommerce": lambda: woo_headers(body, topic=topic),
               "shopify": lambda: shopify_headers(body, topic=topic),
               "tiendanube": lambda: tn_headers(body)}[platform]()
    with make_client(database_url, smtp, orders) as client:
        r = client.post(f"/webhooks/store/{platform}", content=body, headers=headers)
        assert r.status_code == 200 and r.json()["status"] == "ignored", r.text
        assert notices(client) == [] and orders.calls == 0


def test_woocommerce_ping_on_save_is_answered(database_url: str, smtp: SmtpServer) -> None:
    with make_client(database_url, smtp, FakeOrders("woocommerce", {})) as client:
        r = client.post("/webhooks/store/woocommerce", content=b"webhook_id=15",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200 and r.json()["status"] == "ignored"
        # anything else unsigned is still refused
        r = client.post("/webhooks/store/woocommerce", content=b"webhook_id=15&x=1",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 401


def test_malformed_bodies_get_a_reason(database_url: str, smtp: SmtpServer) -> None:
    with make_client(database_url, smtp, FakeOrders("shopify", {})) as client:
        cases = [(b"{not json", 400, "not JSON"), (b"[1, 2]", 400, "JSON object"),
                 (b'{"order_id": "1; DROP TABLE", "shipment_status": "delivered"}', 422,
                  "numeric id"),
                 (b'{"order_id": true, "shipment_status": "delivered"}', 422, "numeric id"),
                 (b"\xff\xfe\x00", 400, "not JSON")]
        for body, status, reason in cases:
            r = client.post("/webhooks/store/shopify", content=body,
                            headers=shopify_headers(body))
            assert r.status_code == status and reason in r.json()["detail"], (body, r.text)
        no_topic = {k: v for k, v in shopify_headers(b"{}").items() if k != "X-Shopify-Topic"}
        r = client.post("/webhooks/store/shopify", content=b"{}", headers=no_topic)
        assert r.status_code == 400 and "X-Shopify-Topic" in r.json()["detail"]
        tn = b'{"store_id": 1, "id": 2}'
        r = client.post("/webhooks/store/tiendanube", content=tn, headers=tn_headers(tn))
        assert r.status_code == 400 and "event" in r.json()["detail"]
        assert notices(client) == []


def test_oversize_body_is_refused_before_anything(database_url: str, smtp: SmtpServer) -> None:
    with make_client(database_url, smtp, FakeOrders("woocommerce", {}),
                     store_webhook_max_bytes=4096) as client:
        big = json.dumps({"id": 1, "number": "1", "note": "x" * 5000}).encode()
        r = client.post("/webhooks/store/woocommerce", content=big, headers=woo_headers(big))
        assert r.status_code == 413 and "4096" in r.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
            for _ in range(10):
                yield b"x" * 1000

        headers = woo_headers(b"")
        r = client.post("/webhooks/store/woocommerce", content=chunks(), headers=headers)
        assert r.status_code == 413
        assert notices(client) == []


# -- what the store says now ----------------------------------------------------------------------
def test_stale_or_unknown_orders_are_not_announced(database_url: str, smtp: SmtpServer) -> None:
    orders = FakeOrders("shopify", {"1": order("AT100001", OrderStatus.DELIVERED)})
    shipped = json.dumps({"order_id": 1, "shipment_status": "in_transit"}).encode()
    unknown = json.dumps({"order_id": 2, "shipment_status": "delivered"}).encode()
    with make_client(database_url, smtp, orders) as client:
        r = client.post("/webhooks/store/shopify", content=shipped,
                        headers=shopify_headers(shipped, webhook_id="w1"))
        assert r.json()["status"] == "stale" and "delivered" in r.json()["detail"]
        r = client.post("/webhooks/store/shopify", content=unknown,
                        headers=shopify_headers(unknown, webhook_id="w2"))
        assert r.json()["status"] == "not_found"
        time.sleep(0.2)
    assert smtp.messages == []


def test_store_down_is_retried_by_the_platform_and_then_sent_once(database_url: str,
                                                                  smtp: SmtpServer) -> None:
    refund = Refund(9, "AT100001", 4500, "EUR", "card", "completed",
                    datetime(2026, 12, 2, tzinfo=UTC))
    orders = FakeOrders("shopify", {"1": order("AT100001", OrderStatus.REFUNDED,
                                               refunds=(refund,), language="en")})
    body = json.dumps({"id": 9, "order_id": 1, "note": "damaged"}).encode()
    headers = shopify_headers(body, topic="refunds/create")
    with make_client(database_url, smtp, orders) as client:
        orders.down = True
        r = client.post("/webhooks/store/shopify", content=body, headers=headers)
        assert r.status_code == 503 and "retry" in r.json()["detail"]
        assert [n.status for n in notices(client)] == ["retry"]
        orders.down = False
        r = client.post("/webhooks/store/shopify", content=body, headers=headers)
        assert r.json() == {"status": "mailed", "detail": "e-mail",
                            "key": "shopify:1:refunded:9"}
        wait_for_mail(smtp)
        assert client.post("/webhooks/store/shopify", content=body,
                           headers=headers).json()["status"] == "duplicate"
        settle(client)
    [mail] = smtp.messages
    assert mail["Subject"] == "Refund for your order AT100001 · Tienda Demo"
    assert "45.00 EUR" in mail.get_content()


# -- opt-out --------------------------------------------------------------------------------------
def test_email_opt_out_link_is_honoured(database_url: str, smtp: SmtpServer) -> None:
    orders = FakeOrders("shopify", {"1": order("AT100001", OrderStatus.IN_TRANSIT)})
    with make_client(database_url, smtp, orders) as client:
        first = json.dumps({"order_id": 1, "shipment_status": "in_transit"}).encode()
        client.post("/webhooks/store/shopify", content=first,
                    headers=shopify_headers(first, webhook_id="w1"))
        wait_for_mail(smtp)
        link = urlsplit(smtp.messages[0]["List-Unsubscribe"].strip("<>"))
        query = parse_qs(link.query)
        page = client.get(link.path, params=query)
        assert page.status_code == 200 and "<form method=\"post\">" in page.text
        # opening the link (a mail scanner does) opts nobody out
        orders.orders["1"] = order("AT100001", OrderStatus.DELIVERED)
        second = json.dumps({"order_id": 1, "shipment_status": "delivered"}).encode()
        assert client.post("/webhooks/store/shopify", content=second, headers=shopify_headers(
            second, webhook_id="w2")).json()["status"] == "mailed"
        wait_for_mail(smtp, 2)
        token = query["t"][0]
        forged = token[:-1] + ("1" if token.endswith("0") else "0")
        assert client.post(link.path, params={"t": forged}).status_code == 400
        other = "0" * 64 + token[64:]  # someone else's contact with this signature
        assert client.get(link.path, params={"t": other}).status_code == 400
        done = client.post(link.path, params=query,
                           data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "Hecho" in done.text
        assert client.post(link.path, params=query).status_code == 200  # twice is fine
        orders.orders["2"] = order("AT100002", OrderStatus.IN_TRANSIT)
        third = json.dumps({"order_id": 2, "shipment_status": "out_for_delivery"}).encode()
        r = client.post("/webhooks/store/shopify", content=third,
                        headers=shopify_headers(third, webhook_id="w3"))
        assert r.json()["status"] == "opted_out"
        settle(client)
    assert len(smtp.messages) == 2


def test_saying_stop_on_whatsapp_stops_every_channel(database_url: str, smtp: SmtpServer,
                                                     graph: FakeGraph) -> None:
    orders = FakeOrders("tiendanube", {"1": order("AT100001")})
    body = json.dumps({"store_id": 1, "event": "order/fulfilled", "id": 1}).encode()
    with make_client(database_url, smtp, orders, graph=graph,
                     templates="shipped=pedido_enviado") as client:
        refused = client.post("/api/notifications/opt-out", json={"phone": WA_ID})
        assert refused.status_code == 401
        r = client.post("/api/notifications/opt-out", json={"phone": WA_ID, "source": "whatsapp"},
                        headers=BOT)
        assert r.status_code == 200 and r.json()["contacts"] == 1
        assert client.post("/api/notifications/opt-out", json={}, headers=BOT).status_code == 422
        # the order's phone is written differently (+52 55 …): still the same shopper
        r = client.post("/webhooks/store/tiendanube", content=body, headers=tn_headers(body))
        assert r.json()["status"] == "opted_out"
        time.sleep(0.2)
    assert graph.requests == [] and smtp.messages == []


def test_a_delivery_about_another_shop_is_ignored(database_url: str, smtp: SmtpServer) -> None:
    """One app secret signs for every shop that installed the app: a signed delivery from
    another shop tells our shoppers nothing, even if an order id matches."""
    orders = FakeOrders("tiendanube", {"1": order("AT100001")})
    orders.shop = "271146"
    other = json.dumps({"store_id": 999, "event": "order/fulfilled", "id": 1}).encode()
    ours = json.dumps({"store_id": 271146, "event": "order/fulfilled", "id": 1}).encode()
    with make_client(database_url, smtp, orders) as client:
        r = client.post("/webhooks/store/tiendanube", content=other, headers=tn_headers(other))
        assert r.json()["status"] == "ignored" and "another shop" in r.json()["detail"]
        assert notices(client) == [] and orders.calls == 0
        r = client.post("/webhooks/store/tiendanube", content=ours, headers=tn_headers(ours))
        assert r.json()["status"] == "mailed"


def test_erasing_a_shopper_deletes_their_notice_mails_but_keeps_the_opt_out(
        database_url: str, smtp: SmtpServer) -> None:
    """GDPR erasure by e-mail: the order-notice mail rows (address, name, order) go; the opt-out
    hash stays, or the notices would start again."""
    from handoff_api.privacy_store import HandoffStore
    from handoff_api.store_events import contact_hash, is_opted_out
    from privacy.subject import Subject

    orders = FakeOrders("shopify", {"1": order("AT100001", OrderStatus.IN_TRANSIT),
                                    "2": order("AT100002", OrderStatus.IN_TRANSIT,
                                               email="otra@example.com", phone="+34 611 222 333")})
    with make_client(database_url, smtp, orders) as client:
        for ref in ("1", "2"):
            body = json.dumps({"order_id": int(ref), "shipment_status": "in_transit"}).encode()
            client.post("/webhooks/store/shopify", content=body,
                        headers=shopify_headers(body, webhook_id=f"w{ref}"))
        wait_for_mail(smtp, 2)
        services = client.app.state.services
        assert client.post("/api/notifications/opt-out", headers=BOT,
                           json={"email": EMAIL}).status_code == 200
        store = HandoffStore(services.write_sessions())
        subject = Subject.build(emails=[EMAIL.upper()])
        assert store.traces(subject) == 1
        assert store.erase(subject) >= 1
        assert store.traces(subject) == 0
        assert [m.to_addr for m in mails(client)] == ["otra@example.com"]
        with services.sessions() as s:
            assert is_opted_out(s, [contact_hash("email", EMAIL)])


def test_a_flood_on_the_opt_out_page_is_slowed(database_url: str, smtp: SmtpServer) -> None:
    with make_client(database_url, smtp, FakeOrders("shopify", {}),
                     public_rate_limit="5/minute") as client:
        answers = [client.get("/notifications/stop", params={"t": "x" * 20}).status_code
                   for _ in range(7)]
        assert answers[:5] == [400] * 5 and answers[5:] == [429, 429]
        r = client.post("/notifications/stop", params={"t": "x" * 20})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1


def test_production_refuses_a_placeholder_webhook_secret() -> None:
    """A guessable webhook secret lets anyone make the shop mail its customers."""
    from scripts.settings import production_problems

    good = {"HANDOFF_BOT_TOKEN": "b0t-t0ken-Xq81-zzP3-9wLm", "ATIENDE_PRIVACY_KEY":
            "pr1v-key-Hj27-Qa0c-55Tr", "HANDOFF_SECRET_KEY": "s3cr-key-Lp90-Wd2e-61Ku"}
    assert production_problems("handoff", good) == []
    assert production_problems("handoff", {**good, "SHOPIFY_WEBHOOK_SECRET": ""}) == []  # off
    problems = production_problems("handoff", {**good, "WOOCOMMERCE_WEBHOOK_SECRET": "secret",
                                               "SHOPIFY_WEBHOOK_SECRET": "shpss_a81Kq0"})
    assert problems == ["WOOCOMMERCE_WEBHOOK_SECRET is a placeholder",
                        "SHOPIFY_WEBHOOK_SECRET is shorter than 16 characters"]


def test_a_claim_left_by_a_crash_is_taken_again_after_its_lease(database_url: str,
                                                               smtp: SmtpServer) -> None:
    """A process died after claiming (no answer went out, so the platform retries): a retry
    within the lease is a duplicate (the first may still be working), after it the notice goes."""
    from datetime import timedelta

    from handoff_api.queue import now_utc
    from handoff_api.store_events import LEASE

    orders = FakeOrders("shopify", {"1": order("AT100001", OrderStatus.IN_TRANSIT)})
    body = json.dumps({"order_id": 1, "shipment_status": "in_transit"}).encode()
    with make_client(database_url, smtp, orders) as client:
        now = now_utc()
        with client.app.state.services.write_sessions()() as s:
            s.add(OrderNotice(key="shopify:1:shipped", platform="shopify", order_ref="1",
                              kind="shipped", status="processing", attempts=1, delivery_key="x",
                              claimed_at=now, created_at=now, updated_at=now))
            s.commit()
        r = client.post("/webhooks/store/shopify", content=body, headers=shopify_headers(body))
        assert r.json()["status"] == "duplicate" and orders.calls == 0
        with client.app.state.services.write_sessions()() as s:
            s.get(OrderNotice, "shopify:1:shipped").claimed_at = now - LEASE - timedelta(seconds=1)
            s.commit()
        r = client.post("/webhooks/store/shopify", content=body, headers=shopify_headers(body))
        assert r.json()["status"] == "mailed"
        wait_for_mail(smtp)
        [notice] = notices(client)
        assert (notice.status, notice.attempts) == ("mailed", 2)
    assert len(smtp.messages) == 1
