"""Socket.IO and REST wrappers: the gate, acknowledgements, metadata pass-through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from bot.handoff_gate import HandoffGate
from tests.bot.channels.harness import FakeAgent, Recorder, SanicHarness, web_channels


@pytest.fixture
async def server(agent: FakeAgent, gate: HandoffGate) -> AsyncIterator[SanicHarness]:
    harness = await SanicHarness(web_channels(), agent, gate).start()
    yield harness
    await harness.stop()


# --- REST ---------------------------------------------------------------------------------

async def test_rest_active_conversation_answers_with_bot_messages(server: SanicHarness,
                                                                  agent: FakeAgent) -> None:
    status, text, headers = await server.request(
        "POST", "/webhooks/rest/webhook",
        json={"sender": "web-1", "message": "hola", "metadata": {"language": "es"}})
    assert status == 200 and headers["X-Atiende-Route"] == "rasa"
    assert '"echo: hola"' in text
    assert agent.handled[0].metadata["language"] == "es"


async def test_rest_paused_conversation_is_forwarded(server: SanicHarness, agent: FakeAgent,
                                                     handoff_api: Recorder) -> None:
    await agent.pause("web-2")
    status, text, headers = await server.request(
        "POST", "/webhooks/rest/webhook",
        json={"sender": "web-2", "message": "¿hola?", "message_id": "c-1"})
    assert (status, text, headers["X-Atiende-Route"]) == (200, "[]", "forwarded")
    assert agent.handled == []
    assert handoff_api.requests[0]["json"]["message_id"] == "c-1"
    assert handoff_api.requests[0]["json"]["channel"] == "rest"


@pytest.mark.parametrize("body", [{"message": "hola"}, {"sender": "x"}, [1, 2],
                                  {"sender": "5215512345678", "message": "mi pedido"}])
async def test_rest_bad_input_is_400(server: SanicHarness, body: Any) -> None:
    status, text, _ = await server.request("POST", "/webhooks/rest/webhook", json=body)
    assert status == 400 and "error" in text


# --- Socket.IO ----------------------------------------------------------------------------

class Widget:
    """A socket.io client behaving like the chat widget."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = socketio.AsyncClient(reconnection=False)
        self.acks: list[dict[str, Any]] = []
        self.bot: list[dict[str, Any]] = []
        self.session = asyncio.get_running_loop().create_future()
        self.client.on("user_message_ack", lambda d: self.acks.append(d))
        self.client.on("bot_uttered", lambda d: self.bot.append(d))
        self.client.on("session_confirm", self._confirm)
        self.tokens: list[dict[str, Any]] = []  # atiende_session {session_id, token}
        self.client.on("atiende_session", lambda d: self.tokens.append(d))

    def _confirm(self, session_id: str) -> None:
        if not self.session.done():
            self.session.set_result(session_id)

    @property
    def token(self) -> str:
        return self.tokens[-1]["token"]

    async def connect(self, session_id: str | None = None, token: str | None = None) -> str:
        """``session_request`` like the widget: a stored id and its token, or nothing (a new
        conversation); returns the id the server confirmed."""
        await self.client.connect(self.url, transports=["polling"])
        await self.client.emit("session_request", {"session_id": session_id, "token": token})
        return await asyncio.wait_for(self.session, 5)

    async def send(self, session_id: str, text: str, message_id: str, **extra: Any) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": session_id,
                                                "message_id": message_id, **extra})

    async def wait_acks(self, n: int) -> None:
        for _ in range(250):
            if len(self.acks) >= n:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected {n} acks, got {self.acks}")


@pytest.fixture
async def widget(server: SanicHarness) -> AsyncIterator[Widget]:
    w = Widget(server.url)
    yield w
    # The polling transport is used (engineio's websocket client needs a newer aiohttp than
    # Rasa pins); a graceful disconnect waits for the long poll, so abort it.
    await asyncio.wait_for(w.client.eio.disconnect(abort=True), 5)


async def test_socketio_message_is_acked_and_metadata_passed(widget: Widget,
                                                             agent: FakeAgent) -> None:
    sid = await widget.connect()
    await widget.send(sid, "where is my order", "msg-1",
                      customData={"language": "en"})
    await widget.wait_acks(1)
    assert widget.acks == [{"message_id": "msg-1", "status": "rasa"}]
    [m] = agent.handled
    assert m.sender_id == sid and m.input_channel == "socketio"
    assert sid.startswith("web-") and widget.token.startswith(f"{sid}.")
    assert m.metadata == {"language": "en", "message_id": "msg-1"}
    assert widget.bot == [{"text": "echo: where is my order"}]


async def test_socketio_resend_is_acked_but_not_processed_twice(widget: Widget,
                                                                agent: FakeAgent) -> None:
    sid = await widget.connect()
    await widget.send(sid, "hola", "msg-9")
    await widget.wait_acks(1)
    await widget.send(sid, "hola", "msg-9")  # the widget did not see the ack and resent
    await widget.wait_acks(2)
    assert [a["status"] for a in widget.acks] == ["rasa", "duplicate"]
    assert len(agent.handled) == 1


async def test_socketio_paused_conversation_is_forwarded_and_acked(
        widget: Widget, agent: FakeAgent, handoff_api: Recorder) -> None:
    sid = await widget.connect()
    await agent.pause(sid)
    await widget.send(sid, "¿me oyes?", "msg-3", metadata={"language": "es"})
    await widget.wait_acks(1)
    assert widget.acks == [{"message_id": "msg-3", "status": "forwarded"}]
    assert agent.handled == [] and widget.bot == []
    assert handoff_api.requests[0]["json"]["text"] == "¿me oyes?"


async def test_socketio_queued_when_handoff_api_down(widget: Widget, agent: FakeAgent,
                                                     handoff_api: Recorder,
                                                     gate: HandoffGate) -> None:
    handoff_api.status = 502
    sid = await widget.connect()
    await agent.pause(sid)
    await widget.send(sid, "sigo aquí", "msg-4")
    await widget.wait_acks(1)
    assert widget.acks == [{"message_id": "msg-4", "status": "queued"}]
    assert (await gate.outbox.counts()).get("pending", 0) + \
        (await gate.outbox.counts()).get("delivered", 0) == 1


async def test_socketio_cannot_take_over_a_whatsapp_conversation(widget: Widget,
                                                                 agent: FakeAgent) -> None:
    """A web client asking for a phone-number session gets a fresh random one instead."""
    sid = await widget.connect("5215512345678")
    assert sid != "5215512345678" and sid.startswith("web-")
    await widget.send("5215512345678", "¿cuál es el estado de mi pedido?", "msg-x")
    await widget.send(sid, "hola", "msg-y")
    await widget.wait_acks(1)
    assert [m.sender_id for m in agent.handled] == [sid]


async def test_socketio_messages_of_a_session_are_handled_one_at_a_time(
        widget: Widget, agent: FakeAgent) -> None:
    """The second message waits for the first turn (which may pause the conversation)."""
    agent.delays = {"quiero hablar con una persona": 0.5}
    sid = await widget.connect()
    await widget.send(sid, "quiero hablar con una persona", "m-1")
    await widget.send(sid, "¿hola?", "m-2")
    await widget.wait_acks(2)
    assert [a["message_id"] for a in widget.acks] == ["m-1", "m-2"]
    assert widget.bot == [{"text": "echo: quiero hablar con una persona"},
                          {"text": "echo: ¿hola?"}]
