"""The hand-back endpoint and the gate's way back to the bot (bot/channels/handback.py,
HandoffGate.take_back / to_bot / route while queued), with Rasa's own tracker logic (FakeAgent
keeps a real InMemoryTrackerStore) and the ledger on SQLite.

Messages that reach the agent are claimed in the ledger under their channel when they arrive; if
the handoff closes before the agent answers them, the same ids come back in the hand-back and the
bot must answer them — once, whatever the retries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.channels.handback import HandbackInput
from bot.handoff_client import HandoffApiClient
from bot.handoff_gate import HandoffGate, Route
from bot.ledger import Ledger
from bot.outbox import Outbox
from tests.bot.channels.harness import FakeAgent, Recorder, SanicHarness

TOKEN = "handback-test-token-0123456789"
CID = "web-handback-1"


@pytest.fixture
async def side(tmp_path: Path, handoff_api: Recorder
               ) -> AsyncIterator[tuple[SanicHarness, FakeAgent, HandoffGate]]:
    agent = FakeAgent()
    gate = HandoffGate(HandoffApiClient(handoff_api.url, TOKEN), Outbox(tmp_path / "o.db"),
                       ledger=Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"))
    harness = await SanicHarness([HandbackInput(token=TOKEN)], agent, gate).start()
    yield harness, agent, gate
    await harness.stop()
    await gate.close()


async def post(harness: SanicHarness, body: dict) -> tuple[int, str]:
    status, text, _ = await harness.request("POST", "/webhooks/atiende/handback", json=body,
                                            headers={"Authorization": f"Bearer {TOKEN}"})
    return status, text


def handback(outbox_id: int, outcome: str, messages: list[dict] | None = None) -> dict:
    return {"outbox_id": outbox_id, "handoff_id": 3, "conversation_id": CID, "outcome": outcome,
            "channel": "socketio", "language": "es", "messages": messages or []}


def texts(agent: FakeAgent) -> list[str]:
    return [m.text or "" for m in agent.handled]


async def test_a_message_the_agent_never_answered_reaches_the_bot_once(side: Any) -> None:
    harness, agent, gate = side
    await agent.pause(CID)
    # the socket.io channel received it while paused, claimed it and forwarded it to the agent
    assert gate.ledger.claim("socketio", CID, "m-late").state == "new"
    gate.ledger.done("socketio", CID, "m-late")

    late = [{"message_id": "m-late", "text": "¿me podéis decir cuándo llega?", "ts": None}]
    assert await post(harness, handback(10, "resolved", late)) == (200, '{"status":"done"}')
    assert texts(agent) == ['/handoff_ended{"handoff_outcome": "resolved"}',
                            "¿me podéis decir cuándo llega?"]
    tracker = await agent.tracker_store.retrieve(CID)
    assert not tracker.is_paused()

    # the API retries the same hand-back (its answer was lost): nothing runs twice
    assert await post(harness, handback(10, "resolved", late)) == (200, '{"status":"already"}')
    # ...and a later "messages" row naming the same message does not run it again either
    assert (await post(harness, handback(11, "messages", late)))[0] == 200
    assert len(agent.handled) == 2


async def test_late_messages_only_do_not_make_the_bot_speak_again(side: Any) -> None:
    harness, agent, _ = side
    await agent.pause(CID)
    assert (await post(harness, handback(20, "handed_back")))[0] == 200
    late = [{"message_id": "m-2", "text": "una cosa más", "ts": None}]
    assert (await post(harness, handback(21, "messages", late)))[0] == 200
    assert texts(agent) == ['/handoff_ended{"handoff_outcome": "handed_back"}', "una cosa más"]


async def test_the_offline_details_ride_with_the_handback(side: Any) -> None:
    harness, agent, _ = side
    await agent.pause(CID)
    body = {**handback(30, "offline"), "answer_due_at": "2026-12-09T10:00:00+00:00",
            "contact": "email"}
    assert (await post(harness, body))[0] == 200
    (message,) = agent.handled
    assert message.metadata["handoff"] == {"handoff_id": 3, "outcome": "offline",
                                           "answer_due_at": "2026-12-09T10:00:00+00:00",
                                           "contact": "email"}


async def test_without_the_bot_token_nothing_happens(side: Any) -> None:
    harness, agent, _ = side
    status, _, _ = await harness.request("POST", "/webhooks/atiende/handback",
                                         json=handback(40, "resolved"),
                                         headers={"Authorization": "Bearer wrong"})
    assert status == 401 and agent.handled == []


# --- leaving the queue through the gate ------------------------------------------------------

class Classifier(FakeAgent):
    """A FakeAgent whose NLU answers a scripted intent (the real model is in
    test_seam_real_rasa.py)."""

    def __init__(self, intent: str, confidence: float = 0.95) -> None:
        super().__init__()
        self.intent, self.confidence = intent, confidence

    async def parse_message(self, text: str) -> dict:
        return {"intent": {"name": self.intent, "confidence": self.confidence}}


async def route(gate: HandoffGate, agent: FakeAgent, text: str, message_id: str) -> Route:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    message = UserMessage(text, CollectingOutputChannel(), CID, input_channel="socketio",
                          message_id=message_id)
    return await gate.route(agent, message, agent.handle_message, message_id=message_id)


@pytest.mark.parametrize("intent,confidence,left", [
    ("leave_queue", 0.95, True), ("stop", 0.8, True), ("leave_queue", 0.4, False),
    ("queue_wait", 0.99, False), ("cancel_order", 0.99, False)])
async def test_only_a_confident_leave_intent_leaves_the_queue(
        tmp_path: Path, intent: str, confidence: float, left: bool) -> None:
    answers = {"/leave-queue": {"left": True, "handoff_id": 5, "status": "abandoned"}}
    api = await Recorder(status=200, answer=lambda r, b: next(
        (v for k, v in answers.items() if r.path.endswith(k)), {"stored": True})).start()
    agent = Classifier(intent, confidence)
    gate = HandoffGate(HandoffApiClient(api.url, TOKEN), Outbox(tmp_path / "o.db"),
                       ledger=Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"))
    try:
        await agent.pause(CID)
        result = await route(gate, agent, "texto", "m-1")
        paths = [r["path"].rsplit("/", 1)[-1] for r in api.requests]
        tracker = await agent.tracker_store.retrieve(CID)
        if left:
            assert result is Route.RASA and paths == ["leave-queue"]
            assert texts(agent) == ['/handoff_ended{"handoff_outcome": "abandoned"}']
            assert agent.handled[0].message_id == "m-1" and not tracker.is_paused()
        else:
            assert result is Route.FORWARDED and paths == ["messages"]
            assert agent.handled == [] and tracker.is_paused()
    finally:
        await gate.close()
        await api.stop()


async def test_an_agent_who_already_took_it_gets_the_leave_text(tmp_path: Path) -> None:
    api = await Recorder(status=200, answer=lambda r, b: {
        "left": False, "handoff_id": 5, "status": "assigned"}).start()
    agent = Classifier("leave_queue")
    gate = HandoffGate(HandoffApiClient(api.url, TOKEN), Outbox(tmp_path / "o.db"),
                       ledger=Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"))
    try:
        await agent.pause(CID)
        assert await route(gate, agent, "cancelar", "m-1") is Route.FORWARDED
        assert agent.handled == []
        assert [r["json"]["text"] for r in api.requests] == ["cancelar"]
        assert (await agent.tracker_store.retrieve(CID)).is_paused()
    finally:
        await gate.close()
        await api.stop()
