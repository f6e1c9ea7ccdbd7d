"""The durable tracker store keeps conversations through a database outage."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import sqlalchemy.orm  # noqa: F401
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.tracker_store import DurableSQLTrackerStore

DOMAIN = Domain.from_yaml("version: '3.1'\nintents: [greet]\n")


@pytest.fixture()
def store(tmp_path: Path) -> DurableSQLTrackerStore:
    return DurableSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"),
                                  journal_dir=str(tmp_path / "journal"), retry_delays=(0.0,))


def conversation(sender: str, *texts: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    for text in texts:
        tracker.update(UserUttered(text, {"name": "greet", "confidence": 1.0}))
        tracker.update(ActionExecuted("utter_greet"))
        tracker.update(BotUttered(f"re: {text}"))
    return tracker


def break_database(store: DurableSQLTrackerStore, tmp_path: Path):
    """Point the store at a database file that cannot be opened, as during an outage."""
    healthy = store.sessionmaker
    broken = sa.create_engine(f"sqlite:///{tmp_path}/missing-dir/x.db")
    store.sessionmaker = sa.orm.session.sessionmaker(bind=broken)
    return healthy


def texts(tracker: DialogueStateTracker | None) -> list[str]:
    assert tracker is not None
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


async def test_endpoint_config_builds_the_durable_store(tmp_path: Path) -> None:
    config = EndpointConfig(type="bot.tracker_store.DurableSQLTrackerStore", dialect="sqlite",
                            db=str(tmp_path / "t.db"), journal_dir=str(tmp_path / "j"))
    assert isinstance(TrackerStore.create(config, DOMAIN), DurableSQLTrackerStore)


async def test_round_trip(store: DurableSQLTrackerStore) -> None:
    await store.save(conversation("ana", "hola"))
    assert texts(await store.retrieve("ana")) == ["hola"]


async def test_outage_is_journaled_and_written_back(store: DurableSQLTrackerStore,
                                                    tmp_path: Path) -> None:
    await store.save(conversation("ana", "hola"))
    healthy = break_database(store, tmp_path)

    await store.save(conversation("ana", "hola", "¿dónde está mi pedido?"))  # must not raise
    assert list((tmp_path / "journal").glob("*.json")), "the turn was not journaled"
    assert texts(await store.retrieve("ana")) == ["hola", "¿dónde está mi pedido?"]

    store.sessionmaker = healthy
    assert texts(await store.retrieve("ana")) == ["hola", "¿dónde está mi pedido?"]
    assert not list((tmp_path / "journal").glob("*.json")), "journal not flushed after recovery"
    fresh = DurableSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"),
                                   journal_dir=str(tmp_path / "other"))
    assert texts(await fresh.retrieve("ana")) == ["hola", "¿dónde está mi pedido?"]


async def test_outage_without_journal_is_an_error_not_an_empty_tracker(
        store: DurableSQLTrackerStore, tmp_path: Path) -> None:
    break_database(store, tmp_path)
    with pytest.raises(sa.exc.OperationalError):
        await store.retrieve("nobody")
