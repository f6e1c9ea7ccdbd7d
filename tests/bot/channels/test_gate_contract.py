"""The gate against the REAL handoff API (started from the app env on an ephemeral port).

Checks the contract end to end: a paused conversation's message is stored by the API
(idempotent by ``message_id``), a conversation without an open handoff falls back to Rasa, and
a message sent while the API is down is delivered from the outbox after it restarts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.handoff_client import HandoffApiClient
from bot.handoff_gate import HandoffGate, Route
from bot.outbox import Outbox
from tests.bot.channels import processes
from tests.bot.channels.harness import FakeAgent
from tests.bot.channels.processes import AppProcess

TOKEN = "gate-contract-bot-token-0123456789"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[AppProcess]:
    process = processes.handoff_api(tmp_path / "handoff", TOKEN)
    process.start()
    yield process
    process.stop()


async def call(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as s:
        async with s.request(method, url, headers=headers, **kwargs) as resp:
            return resp.status, await resp.json(content_type=None)


async def open_handoff(api: AppProcess, cid: str) -> None:
    status, body = await call("POST", f"{api.url}/api/handoffs", json={
        "conversation_id": cid, "channel": "whatsapp", "language": "es", "reason": "asked",
        "transcript": [{"role": "user", "text": "quiero hablar con una persona"}]})
    assert status == 201, body


def message(cid: str, text: str) -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), cid, input_channel="whatsapp")


async def test_gate_and_real_handoff_api(api: AppProcess, tmp_path: Path) -> None:
    agent, handled = FakeAgent(), []

    async def rasa(m: UserMessage) -> None:
        handled.append(m)

    gate = HandoffGate(HandoffApiClient(api.url, TOKEN),
                       Outbox(tmp_path / "outbox.db", base_delay=0.2, max_delay=1),
                       poll_interval=0.5)
    try:
        await open_handoff(api, "34600111222")
        await agent.pause("34600111222")
        assert await gate.route(agent, message("34600111222", "¿hay alguien?"), rasa,
                                message_id="wamid.A") is Route.FORWARDED
        status, body = await call("POST", f"{api.url}/api/conversations/34600111222/messages",
                                  json={"message_id": "wamid.A", "text": "¿hay alguien?"})
        assert status == 200 and body["duplicate"] is True  # it was stored the first time

        # tracker paused but no open handoff (e.g. resolved): Rasa keeps the message
        await agent.pause("34600999999")
        assert await gate.route(agent, message("34600999999", "hola"), rasa,
                                message_id="wamid.B") is Route.RASA
        assert [m.text for m in handled] == ["hola"]

        # the API goes down: the message waits in the outbox, then arrives
        api.stop()
        assert await gate.route(agent, message("34600111222", "sigo esperando"), rasa,
                                message_id="wamid.C") is Route.QUEUED
        api.start()
        deadline = time.monotonic() + 20
        while (await gate.outbox.counts()).get("delivered", 0) < 1:
            assert time.monotonic() < deadline, await gate.outbox.counts()
            await asyncio.sleep(0.2)
        status, body = await call("POST", f"{api.url}/api/conversations/34600111222/messages",
                                  json={"message_id": "wamid.C", "text": "sigo esperando"})
        assert status == 200 and body["duplicate"] is True
    finally:
        await gate.close()
