"""Issue #11, reproduced through the HTTP interface on real SQLite and PostgreSQL.

Each test names the failure it reproduces; every one of them failed on the code before the fix
(run with ``PYTHONPATH=<old checkout>`` to see it) and passes now. Part 4
(one client can stall everyone): ``test_seam_overload.py``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from handoff_api.app import create_app
from handoff_api.models import HandbackOutbox, Handoff, HandoffEvent, Message
from handoff_api.relay import DeliveryResult
from tests.handoff_api.conftest import BOT, add_agent, login, make_settings, packet


def _outbox(app: Any) -> list[HandbackOutbox]:
    with app.state.services.sessions() as s:
        return list(s.scalars(select(HandbackOutbox).order_by(HandbackOutbox.id)))


def _claimed(client: TestClient, app: Any, cid: str, who: str = "leo") -> tuple[int, dict]:
    add_agent(app, who)
    headers = login(client, who)
    hid = client.post("/api/handoffs", json=packet(cid), headers=BOT).json()["id"]
    assert client.post(f"/api/handoffs/{hid}/claim", headers=headers).status_code == 200
    return hid, headers


# --- 3. duplicates -------------------------------------------------------------------------------

class SlowCountingRelay:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_text(self, conversation: Any, text: str) -> DeliveryResult:
        await asyncio.sleep(0.3)
        self.sent.append(text)
        return DeliveryResult.delivered()


def test_same_agent_reply_posted_four_times_in_parallel_reaches_the_shopper_once(database_url):
    """The same reply (same client id) POSTed 4 times in parallel reached the shopper 2-3 times
    (one row stored): the send is now claimed in the database before the channel is called."""
    relay = SlowCountingRelay()
    app = create_app(make_settings(database_url), relay_overrides={"rest": relay})
    with TestClient(app) as client:
        hid, leo = _claimed(client, app, "dup-1")
        barrier = threading.Barrier(4)
        codes: list[int] = []

        def send() -> None:
            barrier.wait(timeout=30)
            r = client.post(f"/api/handoffs/{hid}/messages", headers=leo,
                            json={"text": "Te lo miro ahora", "client_id": "c-123"})
            codes.append(r.status_code)

        threads = [threading.Thread(target=send) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert relay.sent == ["Te lo miro ahora"]
        assert sorted(codes) == [200, 200, 200, 201], codes
        detail = client.get(f"/api/handoffs/{hid}", headers=leo).json()
        agent_msgs = [m for m in detail["messages"] if m["role"] == "agent"]
        assert len(agent_msgs) == 1 and agent_msgs[0]["delivery"] == "sent"


def test_a_reply_whose_sender_died_mid_send_is_shown_failed_then_resent_once(database_url):
    """The chaos run (bench/seam_chaos.py, 1,000 conversations) found an agent reply left
    "sending" for ever: the handoff API was killed after claiming the send and before the channel
    answered, so nobody knew whether the shopper got it and nobody sent it. Once the claim is older
    than the send lease the follow-up pass marks it failed with a reason (the console shows it);
    a retry with the same client id then sends it exactly once. A claim within the lease and an
    e-mail answer (the mail outbox retries those) are left alone."""
    relay = SlowCountingRelay()
    app = create_app(make_settings(database_url), relay_overrides={"rest": relay})
    with TestClient(app) as client:
        hid, leo = _claimed(client, app, "died-1")
        services = app.state.services
        old = datetime.now(UTC) - timedelta(seconds=services.settings.send_lease_seconds + 5)
        with services.write_sessions()() as s:  # the rows a process killed mid-send leaves
            for client_id, claimed, channel in (("c-dead", old, "rest"),
                                                ("c-busy", datetime.now(UTC), "rest"),
                                                ("c-mail", old, "email")):
                s.add(Message(handoff_id=hid, conversation_id="died-1", message_id=client_id,
                              role="agent", text=f"texto {client_id}", channel=channel,
                              ts=claimed, created_at=claimed, delivery="sending",
                              send_claimed_at=claimed))
            s.commit()

        asyncio.run(services.followups.pass_once())

        by_id = {m["message_id"]: m for m in
                 client.get(f"/api/handoffs/{hid}", headers=leo).json()["messages"]}
        assert by_id["c-dead"]["delivery"] == "failed"
        assert "interrupted" in by_id["c-dead"]["delivery_error"]
        assert by_id["c-busy"]["delivery"] == "sending" and by_id["c-mail"]["delivery"] == "sending"
        with services.sessions() as s:
            events = s.scalars(select(HandoffEvent).where(HandoffEvent.handoff_id == hid,
                                                          HandoffEvent.type == "delivery_failed"))
            assert [e.data["reason"] for e in events] == ["interrupted"]

        asyncio.run(services.followups.pass_once())  # marked once, not again
        for _ in range(2):  # the agent resends (twice: a double click)
            r = client.post(f"/api/handoffs/{hid}/messages", headers=leo,
                            json={"text": "texto c-dead", "client_id": "c-dead"})
            assert r.status_code in (200, 201), r.text
        assert relay.sent == ["texto c-dead"]
        resent = [m for m in client.get(f"/api/handoffs/{hid}", headers=leo).json()["messages"]
                  if m["message_id"] == "c-dead"]
        assert len(resent) == 1 and resent[0]["delivery"] == "sent"
        assert resent[0]["delivery_error"] is None


# --- 2. messages lost at the seam ----------------------------------------------------------------

def test_message_stored_just_before_resolve_goes_to_the_resumed_bot(client, app):
    """A shopper message stored ~10 ms before the agent resolved was answered by nobody. Now the
    hand-back carries it to the resumed bot."""
    hid, leo = _claimed(client, app, "race-1")
    client.post(f"/api/handoffs/{hid}/messages", headers=leo, json={"text": "¿Algo más?"})
    r = client.post("/api/conversations/race-1/messages", headers=BOT,
                    json={"message_id": "late-1", "text": "sí, una cosa más", "channel": "rest"})
    assert r.status_code == 201
    assert client.post(f"/api/handoffs/{hid}/resolve", headers=leo).status_code == 200
    [row] = _outbox(app)
    assert row.outcome == "resolved"
    assert [m["message_id"] for m in row.payload["messages"]] == ["late-1"]


def test_seen_message_id_from_the_console_decides_what_the_bot_gets(client, app):
    hid, leo = _claimed(client, app, "race-2")
    seen = client.post("/api/conversations/race-2/messages", headers=BOT, json={
        "message_id": "m-seen", "text": "gracias", "channel": "rest"}).json()["id"]
    client.post("/api/conversations/race-2/messages", headers=BOT, json={
        "message_id": "m-unseen", "text": "y otra pregunta", "channel": "rest"})
    client.post(f"/api/handoffs/{hid}/resolve", headers=leo, json={"seen_message_id": seen})
    [row] = _outbox(app)
    assert [m["message_id"] for m in row.payload["messages"]] == ["m-unseen"]


def test_message_arriving_after_the_close_rides_with_the_handback(client, app):
    """After the close, before Rasa took the conversation back, a forwarded message got 404 and
    the gate fed it to a still-paused tracker: nobody answered. Now: 202, delivered after the
    hand-back, in order."""
    hid, leo = _claimed(client, app, "race-3")
    client.post(f"/api/handoffs/{hid}/hand-back", headers=leo)
    r = client.post("/api/conversations/race-3/messages", headers=BOT,
                    json={"message_id": "after-close", "text": "¿sigues ahí?", "channel": "rest"})
    assert r.status_code == 202 and r.json()["rerouted_to_bot"] is True
    again = client.post("/api/conversations/race-3/messages", headers=BOT,
                        json={"message_id": "after-close", "text": "¿sigues ahí?"})
    assert again.status_code == 202 and again.json()["duplicate"] is True
    rows = _outbox(app)
    assert [(r.outcome, [m["message_id"] for m in r.payload["messages"]]) for r in rows] == [
        ("handed_back", []), ("messages", ["after-close"])]


def test_creation_answered_after_the_timeout_never_leaves_a_ghost_handoff(client, app):
    """A handoff whose creation committed but answered after the client's 5 s timeout left the
    shopper told "can't put you through" while an agent could still claim it. The bot retries
    with the same Idempotency-Key (same handoff back), and when it gives up it cancels the key:
    the handoff is abandoned and a late copy of the request is refused."""
    key = {"Idempotency-Key": "ho-7f3a9c1e2b"}
    first = client.post("/api/handoffs", json=packet("ghost"), headers={**BOT, **key})
    assert first.status_code == 201
    retry = client.post("/api/handoffs", json=packet("ghost"), headers={**BOT, **key})
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    cancel = client.post("/api/handoff-requests/ho-7f3a9c1e2b/cancel", headers=BOT)
    assert cancel.status_code == 200 and cancel.json()["status"] == "abandoned"
    add_agent(app, "leo")
    leo = login(client, "leo")
    assert client.post(f"/api/handoffs/{first.json()['id']}/claim",
                       headers=leo).status_code == 409
    late = client.post("/api/handoffs", json=packet("ghost"), headers={**BOT, **key})
    assert late.status_code == 410
    # cancelling a key whose request never arrived also blocks it for good
    assert client.post("/api/handoff-requests/ho-never-arrived/cancel",
                       headers=BOT).json()["handoff_id"] is None
    assert client.post("/api/handoffs", json=packet("ghost-2"), headers={
        **BOT, "Idempotency-Key": "ho-never-arrived"}).status_code == 410


# --- 1. a queued shopper can't get back to the bot ---------------------------------------------

def test_abandon_resumes_the_bot(client, app):
    """After the bot-token abandon route the conversation stayed paused forever."""
    hid = client.post("/api/handoffs", json=packet("gone"), headers=BOT).json()["id"]
    assert client.post(f"/api/handoffs/{hid}/abandon", headers=BOT).status_code == 200
    [row] = _outbox(app)
    assert (row.outcome, row.conversation_id) == ("abandoned", "gone")


def test_leave_queue_while_queued_abandons_and_while_assigned_goes_to_the_agent(client, app):
    hid = client.post("/api/handoffs", json=packet("leaver"), headers=BOT).json()["id"]
    body = {"message_id": "l-1", "text": "quiero seguir con el bot", "channel": "rest"}
    r = client.post("/api/conversations/leaver/leave-queue", headers=BOT, json=body)
    assert r.status_code == 200 and r.json() == {"left": True, "handoff_id": hid,
                                                 "status": "abandoned"}
    assert [row.outcome for row in _outbox(app)] == ["abandoned"]
    hid2, _ = _claimed(client, app, "stayer")
    r = client.post("/api/conversations/stayer/leave-queue", headers=BOT, json=body)
    assert r.json() == {"left": False, "handoff_id": hid2, "status": "assigned"}


def test_queue_timeout_turns_the_handoff_into_an_offline_case(database_url):
    """There was no queue timeout: a queued shopper could wait forever."""
    app = create_app(make_settings(database_url, queue_timeout_minutes=0.001))
    with TestClient(app) as client:
        hid = client.post("/api/handoffs", json=packet("waited"), headers=BOT).json()["id"]
        time.sleep(0.2)
        changed = app.state.services.handback.expire_queue()
        assert [h.id for h in changed] == [hid]
        with app.state.services.sessions() as s:
            handoff = s.get(Handoff, hid)
        assert handoff.status == "offline"
        due = handoff.answer_due_at - datetime.now(UTC)
        assert timedelta(hours=47) < due <= timedelta(hours=48)
        [row] = _outbox(app)
        assert row.outcome == "offline" and row.payload["answer_due_at"]
        assert client.app.state.services.handback.expire_queue() == []  # once only


def test_dead_letters_are_shown_to_agents_and_counted_on_health(client, app):
    """Outbox items that got a 404 were marked dead with no one told."""
    dead = {"conversation_id": "c-9", "message_id": "m-9", "channel": "whatsapp",
            "text": "¿me oís?", "reason": "HTTP 413"}
    assert client.post("/api/dead-letters", headers=BOT, json=dead).status_code == 201
    assert client.post("/api/dead-letters", headers=BOT, json=dead).status_code == 200
    assert client.get("/health").json()["dead_letters"] == 1
    add_agent(app, "leo")
    leo = login(client, "leo")
    [item] = client.get("/api/queue", headers=leo).json()["dead_letters"]
    assert item["conversation_id"] == "c-9" and item["reason"] == "HTTP 413"
    client.post(f"/api/dead-letters/{item['id']}/dismiss", headers=leo)
    assert client.get("/health").json()["dead_letters"] == 0
