"""Retention: after ATIENDE_RETENTION_DAYS, conversations, handoff transcripts, outboxes, channel
state, analytics lines and media are gone (handoff rows stay anonymised for the metrics), and
nothing younger is touched. Run by the supervisor route, by the scheduled task of the handoff
API, and by ``python -m handoff_api retention`` / ``erase`` (the commands operators use)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from actions.kb_answer import _append_jsonl
from handoff_api.app import create_app
from privacy.erasure import PrivacySettings
from tests.security import privacy_fixtures as fx
from tests.security.privacy_fixtures import (
    BOT_TOKEN,
    ROOT,
    System,
    seed_bot_side,
    store_photo,
    traces,
)

backend, system = fx.backend, fx.system  # fixtures: SQLite and PostgreSQL, the handoff API

BOT = {"Authorization": f"Bearer {BOT_TOKEN}"}
OLD, NEW = "web-old-5d1e2f3a4b5c", "web-new-9a8b7c6d5e4f"
OLD_EMAIL, NEW_EMAIL = "marta.gil.1987@example.com", "pedro.lopez@example.es"
DAY = 86400


def handoff_for(system: System, cid: str, email: str) -> int:
    c = system.client
    res = c.post("/api/handoffs", headers=BOT, json={
        "conversation_id": cid, "channel": "socketio", "language": "es", "reason": "asked",
        "transcript": [{"role": "user", "text": f"soy {email}", "ts": time.time()}],
        "customer": {"email": email}})
    hid = res.json()["id"]
    agent = system.login("tom")
    c.post(f"/api/handoffs/{hid}/claim", headers=agent)
    c.post(f"/api/conversations/{cid}/messages", headers=BOT,
           json={"message_id": f"x-{hid}", "text": f"mi correo {email}"})
    assert c.post(f"/api/handoffs/{hid}/resolve", headers=agent, json={}).status_code == 200
    return hid


def fill(system: System) -> None:
    seed_bot_side(system, [
        {"sender": OLD, "texts": [f"soy {OLD_EMAIL}"], "age_days": 400, "journal": True,
         "outbox": True, "whatsapp": True},
        {"sender": NEW, "texts": [f"soy {NEW_EMAIL}"], "age_days": 1, "journal": True,
         "outbox": True, "whatsapp": True},
    ])
    old_ts = time.time() - 400 * DAY
    old_hid = handoff_for(system, OLD, OLD_EMAIL)
    handoff_for(system, NEW, NEW_EMAIL)
    engine = create_engine(system.backend.handoff_url)
    with engine.begin() as conn:  # 400 days pass for the old handoff
        conn.execute(text("UPDATE handoffs SET created_at = :t, closed_at = :t WHERE id = :id"),
                     {"t": datetime.now(UTC) - timedelta(days=400), "id": old_hid})
    engine.dispose()
    for name, column, where, clause, arg in (
            ("relay_outbox.db", "created_at", "relay_outbox", "conversation_id = ?", OLD),
            ("meta_channels.db", "at", "last_inbound", "conversation_id = ?", OLD),
            ("meta_channels.db", "at", "delivery_status", "recipient_id = ?", OLD),
            ("meta_channels.db", "seen_at", "seen_messages", "message_id = ?", "wamid.0"),
            ("ledger.db", "claimed_at", "inbound_messages", "conversation_id = ?", OLD),
            ("ledger.db", "at", "outgoing_replies", "conversation_id = ?", OLD),
            ("ledger.db", "received_at", "meta_inbox", "payload LIKE ?", f"%{OLD}%")):
        with sqlite3.connect(system.data_dir / name) as conn:  # the bot wrote these 400 days ago
            conn.execute(f"UPDATE {where} SET {column} = ? WHERE {clause}", (old_ts, arg))
    journal = system.data_dir / "tracker_journal"
    for cid, ts in ((OLD, old_ts), (NEW, time.time())):
        _append_jsonl(system.data_dir / "kb_gaps.jsonl", {"ts": ts, "conversation_id": cid,
                                                          "query": "¿envíos a Canarias?"})
        if cid == NEW:  # (the media store dates files itself; its retention has its own tests)
            asyncio.run(store_photo(system.data_dir, cid))
    for path in journal.glob("*.json"):
        if OLD in path.read_text():
            os.utime(path, (old_ts, old_ts))


def test_retention_forgets_old_conversations_everywhere_and_keeps_recent_ones(
        system: System) -> None:
    fill(system)
    assert traces(system, [OLD_EMAIL, OLD])
    res = system.client.post("/api/privacy/retention/run", headers=system.login("sara"))
    assert res.status_code == 200, res.text
    report = res.json()
    assert report["action"] == "retention" and not report["errors"], report
    for store in ("tracker_store", "tracker_journal", "relay_outbox", "meta_channels", "ledger",
                  "analytics", "handoff_db"):
        assert report["deleted"][store] >= 1, (store, report["deleted"])
    assert traces(system, [OLD_EMAIL, OLD]) == []
    recent = traces(system, [NEW_EMAIL, NEW])
    for store in ("handoff_db", "tracker_store", "relay_outbox.db", "tracker_journal",
                  "meta_channels.db", "ledger.db"):
        assert any(store in t for t in recent), store
    assert report["deleted"]["media_store"] == 0  # the new photo stays
    # both handoffs still count in the metrics; the old one is anonymised
    detail = system.client.get("/api/queue", headers=system.login("sara"))
    assert detail.status_code == 200
    engine = create_engine(system.backend.handoff_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM handoffs")).scalar() == 2
        assert conn.execute(text("SELECT COUNT(*) FROM handoffs WHERE conversation_id "
                                 "LIKE 'erased:%'")).scalar() == 1
    engine.dispose()
    assert system.client.post("/api/privacy/retention/run",
                              headers=system.login("tom")).status_code == 403


def test_the_handoff_api_runs_retention_on_its_own(system: System) -> None:
    """The scheduled task (``make run`` starts it): first run right after start-up here."""
    fill(system)
    services = system.app.state.services
    settings = PrivacySettings.from_env({**services.privacy.env, "ATIENDE_RETENTION_WORKER": "1",
                                         "ATIENDE_RETENTION_FIRST_RUN_SECONDS": "0"})
    app = create_app(services.settings, privacy=settings)
    with TestClient(app):
        deadline = time.monotonic() + 60
        while "last_retention" not in app.state.services.privacy_state:
            assert time.monotonic() < deadline, "the scheduled retention never ran"
            time.sleep(0.2)
    app.state.services.engine.dispose()
    assert app.state.services.privacy_state["last_retention"]["by"] == "scheduler"
    assert traces(system, [OLD_EMAIL, OLD]) == []
    assert traces(system, [NEW_EMAIL])
    audit = [json.loads(x) for x in (system.data_dir / "privacy_audit.jsonl").read_text()
             .splitlines()]
    assert [a["action"] for a in audit] == ["retention"]


def test_the_commands(system: System) -> None:
    fill(system)
    env = {**os.environ, "ATIENDE_DATA_DIR": str(system.data_dir),
           "HANDOFF_DATABASE_URL": system.backend.handoff_url,
           "ATIENDE_TRACKER_URL": system.backend.tracker_url, "ATIENDE_ENV": "development"}
    app_py = ROOT / ".venv" / "app" / "bin" / "python"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(app_py), "-m", "handoff_api", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    refused = run("erase", "--email", NEW_EMAIL)
    assert refused.returncode == 2 and "--yes" in refused.stdout
    preview = run("erase", "--email", NEW_EMAIL, "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert json.loads(preview.stdout)["conversations"] == 1
    assert traces(system, [NEW_EMAIL])
    done = run("erase", "--email", NEW_EMAIL, "--yes")
    assert done.returncode == 0 and json.loads(done.stdout)["complete"], done.stdout
    assert traces(system, [NEW_EMAIL, NEW]) == []
    kept = run("retention", "--days", "500")
    assert kept.returncode == 0 and traces(system, [OLD_EMAIL])  # not old enough for 500 days
    assert run("retention").returncode == 0  # ATIENDE_RETENTION_DAYS default: 180
    assert traces(system, [OLD_EMAIL, OLD]) == []
    audit = (system.data_dir / "privacy_audit.jsonl").read_text()
    assert audit.count('"by": "cli:') == 3 and NEW_EMAIL not in audit
