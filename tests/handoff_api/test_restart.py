"""Acknowledged means stored: a restarted service finds every handoff and message and continues."""

from __future__ import annotations

from fastapi.testclient import TestClient

from handoff_api.app import create_app
from tests.handoff_api.conftest import BOT, add_agent, login, packet


def test_restart_keeps_everything_and_flow_continues(settings):
    first = create_app(settings)
    with TestClient(first) as client:
        add_agent(first, "leo")
        leo = login(client, "leo")
        hid = client.post("/api/handoffs", json=packet("c-1"), headers=BOT).json()["id"]
        client.post("/api/handoffs", json=packet("c-2"), headers=BOT)
        for i in range(3):
            r = client.post("/api/conversations/c-1/messages",
                            json={"message_id": f"m{i}", "text": f"mensaje {i}"}, headers=BOT)
            assert r.status_code == 201
        client.post(f"/api/handoffs/{hid}/claim", headers=leo)
        client.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola, soy Leo"}, headers=leo)
    # leaving the client ran the shutdown: the engine is disposed, the process "stopped"
    first.state.services.engine.dispose()

    second = create_app(settings)
    with TestClient(second) as client:
        detail = client.get(f"/api/handoffs/{hid}", headers=leo)  # the session survived too
        assert detail.status_code == 200
        body = detail.json()
        assert body["status"] == "assigned"
        assert [m["text"] for m in body["messages"]] == ["mensaje 0", "mensaje 1", "mensaje 2",
                                                         "Hola, soy Leo"]
        # retried message after restart is still recognised as a duplicate
        dup = client.post("/api/conversations/c-1/messages",
                          json={"message_id": "m1", "text": "mensaje 1"},
                          headers=BOT)
        assert dup.status_code == 200
        queue = client.get("/api/queue", headers=leo).json()
        assert [h["conversation_id"] for h in queue["queued"]] == ["c-2"]
        assert client.post(f"/api/handoffs/{hid}/resolve",
                           headers=leo).json()["status"] == "resolved"
        assert client.post("/api/handoffs/claim-next",
                           headers=leo).json()["conversation_id"] == "c-2"
    second.state.services.engine.dispose()
