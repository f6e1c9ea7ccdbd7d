"""Issue #17's templates through the HTTP API (``handoff_api.wa_templates``), against a local
Graph API stand-in: an agent answers a WhatsApp shopper 30 hours later with an approved template,
Meta's errors come back in words, an unapproved template is never sent, the template list is
synced from Meta and order notices use the synced utility template."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handoff_api.wa_templates import TemplateRegistry
from tests.contracts.test_whatsapp_templates import GRAPH_LIST
from tests.handoff_api.relay.conftest import FakeGraph
from tests.handoff_api.smtp_server import SmtpServer
from tests.handoff_api.whatsapp_handoffs import PHONE, fill, wa_app, whatsapp_handoff


@pytest.fixture
def wa(database_url: str, graph: FakeGraph, tmp_path: Path) -> Iterator[dict[str, Any]]:
    with wa_app(database_url, graph, tmp_path) as handles:
        yield handles


def test_30_hours_later_the_agent_answers_with_a_template(wa: dict[str, Any],
                                                          graph: FakeGraph) -> None:
    client, leo = wa["client"], wa["leo"]
    hid = whatsapp_handoff(client, leo, hours_ago=30)

    # free text is refused before Meta is called, with the reason
    refused = client.post(f"/api/handoffs/{hid}/messages", json={"text": "¿Sigues ahí?"},
                          headers=leo)
    assert refused.status_code == 409 and "whatsapp_window_closed" in refused.json()["detail"]
    assert graph.requests == []

    options = client.get(f"/api/handoffs/{hid}/reply-options?lang=es", headers=leo).json()
    assert options["window"]["mode"] == "template"
    assert options["window"]["reason"] == "whatsapp_window_closed"
    names = [t["name"] for t in options["templates"]]
    assert names[:2] == ["atiende_caso_resuelto", "atiende_seguimiento"]  # Spanish first
    assert "atiende_valoracion" not in names  # CSAT templates are not for agents
    seg = next(t for t in options["templates"] if t["name"] == "atiende_seguimiento")
    assert [p["label"] for p in seg["parameters"]] == ["Nombre del cliente", "Tienda", "Asunto"]
    assert seg["preview"].startswith("Hola Lucía, te escribimos de Atiende Moda")

    missing = client.post(f"/api/handoffs/{hid}/template-messages",
                          json={**fill(), "parameters": {"1": "Lucía"}}, headers=leo)
    assert missing.status_code == 422 and "parameter 2 is empty" in missing.json()["detail"]
    unknown = client.post(f"/api/handoffs/{hid}/template-messages",
                          json={**fill(), "name": "no_existe"}, headers=leo)
    assert unknown.status_code == 404
    assert graph.requests == []

    sent = client.post(f"/api/handoffs/{hid}/template-messages",
                       json={**fill(), "client_id": "tpl-1"}, headers=leo)
    assert sent.status_code == 201, sent.text
    view = sent.json()
    assert view["kind"] == "template" and view["template"] == "atiende_seguimiento"
    assert view["text"].startswith("Hola Lucía, te escribimos de Atiende Moda sobre tu "
                                   "consulta: la devolución del pedido AT100234.")
    assert view["external_id"] == "wamid.out.1" and view["delivery"] == "sent"
    [request] = graph.requests
    assert request["path"] == "/v19.0/106540352242922/messages"
    assert request["json"]["type"] == "template" and request["json"]["to"] == PHONE
    assert request["json"]["template"]["components"][0]["parameters"][2] == {
        "type": "text", "text": "la devolución del pedido AT100234"}

    again = client.post(f"/api/handoffs/{hid}/template-messages",
                        json={**fill(), "client_id": "tpl-1"}, headers=leo)
    assert again.status_code == 200 and len(graph.requests) == 1  # sent once per client_id

    detail = client.get(f"/api/handoffs/{hid}", headers=leo).json()
    refused_text, message = [m for m in detail["messages"] if m["role"] == "agent"]
    assert refused_text["delivery"] == "failed" and refused_text["kind"] == "text"
    assert message["kind"] == "template" and message["id"] == view["id"]
    assert any(e["type"] == "first_agent_reply" for e in detail["events"])


def test_template_error_is_told_to_the_agent(wa: dict[str, Any], graph: FakeGraph) -> None:
    client, leo = wa["client"], wa["leo"]
    hid = whatsapp_handoff(client, leo, hours_ago=30)
    graph.status = 404
    graph.reply = {"error": {"message": "(#132001) Template name does not exist in the "
                                        "translation", "type": "OAuthException", "code": 132001,
                             "error_data": {"messaging_product": "whatsapp",
                                            "details": "template name (atiende_seguimiento) "
                                                       "does not exist in es"}}}
    answer = client.post(f"/api/handoffs/{hid}/template-messages", json=fill(), headers=leo)
    assert answer.status_code == 409
    detail = answer.json()["detail"]
    assert "132001" in detail and "does not exist in that language" in detail
    message = [m for m in client.get(f"/api/handoffs/{hid}", headers=leo).json()["messages"]
               if m["role"] == "agent"][0]
    assert message["delivery"] == "failed" and "132001" in message["delivery_error"]


def test_template_not_approved_is_never_sent(wa: dict[str, Any], graph: FakeGraph) -> None:
    client, leo, ana = wa["client"], wa["leo"], wa["ana"]
    graph.reply = GRAPH_LIST  # the template list Meta answers
    assert client.post("/api/templates/sync", headers=leo).status_code == 403  # supervisors
    synced = client.post("/api/templates/sync", headers=ana)
    assert synced.status_code == 200 and synced.json()["synced"] == 3
    [sync_request] = graph.requests
    assert sync_request["method"] == "GET"
    assert sync_request["path"].startswith("/v19.0/102290129340398/message_templates?")
    listed = {t["key"]: t for t in client.get("/api/templates", headers=leo).json()["templates"]}
    assert listed["atiende_follow_up:en"]["status"] == "REJECTED"
    assert listed["atiende_valoracion:es"]["status"] == "MISSING"
    graph.reply, graph.requests[:] = None, []
    hid = whatsapp_handoff(client, leo, hours_ago=30, language="en")
    options = client.get(f"/api/handoffs/{hid}/reply-options", headers=leo).json()
    assert [t["key"] for t in options["templates"]] == ["atiende_seguimiento:es"]
    refused = client.post(f"/api/handoffs/{hid}/template-messages", json=fill(es=False),
                          headers=leo)
    assert refused.status_code == 409 and "REJECTED" in refused.json()["detail"]
    assert graph.requests == []


def test_sync_without_credentials_or_with_metas_refusal(wa: dict[str, Any],
                                                       graph: FakeGraph, tmp_path: Path) -> None:
    client, ana, app = wa["client"], wa["ana"], wa["app"]
    graph.status = 400
    graph.reply = {"error": {"message": "Invalid OAuth access token", "code": 190}}
    bad = client.post("/api/templates/sync", headers=ana)
    assert bad.status_code == 502 and "190" in bad.json()["detail"]
    app.state.templates = TemplateRegistry(tmp_path, waba_id="", token="")
    off = client.post("/api/templates/sync", headers=ana)
    assert off.status_code == 409 and "WHATSAPP_BUSINESS_ACCOUNT_ID" in off.json()["detail"]


def test_order_notice_uses_the_registrys_synced_utility_template(
        database_url: str, smtp: SmtpServer, graph: FakeGraph, tmp_path: Path) -> None:
    """Without WHATSAPP_ORDER_TEMPLATES, a delivered order is told with the registry's
    ``order_delivered`` template once Meta's list (a sync) says it is approved — in the
    shopper's language, with its own parameters and the stop button's payload."""
    import json as _json

    from actions.store.base import OrderStatus
    from contracts import whatsapp_templates as wt
    from handoff_api.store_events import STOP_PAYLOAD
    from tests.handoff_api.order_events import (
        WA_ID,
        FakeOrders,
        make_client,
        order,
        shopify_headers,
        talked_on_whatsapp,
    )

    wt.save_synced(tmp_path, [{
        "name": "atiende_order_delivered", "language": "en", "status": "APPROVED",
        "category": "UTILITY", "components": [
            {"type": "BODY", "text": "Your order {{1}} has been delivered. All good? Message us "
                                     "here if anything is not as expected."},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop notices"}]}]}],
        "2026-12-07T07:00:00+00:00")
    orders = FakeOrders("shopify", {"1": order("AT100001", OrderStatus.DELIVERED,
                                               language="en")})
    with make_client(database_url, smtp, orders, graph=graph, data_dir=tmp_path) as client:
        talked_on_whatsapp(client)
        delivered = _json.dumps({"order_id": 1, "shipment_status": "delivered"}).encode()
        answer = client.post("/webhooks/store/shopify", content=delivered,
                             headers=shopify_headers(delivered, webhook_id="w-reg-1"))
        assert answer.json()["status"] == "sent", answer.text
    [request] = graph.requests
    sent = request["json"]["template"]
    assert request["json"]["to"] == WA_ID
    assert (sent["name"], sent["language"]) == ("atiende_order_delivered", {"code": "en"})
    assert sent["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": "AT100001"}]},
        {"type": "button", "sub_type": "quick_reply", "index": "0",
         "parameters": [{"type": "payload", "payload": STOP_PAYLOAD}]}]
