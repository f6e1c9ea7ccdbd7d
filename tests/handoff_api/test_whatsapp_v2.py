"""Issue #17 through the HTTP API, against a local Graph API stand-in (the relay tests' FakeGraph,
on its own loop in a thread): text inside the 24-hour window, delivery statuses (and Meta's
errors) reaching the message, a reply typed on the business phone app opening a handoff once
however often it is replayed, Messenger's read watermark and window modes, and routes closed to
another agent's conversation. Templates: ``test_wa_templates.py``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handoff_api.app import create_app
from tests.handoff_api.conftest import BOT, add_agent, login, make_settings, packet
from tests.handoff_api.relay.conftest import FakeGraph
from tests.handoff_api.whatsapp_handoffs import HOURS, PHONE, fill, wa_app, whatsapp_handoff


@pytest.fixture
def wa(database_url: str, graph: FakeGraph, tmp_path: Path) -> Iterator[dict[str, Any]]:
    with wa_app(database_url, graph, tmp_path) as handles:
        yield handles


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
