"""Order events told on WhatsApp (issue #16, ``handoff_api.store_events``): one approved template
for a known WhatsApp contact (a fake Graph API server), e-mail for anyone else or when no
template is configured, the bot's view of known contacts, and e-mail when Meta refuses for good."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from actions.store.base import (
    OrderStatus,
)
from handoff_api.store_events import STOP_PAYLOAD
from tests.handoff_api.order_events import (
    WA_ID,
    FakeOrders,
    make_client,
    notices,
    order,
    settle,
    shopify_headers,
    talked_on_whatsapp,
    tn_headers,
    wait_for_mail,
)
from tests.handoff_api.relay.conftest import FakeGraph
from tests.handoff_api.smtp_server import SmtpServer


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
