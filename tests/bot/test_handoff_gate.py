"""The hand-off gate: paused conversations go to the handoff API, never to Rasa; a long message
goes in parts; the pause survives a Rasa restart; the widget's button leaves the queue. What the
API could not take at once: tests/bot/test_outbox_retrier.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.handoff_gate import Route
from tests.bot.channels.harness import FakeAgent, Recorder
from tests.bot.gate_helpers import CID, Collector, make_gate, message


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ATIENDE_DATA_DIR", str(tmp_path))
    return tmp_path


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


