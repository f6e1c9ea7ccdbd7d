"""An order ships in a WooCommerce shop; the shopper hears it once, and can say stop.

Everything real except the shop: the handoff API as its own process (``python -m handoff_api
serve``, ``STORE_BACKEND=woocommerce``) re-reads the order through the real WooCommerce adapter
from the WooCommerce stand-in of the adapter tests, mails through a real local SMTP server, and
the shopper opens the opt-out link of the mail in Chromium and presses the button. The webhook
deliveries are signed the way WooCommerce signs them (base64 HMAC-SHA256 of the body with the
webhook's secret) and carry the order as WooCommerce posts it (the stand-in's own order JSON).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.actions.helpers import demo
from tests.actions.store.standins.woocommerce import WooCommerceStandIn
from tests.e2e.conftest import ROOT, SCREENSHOTS, HandoffServer, start_handoff_server
from tests.handoff_api.smtp_server import SmtpServer

pytestmark = pytest.mark.e2e

SECRET = "e2e-woocommerce-webhook-secret"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def woo() -> Iterator[WooCommerceStandIn]:
    standin = WooCommerceStandIn().start()
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer,
           woo: WooCommerceStandIn) -> Iterator[HandoffServer]:
    with start_handoff_server(
            tmp_path_factory.mktemp("handoff-orders"),
            SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port), STORE_NAME="Tienda Demo",
            SMTP_FROM="Tienda Demo <ayuda@shop.example>",
            STORE_BACKEND="woocommerce", WOOCOMMERCE_URL=woo.url,
            WOOCOMMERCE_CONSUMER_KEY=woo.key, WOOCOMMERCE_CONSUMER_SECRET=woo.secret,
            WOOCOMMERCE_WEBHOOK_SECRET=SECRET,
            # this checkout's code, not the one the shared environment was installed from
            PYTHONPATH=str(ROOT)) as running:
        yield running


def deliver(server: HandoffServer, order: dict[str, Any], delivery: str) -> httpx.Response:
    body = json.dumps(order).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    return httpx.post(f"{server.url}/webhooks/store/woocommerce", content=body, timeout=30,
                      headers={"Content-Type": "application/json",
                               "X-WC-Webhook-Topic": "order.updated",
                               "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "updated",
                               "X-WC-Webhook-Delivery-ID": delivery,
                               "X-WC-Webhook-Signature": signature.decode()})


def woo_order(woo: WooCommerceStandIn, scenario: str) -> tuple[Any, dict[str, Any]]:
    """A demo order and its WooCommerce JSON, with the Shipment Tracking meta WooCommerce
    includes in the order when the extension tracks it."""
    wanted = demo(woo.orders, scenario)
    body = copy.deepcopy(next(o for o in woo.woo_orders.values()
                              if o["number"] == wanted.id[2:]))
    items = woo.trackings.get(body["id"]) or []
    if items:
        body.setdefault("meta_data", []).append(
            {"id": 999, "key": "_wc_shipment_tracking_items", "value": items})
    return wanted, body


def wait_for(smtp: SmtpServer, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(smtp.messages) < count and time.monotonic() < deadline:
        time.sleep(0.1)


def test_shipped_order_mails_once_and_the_shopper_opts_out(server: HandoffServer,
                                                           smtp: SmtpServer,
                                                           woo: WooCommerceStandIn,
                                                           new_page) -> None:
    shipped, body = woo_order(woo, "in_transit")
    with ThreadPoolExecutor(5) as pool:  # WooCommerce retrying one delivery, five at once
        answers = list(pool.map(lambda _: deliver(server, body, "4711"), range(5)))
    assert sorted(a.json()["status"] for a in answers) == ["duplicate"] * 4 + ["mailed"], \
        [a.text for a in answers]
    wait_for(smtp, 1)
    time.sleep(1.0)  # the outbox worker's next pass would show a second mail
    [mail] = smtp.messages
    assert mail["To"] == shipped.customer["email"]
    assert shipped.id in mail["Subject"]

    page = new_page()
    page.goto(mail["List-Unsubscribe"].strip("<>"))
    expect(page.locator("h1")).to_have_text("Avisos de pedidos")
    page.get_by_role("button", name="Sí, no quiero más avisos").click()
    expect(page.locator("p")).to_contain_text("no te enviaremos más avisos")
    page.screenshot(path=str(SCREENSHOTS / "order-notice-opt-out.png"))
    assert page.errors == []

    # the same shopper's order is delivered later: no more notices
    later = next(o for o in woo.orders if o.customer["email"] == shipped.customer["email"]
                 and o.status == "delivered")
    body = copy.deepcopy(next(o for o in woo.woo_orders.values()
                              if o["number"] == later.id[2:]))
    answer = deliver(server, body, "4712")
    assert answer.status_code == 200 and answer.json()["status"] == "opted_out", answer.text
    time.sleep(1.0)
    assert len(smtp.messages) == 1
