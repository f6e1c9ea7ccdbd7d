"""The event broker (``bot/event_log.py``) under real Rasa: a tracker store streams a conversation
to it, and the rows land in a handoff database migrated by the handoff API's own migrations (run
in the app environment, as in production)."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.event_log import EventLogBroker
from privacy.records import pseudonym

ROOT = Path(__file__).resolve().parents[2]
APP_PYTHON = ROOT / ".venv" / "app" / "bin" / "python"
KEY = b"event-log-test-key-0123456789"
DOMAIN = Domain.from_yaml("""
version: '3.1'
intents: [order_status, ask_policy]
slots:
  language: {type: text, mappings: [{type: custom}]}
  kb_last_article: {type: text, mappings: [{type: custom}]}
actions: [action_answer_from_kb, action_order_status]
""")


def migrate(db: Path) -> None:
    """Create the handoff database with the handoff API's migrations (app environment)."""
    code = ("import sys; from handoff_api.db import make_engine, run_migrations; "
            "e = make_engine(sys.argv[1]); run_migrations(e); e.dispose()")
    subprocess.run([str(APP_PYTHON), "-c", code, f"sqlite:///{db}"], cwd=ROOT, check=True,
                   timeout=120)


def rows(db: Path) -> list[sqlite3.Row]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return con.execute("SELECT * FROM event_log ORDER BY id").fetchall()
    finally:
        con.close()


def conversation(sender: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    for event in [
        SessionStarted(),
        UserUttered("¿dónde está mi pedido? soy ana@example.com",
                    {"name": "order_status", "confidence": 0.93}, input_channel="whatsapp"),
        SlotSet("language", "es"),
        ActionExecuted("action_order_status"), BotUttered("En reparto."),
        ActionExecuted("action_listen"),
        UserUttered("¿enviáis a Canarias? llamadme al 655 90 81 72",
                    {"name": "ask_policy", "confidence": 0.8}, input_channel="whatsapp"),
        ActionExecuted("action_answer_from_kb"), BotUttered("No estoy seguro."),
        ActionExecuted("action_listen"),
    ]:
        tracker.update(event)
    return tracker


@pytest.fixture()
def database(tmp_path: Path) -> Path:
    if not APP_PYTHON.exists():
        pytest.fail(f"{APP_PYTHON} missing: the app environment creates the handoff schema")
    db = tmp_path / "handoff.db"
    migrate(db)
    return db


async def test_rasa_streams_a_conversation_into_the_event_log(database: Path) -> None:
    broker = await EventLogBroker.from_endpoint_config(
        EndpointConfig(type="bot.event_log.EventLogBroker", dialect="sqlite", db=str(database)))
    broker.projector.key = KEY
    store = InMemoryTrackerStore(DOMAIN, event_broker=broker)
    await store.save(conversation("34655908172"))
    got = rows(database)
    assert [r["type"] for r in got] == ["conversation_started", "user_message", "action",
                                        "bot_message", "user_message", "action", "bot_message",
                                        "kb_gap"]
    assert {r["conversation"] for r in got} == {pseudonym("34655908172", KEY)}
    assert {r["source"] for r in got} == {"bot"}
    assert got[1]["intent"] == "order_status" and got[1]["channel"] == "whatsapp"
    gap = got[-1]["text"]
    assert "Canarias" in gap and "655" not in gap and "[PHONE]" in gap
    dump = "\n".join(str(tuple(r)) for r in got)
    assert "34655908172" not in dump and "ana@example.com" not in dump and "reparto" not in dump
    await broker.close()


async def test_rows_wait_in_memory_while_the_table_is_missing(tmp_path: Path) -> None:
    """Rasa may start before the handoff API has migrated the database: nothing is lost."""
    db = tmp_path / "handoff.db"
    broker = EventLogBroker(db=str(db), key=KEY)
    store = InMemoryTrackerStore(DOMAIN, event_broker=broker)
    await store.save(conversation("web-1"))
    assert len(broker.pending) == 8
    migrate(db)
    tracker = await store.retrieve("web-1")
    tracker.update(UserUttered("gracias", {"name": "thanks", "confidence": 0.9},
                               input_channel="socketio"))
    await store.save(tracker)
    assert [r["type"] for r in rows(db)].count("user_message") == 3 and not broker.pending
    await broker.close()


@pytest.mark.parametrize("speedups", [False, True])
async def test_a_save_writes_its_events_in_one_transaction(database: Path, tmp_path: Path,
                                                           monkeypatch, speedups: bool) -> None:
    """With the speed-ups (bot/rasa_speedups.py) the durable tracker store hands the broker all
    events of a save at once: one commit on a kept connection instead of one per event; the
    rows are the same."""
    import sqlalchemy as sa

    from bot.tracker_store import DurableSQLTrackerStore

    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS", "1" if speedups else "0")
    broker = EventLogBroker(db=str(database), key=KEY)
    commits, connections = [], []
    sa.event.listen(broker.engine, "commit", lambda _conn: commits.append(1))
    sa.event.listen(broker.engine, "connect", lambda *_a: connections.append(1))
    store = DurableSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"),
                                   journal_dir=str(tmp_path / "j"), event_broker=broker)
    await store.save(conversation("web-2"))
    tracker = await store.retrieve("web-2")
    tracker.update(UserUttered("gracias", {"name": "thanks", "confidence": 0.9},
                               input_channel="socketio"))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    got = [r["type"] for r in rows(database)]
    assert got == ["conversation_started", "user_message", "action", "bot_message",
                   "user_message", "action", "bot_message", "kb_gap", "user_message"]
    if speedups:
        assert (len(commits), len(connections)) == (2, 1)  # one per save, one connection
    else:
        # Rasa's publish per event: a commit for each of the 9 events that make a row, each on
        # a new connection
        assert len(commits) == 9 and len(connections) >= 9
    await broker.close()
