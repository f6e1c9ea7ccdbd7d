"""The hand-off gate: paused conversations go to the handoff API, never to Rasa, and
nothing is lost when that API is down (SQLite outbox + background retry)."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.handoff_gate import HandoffApiClient, HandoffGate, Route
from bot.outbox import Outbox
from tests.bot.channels.harness import FakeAgent, Recorder

CID = "conv-7f3a9c"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ATIENDE_DATA_DIR", str(tmp_path))
    return tmp_path


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


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def wait_counts(outbox: Outbox, expected: dict, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while (counts := await outbox.counts()) != expected:
        assert time.monotonic() < deadline, f"outbox is {counts}, expected {expected}"
        await asyncio.sleep(0.02)


async def test_active_conversation_goes_to_rasa(tmp_path: Path) -> None:
    api = await Recorder(status=201).start()
    gate, rasa, agent = make_gate(api.url, tmp_path / "o.db"), Collector(), FakeAgent()
    try:
        assert await gate.route(agent, message(), rasa, message_id="m1") is Route.RASA
        assert len(rasa.messages) == 1 and api.requests == []
    finally:
        await gate.close()
        await api.stop()


async def test_paused_conversation_is_forwarded_not_given_to_rasa(tmp_path: Path) -> None:
    api = await Recorder(status=201).start()
    gate, rasa, agent = make_gate(api.url, tmp_path / "o.db"), Collector(), FakeAgent()
    await agent.pause(CID)
    try:
        route = await gate.route(agent, message(), rasa, message_id="m1", ts=1_760_000_000)
        assert route is Route.FORWARDED and rasa.messages == []
        [req] = api.requests
        assert req["path"] == f"/api/conversations/{CID}/messages"
        assert req["headers"]["Authorization"] == "Bearer bot-token"
        assert req["json"]["message_id"] == "m1" and req["json"]["channel"] == "socketio"
        assert req["json"]["text"] == "¿sigue ahí la persona?"
        assert req["json"]["ts"].startswith("2025-10-09T")
    finally:
        await gate.close()
        await api.stop()


async def test_api_down_goes_to_outbox_and_is_delivered_when_it_comes_back(
        tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet: connection refused
    gate, rasa, agent = make_gate(f"http://127.0.0.1:{port}", tmp_path / "o.db"), \
        Collector(), FakeAgent()
    await agent.pause(CID)
    try:
        route = await gate.route(agent, message("hola?"), rasa, message_id="m-down")
        assert route is Route.QUEUED and rasa.messages == []
        assert (await gate.outbox.counts()) == {"pending": 1}
        await asyncio.sleep(0.3)  # a few failed retries while the API is down
        api = await Recorder(status=201).start(port=port)
        try:
            await wait_for(lambda: len(api.requests) == 1)
            assert api.requests[0]["json"]["message_id"] == "m-down"
            assert api.requests[0]["json"]["text"] == "hola?"
            await wait_counts(gate.outbox, {"delivered": 1})
        finally:
            await api.stop()
    finally:
        await gate.close()


async def test_api_5xx_is_retried_until_accepted(tmp_path: Path) -> None:
    api = await Recorder(status=503).start()
    gate, rasa, agent = make_gate(api.url, tmp_path / "o.db"), Collector(), FakeAgent()
    await agent.pause(CID)
    try:
        assert await gate.route(agent, message(), rasa, message_id="m5") is Route.QUEUED
        await wait_for(lambda: len(api.requests) >= 3)  # retried with backoff
        api.status = 201
        await wait_counts(gate.outbox, {"delivered": 1})
        assert {r["json"]["message_id"] for r in api.requests} == {"m5"}
    finally:
        await gate.close()
        await api.stop()


async def test_pending_outbox_survives_a_restart(tmp_path: Path) -> None:
    port = free_port()
    first = make_gate(f"http://127.0.0.1:{port}", tmp_path / "o.db")
    agent = FakeAgent()
    await agent.pause(CID)
    await first.route(agent, message("no me pierdas"), Collector(), message_id="m-r")
    await first.close()  # the Rasa server stops with the message still pending

    api = await Recorder(status=201).start(port=port)
    second = make_gate(api.url, tmp_path / "o.db")
    try:
        second.start()  # what the after_server_start listener does
        await wait_for(lambda: len(api.requests) == 1)
        assert api.requests[0]["json"]["text"] == "no me pierdas"
    finally:
        await second.close()
        await api.stop()


async def test_no_open_handoff_falls_back_to_rasa(tmp_path: Path) -> None:
    api = await Recorder(status=404, answer=lambda r, b: {"detail": "no open handoff"}).start()
    gate, rasa, agent = make_gate(api.url, tmp_path / "o.db"), Collector(), FakeAgent()
    await agent.pause(CID)
    try:
        assert await gate.route(agent, message(), rasa, message_id="m404") is Route.RASA
        assert len(rasa.messages) == 1
    finally:
        await gate.close()
        await api.stop()


async def test_permanent_refusal_is_kept_as_dead_not_retried(tmp_path: Path) -> None:
    api = await Recorder(status=413, answer=lambda r, b: {"detail": "too long"}).start()
    gate, rasa, agent = make_gate(api.url, tmp_path / "o.db"), Collector(), FakeAgent()
    await agent.pause(CID)
    try:
        assert await gate.route(agent, message("x" * 3000), rasa,
                                message_id="big") is Route.QUEUED
        await asyncio.sleep(0.3)
        posts = [r for r in api.requests if r["path"].endswith("/messages")]
        assert len(posts) == 1 and rasa.messages == []
        assert (await gate.outbox.counts()) == {"dead": 1}
        # issue #11: nobody was told; now it is reported as a dead letter (retried until the
        # API takes it: this stand-in refuses everything, so it is still unreported)
        reports = [r["json"] for r in api.requests if r["path"] == "/api/dead-letters"]
        assert reports and reports[0]["message_id"] == "big" and reports[0]["reason"]
    finally:
        await gate.close()
        await api.stop()


async def test_long_message_is_forwarded_in_parts_under_the_size_limit(tmp_path: Path) -> None:
    api = await Recorder(status=201).start()
    gate, rasa, agent = make_gate(api.url, tmp_path / "o.db"), Collector(), FakeAgent()
    await agent.pause(CID)
    text = "ñ" * 3000  # 6000 bytes in UTF-8
    try:
        assert await gate.route(agent, message(text), rasa, message_id="long") is \
            Route.FORWARDED
        parts = [r["json"] for r in api.requests]
        assert [p["message_id"] for p in parts] == ["long#1", "long#2"]
        assert all(len(p["text"].encode()) <= 4096 for p in parts)
        assert "".join(p["text"] for p in parts) == text
    finally:
        await gate.close()
        await api.stop()


def test_outbox_backoff_grows_and_is_capped() -> None:
    box = Outbox(Path("/nonexistent/never-opened.db"), base_delay=1, max_delay=30)
    assert [box.backoff(n) for n in (1, 2, 3, 4, 6, 10)] == [1, 2, 4, 8, 30, 30]


async def test_a_rasa_restart_mid_handoff_keeps_the_shopper_with_the_agent(tmp_path: Path) -> None:
    """The pause lives in the tracker database, not in Rasa's memory: after a restart (a new
    tracker store on the same file) the next shopper message still goes to the agent."""
    from rasa.shared.core.events import ConversationPaused, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.tracker_store import DurableSQLTrackerStore

    def durable_agent() -> FakeAgent:
        agent = FakeAgent()
        agent.tracker_store = DurableSQLTrackerStore(
            domain=agent.domain, dialect="sqlite", db=str(tmp_path / "tracker.db"),
            journal_dir=str(tmp_path / "journal"))
        return agent

    before = durable_agent()
    tracker = DialogueStateTracker(CID, before.domain.slots)
    tracker.update(UserUttered("quiero hablar con una persona", {"name": "human_handoff"}))
    tracker.update(ConversationPaused())
    await before.tracker_store.save(tracker)

    after = durable_agent()  # the restarted Rasa: nothing carried over in memory
    api = await Recorder(status=201).start()
    gate, rasa = make_gate(api.url, tmp_path / "o.db"), Collector()
    try:
        route = await gate.route(after, message("¿sigue ahí?"), rasa, message_id="m-after-restart")
        assert route is Route.FORWARDED and rasa.messages == []
        assert [r["json"]["message_id"] for r in api.requests] == ["m-after-restart"]
    finally:
        await gate.close()
        await api.stop()


async def test_widget_leave_button_payload_leaves_the_queue_without_nlu(tmp_path: Path) -> None:
    """The widget's "back to the assistant" button sends ``/leave_queue``: the gate leaves the
    queue on it without asking the NLU model (FakeAgent has none), resumes, and Rasa confirms."""
    api = await Recorder(status=200, answer=lambda _r, _b: {
        "left": True, "handoff_id": 42, "status": "abandoned"}).start()
    gate, rasa, agent = make_gate(api.url, tmp_path / "o.db"), Collector(), FakeAgent()
    await agent.pause(CID)
    try:
        route = await gate.route(agent, message("/leave_queue"), rasa, message_id="m-leave")
        assert route is Route.RASA
        [req] = api.requests
        assert req["path"] == f"/api/conversations/{CID}/leave-queue"
        assert not (await agent.tracker_store.retrieve(CID)).is_paused()
        [confirm] = rasa.messages
        assert confirm.text.startswith("/handoff_ended") and "abandoned" in confirm.text
    finally:
        await gate.close()
        await api.stop()


async def test_forwarded_messages_reuse_one_connection_until_the_gate_closes() -> None:
    from aiohttp import web

    from bot.handoff_gate import Delivery

    peers: list[Any] = []

    async def messages(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        assert request.headers["Authorization"] == "Bearer bot-token"
        body = await request.json()
        return web.json_response({"stored": body["message_id"]}, status=201)

    app = web.Application()
    app.router.add_post("/api/conversations/{cid}/messages", messages)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    client = HandoffApiClient(f"http://127.0.0.1:{port}", "bot-token", timeout=2)
    try:
        for i in range(3):
            outcome, _ = await client.post_message(conversation_id=CID, message_id=f"m{i}",
                                                   text="hola", ts=time.time(),
                                                   channel="socketio")
            assert outcome is Delivery.STORED
        assert len(peers) == 3 and len(set(peers)) == 1
        await client.close()
        outcome, _ = await client.post_message(conversation_id=CID, message_id="m3",
                                               text="hola", ts=time.time(), channel="socketio")
        assert outcome is Delivery.STORED and len(set(peers)) == 2  # a fresh session after close
    finally:
        await client.close()
        await runner.cleanup()
