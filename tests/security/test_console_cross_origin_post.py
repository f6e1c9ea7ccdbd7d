"""Attack: make a logged-in agent's browser change something in the console from another site
or origin (CSRF) — claim a conversation, add a note, log in with the attacker's account.

Refused two ways: any state-changing request whose ``Origin`` is not the API's own (or with
``Sec-Fetch-Site: cross-site``) is answered 403 before a route runs; and a request authenticated by
the session cookie must carry ``X-CSRF-Token``, which another origin cannot read. Checked through
the API (SQLite and PostgreSQL) and in real Chromium from a page on another origin of the same
host (same-site: SameSite cookies alone would not stop it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from handoff_api.app import create_app
from tests.e2e import conftest as e2e
from tests.handoff_api.conftest import (  # noqa: F401 - fixtures
    BOT,
    _fast_bcrypt,
    add_agent,
    database_url,
    make_settings,
    packet,
    pg_database_url,
)
from tests.security.console_helpers import PASSWORD, module_browser, other_origin_page

ORIGIN = "http://testserver"  # TestClient's own origin


@pytest.fixture
def app(database_url: str) -> Iterator[Any]:  # noqa: F811
    application = create_app(make_settings(database_url))
    add_agent(application, "leo")
    yield application
    application.state.services.engine.dispose()


def cookie_login(client: TestClient) -> str:
    r = client.post("/api/auth/login", json={"username": "leo", "password": PASSWORD})
    assert r.status_code == 200 and "atiende_session" in client.cookies
    return r.json()["csrf_token"]


def test_cross_origin_and_tokenless_posts_are_refused(app: Any) -> None:
    with TestClient(app) as client:
        csrf = cookie_login(client)
        hid = client.post("/api/handoffs", json=packet("c-csrf"), headers=BOT).json()["id"]
        note = {"text": "nota del atacante"}
        attacks = {
            "another origin": {"Origin": "https://evil.example", "X-CSRF-Token": csrf},
            "another port of this host": {"Origin": "http://testserver:8081"},
            "null origin (sandboxed frame)": {"Origin": "null"},
            "cross-site fetch without Origin": {"Sec-Fetch-Site": "cross-site"},
            "same origin, no CSRF token": {"Origin": ORIGIN},
            "no Origin, no CSRF token (a form post stripped of it)": {},
            "a wrong CSRF token": {"X-CSRF-Token": "0" * 64},
        }
        for name, headers in attacks.items():
            for path, body in ((f"/api/handoffs/{hid}/notes", note),
                               (f"/api/handoffs/{hid}/claim", None),
                               ("/api/handoffs/claim-next", None), ("/api/auth/logout", None)):
                r = client.post(path, json=body, headers=headers)
                assert r.status_code == 403, (name, path, r.status_code, r.text)
                assert "refused" in r.json()["detail"] or "X-CSRF-Token" in r.json()["detail"]
        detail = client.get(f"/api/handoffs/{hid}").json()
        assert detail["status"] == "queued" and detail["notes"] == []
        assert client.get("/api/me").status_code == 200  # logout was refused too

        # the console itself: same origin plus the token
        ok = client.post(f"/api/handoffs/{hid}/notes", json=note,
                         headers={"Origin": ORIGIN, "X-CSRF-Token": csrf})
        assert ok.status_code == 201
        # a reloaded console gets the token from /api/me (which another origin cannot read)
        assert client.get("/api/me").json()["csrf_token"] == csrf


def test_login_from_another_origin_is_refused(app: Any) -> None:
    """Login CSRF: logging the victim into the attacker's account."""
    with TestClient(app) as client:
        r = client.post("/api/auth/login", json={"username": "leo", "password": PASSWORD},
                        headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and "atiende_session" not in client.cookies


def test_api_clients_with_a_bearer_token_need_no_csrf_token(app: Any) -> None:
    """A bearer header is never attached by a browser on its own, so it needs no CSRF token."""
    with TestClient(app) as client:
        token = client.post("/api/auth/login",
                            json={"username": "leo", "password": PASSWORD}).json()["token"]
        client.cookies.clear()
        hid = client.post("/api/handoffs", json=packet("c-bearer"), headers=BOT).json()["id"]
        r = client.post(f"/api/handoffs/{hid}/claim", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200


# --- in a real browser -----------------------------------------------------------------------

handoff_server = e2e.handoff_server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with module_browser() as chromium:
        yield chromium


@pytest.mark.e2e
def test_a_page_on_another_origin_cannot_claim_for_the_agent(handoff_server, browser) -> None:
    created = handoff_server.create_handoff("web-csrf-browser-1")
    context = browser.new_context(locale="es-ES")
    try:
        page = context.new_page()
        page.goto(f"{handoff_server.url}/console/")
        page.fill("#login-username", "leo")
        page.fill("#login-password", e2e.DEMO_PASSWORD)
        page.click("#login-form button[type=submit]")
        page.locator("#app-view").wait_for(state="visible")
        # the agent, still logged in, opens a link to another site on the same host
        form = (f'<form method="POST" action="{handoff_server.url}/api/handoffs/claim-next">'
                '</form><script>document.forms[0].submit()</script>')
        with other_origin_page(form) as url:
            evil = context.new_page()
            with evil.expect_navigation(url=f"{handoff_server.url}/api/handoffs/claim-next"):
                evil.goto(url)
            assert "Cross-origin request refused" in evil.content()
            # a script on that page, fetching with the agent's cookies
            status = evil.evaluate(
                """async (u) => { try {
                     const r = await fetch(u, {method: 'POST', credentials: 'include'});
                     return r.status; } catch (e) { return 'blocked'; } }""",
                f"{handoff_server.url}/api/handoffs/claim-next")
            assert status in ("blocked", 403)
        with httpx.Client(base_url=handoff_server.url, timeout=10) as api:
            ana = {"username": "ana", "password": e2e.DEMO_PASSWORD}
            token = api.post("/api/auth/login", json=ana).json()["token"]
            state = api.get(f"/api/handoffs/{created['id']}",
                            headers={"Authorization": f"Bearer {token}"}).json()["status"]
        assert state == "queued"  # nobody claimed it on leo's behalf
    finally:
        context.close()
