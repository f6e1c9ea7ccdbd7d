"""Erasure and retention reach the bot's relay outbox and Meta channel state wherever they live:
the SQLite files in the data dir by default, the database of ``ATIENDE_OUTBOX_URL`` /
``ATIENDE_CHANNEL_STATE_URL`` (PostgreSQL, shared by replicas) when configured."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.meta_state import MetaStateStore
from bot.outbox import Outbox
from privacy.stores import _FACTORIES, StoreContext
from privacy.subject import Subject
from tests.bot.databases import KINDS, database_url

PHONE = "34655908172"


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, "shared.db") as found:
        yield found


async def write(outbox: Outbox, meta: MetaStateStore) -> None:
    for sender in (PHONE, "34600000001"):
        await outbox.add(message_id="m1", conversation_id=sender, channel="whatsapp",
                         text="hola", ts=time.time())
        await meta.record_inbound("whatsapp", sender, time.time())


def test_erasure_finds_the_shopper_in_the_configured_databases(url: str,
                                                                tmp_path: Path) -> None:
    asyncio.run(write(Outbox(url=url), MetaStateStore(url=url)))
    env = {"ATIENDE_DATA_DIR": str(tmp_path / "data"), "ATIENDE_OUTBOX_URL": url,
           "ATIENDE_CHANNEL_STATE_URL": url}
    subject = Subject.build(phones=[f"+{PHONE}"])
    for name in ("relay_outbox", "meta_channels"):
        store = _FACTORIES[name](StoreContext(env))
        assert store is not None
        assert store.traces(subject) == 1, name
        assert store.erase(subject) == 1, name
        assert store.traces(subject) == 0, name
    assert asyncio.run(Outbox(url=url).counts()) == {"pending": 1}, "the other shopper stays"
    assert not (tmp_path / "data").exists(), "no file made up in the data dir"


def test_without_a_url_the_files_in_the_data_dir_are_used(tmp_path: Path) -> None:
    asyncio.run(write(Outbox(tmp_path / "relay_outbox.db"),
                      MetaStateStore(tmp_path / "meta_channels.db")))
    env = {"ATIENDE_DATA_DIR": str(tmp_path)}
    subject = Subject.build(phones=[f"+{PHONE}"])
    for name in ("relay_outbox", "meta_channels"):
        assert _FACTORIES[name](StoreContext(env)).erase(subject) == 1, name
