"""Issue #17 through the HTTP API, against a local Graph API stand-in (the relay tests' FakeGraph,
on its own loop in a thread): an agent answers a WhatsApp shopper 30 hours later with an approved
template, Meta's errors come back in words, delivery statuses reach the message, a reply typed on
the business phone app opens a handoff, and the template list is synced from Meta."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handoff_api.app import create_app
from handoff_api.wa_templates import TemplateRegistry
from tests.contracts.test_whatsapp_templates import GRAPH_LIST
from tests.handoff_api.conftest import BOT, add_agent, login, make_settings, packet
from tests.handoff_api.relay.conftest import FakeGraph
from tests.handoff_api.smtp_server import SmtpServer

PHONE = "5215512345678"
HOURS = 3600.0


@pytest.fixture
def wa(database_url: str, graph: FakeGraph, tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = make_settings(database_url, data_dir=tmp_path)
    app = create_app(settings, relay_extra={"whatsapp": {
        "access_token": "wa-token", "phone_number_id": "106540352242922",
        "graph_url": graph.url}})
    app.state.templates = TemplateRegistry(tmp_path, waba_id="102290129340398", token="wa-token",
                                           graph_url=graph.url)
    add_agent(app, "ana", role="supervisor")
    add_agent(app, "leo")
    with TestClient(app) as client:
        yield {"client": client, "app": app, "leo": login(client, "leo"),
               "ana": login(client, "ana")}
    app.state.services.engine.dispose()


def whatsapp_handoff(client: TestClient, agent: dict[str, str], *, hours_ago: float,
                     cid: str = PHONE, language: str = "es") -> int:
    """A WhatsApp shopper whose last message was ``hours_ago``, claimed by ``agent``."""
    ts = time.time() - hours_ago * HOURS
    body = packet(cid, channel="whatsapp", language=language, transcript=[
        {"role": "user", "text": "Mi pedido llegó roto", "ts": ts - 60},
        {"role": "bot", "text": "Te paso con una persona.", "ts": ts - 59},
        {"role": "user", "text": "Gracias", "ts": ts}])
    hid = client.post("/api/handoffs", json=body, headers=BOT).json()["id"]
    assert client.post(f"/api/handoffs/{hid}/claim", headers=agent).status_code == 200
    return hid


def fill(es: bool = True) -> dict[str, Any]:
    if es:
        return {"name": "atiende_seguimiento", "language": "es",
                "parameters": {"1": "Lucía", "2": "Atiende Moda",
                               "3": "la devolución del pedido AT100234"}}
    return {"name": "atiende_follow_up", "language": "en",
            "parameters": {"1": "Emma", "2": "Atiende Fashion", "3": "your return"}}


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


def test_within_the_window_text_goes_and_statuses_reach_the_message(
        wa: dict[str, Any], graph: FakeGraph) -> None:
    client, leo = wa["client"], wa["leo"]
    hid = whatsapp_handoff(client, leo, hours_ago=2)
    options = client.get(f"/api/handoffs/{hid}/reply-options", headers=leo).json()
    assert options["window"]["mode"] == "free" and options["templates"] == []
    sent = client.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola, soy Leo"},
                       headers=leo).json()
    assert sent["external_id"] == "wamid.out.1"

    def statuses(*items: dict[str, Any]) -> dict[str, Any]:
        answer = client.post("/api/channel-statuses", headers=BOT, json={
            "channel": "whatsapp", "statuses": list(items)})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def shown() -> dict[str, Any]:
        return next(m for m in client.get(f"/api/handoffs/{hid}", headers=leo).json()["messages"]
                    if m["id"] == sent["id"])

    assert statuses({"external_id": "wamid.out.1", "status": "sent", "ts": time.time()}) == {
        "stored": 1, "messages": 1}
    assert statuses({"external_id": "wamid.out.1", "status": "delivered",
                     "ts": time.time()})["messages"] == 1
    assert shown()["status"] == "delivered"
    assert statuses({"external_id": "wamid.out.1", "status": "read", "ts": time.time()},
                    {"external_id": "wamid.out.1", "status": "delivered"})["stored"] == 1
    assert shown()["status"] == "read"  # a late repeat of "delivered" does not go back
    assert statuses({"external_id": "wamid.unknown", "status": "read"}) == {
        "stored": 1, "messages": 0}
    assert client.post("/api/channel-statuses", json={"channel": "whatsapp",
                                                      "statuses": []}).status_code == 401
    bad = client.post("/api/channel-statuses", headers=BOT, json={
        "channel": "whatsapp", "statuses": [{"external_id": "x", "status": "seen"}]})
    assert bad.status_code == 422


def test_a_failed_status_shows_metas_error(wa: dict[str, Any], graph: FakeGraph) -> None:
    client, leo = wa["client"], wa["leo"]
    hid = whatsapp_handoff(client, leo, hours_ago=30)
    sent = client.post(f"/api/handoffs/{hid}/template-messages", json=fill(), headers=leo).json()
    client.post("/api/channel-statuses", headers=BOT, json={"channel": "whatsapp", "statuses": [
        {"external_id": sent["external_id"], "status": "sent"},
        {"external_id": sent["external_id"], "status": "failed",
         "error": "131047 Re-engagement message"}]})
    message = next(m for m in client.get(f"/api/handoffs/{hid}", headers=leo).json()["messages"]
                   if m["id"] == sent["id"])
    assert message["status"] == "failed" and message["status_error"].startswith("131047")


def test_a_reply_from_the_business_phone_opens_a_handoff(wa: dict[str, Any]) -> None:
    client, leo = wa["client"], wa["leo"]
    echo = {"message_id": "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEjA5", "channel": "whatsapp",
            "text": "Hola Lucía, soy Marta de la tienda: ya te lo cambio.", "ts": time.time(),
            "language": "es", "transcript": [{"role": "user", "text": "¿Tenéis la 42?",
                                              "ts": time.time() - 60}]}
    first = client.post(f"/api/conversations/{PHONE}/echoes", json=echo, headers=BOT)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["created"] and not body["duplicate"]
    again = client.post(f"/api/conversations/{PHONE}/echoes", json=echo, headers=BOT)
    assert again.status_code == 200 and again.json()["duplicate"]
    assert again.json()["handoff_id"] == body["handoff_id"]

    queue = client.get("/api/queue", headers=leo).json()
    [waiting] = [h for h in queue["queued"] if h["id"] == body["handoff_id"]]
    assert waiting["reason"] == "answered_from_phone" and waiting["channel"] == "whatsapp"
    detail = client.get(f"/api/handoffs/{body['handoff_id']}", headers=leo).json()
    assert detail["packet"]["transcript"][0]["text"] == "¿Tenéis la 42?"
    [message] = detail["messages"]
    assert message["role"] == "agent" and message["kind"] == "echo"
    assert message["agent_id"] is None and message["delivery"] == "sent"

    # a second phone reply goes to the same handoff; the shopper's answer too (the gate's path)
    second = client.post(f"/api/conversations/{PHONE}/echoes", headers=BOT,
                         json={**echo, "message_id": "wamid.2", "text": "¿Te va bien?"})
    assert second.status_code == 201 and not second.json()["created"]
    assert second.json()["handoff_id"] == body["handoff_id"]
    shopper = client.post(f"/api/conversations/{PHONE}/messages", headers=BOT,
                          json={"message_id": "wamid.in.1", "text": "Sí, gracias"})
    assert shopper.status_code == 201 and shopper.json()["handoff_id"] == body["handoff_id"]

    # the usual hand-back closes it (and queues the bot's resume)
    assert client.post(f"/api/handoffs/{body['handoff_id']}/claim", headers=leo).status_code == 200
    back = client.post(f"/api/handoffs/{body['handoff_id']}/hand-back", headers=leo)
    assert back.status_code == 200 and back.json()["status"] == "handed_back"

    refused = client.post(f"/api/conversations/{PHONE}/echoes", json={**echo, "text": " "},
                          headers=BOT)
    assert refused.status_code == 422
    assert client.post(f"/api/conversations/{PHONE}/echoes", json=echo).status_code == 401


def test_messenger_read_watermark_and_window_modes(database_url: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from handoff_api.relay import DeliveryResult

    class Relay:
        async def send_text(self, target: Any, text: str) -> DeliveryResult:
            return DeliveryResult.delivered("m_out_1")

    app = create_app(make_settings(database_url, data_dir=tmp_path),
                     relay_overrides={"messenger": Relay()})
    add_agent(app, "leo")
    with TestClient(app) as client:
        leo = login(client, "leo")
        psid = "6543210987654321"
        ts = time.time() - 30 * HOURS
        hid = client.post("/api/handoffs", headers=BOT, json=packet(
            psid, channel="messenger", transcript=[{"role": "user", "text": "hola", "ts": ts}])
        ).json()["id"]
        client.post(f"/api/handoffs/{hid}/claim", headers=leo)
        monkeypatch.setenv("MESSENGER_HUMAN_AGENT_TAG", "1")
        window = client.get(f"/api/handoffs/{hid}/reply-options", headers=leo).json()["window"]
        assert window["mode"] == "human_agent" and window["closes_at"]
        monkeypatch.setenv("MESSENGER_HUMAN_AGENT_TAG", "0")
        window = client.get(f"/api/handoffs/{hid}/reply-options", headers=leo).json()["window"]
        assert window["mode"] == "closed"
        assert window["reason"] == "messenger_human_agent_not_enabled"

        sent = client.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola"},
                           headers=leo).json()
        assert sent["external_id"] == "m_out_1"
        answer = client.post("/api/channel-statuses", headers=BOT, json={
            "channel": "messenger", "statuses": [],
            "read_watermark": {"conversation_id": psid, "ts": time.time() + 5}}).json()
        assert answer == {"stored": 1, "messages": 1}
        shown = client.get(f"/api/handoffs/{hid}", headers=leo).json()["messages"]
        assert [m["status"] for m in shown if m["role"] == "agent"] == ["read"]
        old = client.post("/api/handoffs", headers=BOT, json=packet(
            "6543210987650000", channel="messenger",
            transcript=[{"role": "user", "text": "hola", "ts": time.time() - 8 * 24 * HOURS}])
        ).json()["id"]
        window = client.get(f"/api/handoffs/{old}/reply-options", headers=leo).json()["window"]
        assert window == {**window, "mode": "closed", "reason": "messenger_7_days_passed"}
    app.state.services.engine.dispose()


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


def test_another_agents_conversation_is_closed_to_these_routes(wa: dict[str, Any],
                                                               graph: FakeGraph) -> None:
    """Guessed handoff ids: a colleague cannot read the reply options of, or send a template
    into, a conversation another agent holds; a queued one must be claimed first."""
    client, leo, app = wa["client"], wa["leo"], wa["app"]
    add_agent(app, "eva")
    eva = login(client, "eva")
    hid = whatsapp_handoff(client, leo, hours_ago=30)
    assert client.get(f"/api/handoffs/{hid}/reply-options", headers=eva).status_code == 403
    taken = client.post(f"/api/handoffs/{hid}/template-messages", json=fill(), headers=eva)
    assert taken.status_code == 409 and "another agent" in taken.json()["detail"]
    queued = client.post("/api/handoffs", headers=BOT, json=packet(
        "5215500000001", channel="whatsapp")).json()["id"]
    not_claimed = client.post(f"/api/handoffs/{queued}/template-messages", json=fill(),
                              headers=eva)
    assert not_claimed.status_code == 409
    assert client.get("/api/handoffs/999999/reply-options", headers=eva).status_code == 404
    client.cookies.clear()  # the login's cookie would authenticate it
    assert client.get(f"/api/handoffs/{hid}/reply-options").status_code == 401
    web = client.post("/api/handoffs", headers=BOT, json=packet("web-conv-1")).json()["id"]
    client.post(f"/api/handoffs/{web}/claim", headers=eva)
    not_whatsapp = client.post(f"/api/handoffs/{web}/template-messages", json=fill(),
                               headers=eva)
    assert not_whatsapp.status_code == 409 and "WhatsApp" in not_whatsapp.json()["detail"]
    assert client.get(f"/api/handoffs/{web}/reply-options",
                      headers=eva).json()["window"]["mode"] == "free"
    assert graph.requests == []


def test_concurrent_replays_of_one_echo_open_one_handoff(wa: dict[str, Any]) -> None:
    """Meta retries and two bot replicas may deliver the same echo at once: 20 concurrent
    replays store one message in one handoff, and none is answered with a 5xx."""
    from concurrent.futures import ThreadPoolExecutor

    client, leo = wa["client"], wa["leo"]
    echo = {"message_id": "wamid.race.1", "channel": "whatsapp", "text": "Soy Marta, te ayudo yo",
            "ts": time.time()}
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: client.post(
            "/api/conversations/5215599999999/echoes", json=echo, headers=BOT), range(20)))
    assert sorted({a.status_code for a in answers}) <= [200, 201]
    assert [a.status_code for a in answers].count(201) == 1
    assert len({a.json()["handoff_id"] for a in answers}) == 1
    hid = answers[0].json()["handoff_id"]
    messages = client.get(f"/api/handoffs/{hid}", headers=leo).json()["messages"]
    assert [m["message_id"] for m in messages] == ["wamid.race.1"]
