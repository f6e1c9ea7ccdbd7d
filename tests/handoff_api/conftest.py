"""Fixtures for the handoff API: every queue test runs on SQLite and on PostgreSQL.

PostgreSQL (127.0.0.1:5432, trust auth, user postgres) gets a fresh database per test session,
created from the ``test`` database and dropped at the end; tables are emptied before each test.
If the server is unreachable the PostgreSQL tests FAIL with a clear message, unless
``ATIENDE_SKIP_POSTGRES=1`` is set (then they are skipped with that reason).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from handoff_api import auth
from handoff_api.app import create_app
from handoff_api.settings import Settings
from tests.handoff_api.relay.conftest import FakeGraph, GraphThread
from tests.handoff_api.smtp_server import SmtpServer

PG_ADMIN_URL = os.environ.get("ATIENDE_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
BOT_TOKEN = "bot-token-for-tests-0123456789"
TABLES = "agents, auth_tokens, handoffs, handoff_events, messages, notes, handback_outbox"
# (seam-ui) these kept rows for the next test
TABLES += ", mail_outbox, dead_letters, cancelled_handoff_keys"
TABLES += ", login_throttle"  # (secweb) failed-login counters
TABLES += ", order_notices, notification_opt_outs"  # (orderevents)
TABLES += ", event_log"  # (dash)
TABLES += ", message_statuses"  # (wa2)
DEAD_RASA = "http://127.0.0.1:9"  # discard port: connection refused


@pytest.fixture(autouse=True)
def _fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "BCRYPT_ROUNDS", 4)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means the same thing here
        admin.dispose()
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({type(exc).__name__})"
        if os.environ.get("ATIENDE_SKIP_POSTGRES") == "1":
            pytest.skip(f"{message}; skipped because ATIENDE_SKIP_POSTGRES=1")
        pytest.fail(f"{message}. Start it (see docs) or set ATIENDE_SKIP_POSTGRES=1 to skip.",
                    pytrace=False)
    name = f"atiende_handoff_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        # a copy of the schema migrated once per session (tests/conftest.py), as PostgreSQL tests
        # start from the session's migrated database; create_app's migration finds nothing to do
        shutil.copyfile(request.getfixturevalue("migrated_handoff_sqlite"), tmp_path / "handoff.db")
        return f"sqlite:///{tmp_path / 'handoff.db'}"
    url = request.getfixturevalue("pg_database_url")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            exists = conn.execute(text("SELECT to_regclass('public.handoffs')")).scalar()
            if exists:
                conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    return url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "bot_token": BOT_TOKEN,
        "secret_key": "secret-key-for-tests-0123456789",
        "business_hours": "mon-sun 00:00-24:00",
        "rasa_url": DEAD_RASA,
        "rasa_token": "rasa-test-token",
        "run_outbox_worker": False,
        "agent_capacity": 3,
        # tests log many agents in from one address; the limits have their own tests
        "login_rate_limit": "10000/minute",
        "public_rate_limit": "10000/minute",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    application = create_app(settings)
    yield application
    application.state.services.engine.dispose()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


BOT = {"Authorization": f"Bearer {BOT_TOKEN}"}


def widget_auth(conversation_id: str) -> dict[str, str]:
    """The header the widget sends: the conversation token Rasa's channel issued (signed with the
    key both sides derive from the bot token)."""
    from contracts import web_conversation as wc

    return {wc.HEADER: wc.token_for(wc.signing_key(BOT_TOKEN), conversation_id)}


def packet(conversation_id: str = "conv-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "conversation_id": conversation_id,
        "channel": "rest",
        "language": "es",
        "reason": "asked",
        "intent_history": ["greet", "order_status", "human_handoff"],
        "slots": {"order_id": "AT100234"},
        "order": None,
        "kb_articles": [],
        "transcript": [
            {"role": "user", "text": "¿Dónde está mi pedido AT100234?", "ts": 1_700_000_000.0},
            {"role": "bot", "text": "Tu pedido está en reparto.", "ts": 1_700_000_001.0},
            {"role": "user", "text": "Quiero hablar con una persona", "ts": 1_700_000_002.0},
        ],
        "customer": {"vip": False, "name": "Lucía"},
    }
    body.update(overrides)
    return body


def add_agent(app: Any, username: str, role: str = "agent", capacity: int | None = None) -> None:
    services = app.state.services
    writes = getattr(services, "write_sessions", None)  # absent before issue #11
    with (writes() if writes else services.sessions)() as s:
        auth.create_agent(s, username=username, password="password-123", role=role,
                          name=username.title(), languages="es,en", capacity=capacity)
        s.commit()


def login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": username, "password": "password-123"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture
def app_closed_client(database_url: str) -> Iterator[TestClient]:
    """An app whose team works one hour a week (UTC), on the weekday three days from now: the
    hour starts 2 days 10 h to 3 days 10 h from now whenever the test runs (the weekday
    is UTC's, like the hours; the machine's own zone plays no part)."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(now + timedelta(days=3)).weekday()]
    app = create_app(make_settings(database_url, business_hours=f"{day} 10:00-11:00",
                                   business_tz="UTC"))
    with TestClient(app) as c:
        yield c


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real local SMTP server that keeps what it receives."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    """The fake Graph API on its own loop in a thread (the app runs in TestClient's)."""
    runner = GraphThread()
    yield runner.graph
    runner.stop()
