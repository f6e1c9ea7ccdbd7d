"""Order-event webhooks refused or ignored with a reason (``handoff_api.store_webhooks``), through
the HTTP interface on SQLite and PostgreSQL: bad or missing signatures, unconfigured platforms,
irrelevant topics, pings, malformed and oversize bodies, deliveries about another shop, and
placeholder secrets refused in production. Signatures are computed by the test helpers
(``order_events.py``), not with the module's own code."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import pytest

from tests.handoff_api.order_events import (
    SHOPIFY_SECRET,
    TN_SECRET,
    FakeOrders,
    b64,
    mails,
    make_client,
    notices,
    order,
    shopify_headers,
    tn_headers,
    woo_headers,
    woo_order,
)
from tests.handoff_api.smtp_server import SmtpServer


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
