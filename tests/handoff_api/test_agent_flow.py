"""An agent's work through the HTTP API: login, claim, reply, notes, transfer, close."""

from __future__ import annotations

import pytest

from handoff_api.relay import DeliveryResult, RelayTarget
from tests.handoff_api.conftest import BOT, add_agent, login, packet, widget_auth


@pytest.fixture
def team(app, client):
    add_agent(app, "ana", role="supervisor")
    add_agent(app, "leo")
    add_agent(app, "eva")
    return {name: login(client, name) for name in ("ana", "leo", "eva")}


def test_login_me_and_logout(app, client):
    add_agent(app, "leo")
    bad = client.post("/api/auth/login", json={"username": "leo", "password": "wrong-password"})
    assert bad.status_code == 401
    assert client.get("/api/me").status_code == 401
    headers = login(client, "leo")
    me = client.get("/api/me", headers=headers).json()
    assert me["username"] == "leo" and me["role"] == "agent" and me["capacity"] == 3
    # the cookie set at login works too (for the console page and EventSource)
    assert client.get("/api/me").status_code == 200
    assert client.post("/api/auth/logout", headers=headers).status_code == 200
    client.cookies.clear()
    assert client.get("/api/me", headers=headers).status_code == 401


def test_full_conversation_with_agent(client, team):
    hid = client.post("/api/handoffs", json=packet("c-1"), headers=BOT).json()["id"]
    client.post("/api/conversations/c-1/messages", json={"message_id": "u1", "text": "¿Hola?"},
                headers=BOT)
    leo = team["leo"]

    queue = client.get("/api/queue", headers=leo).json()
    assert [h["id"] for h in queue["queued"]] == [hid]
    assert queue["queued"][0]["last_user_text"] == "Quiero hablar con una persona"

    claimed = client.post("/api/handoffs/claim-next", headers=leo)
    assert claimed.status_code == 200 and claimed.json()["status"] == "assigned"
    assert client.post("/api/handoffs/claim-next", headers=leo).status_code == 204  # queue empty

    detail = client.get(f"/api/handoffs/{hid}", headers=leo).json()
    assert detail["packet"]["slots"]["order_id"] == "AT100234"  # everything the bot knew
    assert [m["text"] for m in detail["messages"]] == ["¿Hola?"]

    reply = client.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola Lucía, soy Leo."},
                        headers=leo)
    assert reply.status_code == 201, reply.text
    assert reply.json()["delivery"] == "sent"
    replay = client.get("/api/widget/messages?after=0",
                        headers=widget_auth("c-1")).json()["messages"]
    assert [m["text"] for m in replay] == ["Hola Lucía, soy Leo."]
    assert client.get(f"/api/widget/messages?after={replay[0]['id']}",
                      headers=widget_auth("c-1")).json()["messages"] == []

    note = client.post(f"/api/handoffs/{hid}/notes", json={"text": "Cliente pide descuento"},
                       headers=leo)
    assert note.status_code == 201

    resolved = client.post(f"/api/handoffs/{hid}/resolve", headers=leo)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert client.post(f"/api/handoffs/{hid}/resolve", headers=leo).status_code == 200  # idempotent
    hand_back = client.post(f"/api/handoffs/{hid}/hand-back", headers=leo)
    assert hand_back.status_code == 409 and "resolved" in hand_back.json()["detail"]
    late = client.post(f"/api/handoffs/{hid}/messages", json={"text": "¿algo más?"}, headers=leo)
    assert late.status_code == 409

    events = [e["type"] for e in client.get(f"/api/handoffs/{hid}", headers=leo).json()["events"]]
    assert events[:3] == ["created", "shopper_message", "assigned"]
    assert {"first_agent_reply", "agent_message", "note", "resolved"} <= set(events)


