"""Order events → proactive messages (issue #16), through the HTTP interface, on SQLite and
PostgreSQL: signed platform webhooks become exactly one e-mail (a real local SMTP server) or one
WhatsApp template (a fake Graph API server), whatever the replays; opt-outs honoured. Refusals:
``test_store_webhooks.py``; the WhatsApp path: ``test_store_events_whatsapp.py``. The
deliveries are built and signed by ``order_events.py``.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from actions.store.base import OrderStatus, Refund
from handoff_api.models import OrderNotice
from tests.handoff_api.conftest import BOT
from tests.handoff_api.order_events import (
    EMAIL,
    WA_ID,
    FakeOrders,
    mails,
    make_client,
    notices,
    order,
    settle,
    shopify_headers,
    tn_headers,
    wait_for_mail,
    woo_headers,
    woo_order,
)
from tests.handoff_api.relay.conftest import FakeGraph
from tests.handoff_api.smtp_server import SmtpServer


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
