"""The handoff service writes its half of the event log in the same transaction as each change
(``handoff_api.eventlog``), pseudonymised; on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from handoff_api.eventlog import KEY_INFO
from handoff_api.models import EventLogEntry
from privacy.records import customer_key, pseudonym
from tests.handoff_api.conftest import BOT, add_agent, login, packet


@pytest.fixture
def team(app, client):
    add_agent(app, "ana", role="supervisor")
    add_agent(app, "leo")
    return {name: login(client, name) for name in ("ana", "leo")}


def rows(app) -> list[EventLogEntry]:
    with app.state.services.sessions() as s:
        return list(s.scalars(select(EventLogEntry).order_by(EventLogEntry.id)))


def test_every_step_of_a_handoff_is_logged_without_the_conversation_id(app, client, team):
    cid = "34655908172"  # a WhatsApp id is the shopper's phone number
    body = packet(cid, channel="whatsapp", language="en",
                  order={"id": "AT1", "market": "MX", "customer": {"email": "a@b.mx"}})
    hid = client.post("/api/handoffs", json=body, headers=BOT).json()["id"]
    # the one-statement claim
    claimed = client.post("/api/handoffs/claim-next", headers=team["leo"])
    assert claimed.status_code == 200 and claimed.json()["id"] == hid
    client.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola"}, headers=team["leo"])
    client.post(f"/api/handoffs/{hid}/resolve", headers=team["leo"])
    client.post(f"/api/handoffs/{hid}/rating", json={"rating": 5}, headers=BOT)
    # a note is not a metric: not in the event log
    log = rows(app)
    types = [r.type for r in log]
    assert types[:2] == ["handoff_created", "handoff_claimed"]
    assert "handoff_resolved" in types and types[-1] == "csat" and "note" not in types
    key = app.state.services.sessions.kw["info"][KEY_INFO]
    assert {r.conversation for r in log} == {pseudonym(cid, key)}
    assert {r.customer for r in log} == {customer_key("whatsapp", cid, key)}
    assert {(r.channel, r.language, r.market, r.reason, r.handoff_id) for r in log} == {
        ("whatsapp", "en", "MX", "asked", hid)}
    leo = [r.agent_id for r in log if r.type == "handoff_claimed"][0]
    assert leo is not None and all(r.agent_id == leo for r in log if r.type != "handoff_created")
    assert [r.value for r in log if r.type == "csat"] == [5.0]
    dump = json.dumps([{c: str(getattr(r, c)) for c in EventLogEntry.__table__.columns.keys()}
                       for r in log])
    assert cid not in dump and "a@b.mx" not in dump and "Hola" not in dump


def test_claim_by_id_transfer_hand_back_and_abandon_are_logged(app, client, team):
    add_agent(app, "eva")
    eva = login(client, "eva")
    first = client.post("/api/handoffs", json=packet("web-1"), headers=BOT).json()["id"]
    client.post(f"/api/handoffs/{first}/claim", headers=team["leo"])
    assert client.post(f"/api/handoffs/{first}/transfer", json={"agent_username": "eva"},
                       headers=team["leo"]).status_code == 200
    assert client.post(f"/api/handoffs/{first}/hand-back", json={}, headers=eva).status_code == 200
    second = client.post("/api/handoffs", json=packet("web-2", reason="frustration"),
                         headers=BOT).json()["id"]
    client.post("/api/conversations/web-2/leave-queue", json={"message_id": "m1", "text": "x"},
                headers=BOT)
    by_handoff = {}
    for r in rows(app):
        by_handoff.setdefault(r.handoff_id, []).append(r.type)
    assert by_handoff[first] == ["handoff_created", "handoff_claimed", "handoff_transferred",
                                 "handoff_handed_back"]
    assert by_handoff[second] == ["handoff_created", "handoff_abandoned"]
    assert {r.customer for r in rows(app)} == {None}  # a web session id is nobody


def test_a_session_without_the_key_writes_no_event_log(app):
    """Maintenance scripts opening their own sessions log nothing rather than raw ids."""
    from sqlalchemy.orm import sessionmaker

    from handoff_api.queue import create_handoff

    bare = sessionmaker(app.state.services.engine)
    with bare() as s:
        create_handoff(s, packet("c-script"))
        s.commit()
    assert rows(app) == []


def test_erasure_unlinks_the_event_log_and_keeps_the_counts(app, client, team):
    """GDPR erasure (privacy store of the handoff DB): the subject's event-log rows lose every
    link to the person; the metrics of the past do not change; other shoppers are untouched."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from bot.event_projection import EventProjector
    from handoff_api.metrics import compute_metrics
    from handoff_api.privacy_store import HandoffStore
    from privacy.subject import Subject

    key = app.state.services.sessions.kw["info"][KEY_INFO]
    projector = EventProjector(key)
    rows_in = []
    for sender, contact in (("web-ana", "Ana@Example.com"), ("web-bob", "bob@example.com")):
        for e in ({"event": "session_started"},
                  {"event": "user", "text": "hola", "input_channel": "socketio",
                   "parse_data": {"intent": {"name": "greet"}}},
                  {"event": "slot", "name": "customer_contact", "value": contact},
                  {"event": "slot", "name": "verified_order_id", "value": "AT1"}):
            rows_in += projector.project({**e, "sender_id": sender, "timestamp": 1.7e9})
    with app.state.services.write_sessions()() as s:
        s.execute(insert(EventLogEntry), rows_in)
        s.commit()
    client.post("/api/handoffs", json=packet("34655908172", channel="whatsapp"), headers=BOT)
    since = datetime.fromtimestamp(1.7e9, UTC) - timedelta(days=1)
    with app.state.services.sessions() as s:
        before = compute_metrics(s, since=since)["conversations"]
    store = HandoffStore(app.state.services.write_sessions())
    ana = Subject.build(emails=["ana@example.com"])
    phone = Subject.build(phones=["+34 655 90 81 72"])
    assert store.traces(ana) == 3 and store.traces(phone) >= 1
    store.erase(ana)
    store.erase(phone)
    assert store.traces(ana) == 0 and store.traces(phone) == 0
    after = rows(app)
    # nothing deleted; closing the open handoff for the erasure logged its abandonment
    assert len(after) == len(rows_in) + 2
    with app.state.services.sessions() as s:
        assert compute_metrics(s, since=since)["conversations"] == before == 3
    erased = [r for r in after if r.conversation.startswith("erased:")]
    assert len(erased) == 5 and all(r.customer is None for r in erased)
    assert len({r.conversation for r in erased}) == 2  # one token per conversation
    assert pseudonym("web-bob", key) in {r.conversation for r in after}