def test_claim_conflicts_and_capacity(app, client, team):
    add_agent(app, "solo", capacity=1)
    solo = login(client, "solo")
    ids = [client.post("/api/handoffs", json=packet(f"c-{i}"),
                       headers=BOT).json()["id"] for i in range(3)]
    assert client.post(f"/api/handoffs/{ids[0]}/claim", headers=solo).status_code == 200
    assert client.post(f"/api/handoffs/{ids[0]}/claim",
                       headers=solo).status_code == 200  # idempotent
    taken = client.post(f"/api/handoffs/{ids[0]}/claim", headers=team["leo"])
    assert taken.status_code == 409 and "another agent" in taken.json()["detail"]
    full = client.post(f"/api/handoffs/{ids[1]}/claim", headers=solo)
    assert full.status_code == 409 and "capacity" in full.json()["detail"]
    assert client.post("/api/handoffs/claim-next", headers=solo).status_code == 204
    assert client.post("/api/handoffs/9999/claim", headers=solo).status_code == 404
    # only the holder (or a supervisor) may reply or close
    other = client.post(f"/api/handoffs/{ids[0]}/messages", json={"text": "hola"},
                        headers=team["leo"])
    assert other.status_code == 409
    assert client.post(f"/api/handoffs/{ids[0]}/hand-back", headers=team["ana"]).status_code == 200
    queued = client.post(f"/api/handoffs/{ids[1]}/resolve", headers=team["leo"])
    assert queued.status_code == 409


def test_claim_next_takes_priority_then_waiting_time(client, team):
    client.post("/api/handoffs", json=packet("old"), headers=BOT)
    client.post("/api/handoffs", json=packet("newer"), headers=BOT)
    client.post("/api/handoffs", json=packet("fraud", reason="legal_or_fraud"), headers=BOT)
    order = [client.post("/api/handoffs/claim-next", headers=h).json()["conversation_id"]
             for h in (team["leo"], team["eva"], team["ana"])]
    assert order == ["fraud", "old", "newer"]


def test_transfer_moves_conversation(client, team):
    hid = client.post("/api/handoffs", json=packet("c-1"), headers=BOT).json()["id"]
    client.post(f"/api/handoffs/{hid}/claim", headers=team["leo"])
    r = client.post(f"/api/handoffs/{hid}/transfer", json={"agent_username": "eva"},
                    headers=team["leo"])
    assert r.status_code == 200 and r.json()["agent_name"] == "Eva"
    assert client.post(f"/api/handoffs/{hid}/messages", json={"text": "x"},
                       headers=team["leo"]).status_code == 409
    assert client.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola, soy Eva"},
                       headers=team["eva"]).status_code == 201
    missing = client.post(f"/api/handoffs/{hid}/transfer", json={"agent_username": "zoe"},
                          headers=team["eva"])
    assert missing.status_code == 404


def test_refused_delivery_is_a_409_with_the_reason(database_url):
    from fastapi.testclient import TestClient

    from handoff_api.app import create_app
    from tests.handoff_api.conftest import make_settings

    class ClosedWindow:
        async def send_text(self, conversation: RelayTarget, text: str) -> DeliveryResult:
            assert conversation.last_shopper_message_at is not None
            return DeliveryResult.refused("the 24-hour WhatsApp window is closed; send a template")

    app = create_app(make_settings(database_url), relay_overrides={"whatsapp": ClosedWindow()})
    with TestClient(app) as client:
        add_agent(app, "leo")
        leo = login(client, "leo")
        hid = client.post("/api/handoffs", json=packet("34600111222", channel="whatsapp"),
                          headers=BOT).json()["id"]
        client.post(f"/api/handoffs/{hid}/claim", headers=leo)
        r = client.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola"}, headers=leo)
        assert r.status_code == 409 and "24-hour" in r.json()["detail"]
        messages = client.get(f"/api/handoffs/{hid}", headers=leo).json()["messages"]
        assert messages[-1]["delivery"] == "failed"
        assert client.get(f"/api/handoffs/{hid}", headers=leo).json()["first_response_at"] is None


def test_unknown_channel_is_refused_clearly(client, team):
    hid = client.post("/api/handoffs", json=packet("c-x", channel="telegram"),
                      headers=BOT).json()["id"]
    client.post(f"/api/handoffs/{hid}/claim", headers=team["leo"])
    r = client.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola"}, headers=team["leo"])
    assert r.status_code == 409 and "telegram" in r.json()["detail"]


