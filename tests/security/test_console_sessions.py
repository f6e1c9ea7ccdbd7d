"""Attack: keep using a console session after it should have ended — a stolen cookie after the
agent logged out, a lost laptop after a supervisor revoked it, an old session past its expiry,
a live stream left open — or read the session from a script or a URL.

Sessions are rows in the handoff database (SQLite and PostgreSQL): logout and a supervisor's
revoke delete them, and the console's live stream ends too. The cookie is HttpOnly and
SameSite=Strict, and Secure in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from handoff_api.app import create_app
from handoff_api.models import Agent, AuthToken
from handoff_api.queue import now_utc
from tests.handoff_api.conftest import (  # noqa: F401 - fixtures
    _fast_bcrypt,
    add_agent,
    database_url,
    make_settings,
    pg_database_url,
)
from tests.security.console_helpers import PASSWORD, live_server, read_events


@pytest.fixture
def app(database_url: str) -> Iterator[Any]:  # noqa: F811
    application = create_app(make_settings(database_url))
    add_agent(application, "leo")
    add_agent(application, "ana", role="supervisor")
    yield application
    application.state.services.engine.dispose()


def log_in(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200
    return {"token": r.json()["token"], "csrf": r.json()["csrf_token"],
            "cookie": client.cookies["atiende_session"]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_logout_revokes_the_session_for_cookie_and_bearer(app: Any) -> None:
    with TestClient(app) as client:
        s = log_in(client, "leo")
        assert client.post("/api/auth/logout", headers={"X-CSRF-Token": s["csrf"]}
                           ).status_code == 200
    with TestClient(app) as thief:  # someone who copied the cookie or the token before
        thief.cookies.set("atiende_session", s["cookie"])
        assert thief.get("/api/me").status_code == 401
        thief.cookies.clear()
        assert thief.get("/api/me", headers=bearer(s["token"])).status_code == 401


def test_a_supervisor_revokes_every_session_of_an_agent(app: Any) -> None:
    with TestClient(app) as client:
        laptop, phone = log_in(client, "leo"), log_in(client, "leo")
        other = log_in(client, "ana")
        client.cookies.clear()
        with app.state.services.sessions() as s:
            leo_id = s.query(Agent.id).filter(Agent.username == "leo").scalar()
            ana_id = s.query(Agent.id).filter(Agent.username == "ana").scalar()
        # an agent cannot revoke others (nor is it a way to probe ids)
        assert client.post(f"/api/agents/{ana_id}/sessions/revoke",
                           headers=bearer(laptop["token"])).status_code == 403
        r = client.post(f"/api/agents/{leo_id}/sessions/revoke", headers=bearer(other["token"]))
        assert r.status_code == 200 and r.json()["revoked_sessions"] == 2
        for session in (laptop, phone):
            assert client.get("/api/me", headers=bearer(session["token"])).status_code == 401
        assert client.get("/api/me", headers=bearer(other["token"])).status_code == 200
        assert client.post("/api/agents/999999/sessions/revoke",
                           headers=bearer(other["token"])).status_code == 404


def test_an_expired_session_is_refused(app: Any) -> None:
    with TestClient(app) as client:
        s = log_in(client, "leo")
        with app.state.services.write_sessions()() as db:
            db.execute(update(AuthToken).values(expires_at=now_utc() - timedelta(seconds=1)))
            db.commit()
        assert client.get("/api/me").status_code == 401
        assert client.get("/api/me", headers=bearer(s["token"])).status_code == 401


def test_cookie_flags(database_url: str) -> None:  # noqa: F811
    for environment, secure in (("development", False), ("production", True)):
        application = create_app(make_settings(database_url, environment=environment))
        add_agent(application, f"leo-{environment}")
        try:
            with TestClient(application) as client:
                r = client.post("/api/auth/login",
                                json={"username": f"leo-{environment}", "password": PASSWORD})
                cookie = r.headers["set-cookie"].lower()
                assert "httponly" in cookie and "samesite=strict" in cookie
                assert ("; secure" in cookie) is secure, (environment, cookie)
        finally:
            application.state.services.engine.dispose()


def test_the_live_stream_ends_with_the_session_and_takes_no_token_in_the_url(
        database_url: str) -> None:  # noqa: F811
    with live_server(database_url) as (base, app):
        add_agent(app, "leo")
        with httpx.Client(base_url=base, timeout=10) as http:
            login = http.post("/api/auth/login", json={"username": "leo", "password": PASSWORD})
            token, csrf = login.json()["token"], login.json()["csrf_token"]
            with httpx.Client(base_url=base, timeout=10) as anonymous:
                # a token in the URL would be written to every access log on the way
                assert anonymous.get(f"/api/stream?token={token}").status_code == 401
            with httpx.Client(base_url=base, timeout=10, cookies=http.cookies) as sse, \
                    sse.stream("GET", "/api/stream") as stream:  # the cookie authenticates it
                assert stream.status_code == 200
                lines = stream.iter_lines()
                assert read_events(lines, 1)[0][0] == "ready"
                assert http.post("/api/auth/logout",
                                 headers={"X-CSRF-Token": csrf}).status_code == 200
                assert read_events(lines, 5, stop="session_ended")[-1][0] == "session_ended"
