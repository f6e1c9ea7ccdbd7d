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
            with app.state.services.write_sessions()() as s:
                s.get(HandbackOutbox, row.id).next_attempt_at = row.created_at
                s.commit()
            assert client.portal.call(worker.deliver_due) == 1
        [row] = _outbox(app)
        assert row.delivered_at is not None and row.attempts == 2
        # one idempotent call to the Rasa process's hand-back endpoint, with the bot token
        [call] = rasa.calls
        assert call["path"] == "/webhooks/atiende/handback"
        assert call["headers"]["Authorization"] == "Bearer " + BOT["Authorization"][7:]
        body = call["body"]
        assert body["outbox_id"] == row.id and body["handoff_id"] == hid
        assert body["conversation_id"] == "conv/ñ 1" and body["outcome"] == "handed_back"
        assert body["channel"] == "rest" and body["language"] == "es"
        assert body["messages"] == []
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
            for _ in range(200):
                if rasa.calls and _outbox(app)[0].delivered_at is not None:
                    break
                client.portal.call(asyncio.sleep, 0.05)
        assert rasa.calls[0]["body"]["outcome"] == "resolved"
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


def test_hand_backs_go_as_soon_as_rasa_answers_again(database_url):
    """After a kill -9 of Rasa the rows back off (up to 5 min); once Rasa's hand-back channel
    answers its health route again they go at the next pass, not after the back-off (found by
    bench/seam_chaos.py: conversations waited minutes after Rasa was back)."""
    port = free_port()  # Rasa is down
    app = create_app(make_settings(database_url, rasa_url=f"http://127.0.0.1:{port}",
                                   outbox_interval_seconds=60))
    with TestClient(app) as client:
        add_agent(app, "leo")
        leo = login(client, "leo")
        hid = client.post("/api/handoffs", json=packet("conv-catch-up"), headers=BOT).json()["id"]
        client.post(f"/api/handoffs/{hid}/claim", headers=leo)
        assert client.post(f"/api/handoffs/{hid}/resolve", headers=leo).status_code == 200
        worker = app.state.services.handback
        assert client.portal.call(worker.deliver_due) == 0
        assert worker.rasa_down
        [row] = _outbox(app)
        assert row.next_attempt_at > row.created_at  # backing off (60 s)
        assert client.portal.call(worker.catch_up) == 0  # still down: nothing changes
        with FakeRasa(port) as rasa:
            assert client.portal.call(worker.catch_up) == 1
            assert client.portal.call(worker.deliver_due) == 1
            assert [c["body"]["outbox_id"] for c in rasa.calls] == [row.id]
        assert not worker.rasa_down
        [row] = _outbox(app)
        assert row.delivered_at is not None