def test_agent_message_limits(client, team):
    hid = client.post("/api/handoffs", json=packet("c-1"), headers=BOT).json()["id"]
    client.post(f"/api/handoffs/{hid}/claim", headers=team["leo"])
    assert client.post(f"/api/handoffs/{hid}/messages", json={"text": "a" * 4097},
                       headers=team["leo"]).status_code == 413
    assert client.post(f"/api/handoffs/{hid}/messages", json={"text": ""},
                       headers=team["leo"]).status_code == 422


def test_canned_replies_and_metrics(client, team):
    es = client.get("/api/canned-replies?lang=es", headers=team["leo"]).json()
    en = client.get("/api/canned-replies?lang=en", headers=team["leo"]).json()
    assert len(es) >= 4 and len(es) == len(en)
    assert "Leo" in es[0]["text"] and "{agent}" not in es[0]["text"]
    assert client.get("/api/canned-replies?lang=fr", headers=team["leo"]).status_code == 422

    hid = client.post("/api/handoffs", json=packet("c-1"), headers=BOT).json()["id"]
    client.post(f"/api/handoffs/{hid}/claim", headers=team["leo"])
    client.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola"}, headers=team["leo"])
    client.post(f"/api/handoffs/{hid}/resolve", headers=team["leo"])
    client.post(f"/api/handoffs/{hid}/rating", json={"rating": 4}, headers=BOT)
    # the same shopper comes back: the first resolution did not stick
    hid2 = client.post("/api/handoffs", json=packet("c-1"), headers=BOT).json()["id"]
    assert hid2 != hid

    assert client.get("/api/metrics", headers=team["leo"]).status_code == 403
    m = client.get("/api/metrics", headers=team["ana"]).json()
    assert m["status_counts"]["resolved"] == 1 and m["status_counts"]["queued"] == 1
    assert m["first_response_seconds"]["count"] == 1
    assert m["handling_seconds"]["count"] == 1
    # computed from the event log (definitions in docs/metrics.md)
    assert m["fcr"] == {"resolved": 1, "returned": 1, "not_returned": 0, "undetermined": 0,
                        "rate": 0.0, "return_hours": 24}
    assert m["csat"]["human"] == {"count": 1, "mean": 4, "satisfied_rate": 1.0}
    assert m["handoffs"] == 1 and m["handoff_rate_by_reason"]["asked"]["count"] == 1


def test_widget_endpoints_never_expose_whatsapp_or_messenger_replies(database_url):
    """The widget's replay needs no login, so it must only serve web-chat conversations: a
    WhatsApp id is a phone number and a Messenger id a page-scoped id, both guessable."""
    from fastapi.testclient import TestClient

    from handoff_api.app import create_app
    from tests.handoff_api.conftest import make_settings

    class Delivered:
        async def send_text(self, conversation: RelayTarget, text: str) -> DeliveryResult:
            return DeliveryResult(ok=True)

    app = create_app(make_settings(database_url), relay_overrides={"messenger": Delivered()})
    with TestClient(app) as client:
        add_agent(app, "leo")
        leo = login(client, "leo")
        client.post("/api/handoffs", json=packet("34612345678", channel="whatsapp"), headers=BOT)
        assert client.get("/api/widget/messages",
                          headers=widget_auth("34612345678")).status_code == 404
        assert client.get("/api/widget/stream",
                          headers=widget_auth("+34612345678")).status_code == 404
        hid = client.post("/api/handoffs", json=packet("psid-like-id", channel="messenger"),
                          headers=BOT).json()["id"]
        client.post(f"/api/handoffs/{hid}/claim", headers=leo)
        sent = client.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola"}, headers=leo)
        assert sent.status_code == 201 and sent.json()["delivery"] == "sent"
        assert client.get("/api/widget/messages",
                          headers=widget_auth("psid-like-id")).json()["messages"] == []
