"""The gate against the REAL handoff API (started from the app env on an ephemeral port).

Checks the contract end to end: a paused conversation's message is stored by the API
(idempotent by ``message_id``), a conversation without an open handoff falls back to Rasa, and
a message sent while the API is down is delivered from the outbox after it restarts.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.handoff_gate import HandoffApiClient, HandoffGate, Route
from bot.outbox import Outbox
from tests.bot.channels.harness import FakeAgent

ROOT = Path(__file__).resolve().parents[3]
APP_PYTHON = ROOT / ".venv" / "app" / "bin" / "python"
TOKEN = "gate-contract-bot-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HandoffApiProcess:
    """``python -m handoff_api serve`` in the app env, restartable on the same port and DB."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.env = {**os.environ, "ATIENDE_DATA_DIR": str(data_dir), "ATIENDE_ENV": "development",
                    "HANDOFF_PORT": str(self.port), "HANDOFF_HOST": "127.0.0.1",
                    "HANDOFF_BOT_TOKEN": TOKEN, "HANDOFF_SECRET_KEY": "x" * 40,
                    "HANDOFF_DATABASE_URL": f"sqlite:///{data_dir / 'handoff.db'}",
                    "RASA_URL": "http://127.0.0.1:9"}
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([str(APP_PYTHON), "-m", "handoff_api", "serve"], cwd=ROOT,
                                     env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("handoff API exited: "
                                     + (self.proc.stderr.read() or b"").decode()[-2000:])
            try:
                urllib.request.urlopen(f"{self.url}/health", timeout=2).read()
                return
            except OSError:
                assert time.monotonic() < deadline, "handoff API did not start in 90 s"
                time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None


@pytest.fixture
def api(tmp_path: Path) -> Iterator[HandoffApiProcess]:
    process = HandoffApiProcess(tmp_path / "handoff")
    (tmp_path / "handoff").mkdir()
    process.start()
    yield process
    process.stop()


async def call(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as s:
        async with s.request(method, url, headers=headers, **kwargs) as resp:
            return resp.status, await resp.json(content_type=None)


async def open_handoff(api: HandoffApiProcess, cid: str) -> None:
    status, body = await call("POST", f"{api.url}/api/handoffs", json={
        "conversation_id": cid, "channel": "whatsapp", "language": "es", "reason": "asked",
        "transcript": [{"role": "user", "text": "quiero hablar con una persona"}]})
    assert status == 201, body


def message(cid: str, text: str) -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), cid, input_channel="whatsapp")


async def test_gate_and_real_handoff_api(api: HandoffApiProcess, tmp_path: Path) -> None:
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
