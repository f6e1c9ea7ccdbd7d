"""What the hand-off gate's tests share: a gate on a real outbox file, a stand-in for Rasa's
``on_new_message`` and waiting for the background retrier (tests/bot/test_handoff_gate.py,
tests/bot/test_outbox_retrier.py)."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.handoff_client import HandoffApiClient
from bot.handoff_gate import HandoffGate
from bot.outbox import Outbox

CID = "conv-7f3a9c"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def message(text: str = "¿sigue ahí la persona?") -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), CID, input_channel="socketio")


class Collector:
    """Stands in for Rasa's ``on_new_message``."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []

    async def __call__(self, m: UserMessage) -> None:
        self.messages.append(m)


def make_gate(url: str, path: Path) -> HandoffGate:
    return HandoffGate(HandoffApiClient(url, "bot-token", timeout=2),
                       Outbox(path, base_delay=0.05, max_delay=0.2), poll_interval=0.1)


async def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def wait_counts(outbox: Outbox, expected: dict, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (counts := await outbox.counts()) != expected:
        assert time.monotonic() < deadline, f"outbox is {counts}, expected {expected}"
        await asyncio.sleep(0.02)
