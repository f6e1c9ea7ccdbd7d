"""Attack: read a shopper's web chat at the handoff API knowing (or guessing) its conversation id.

The widget's replay, queue and live-stream routes answer only to the conversation token Rasa
issued (``X-Atiende-Conversation`` header); an id from a log, a guessed one, a forged or borrowed
token read nothing — on SQLite and PostgreSQL. The old id-in-the-URL routes are gone (an id in a
URL also lands in every access log).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from contracts import web_conversation as wc
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
    widget_auth,
)

VICTIM = wc.new_conversation_id()
OTHER = wc.new_conversation_id()


@pytest.fixture
def client(database_url: str):  # noqa: F811
    app = create_app(make_settings(database_url))
    with TestClient(app) as c:
        add_agent(app, "leo")
        leo = login(c, "leo")
        hid = c.post("/api/handoffs", json=packet(VICTIM, channel="socketio"),
                     headers=BOT).json()["id"]
        c.post(f"/api/handoffs/{hid}/claim", headers=leo)
        sent = c.post(f"/api/handoffs/{hid}/messages", headers=leo,
                      json={"text": "Tu pedido AT101001 llega mañana a Calle Mayor 5."})
        assert sent.status_code == 201, sent.text
        c.cookies.clear()  # the attacker is not logged in
        yield c
    app.state.services.engine.dispose()


FORGERIES = {
    "no header": {},
    "the id itself": {wc.HEADER: VICTIM},
    "the id with a made-up signature": {wc.HEADER: f"{VICTIM}.{'x' * 43}"},
    "another conversation's signature": {
        wc.HEADER: f"{VICTIM}.{widget_auth(OTHER)[wc.HEADER].rsplit('.', 1)[1]}"},
    "signed with another key": {wc.HEADER: wc.token_for(wc.signing_key("guessed-key"), VICTIM)},
    "in a cookie instead": {"Cookie": f"{wc.HEADER}={widget_auth(VICTIM)[wc.HEADER]}"},
}


@pytest.mark.parametrize("name", FORGERIES)
def test_without_the_token_nothing_is_read(client: TestClient, name: str) -> None:
    headers = FORGERIES[name]
    for path in ("/api/widget/messages", "/api/widget/queue", "/api/widget/stream"):
        r = client.get(path, headers=headers)
        assert r.status_code == 401, (path, r.status_code)
        assert "Calle Mayor" not in r.text and VICTIM not in r.text


def test_the_old_id_in_the_url_routes_are_gone(client: TestClient) -> None:
    for path in (f"/api/widget/{VICTIM}/messages", f"/api/widget/{VICTIM}/queue",
                 f"/api/widget/{VICTIM}/stream", f"/api/widget/{VICTIM}/messages?after=0"):
        r = client.get(path)
        assert r.status_code == 404 and "Calle Mayor" not in r.text


def test_the_token_in_the_url_is_not_accepted_either(client: TestClient) -> None:
    token = widget_auth(VICTIM)[wc.HEADER]
    for path in ("/api/widget/messages", "/api/widget/queue"):
        r = client.get(path, params={"token": token, "conversation": token})
        assert r.status_code == 401


def test_the_holder_of_the_token_reads_their_conversation(client: TestClient) -> None:
    mine = client.get("/api/widget/messages", headers=widget_auth(VICTIM))
    assert [m["text"] for m in mine.json()["messages"]] == [
        "Tu pedido AT101001 llega mañana a Calle Mayor 5."]
    assert client.get("/api/widget/queue", headers=widget_auth(VICTIM)).json()["status"] == \
        "assigned"
    # a valid token of ANOTHER conversation reads only that (empty) conversation
    other = client.get("/api/widget/messages", headers=widget_auth(OTHER))
    assert other.status_code == 200 and other.json() == {"messages": []}
