"""Fixtures for the channel tests: isolated data dir, fake Graph/handoff APIs, fake agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.handoff_client import HandoffApiClient
from bot.handoff_gate import HandoffGate
from bot.outbox import Outbox
from tests.bot.channels.harness import FakeAgent, Recorder


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ATIENDE_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
async def graph() -> AsyncIterator[Recorder]:
    recorder = await Recorder().start()
    yield recorder
    await recorder.stop()


@pytest.fixture
async def handoff_api() -> AsyncIterator[Recorder]:
    recorder = await Recorder(status=201, answer=lambda r, b: {"stored": True}).start()
    yield recorder
    await recorder.stop()


@pytest.fixture
def agent() -> FakeAgent:
    return FakeAgent()


@pytest.fixture
async def gate(handoff_api: Recorder, tmp_path: Path) -> AsyncIterator[HandoffGate]:
    g = HandoffGate(HandoffApiClient(handoff_api.url, "bot-token"),
                    Outbox(tmp_path / "relay_outbox.db", base_delay=0.05, max_delay=0.2),
                    poll_interval=0.1)
    yield g
    await g.close()
