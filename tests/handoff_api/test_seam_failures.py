"""Issue #11, reproduced through the HTTP interface on real SQLite and PostgreSQL.

Each test names the failure it reproduces; every one of them failed on the code before the fix
(run with ``PYTHONPATH=<old checkout>`` to see it) and passes now.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import bcrypt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from handoff_api.app import create_app
from handoff_api.models import HandbackOutbox, Handoff, HandoffEvent, Message
from handoff_api.relay import DeliveryResult
from tests.handoff_api.conftest import BOT, add_agent, login, make_settings, packet, widget_auth

BIG = 2**63  # one past the largest 64-bit signed id


def _outbox(app: Any) -> list[HandbackOutbox]:
    with app.state.services.sessions() as s:
        return list(s.scalars(select(HandbackOutbox).order_by(HandbackOutbox.id)))


def _claimed(client: TestClient, app: Any, cid: str, who: str = "leo") -> tuple[int, dict]:
    add_agent(app, who)
    headers = login(client, who)
    hid = client.post("/api/handoffs", json=packet(cid), headers=BOT).json()["id"]
    assert client.post(f"/api/handoffs/{hid}/claim", headers=headers).status_code == 200
    return hid, headers


# --- 4. one client can stall everyone ----------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("get", "/api/handoffs/{id}"), ("post", "/api/handoffs/{id}/claim"),
    ("post", "/api/handoffs/{id}/messages"), ("post", "/api/handoffs/{id}/notes"),
    ("post", "/api/handoffs/{id}/resolve"), ("post", "/api/handoffs/{id}/hand-back"),
    ("post", "/api/handoffs/{id}/transfer"), ("post", "/api/handoffs/{id}/rating"),
    ("post", "/api/handoffs/{id}/abandon"),
])
def test_ids_beyond_64_bits_are_a_clear_422(client, app, method, path):
    """Ids >= 2^63 gave 500 (integer overflow in the driver) on 7 handoff routes."""
    add_agent(app, "leo")
    headers = {**login(client, "leo"), **BOT} if "rating" in path or "abandon" in path else \
        login(client, "leo")
    body = {"text": "hola", "agent_username": "leo", "rating": 5}
    r = getattr(client, method)(path.format(id=BIG), headers=headers,
                                **({"json": body} if method == "post" else {}))
    assert r.status_code == 422, r.text
    assert "handoff_id" in r.text


def test_widget_replay_after_beyond_64_bits_is_422(client):
    r = client.get(f"/api/widget/messages?after={BIG}", headers=widget_auth("abc"))
    assert r.status_code == 422


@pytest.mark.parametrize("text", ["", "   \n\t ", "\ud800 lone surrogate", "nul\x00"])
def test_malformed_shopper_text_is_a_422_with_a_reason(client, text):
    """An empty or whitespace-only message and a lone surrogate returned 500."""
    client.post("/api/handoffs", json=packet("c-bad"), headers=BOT)
    # json.dumps escapes the surrogate as \ud800: valid JSON that is not valid Unicode
    raw = json.dumps({"message_id": "m1", "text": text, "channel": "rest"})
    r = client.post("/api/conversations/c-bad/messages", content=raw,
                    headers={**BOT, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert "text" in r.text


def test_fifty_concurrent_widget_replays_do_not_stall_the_bot(database_url):
    """50 concurrent unauthenticated GETs froze the API for 30 s (40 x 503 "database is locked")
    and a bot->agent forward meanwhile took 29.8 s. Now reads take no lock: none fails, and the
    forward made during the flood is stored. (The 50 GETs stand for 50 shoppers; TestClient gives
    them all one address, so the lanes' per-client share is off here: test_lanes.py tests it.)"""
    app = create_app(make_settings(database_url, lane_per_client=0))
    try:
        with TestClient(app) as client:
            _fifty_replays_and_a_forward(client)
    finally:
        app.state.services.engine.dispose()


def _fifty_replays_and_a_forward(client: TestClient) -> None:
    client.post("/api/handoffs", json=packet("shopper-1"), headers=BOT)
    statuses: list[int] = []
    barrier = threading.Barrier(51)

    def replay() -> None:
        barrier.wait(timeout=30)
        statuses.append(client.get("/api/widget/messages",
                                   headers=widget_auth("abcdef-web")).status_code)

    def forward() -> None:
        barrier.wait(timeout=30)
        r = client.post("/api/conversations/shopper-1/messages", headers=BOT,
                        json={"message_id": "during-flood", "text": "¿hola?", "channel": "rest"})
        statuses.append(r.status_code)

    threads = [threading.Thread(target=replay) for _ in range(50)]
    threads.append(threading.Thread(target=forward))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    counts = Counter(statuses)
    assert counts == {200: 50, 201: 1}, counts


def test_fifty_agents_claiming_by_id_get_no_503(client, app):
    """50 agents claiming by id took 219 s with 254 x 503; still never a double claim."""
    tokens = []
    for i in range(50):
        add_agent(app, f"a{i:02d}")
        tokens.append(login(client, f"a{i:02d}"))
    ids = [client.post("/api/handoffs", json=packet(f"c-{i}"), headers=BOT).json()["id"]
           for i in range(10)]
    results: list[tuple[int, int]] = []
    barrier = threading.Barrier(50)

    def work(n: int) -> None:
        barrier.wait(timeout=30)
        for hid in ids[n % 10:] + ids[:n % 10]:
            r = client.post(f"/api/handoffs/{hid}/claim", headers=tokens[n])
            results.append((hid, r.status_code))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    codes = Counter(code for _, code in results)
    assert set(codes) <= {200, 409}, codes
    winners = Counter(hid for hid, code in results if code == 200)
    assert sorted(winners) == sorted(ids) and set(winners.values()) == {1}


def test_login_bcrypt_does_not_hold_the_write_lock(settings, tmp_path, monkeypatch):
    """Login held SQLite's write lock during bcrypt (~0.25 s per login at 12 rounds): during the
    hash another writer that cannot wait must still get the lock."""
    if not settings.is_sqlite:
        pytest.skip("a SQLite locking property")
    app = create_app(settings)
    path = settings.database_url.split("///", 1)[1]
    real = bcrypt.checkpw
    probes: list[str] = []

    def checkpw(*args: Any) -> bool:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            probes.append("free")
        except sqlite3.OperationalError as exc:
            probes.append(str(exc))
        finally:
            other.close()
        return real(*args)

    with TestClient(app) as client:
        add_agent(app, "leo")
        monkeypatch.setattr(bcrypt, "checkpw", checkpw)
        assert client.post("/api/auth/login", json={"username": "leo",
                                                    "password": "password-123"}).status_code == 200
    assert probes == ["free"]


def test_public_routes_slow_a_flooding_client_down(database_url):
    app = create_app(make_settings(database_url, public_rate_limit="20/minute",
                                   login_rate_limit="3/minute"))
    with TestClient(app) as client:
        codes = Counter(client.get("/api/widget/messages",
                                   headers=widget_auth("abc")).status_code for _ in range(30))
        assert codes == {200: 20, 429: 10}
        r = client.get("/api/widget/messages", headers=widget_auth("abc"))
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert "Too many requests" in r.json()["detail"]
        logins = [client.post("/api/auth/login", json={"username": "x", "password": "y"})
                  .status_code for _ in range(4)]
        assert logins == [401, 401, 401, 429]


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
