"""bot/endpoints.production.yml works against the real PostgreSQL and Redis servers."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from bot.tracker_store import DurableSQLTrackerStore

ENDPOINTS = Path(__file__).resolve().parents[2] / "bot" / "endpoints.production.yml"
DOMAIN = Domain.from_yaml("version: '3.1'\nintents: [greet]\n")


@pytest.fixture()
def production_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in {"ACTION_SERVER_URL": "http://127.0.0.1:5055/webhook",
                       "RASA_DB_HOST": "127.0.0.1", "RASA_DB_PORT": "5432", "RASA_DB_NAME": "test",
                       "RASA_DB_USER": "postgres", "RASA_DB_PASSWORD": "",
                       "ATIENDE_DATA_DIR": str(tmp_path), "REDIS_HOST": "127.0.0.1",
                       "REDIS_PORT": "6379", "REDIS_DB": "1"}.items():
        monkeypatch.setenv(key, value)


@pytest.mark.postgres
async def test_tracker_store_on_postgresql(production_env: None, require_server) -> None:
    require_server("PostgreSQL", 5432, "ATIENDE_SKIP_POSTGRES")
    store = TrackerStore.create(read_endpoint_config(str(ENDPOINTS), "tracker_store"), DOMAIN)
    assert isinstance(store, DurableSQLTrackerStore)
    sender = f"pg-{uuid.uuid4()}"
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(UserUttered("hola", {"name": "greet", "confidence": 1.0}))
    await store.save(tracker)
    loaded = await store.retrieve(sender)
    assert loaded is not None and loaded.latest_message.text == "hola"


@pytest.mark.redis
async def test_lock_store_on_redis(production_env: None, require_server) -> None:
    require_server("Redis", 6379, "ATIENDE_SKIP_REDIS")
    lock_store = LockStore.create(read_endpoint_config(str(ENDPOINTS), "lock_store"))
    assert isinstance(lock_store, RedisLockStore)
    sender = f"redis-{uuid.uuid4()}"
    async with lock_store.lock(sender):
        assert lock_store.get_lock(sender) is not None
