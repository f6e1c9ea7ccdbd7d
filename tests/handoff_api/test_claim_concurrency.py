"""50 agents claiming at once never get the same conversation (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections import Counter

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from handoff_api.models import Agent, Handoff, HandoffEvent
from handoff_api.queue import claim_next, create_handoff
from tests.handoff_api.conftest import add_agent, packet

AGENTS = 50
HANDOFFS = 30


def test_fifty_agents_claim_at_once_without_double_claims(app):
    services = app.state.services
    for i in range(AGENTS):
        add_agent(app, f"agent{i:02d}")
    with services.write_sessions()() as s:
        for i in range(HANDOFFS):
            create_handoff(s, packet(f"conv-{i}"))
        s.commit()
        agents = s.scalars(select(Agent)).all()

    barrier = threading.Barrier(AGENTS)
    results: dict[int, int | None] = {}
    errors: list[BaseException] = []

    def work(agent: Agent) -> None:
        try:
            barrier.wait(timeout=30)
            with services.write_sessions()() as s:  # writers take the write lock up front
                got = claim_next(s, agent, default_capacity=3)
                s.commit()
                results[agent.id] = got.id if got else None
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(a,)) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    claimed = [hid for hid in results.values() if hid is not None]
    assert len(claimed) == HANDOFFS  # every conversation went to someone...
    assert not [hid for hid, n in Counter(claimed).items() if n > 1]  # ...and to one only
    with services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Handoff)
                        .where(Handoff.status == "queued")) == 0
        assigned_events = s.scalar(select(func.count()).select_from(HandoffEvent)
                                   .where(HandoffEvent.type == "assigned"))
        assert assigned_events == HANDOFFS
        owners = dict(s.execute(select(Handoff.id, Handoff.agent_id)).all())
    assert all(owners[hid] == aid for aid, hid in results.items() if hid is not None)


def test_capacity_holds_when_one_agent_claims_concurrently(app):
    services = app.state.services
    add_agent(app, "busy", capacity=2)
    with services.write_sessions()() as s:
        for i in range(10):
            create_handoff(s, packet(f"conv-{i}"))
        s.commit()
        agent = s.scalar(select(Agent).where(Agent.username == "busy"))
    barrier = threading.Barrier(8)
    got: list[int] = []

    def work() -> None:
        barrier.wait(timeout=30)
        with services.write_sessions()() as s:
            h = claim_next(s, agent, default_capacity=3)
            s.commit()
            if h:
                got.append(h.id)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(got) == 2


def test_concurrent_http_claims(app):
    """Same guarantee through the HTTP route (threads sharing one ASGI app)."""
    for i in range(10):
        add_agent(app, f"web{i}")
    with TestClient(app) as client:
        from tests.handoff_api.conftest import BOT, login

        for i in range(5):
            client.post("/api/handoffs", json=packet(f"c-{i}"), headers=BOT)
        tokens = [login(client, f"web{i}") for i in range(10)]
        barrier = threading.Barrier(10)
        claimed: list[int] = []

        def work(headers: dict[str, str]) -> None:
            barrier.wait(timeout=30)
            r = client.post("/api/handoffs/claim-next", headers=headers)
            if r.status_code == 200:
                claimed.append(r.json()["id"])
            else:
                assert r.status_code == 204, r.text

        threads = [threading.Thread(target=work, args=(h,)) for h in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 5


def test_concurrent_requests_for_one_conversation_open_one_handoff(app):
    """The bot retrying (or two channels racing) never queues the same conversation twice."""
    services = app.state.services
    barrier = threading.Barrier(10)
    ids: list[int] = []
    created: list[bool] = []

    def work() -> None:
        barrier.wait(timeout=30)
        with services.write_sessions()() as s:
            handoff, was_created = create_handoff(s, packet("same-conversation"))
            s.commit()
            ids.append(handoff.id)
            created.append(was_created)

    threads = [threading.Thread(target=work) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(ids) == 10 and len(set(ids)) == 1
    assert created.count(True) == 1
