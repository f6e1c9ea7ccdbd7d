"""Hand-back to Rasa goes through an outbox: nothing is lost while Rasa is down."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient
from sqlalchemy import select

from handoff_api.app import create_app
from handoff_api.models import HandbackOutbox
from tests.handoff_api.conftest import BOT, add_agent, login, make_settings, packet
from tests.handoff_api.fake_rasa import FakeRasa, free_port


def _outbox(app) -> list[HandbackOutbox]:
    with app.state.services.sessions() as s:
        return list(s.scalars(select(HandbackOutbox).order_by(HandbackOutbox.id)))


def test_handback_waits_in_outbox_until_rasa_is_up(database_url):
    port = free_port()  # nothing listens here yet: Rasa is "down"
    app = create_app(make_settings(database_url, rasa_url=f"http://127.0.0.1:{port}",
                                   outbox_interval_seconds=0.05))
    with TestClient(app) as client:
        add_agent(app, "leo")
        leo = login(client, "leo")
        hid = client.post("/api/handoffs", json=packet("conv/ñ 1"), headers=BOT).json()["id"]
        client.post(f"/api/handoffs/{hid}/claim", headers=leo)
        assert client.post(f"/api/handoffs/{hid}/hand-back", headers=leo).status_code == 200

        worker = app.state.services.handback
        assert client.portal.call(worker.deliver_due) == 0
        [row] = _outbox(app)
        assert row.delivered_at is None and row.attempts == 1 and "Connect" in row.last_error

        with FakeRasa(port) as rasa:
            # the retry is scheduled with back-off; make it due now instead of sleeping
            with app.state.services.sessions() as s:
                s.get(HandbackOutbox, row.id).next_attempt_at = row.created_at
                s.commit()
            assert client.portal.call(worker.deliver_due) == 1
        [row] = _outbox(app)
        assert row.delivered_at is not None and row.attempts == 2
        assert [c["path"].split("?")[0] for c in rasa.calls] == [
            "/conversations/conv%2F%C3%B1%201/tracker/events",
            "/conversations/conv%2F%C3%B1%201/trigger_intent",
        ]
        assert rasa.calls[0]["body"] == [{"event": "resume"},
                                         {"event": "action", "name": "action_listen"}]
        assert "token=rasa-test-token" in rasa.calls[0]["path"]
        assert "output_channel=latest" in rasa.calls[1]["path"]
        assert rasa.calls[1]["body"] == {"name": "handoff_ended",
                                         "entities": {"handoff_outcome": "handed_back"}}
        events = [e["type"] for e in client.get(f"/api/handoffs/{hid}",
                                                headers=leo).json()["events"]]
        assert events[-1] == "handback_delivered"
        assert client.portal.call(worker.deliver_due) == 0  # delivered once, not again


def test_background_worker_delivers_resolution(database_url):
    with FakeRasa() as rasa:
        app = create_app(make_settings(database_url, rasa_url=rasa.url, run_outbox_worker=True,
                                       outbox_interval_seconds=0.05))
        with TestClient(app) as client:
            add_agent(app, "leo")
            leo = login(client, "leo")
            hid = client.post("/api/handoffs", json=packet("c-1"), headers=BOT).json()["id"]
            client.post(f"/api/handoffs/{hid}/claim", headers=leo)
            client.post(f"/api/handoffs/{hid}/resolve", headers=leo)
            for _ in range(100):
                if len(rasa.calls) >= 2:
                    break
                client.portal.call(asyncio.sleep, 0.05)
        assert rasa.calls[1]["body"]["entities"] == {"handoff_outcome": "resolved"}
        assert _outbox(app)[0].delivered_at is not None


def test_rasa_error_status_is_retried(database_url):
    with FakeRasa(fail_with=500) as rasa:
        app = create_app(make_settings(database_url, rasa_url=rasa.url))
        with TestClient(app) as client:
            add_agent(app, "leo")
            leo = login(client, "leo")
            hid = client.post("/api/handoffs", json=packet("c-1"), headers=BOT).json()["id"]
            client.post(f"/api/handoffs/{hid}/claim", headers=leo)
            client.post(f"/api/handoffs/{hid}/resolve", headers=leo)
            assert client.portal.call(app.state.services.handback.deliver_due) == 0
        [row] = _outbox(app)
        assert row.delivered_at is None and "500" in row.last_error
