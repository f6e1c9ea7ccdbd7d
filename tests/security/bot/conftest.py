"""Bot-env fixtures for the channel-level attacks: the channel tests' fakes (fake agent recording
what reaches Rasa, fake handoff API, isolated data dir), reused as they are."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.meta import MetaStateStore
from bot.channels.rest import HandoffAwareRestInput
from bot.channels.socketio import HandoffAwareSocketIOInput
from bot.channels.whatsapp import WhatsAppInput
from bot.handoff_gate import HandoffGate
from tests.bot.channels.conftest import agent, data_dir, gate, graph, handoff_api  # noqa: F401
from tests.bot.channels.harness import FakeAgent, Recorder, SanicHarness

WA_SECRET = "security-wa-app-secret"


@pytest.fixture
async def server(agent: FakeAgent, gate: HandoffGate, graph: Recorder,  # noqa: F811
                 tmp_path: Path) -> AsyncIterator[SanicHarness]:
    """REST, socket.io and WhatsApp channels served as ``rasa run`` registers them."""
    whatsapp = WhatsAppInput(access_token="wa-access", app_secret=WA_SECRET,
                             verify_token="wa-verify", phone_number_id="106540352242922",
                             graph_url=graph.url, state=MetaStateStore(tmp_path / "meta.db"))
    channels = [HandoffAwareRestInput(), whatsapp,
                HandoffAwareSocketIOInput.from_credentials({
                    "user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered",
                    "session_persistence": True})]
    harness = await SanicHarness(channels, agent, gate).start()
    harness.whatsapp = whatsapp  # type: ignore[attr-defined]
    yield harness
    await harness.stop()
