"""Shared set-up of the erasure and retention attacks: every store filled the way the running
system fills it, on SQLite or on PostgreSQL, and a scanner that looks for a customer everywhere.

Imported explicitly by the test modules (``from tests.security.privacy_fixtures import *``-style
names), so this folder needs no conftest of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, select, table, text
from sqlalchemy.engine import Engine

from handoff_api import auth
from handoff_api.app import create_app
from handoff_api.settings import Settings
from privacy.erasure import PrivacySettings

ROOT = Path(__file__).resolve().parents[2]
BOT_PY = ROOT / ".venv" / "bot" / "bin" / "python"
PG_ADMIN = os.environ.get("ATIENDE_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
BOT_TOKEN = "bot-token-for-privacy-tests-0123"
PASSWORD = "password-123"


@dataclass
class Backend:
    name: str
    handoff_url: str
    tracker_url: str
    tracker_spec: dict[str, Any]  # how the bot side opens the tracker store


def _pg_database(admin: Engine, label: str) -> str:
    name = f"atiende_privacy_{label}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """The handoff database and the tracker store, both on SQLite or both on PostgreSQL."""
    if request.param == "sqlite":
        db = tmp_path / "data" / "rasa_tracker.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        yield Backend("sqlite", f"sqlite:///{tmp_path / 'data' / 'handoff.db'}",
                      f"sqlite:///{db}", {"dialect": "sqlite", "db": str(db)})
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        if os.environ.get("ATIENDE_SKIP_POSTGRES") == "1":
            pytest.skip(f"PostgreSQL not reachable ({type(exc).__name__}); ATIENDE_SKIP_POSTGRES=1")
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN}: start it or set "
                    "ATIENDE_SKIP_POSTGRES=1", pytrace=False)
    names = [_pg_database(admin, "handoff"), _pg_database(admin, "tracker")]
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield Backend("postgres", f"{base}/{names[0]}", f"{base}/{names[1]}",
                      {"dialect": "postgresql", "db": names[1], "host": "127.0.0.1",
                       "port": 5432, "username": "postgres"})
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class System:
    client: TestClient
    app: Any
    data_dir: Path
    backend: Backend

    def login(self, username: str) -> dict[str, str]:
        res = self.client.post("/api/auth/login", json={"username": username,
                                                        "password": PASSWORD})
        assert res.status_code == 200, res.text
        return {"Authorization": f"Bearer {res.json()['token']}"}


@pytest.fixture
def system(backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[System]:
    """The handoff API (real app, real database) with its privacy settings pointing at this
    test's data directory and tracker store; a supervisor ``sara`` and an agent ``tom``."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    monkeypatch.setattr(auth, "BCRYPT_ROUNDS", 4)
    env = {"ATIENDE_DATA_DIR": str(data_dir), "ATIENDE_TRACKER_URL": backend.tracker_url,
           "ATIENDE_RETENTION_DAYS": "180", "ATIENDE_RETENTION_WORKER": "0"}
    monkeypatch.setenv("ATIENDE_DATA_DIR", str(data_dir))  # the KB-gap writer's data dir
    settings = Settings(environment="test", database_url=backend.handoff_url, data_dir=data_dir,
                        bot_token=BOT_TOKEN, secret_key="secret-key-for-tests-0123456789",
                        business_hours="mon-sun 00:00-24:00", rasa_url="http://127.0.0.1:9",
                        rasa_token="rasa-test-token", run_outbox_worker=False)
    app = create_app(settings, privacy=PrivacySettings.from_env(env))
    with app.state.services.sessions() as s:
        auth.create_agent(s, username="sara", password=PASSWORD, role="supervisor", name="Sara",
                          languages="es,en")
        auth.create_agent(s, username="tom", password=PASSWORD, role="agent", name="Tom",
                          languages="es,en")
        s.commit()
    with TestClient(app) as client:
        yield System(client, app, data_dir, backend)
    app.state.services.engine.dispose()


def seed_bot_side(system: System, conversations: list[dict[str, Any]]) -> None:
    """Write the conversations with the bot's own classes (tracker store, journal, relay outbox,
    Meta channel state) in the bot environment."""
    if not BOT_PY.exists():
        pytest.fail(f"{BOT_PY} is missing: run scripts/bootstrap.sh bot")
    spec = system.data_dir.parent / "bot_spec.json"
    spec.write_text(json.dumps({"tracker": system.backend.tracker_spec,
                                "data_dir": str(system.data_dir),
                                "conversations": conversations}), encoding="utf-8")
    done = subprocess.run([str(BOT_PY), "-m", "tests.security.bot_stores", str(spec)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ATIENDE_DATA_DIR": str(system.data_dir)})
    assert done.returncode == 0, done.stderr[-3000:]


# ----------------------------------------------------------------------------- scanning
def _engine_rows(url: str) -> Iterator[tuple[str, str]]:
    """(table, row as text) for every row of every table of a database."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for name in inspect(conn).get_table_names():
                for row in conn.execute(select(text("*")).select_from(table(name))):
                    yield name, " | ".join(str(v) for v in row)
    finally:
        engine.dispose()


def traces(system: System, needles: Iterable[str]) -> list[str]:
    """Where any needle still appears: every table of the handoff database and of the tracker
    store (queried), and every file under the data directory (raw bytes: SQLite files with their
    free pages and WAL, JSON lines, journal, media)."""
    needles = [n for n in needles if n]
    found = []
    for label, url in (("handoff_db", system.backend.handoff_url),
                       ("tracker_store", system.backend.tracker_url)):
        for name, row in _engine_rows(url):
            found += [f"{label}.{name}: {n!r}" for n in needles if n.lower() in row.lower()]
    for path in sorted(p for p in system.data_dir.rglob("*") if p.is_file()):
        data = path.read_bytes().lower()
        found += [f"{path.relative_to(system.data_dir)}: {n!r}" for n in needles
                  if n.lower().encode() in data or name_in(path, n)]
    return found


def name_in(path: Path, needle: str) -> bool:
    return needle.lower() in str(path).lower()


async def store_photo(data_dir, conversation_id: str) -> None:
    """A photo the shopper sent, in the shared media storage (the real ``media_store``)."""
    import io

    from PIL import Image

    from media_store import open_store, settings_from_env

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "JPEG")
    store = open_store(settings_from_env({"ATIENDE_DATA_DIR": str(data_dir)}))
    try:
        await store.put(buffer.getvalue(), declared_type="image/jpeg", filename="caja_rota.jpg",
                        conversation_id=conversation_id, source="widget")
    finally:
        await store.aclose()
