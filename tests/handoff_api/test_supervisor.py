"""Supervisor controls through the HTTP API (``handoff_api/routes/supervisor.py``), on SQLite and
PostgreSQL: presence and load, take over, reassign, return to queue, the audit trail in the
conversation and in the event log, role checks, and "Mis conversaciones" holding only one's own.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from handoff_api.models import Agent, EventLogEntry
from handoff_api.queue import now_utc
from tests.handoff_api.conftest import BOT, add_agent, login, packet


@pytest.fixture
def team(app, client):
    add_agent(app, "ana", role="supervisor")
    add_agent(app, "leo")
    add_agent(app, "eva", capacity=1)
    return {name: login(client, name) for name in ("ana", "leo", "eva")}


def handoff(client, cid: str) -> int:
    r = client.post("/api/handoffs", json=packet(cid), headers=BOT)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def board(client, headers) -> dict:
    r = client.get("/api/supervisor/agents", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def agents(client, headers) -> dict[str, dict]:
    return {a["username"]: a for a in board(client, headers)["agents"]}


def seen_ago(app, username: str, seconds: float) -> None:
    with app.state.services.write_sessions()() as s:
        s.execute(update(Agent).where(Agent.username == username)
                  .values(last_seen_at=now_utc() - timedelta(seconds=seconds)))
        s.commit()


def audit(client, headers, hid: int) -> list[dict]:
    events = client.get(f"/api/handoffs/{hid}", headers=headers).json()["events"]
    return [e for e in events if e["type"] in ("taken_over", "reassigned", "returned_to_queue")]


def log_rows(app, hid: int) -> list[EventLogEntry]:
    with app.state.services.sessions() as s:
        return list(s.scalars(select(EventLogEntry).where(EventLogEntry.handoff_id == hid)
                              .order_by(EventLogEntry.id)))


def test_presence_comes_from_the_heartbeat_and_the_status_the_agent_sets(app, client, team):
    ana, leo = team["ana"], team["leo"]
    assert {a["presence"] for a in agents(client, ana).values()} == {"online"}  # all logged in

    assert client.post("/api/me/status", json={"status": "away"}, headers=leo).status_code == 200
    assert agents(client, ana)["leo"]["presence"] == "away"
    me = client.get("/api/me", headers=leo).json()
    assert (me["status"], me["presence"]) == ("away", "away")
    # an away agent is not counted as present for the shopper's wait estimate
    assert client.get("/api/dashboard/live", headers=ana).json()["agents_online"] == 2

    seen_ago(app, "eva", 10_000)  # console closed long ago
    assert agents(client, ana)["eva"]["presence"] == "offline"
    client.get("/api/me", headers=team["eva"])  # the console comes back: a heartbeat
    assert agents(client, ana)["eva"]["presence"] == "online"

    assert client.post("/api/me/status", json={"status": "online"}, headers=leo).status_code == 200
    assert agents(client, ana)["leo"]["presence"] == "online"
    bad = client.post("/api/me/status", json={"status": "invisible"}, headers=leo)
    assert bad.status_code == 422

    client.post("/api/me/status", json={"status": "away"}, headers=leo)
    client.post("/api/auth/logout", headers=leo)
    assert agents(client, ana)["leo"]["presence"] == "offline"  # logging out is leaving
    login(client, "leo")
    assert agents(client, ana)["leo"]["presence"] == "online"  # back at work: online again


def test_load_counts_assigned_conversations(client, team):
    ana, leo = team["ana"], team["leo"]
    ids = [handoff(client, f"load-{i}") for i in range(2)]
    for hid in ids:
        assert client.post(f"/api/handoffs/{hid}/claim", headers=leo).status_code == 200
    rows = agents(client, ana)
    assert (rows["leo"]["load"], rows["leo"]["capacity"]) == (2, 3)
    assert (rows["eva"]["load"], rows["eva"]["capacity"]) == (0, 1)
    listed = board(client, ana)["conversations"]
    assert {c["id"]: c["agent_name"] for c in listed} == {ids[0]: "Leo", ids[1]: "Leo"}


def test_only_supervisors_see_the_board_and_move_conversations(client, team):
    leo = team["leo"]
    hid = handoff(client, "roles")
    assert client.get("/api/supervisor/agents", headers=leo).status_code == 403
    for path, body in (("take-over", {}), ("reassign", {"agent_username": "leo"}),
                       ("return-to-queue", {})):
        r = client.post(f"/api/supervisor/handoffs/{hid}/{path}", json=body, headers=leo)
        assert r.status_code == 403, path
        assert r.json()["detail"] == "Only supervisors can do this"
    client.cookies.clear()  # the last login's session cookie
    assert client.get("/api/supervisor/agents").status_code == 401


def test_take_over_from_an_agent_is_audited_in_the_conversation_and_the_event_log(
        app, client, team):
    ana, leo = team["ana"], team["leo"]
    hid = handoff(client, "take")
    client.post(f"/api/handoffs/{hid}/claim", headers=leo)
    r = client.post(f"/api/supervisor/handoffs/{hid}/take-over", headers=ana)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["agent_name"], r.json()["changed"]) == (
        "assigned", "Ana", True)
    leo_id = agents(client, ana)["leo"]["id"]
    ana_id = agents(client, ana)["ana"]["id"]
    [event] = audit(client, ana, hid)
    assert event["agent_id"] == ana_id
    assert event["data"]["from_agent_id"] == leo_id and event["data"]["to_agent_id"] == ana_id
    # the agent who had it can no longer reply, and it left their "Mis conversaciones"
    refused = client.post(f"/api/handoffs/{hid}/messages", json={"text": "sigo aquí"}, headers=leo)
    assert refused.status_code == 409
    assert client.get("/api/queue", headers=leo).json()["assigned"] == []
    assert [h["id"] for h in client.get("/api/queue", headers=ana).json()["assigned"]] == [hid]
    # the supervisor can work it
    assert client.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola, soy Ana"},
                       headers=ana).status_code == 201
    rows = [(row.type, row.agent_id, row.value) for row in log_rows(app, hid)]
    assert ("supervisor_take_over", ana_id, float(ana_id)) in rows
    assert client.post(f"/api/supervisor/handoffs/{hid}/take-over",
                       headers=ana).json()["changed"] is False  # again: nothing happens


def test_reassign_a_queued_conversation_counts_as_a_claim(app, client, team):
    ana, leo = team["ana"], team["leo"]
    hid = handoff(client, "reassign-q")
    r = client.post(f"/api/supervisor/handoffs/{hid}/reassign", json={"agent_username": "leo"},
                    headers=ana)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["agent_name"]) == ("assigned", "Leo")
    assert [h["id"] for h in client.get("/api/queue", headers=leo).json()["assigned"]] == [hid]
    types = [row.type for row in log_rows(app, hid)]
    assert types == ["handoff_created", "handoff_claimed", "supervisor_reassign"]
    metrics = client.get("/api/dashboard/summary", headers=ana).json()
    assert metrics["wait_seconds"]["count"] == 1  # waiting time ended with the reassignment


def test_reassign_refuses_offline_unknown_and_full_agents(app, client, team):
    ana, leo, eva = team["ana"], team["leo"], team["eva"]
    hid = handoff(client, "refuse")
    other = handoff(client, "eva-busy")
    client.post(f"/api/handoffs/{other}/claim", headers=eva)  # eva: 1 of 1

    def reassign(username: str, **extra):
        return client.post(f"/api/supervisor/handoffs/{hid}/reassign",
                           json={"agent_username": username, **extra}, headers=ana)

    assert reassign("nobody").status_code == 404
    full = reassign("eva")
    assert full.status_code == 409 and "capacity" in full.json()["detail"]
    assert reassign("eva", over_capacity=True).status_code == 200
    assert agents(client, ana)["eva"]["load"] == 2
    seen_ago(app, "leo", 10_000)
    offline = reassign("leo")
    assert offline.status_code == 409 and "offline" in offline.json()["detail"]
    assert leo  # logged in, but not seen: offline is offline
    assert [e["data"]["to_agent_id"] for e in audit(client, ana, hid)] == [
        agents(client, ana)["eva"]["id"]]  # refusals leave no audit event


def test_return_to_queue_puts_it_back_in_its_old_place(app, client, team):
    ana, leo = team["ana"], team["leo"]
    first = handoff(client, "rq-1")
    second = handoff(client, "rq-2")
    client.post(f"/api/handoffs/{first}/claim", headers=leo)
    r = client.post(f"/api/supervisor/handoffs/{first}/return-to-queue", headers=ana)
    assert r.status_code == 200 and (r.json()["status"], r.json()["agent_id"]) == ("queued", None)
    queue = client.get("/api/queue", headers=leo).json()
    assert [h["id"] for h in queue["queued"]] == [first, second]  # waited longest: first again
    assert queue["assigned"] == []
    assert client.post(f"/api/supervisor/handoffs/{first}/return-to-queue",
                       headers=ana).json()["changed"] is False
    claimed = client.post("/api/handoffs/claim-next", headers=team["eva"]).json()
    assert claimed["id"] == first
    types = [row.type for row in log_rows(app, first)]
    assert types == ["handoff_created", "handoff_claimed", "supervisor_return",
                     "handoff_claimed"]
    [event] = audit(client, ana, first)
    assert event["from"] == "assigned" and event["to"] == "queued"


def test_closed_conversations_cannot_be_moved(client, team):
    ana, leo = team["ana"], team["leo"]
    hid = handoff(client, "closed")
    client.post(f"/api/handoffs/{hid}/claim", headers=leo)
    client.post(f"/api/handoffs/{hid}/resolve", headers=leo)
    for path, body in (("take-over", {}), ("reassign", {"agent_username": "leo"}),
                       ("return-to-queue", {})):
        r = client.post(f"/api/supervisor/handoffs/{hid}/{path}", json=body, headers=ana)
        assert r.status_code == 409 and "resolved" in r.json()["detail"], path
    assert client.post("/api/supervisor/handoffs/999999/take-over",
                       headers=ana).status_code == 404


def test_racing_moves_leave_one_holder_and_one_audit_event_each(app, client, team):
    """Two supervisors act on the same conversation at once, 10 times: every answer is a 200 or a
    409, the conversation ends with exactly one holder, and each 200 left exactly one audit
    event (none lost, none duplicated)."""
    add_agent(app, "sol", role="supervisor")
    sol = login(client, "sol")
    ana, leo = team["ana"], team["leo"]
    for round_ in range(10):
        hid = handoff(client, f"race-{round_}")
        client.post(f"/api/handoffs/{hid}/claim", headers=leo)
        answers: list[int] = []

        def act(headers, path, hid=hid, answers=answers):
            answers.append(client.post(f"/api/supervisor/handoffs/{hid}/{path}",
                                       headers=headers).status_code)

        threads = [threading.Thread(target=act, args=(ana, "take-over")),
                   threading.Thread(target=act, args=(sol, "return-to-queue"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert set(answers) <= {200, 409}
        detail = client.get(f"/api/handoffs/{hid}", headers=ana).json()
        moves = audit(client, ana, hid)
        assert len(moves) == answers.count(200)
        assert detail["status"] in ("queued", "assigned")
        assert (detail["agent_id"] is None) == (detail["status"] == "queued")
        if detail["status"] == "assigned":
            assert client.post(f"/api/handoffs/{hid}/resolve", headers=ana).status_code == 200
