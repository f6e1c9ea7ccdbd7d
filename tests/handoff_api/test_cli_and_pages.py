"""The command line (create-agent, seed-demo) and the pages mounted by the app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from handoff_api.__main__ import main
from handoff_api.app import create_app
from tests.handoff_api.conftest import make_settings, widget_auth


@pytest.fixture
def env_db(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HANDOFF_DATABASE_URL", url)
    monkeypatch.setenv("ATIENDE_ENV", "development")
    return url


def test_create_agent_then_login(env_db, capsys):
    code = main(["create-agent", "--username", "ana", "--password", "una-clave-larga",
                 "--role", "supervisor", "--name", "Ana", "--languages", "es,en"])
    assert code == 0 and "created supervisor ana" in capsys.readouterr().out
    assert main(["create-agent", "--username", "ana", "--password", "una-clave-larga"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["create-agent", "--username", "bo", "--password", "short"]) == 2

    with TestClient(create_app(make_settings(env_db))) as client:
        r = client.post("/api/auth/login", json={"username": "ana", "password": "una-clave-larga"})
        assert r.status_code == 200 and r.json()["agent"]["role"] == "supervisor"
        assert r.json()["agent"]["languages"] == ["es", "en"]


def test_seed_demo_is_repeatable(env_db, capsys):
    assert main(["seed-demo"]) == 0
    assert main(["seed-demo"]) == 0
    assert "ana/atiende-demo (supervisor)" in capsys.readouterr().out
    with TestClient(create_app(make_settings(env_db))) as client:
        for user in ("ana", "leo"):
            r = client.post("/api/auth/login", json={"username": user, "password": "atiende-demo"})
            assert r.status_code == 200


def test_production_refuses_placeholder_secrets(env_db, monkeypatch, capsys):
    monkeypatch.setenv("ATIENDE_ENV", "production")
    monkeypatch.setenv("HANDOFF_BOT_TOKEN", "change-me")
    assert main(["migrate"]) == 2
    assert "HANDOFF_BOT_TOKEN" in capsys.readouterr().err


def test_pages_are_served(tmp_path):
    with TestClient(create_app(make_settings(f"sqlite:///{tmp_path / 'p.db'}"))) as client:
        store = client.get("/")
        assert store.status_code == 200 and "text/html" in store.headers["content-type"]
        assert client.get("/console/").status_code == 200
        assert client.get("/console", follow_redirects=False).status_code in (307, 308)
        assert client.get("/widget/atiende.js").status_code == 200
        assert client.get("/static/widget/atiende.js").status_code == 200


def test_widget_endpoints_allow_configured_origins(tmp_path):
    settings = make_settings(f"sqlite:///{tmp_path / 'c.db'}", cors_origins="https://tienda.example")
    with TestClient(create_app(settings)) as client:
        r = client.get("/api/widget/messages",
                       headers={"Origin": "https://tienda.example", **widget_auth("c-1")})
        assert r.status_code == 200 and r.json() == {"messages": []}
        assert r.headers["access-control-allow-origin"] == "https://tienda.example"
        other = client.get("/api/widget/messages",
                           headers={"Origin": "https://evil.example", **widget_auth("c-1")})
        assert "access-control-allow-origin" not in other.headers
