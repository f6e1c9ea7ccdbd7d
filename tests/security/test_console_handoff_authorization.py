"""Attack: an agent reads, or writes notes into, a conversation a colleague handles — the packet
holds the transcript, the order and the customer's contact details.

The rule (``handoff_api.routes.handoffs.VISIBLE_TO_ALL``): supervisors see every handoff; an
agent sees the ones they hold or took part in, and any handoff nobody holds yet (queued: to decide
whether to claim it; offline: any agent may write the answer). Anything else is 403, for reading
the detail and for adding notes; the console's live stream does not carry another agent's
messages or notes either. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from handoff_api.app import create_app
from tests.handoff_api.conftest import (  # noqa: F401 - fixtures
    BOT,
    _fast_bcrypt,
    add_agent,
    database_url,
    login,
    make_settings,
    packet,
    pg_database_url,
)
from tests.security.console_helpers import PASSWORD, live_server, read_events

SECRET = "Calle Mayor 5, 3ºB"


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:  # noqa: F811
    app = create_app(make_settings(database_url))
    for name, role in (("leo", "agent"), ("mia", "agent"), ("ana", "supervisor")):
        add_agent(app, name, role=role)
    with TestClient(app) as c:
        yield c
    app.state.services.engine.dispose()


def test_another_agents_conversation_is_closed_to_a_colleague(client: TestClient) -> None:
    leo, mia, ana = login(client, "leo"), login(client, "mia"), login(client, "ana")
    client.cookies.clear()
    hid = client.post("/api/handoffs", json=packet("c-leo", customer={"name": "Lucía",
                                                                      "address": SECRET}),
                      headers=BOT).json()["id"]
    queued = client.post("/api/handoffs", json=packet("c-open"), headers=BOT).json()["id"]
    # while queued, every agent may look (to decide whether to take it)
    assert client.get(f"/api/handoffs/{hid}", headers=mia).status_code == 200
    assert client.post(f"/api/handoffs/{hid}/claim", headers=leo).status_code == 200
    assert client.post(f"/api/handoffs/{hid}/notes", headers=leo,
                       json={"text": "cliente VIP, cuidado"}).status_code == 201

    for when in ("assigned", "resolved"):
        r = client.get(f"/api/handoffs/{hid}", headers=mia)
        assert r.status_code == 403, when
        assert SECRET not in r.text and "cuidado" not in r.text
        note = client.post(f"/api/handoffs/{hid}/notes", headers=mia, json={"text": "hola"})
        assert note.status_code == 403, when
        # the holder and supervisors still can
        assert client.get(f"/api/handoffs/{hid}", headers=leo).status_code == 200
        seen = client.get(f"/api/handoffs/{hid}", headers=ana)
        assert seen.status_code == 200 and seen.json()["packet"]["customer"]["address"] == SECRET
        assert client.post(f"/api/handoffs/{hid}/notes", headers=ana,
                           json={"text": "revisado"}).status_code == 201
        if when == "assigned":
            assert client.post(f"/api/handoffs/{hid}/resolve", headers=leo).status_code == 200
    notes = client.get(f"/api/handoffs/{hid}", headers=leo).json()["notes"]
    assert [n["text"] for n in notes] == ["cliente VIP, cuidado", "revisado", "revisado"]
    # a queued one stays open to everyone, notes included
    assert client.get(f"/api/handoffs/{queued}", headers=mia).status_code == 200
    assert client.post(f"/api/handoffs/{queued}/notes", headers=mia,
                       json={"text": "lo cojo yo"}).status_code == 201


def test_a_transfer_hands_the_conversation_over(client: TestClient) -> None:
    leo, mia = login(client, "leo"), login(client, "mia")
    client.cookies.clear()
    hid = client.post("/api/handoffs", json=packet("c-transfer"), headers=BOT).json()["id"]
    client.post(f"/api/handoffs/{hid}/claim", headers=leo)
    assert client.get(f"/api/handoffs/{hid}", headers=mia).status_code == 403
    assert client.post(f"/api/handoffs/{hid}/transfer", headers=leo,
                       json={"agent_username": "mia"}).status_code == 200
    assert client.get(f"/api/handoffs/{hid}", headers=mia).status_code == 200
    assert client.get(f"/api/handoffs/{hid}", headers=leo).status_code == 200  # took part


def test_the_live_stream_does_not_carry_a_colleagues_conversation(tmp_path) -> None:
    with live_server(f"sqlite:///{tmp_path / 'h.db'}") as (base, app):
        for name in ("leo", "mia"):
            add_agent(app, name)
        with httpx.Client(base_url=base, timeout=10) as http:
            tokens = {n: http.post("/api/auth/login", json={"username": n, "password": PASSWORD}
                                   ).json()["token"] for n in ("leo", "mia")}
            leo = {"Authorization": f"Bearer {tokens['leo']}"}
            mia = {"Authorization": f"Bearer {tokens['mia']}"}
            http.cookies.clear()
            hid = http.post("/api/handoffs", json=packet("c-live-authz"), headers=BOT).json()["id"]
            http.post(f"/api/handoffs/{hid}/claim", headers=leo)
            with httpx.Client(base_url=base, timeout=10) as sse, \
                    sse.stream("GET", "/api/stream", headers=mia) as stream:
                lines = stream.iter_lines()
                read_events(lines, 1)  # ready
                said = http.post("/api/conversations/c-live-authz/messages", headers=BOT,
                                 json={"message_id": "m-1", "text": f"mi dirección es {SECRET}"})
                assert said.status_code == 201, said.text
                noted = http.post(f"/api/handoffs/{hid}/notes", headers=leo,
                                  json={"text": "nota privada"})
                assert noted.status_code == 201
                # something mia may see, to know the stream has moved past the private events
                other = http.post("/api/handoffs", json=packet("c-live-other"),
                                  headers=BOT).json()["id"]
                events = read_events(lines, 10, stop="handoff_created")
        names = [name for name, _ in events]
        assert names[-1] == "handoff_created" and events[-1][1]["id"] == other
        assert "message" not in names and "note" not in names, events
