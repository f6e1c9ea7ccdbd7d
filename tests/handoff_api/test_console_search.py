"""What the agent console reads besides the queue (issue #14, "agent console quality"): search over
closed conversations and a customer's history (``GET /api/handoffs/search``), the queue cards'
latest message and shopper-message count, the titles of the buttons the bot offered, and the
shopper's typing state (``POST /api/widget/typing``). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.handoff_api.conftest import BOT, add_agent, login, packet, widget_auth
from tests.handoff_api.live import live_server


@pytest.fixture
def team(app, client):
    add_agent(app, "ana", role="supervisor")
    add_agent(app, "leo")
    add_agent(app, "eva")
    return {name: login(client, name) for name in ("ana", "leo", "eva")}


def verified(email: str, phone: str, order_id: str = "AT100234") -> dict[str, Any]:
    """The order snapshot the bot sends after the identity check (``actions.handoff_packet``)."""
    return {"id": order_id, "status": "shipped", "currency": "EUR", "total_cents": 13890,
            "customer": {"name": "Lucía García", "email": email, "phone": phone,
                         "market": "ES"}}


def handled(client, who: dict[str, str], cid: str, *, close: str | None = "resolve",
            say: list[str] = (), **fields: Any) -> int:
    """A handoff the agent ``who`` claimed, talked in and (by default) resolved."""
    hid = client.post("/api/handoffs", json=packet(cid, **fields), headers=BOT).json()["id"]
    assert client.post(f"/api/handoffs/{hid}/claim", headers=who).status_code == 200
    for i, text in enumerate(say):
        client.post(f"/api/conversations/{cid}/messages",
                    json={"message_id": f"{cid}-u{i}", "text": text}, headers=BOT)
    if close:
        assert client.post(f"/api/handoffs/{hid}/{close}", headers=who).status_code == 200
    return hid


def search(client, who, **params: Any) -> httpx.Response:
    return client.get("/api/handoffs/search", params=params, headers=who)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


def test_search_needs_an_agent_and_a_criterion(client, team):
    client.cookies.clear()  # the logins' cookie would authenticate it
    assert client.get("/api/handoffs/search?q=hola").status_code == 401
    for params, why in (({}, "at least one"), ({"q": "   "}, "at least"),
                        ({"phone": "+34 --- ---"}, "6 digits")):
        r = search(client, team["leo"], **params)
        assert r.status_code == 422 and why in json.dumps(r.json()["detail"]), (params, r.text)
    for params in ({"q": "x"}, {"email": "not-an-email"}, {"phone": "call me"},
                   {"limit": 0}, {"limit": 101}, {"status": "open"}, {"before_id": 0},
                   {"q": "a" * 201},
                   # a NUL reached PostgreSQL as a 500 before the patterns refused it
                   {"q": "ab\x00cd"}, {"email": "a\x00@b.example"}, {"channel_id": "c\x00"}):
        r = search(client, team["leo"], **params)
        assert r.status_code == 422, (params, r.text)
        detail = r.json()["detail"][0]  # names the parameter and says why
        assert detail["loc"] == ["query", next(iter(params))] and detail["msg"]


def test_customer_history_by_verified_email_phone_or_channel_id(client, team):
    leo = team["leo"]
    lucia = verified("Lucia.Garcia@example.com", "+34 600 111 222")
    first = handled(client, leo, "web-1", order=lucia)
    second = handled(client, leo, "34600111222", channel="whatsapp")  # her WhatsApp number
    third = handled(client, leo, "web-3", order=verified("lucia.garcia@example.com",
                                                         "600-111-999", "AT100300"))
    # typed by the shopper, never verified: not her identity
    handled(client, leo, "web-4", slots={"customer_contact": "lucia.garcia@example.com"},
            customer={"vip": False, "email": "lucia.garcia@example.com"})
    other = handled(client, leo, "web-5", order=verified("pedro@example.com", "+34 611 000 000"))
    still_open = handled(client, leo, "web-6", close=None, order=lucia)

    assert ids(search(client, leo, email="LUCIA.GARCIA@example.com")) == [third, first]
    assert ids(search(client, leo, phone="0034600111222")) == []  # digits must match as given
    assert ids(search(client, leo, phone="+34600111222")) == [second, first]
    assert ids(search(client, leo, phone="(34) 600 111 222")) == [second, first]
    assert ids(search(client, leo, channel_id="web-5")) == [other]
    # identities are OR-ed: every conversation of the same customer
    assert ids(search(client, leo, email="lucia.garcia@example.com",
                      phone="+34 600 111 222")) == [third, second, first]
    # closed ones by default; status=all adds the open one (the console's history panel)
    assert ids(search(client, leo, email="lucia.garcia@example.com", status="all")) == \
        [still_open, third, first]


def test_text_search_sees_only_what_the_agent_may_read(client, team):
    leo, eva, ana = team["leo"], team["eva"], team["ana"]
    mine = handled(client, leo, "web-a", say=["El paquete llegó roto, 100% destrozado"])
    hers = handled(client, eva, "web-b", say=["La caja llegó ROTA y mojada"],
                   order=verified("maria@example.com", "+34 622 333 444"))
    handled(client, leo, "web-c", say=["Todo perfecto, gracias"])

    found = search(client, leo, q="llegó rot")
    assert ids(found) == [mine]  # eva's conversation matches too, but it is hers
    assert found.json()["results"][0]["snippet"] == "El paquete llegó roto, 100% destrozado"
    assert found.json()["results"][0]["readable"] is True
    assert ids(search(client, ana, q="llegó rot")) == [hers, mine]  # supervisors see all
    # (SQLite folds the case of ASCII letters only; PostgreSQL of every letter)
    assert ids(search(client, eva, q="llegó ROTA")) == [hers]
    # LIKE wildcards in the query are literal text
    assert ids(search(client, leo, q="100%")) == [mine]
    assert ids(search(client, leo, q="_%")) == []
    # by the customer's name, the order number or the conversation id
    assert len(ids(search(client, ana, q="lucía"))) == 3
    assert ids(search(client, ana, q="web-b")) == [hers]
    assert ids(search(client, ana, q="at100234")) == ids(search(client, ana, q="AT100234"))

    # an identity search lists a colleague's conversation with that customer, without content
    history = search(client, leo, email="maria@example.com").json()["results"]
    assert [h["id"] for h in history] == [hers]
    assert history[0]["readable"] is False and history[0]["agent_name"] == "Eva"
    assert not {"customer", "last_user_text", "conversation_id"} & set(history[0])
    assert history[0]["snippet"] is None
    # ... and the same search with text does not reveal what is in it
    assert ids(search(client, leo, email="maria@example.com", q="rota")) == []
    assert client.get(f"/api/handoffs/{hers}", headers=leo).status_code == 403  # unchanged rule
    full = search(client, ana, email="maria@example.com").json()["results"][0]
    assert full["readable"] is True and full["customer"]["name"] == "Lucía"


def test_search_pages_newest_first(client, team):
    leo = team["leo"]
    made = [handled(client, leo, f"web-p{i}", say=[f"pedido perdido {i}"]) for i in range(5)]
    page = search(client, leo, q="perdido", limit=2).json()
    assert [r["id"] for r in page["results"]] == [made[4], made[3]]
    seen = [r["id"] for r in page["results"]]
    while page["next_before_id"]:
        page = search(client, leo, q="perdido", limit=2, before_id=page["next_before_id"]).json()
        seen += [r["id"] for r in page["results"]]
    assert seen == made[::-1]


def test_queue_cards_get_the_latest_message_and_shopper_count(client, team):
    leo = team["leo"]
    transcript = [
        {"role": "bot", "text": "¿Quieres hablar con una persona?", "ts": 1_700_000_000.0,
         "buttons": [{"title": "Hablar con una persona", "payload": "/human_handoff"},
                     {"title": "No, gracias", "payload": "/deny"}]},
        {"role": "user", "text": "/human_handoff", "ts": 1_700_000_001.0},
    ]
    hid = client.post("/api/handoffs", json=packet("c-q", transcript=transcript),
                      headers=BOT).json()["id"]
    queued = client.get("/api/queue", headers=leo).json()["queued"][0]
    assert queued["shopper_messages"] == 0 and queued["last_message"] is None
    assert queued["last_user_text"] == "/human_handoff"
    assert queued["button_titles"] == {"/human_handoff": "Hablar con una persona",
                                       "/deny": "No, gracias"}
    for i, text in enumerate(["¿Hola?", "¿Hay alguien?"]):
        client.post("/api/conversations/c-q/messages", json={"message_id": f"q{i}", "text": text},
                    headers=BOT)
    queued = client.get("/api/queue", headers=leo).json()["queued"][0]
    assert queued["shopper_messages"] == 2 and queued["last_message"]["text"] == "¿Hay alguien?"

    client.post(f"/api/handoffs/{hid}/claim", headers=leo)
    client.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola, soy Leo"}, headers=leo)
    mine = client.get("/api/queue", headers=leo).json()["assigned"][0]
    assert mine["shopper_messages"] == 2
    assert mine["last_message"]["role"] == "agent"
    assert mine["last_message"]["text"] == "Hola, soy Leo"
    assert client.get(f"/api/handoffs/{hid}", headers=leo).json()["button_titles"][
        "/human_handoff"] == "Hablar con una persona"


def test_widget_typing_route(client, team):
    client.cookies.clear()
    body = {"typing": True}
    assert client.post("/api/widget/typing", json=body).status_code == 401
    nobody = client.post("/api/widget/typing", json=body, headers=widget_auth("c-none"))
    assert nobody.status_code == 404 and "No open handoff" in nobody.json()["detail"]
    client.post("/api/handoffs", json=packet("c-t"), headers=BOT)
    assert client.post("/api/widget/typing", json={"typing": "maybe"},
                       headers=widget_auth("c-t")).status_code == 422
    ok = client.post("/api/widget/typing", json=body, headers=widget_auth("c-t"))
    assert ok.status_code == 204 and ok.content == b""


def _events(lines, wanted: int) -> list[tuple[str, dict]]:
    events, name = [], None
    for line in lines:
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and name:
            events.append((name, json.loads(line.split(":", 1)[1])))
            name = None
            if len(events) >= wanted:
                break
    return events


def test_typing_reaches_only_agents_who_may_read_the_conversation(tmp_path):
    """The holder gets ``typing``; a colleague does not (the event is private like messages),
    nor the typing of a conversation held by someone else."""
    with live_server(f"sqlite:///{tmp_path / 'h.db'}") as (base, app):
        add_agent(app, "leo")
        add_agent(app, "eva")
        with httpx.Client(base_url=base, timeout=10) as http:
            heads = {}
            for name in ("leo", "eva"):
                token = http.post("/api/auth/login", json={"username": name,
                                                           "password": "password-123"}).json()
                heads[name] = {"Authorization": f"Bearer {token['token']}"}
            http.cookies.clear()
            held = http.post("/api/handoffs", json=packet("c-held"), headers=BOT).json()["id"]
            http.post(f"/api/handoffs/{held}/claim", headers=heads["leo"])
            with httpx.Client(base_url=base, timeout=10) as sse, \
                    sse.stream("GET", "/api/stream", headers=heads["eva"]) as stream:
                lines = stream.iter_lines()
                assert _events(lines, 1)[0][0] == "ready"
                assert http.post("/api/widget/typing", json={"typing": True},
                                 headers=widget_auth("c-held")).status_code == 204
                # then a queued one, which every agent may read: the first event eva gets
                queued = http.post("/api/handoffs", json=packet("c-wait"), headers=BOT).json()
                assert http.post("/api/widget/typing", json={"typing": True},
                                 headers=widget_auth("c-wait")).status_code == 204
                got = _events(lines, 2)
            assert got[0][0] == "handoff_created"
            assert got[1] == ("typing", {"handoff_id": queued["id"], "agent_id": None,
                                         "status": "queued", "typing": True})
            with httpx.Client(base_url=base, timeout=10) as sse, \
                    sse.stream("GET", "/api/stream", headers=heads["leo"]) as stream:
                lines = stream.iter_lines()
                _events(lines, 1)
                http.post("/api/widget/typing", json={"typing": False},
                          headers=widget_auth("c-held"))
                [(name, data)] = _events(lines, 1)
            assert name == "typing" and data["handoff_id"] == held and data["typing"] is False


def test_typing_from_a_store_on_another_domain(database_url):
    """The widget on the store's own domain may send the typing signal (CORS preflight for the
    listed origin, no cookie involved); every cookie-authenticated POST from there stays refused,
    and an unlisted origin gets no CORS permission."""
    from fastapi.testclient import TestClient

    from handoff_api.app import create_app
    from tests.handoff_api.conftest import make_settings

    shop = "https://tienda.example"
    app = create_app(make_settings(database_url, cors_origins=shop))
    add_agent(app, "leo")
    try:
        with TestClient(app) as client:
            client.post("/api/handoffs", json=packet("c-x"), headers=BOT)
            preflight = client.options("/api/widget/typing", headers={
                "Origin": shop, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-atiende-conversation"})
            assert preflight.status_code == 200
            assert preflight.headers["access-control-allow-origin"] == shop
            evil = client.options("/api/widget/typing", headers={
                "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-atiende-conversation"})
            assert "access-control-allow-origin" not in evil.headers
            sent = client.post("/api/widget/typing", json={"typing": True},
                               headers={"Origin": shop, **widget_auth("c-x")})
            assert sent.status_code == 204
            assert sent.headers["access-control-allow-origin"] == shop
            token = login(client, "leo")
            note = client.post("/api/handoffs/1/notes", json={"text": "x"},
                               headers={"Origin": shop, **token})
            assert note.status_code == 403 and "Cross-origin" in note.json()["detail"]
    finally:
        app.state.services.engine.dispose()


def test_typing_flood_is_slowed_politely(database_url):
    """The typing signal shares the widget's per-client limit: a flood gets 429 with Retry-After,
    not a console stream full of events."""
    from fastapi.testclient import TestClient

    from handoff_api.app import create_app
    from tests.handoff_api.conftest import make_settings

    app = create_app(make_settings(database_url, public_rate_limit="5/minute"))
    try:
        with TestClient(app) as client:
            client.post("/api/handoffs", json=packet("c-f"), headers=BOT)
            codes = [client.post("/api/widget/typing", json={"typing": i % 2 == 0},
                                 headers=widget_auth("c-f")) for i in range(8)]
            assert [c.status_code for c in codes[:5]] == [204] * 5
            assert {c.status_code for c in codes[5:]} == {429}
            assert int(codes[-1].headers["Retry-After"]) > 0
    finally:
        app.state.services.engine.dispose()
