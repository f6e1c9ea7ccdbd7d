"""The bot side of the API: queueing a conversation and relaying shopper messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.handoff_api.conftest import BOT, add_agent, login, packet


def test_create_handoff_returns_position_and_is_idempotent(client, app):
    add_agent(app, "leo")
    login(client, "leo")  # an agent present: the wait is estimated from them
    first = client.post("/api/handoffs", json=packet("c-1"), headers=BOT)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "queued" and body["position"] == 1
    assert body["within_business_hours"] is True and body["next_open_at"] is None
    assert body["estimated_wait_seconds"] > 0

    again = client.post("/api/handoffs", json=packet("c-1"), headers=BOT)
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]

    second = client.post("/api/handoffs", json=packet("c-2"), headers=BOT).json()
    assert second["position"] == 2

    open_one = client.get("/api/conversations/c-1/handoff", headers=BOT)
    assert open_one.status_code == 200 and open_one.json()["id"] == body["id"]
    assert client.get("/api/conversations/nobody/handoff", headers=BOT).status_code == 404


def test_vip_and_legal_reasons_jump_the_queue(client):
    client.post("/api/handoffs", json=packet("plain"), headers=BOT)
    legal = client.post("/api/handoffs", json=packet("legal", reason="legal_or_fraud"), headers=BOT)
    vip = client.post("/api/handoffs", json=packet("vip", customer={"vip": True}), headers=BOT)
    assert vip.json()["position"] == 1
    assert legal.json()["position"] in (1, 2)
    positions = {cid: client.get(f"/api/conversations/{cid}/handoff",
                                 headers=BOT).json()["position"]
                 for cid in ("plain", "legal", "vip")}
    assert positions == {"vip": 1, "legal": 2, "plain": 3}


def test_bot_token_is_required(client):
    assert client.post("/api/handoffs", json=packet(), headers={}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.post("/api/handoffs", json=packet(), headers=wrong).status_code == 401


def test_bad_packets_are_rejected_with_4xx(client):
    r = client.post("/api/handoffs", json=packet(reason="bored"), headers=BOT)
    assert r.status_code == 422 and "reason" in r.text
    r = client.post("/api/handoffs", content=b"{not json",
                    headers={**BOT, "Content-Type": "application/json"})
    assert r.status_code == 422
    r = client.post("/api/handoffs", json=packet(conversation_id=""), headers=BOT)
    assert r.status_code == 422


def test_outside_business_hours_without_agents_opens_an_offline_case(app_closed_client):
    """Issue #11: out of hours nobody will take the queue, so the request becomes an offline case
    with the answer promised within 48 h (the bot keeps the conversation) instead of an 8.6 h
    "estimated wait" in a queue with no timeout."""
    client = app_closed_client
    r = client.post("/api/handoffs", json=packet("night"), headers=BOT)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "offline" and body["position"] == 0
    assert body["within_business_hours"] is False and body["agents_present"] == 0
    due = datetime.fromisoformat(body["answer_due_at"])
    assert timedelta(hours=47) < due - datetime.now(UTC) <= timedelta(hours=48)
    # not an open handoff: the gate does not route the shopper's messages to a queue
    assert client.get("/api/conversations/night/handoff", headers=BOT).status_code == 404


def test_outside_hours_with_an_agent_present_queues_normally(app_closed_client):
    """Issue #11: "ahora mismo nuestro equipo no está disponible" was said while an agent was
    logged in: availability now comes from agents actually present."""
    client = app_closed_client
    add_agent(client.app, "night-owl")
    login(client, "night-owl")
    body = client.post("/api/handoffs", json=packet("late"), headers=BOT).json()
    assert body["status"] == "queued" and body["position"] == 1
    assert body["agents_present"] == 1 and body["estimated_wait_seconds"] > 0


def test_no_agent_present_gives_no_made_up_wait(client):
    body = client.post("/api/handoffs", json=packet("alone"), headers=BOT).json()
    assert body["status"] == "queued" and body["agents_present"] == 0
    assert body["estimated_wait_seconds"] is None


def test_shopper_messages_are_stored_idempotently(client):
    hid = client.post("/api/handoffs", json=packet("c-1"), headers=BOT).json()["id"]
    msg = {"message_id": "m-1", "text": "¿Sigue ahí alguien?", "channel": "rest"}
    first = client.post("/api/conversations/c-1/messages", json=msg, headers=BOT)
    assert first.status_code == 201, first.text
    assert first.json()["handoff_id"] == hid and first.json()["duplicate"] is False
    dup = client.post("/api/conversations/c-1/messages", json=msg, headers=BOT)
    assert dup.status_code == 200 and dup.json()["duplicate"] is True
    assert dup.json()["id"] == first.json()["id"]


def test_shopper_message_errors(client):
    msg = {"message_id": "m-1", "text": "hola"}
    assert client.post("/api/conversations/ghost/messages", json=msg,
                       headers=BOT).status_code == 404
    client.post("/api/handoffs", json=packet("c-1"), headers=BOT)
    big = {"message_id": "m-2", "text": "ñ" * 2100}  # 4200 bytes in UTF-8
    r = client.post("/api/conversations/c-1/messages", json=big, headers=BOT)
    assert r.status_code == 413 and "4096" in r.json()["detail"]
    r = client.post("/api/conversations/c-1/messages", json={"text": "sin id"}, headers=BOT)
    assert r.status_code == 422


def test_rating_is_stored_and_validated(client):
    hid = client.post("/api/handoffs", json=packet("c-1"), headers=BOT).json()["id"]
    r = client.post(f"/api/handoffs/{hid}/rating", json={"rating": 5, "comment": "¡Genial!"},
                    headers=BOT)
    assert r.status_code == 200 and r.json()["rating"] == 5
    assert client.post(f"/api/handoffs/{hid}/rating", json={"rating": 6},
                       headers=BOT).status_code == 422
    assert client.post("/api/handoffs/9999/rating", json={"rating": 3},
                       headers=BOT).status_code == 404


def test_abandon_is_idempotent_and_closes(client):
    hid = client.post("/api/handoffs", json=packet("c-1"), headers=BOT).json()["id"]
    assert client.post(f"/api/handoffs/{hid}/abandon", headers=BOT).json()["status"] == "abandoned"
    assert client.post(f"/api/handoffs/{hid}/abandon", headers=BOT).status_code == 200
    assert client.get("/api/conversations/c-1/handoff", headers=BOT).status_code == 404
    # a new request from the same conversation opens a new handoff
    again = client.post("/api/handoffs", json=packet("c-1"), headers=BOT)
    assert again.status_code == 201 and again.json()["id"] != hid


def test_health_and_docs(client):
    assert client.get("/health").json() == {"status": "ok", "database": "ok", "dead_letters": 0,
                                            "handbacks_pending": 0, "offline_cases_overdue": 0}
    assert client.get("/docs").status_code == 200
    assert "/api/handoffs/claim-next" in client.get("/openapi.json").json()["paths"]
