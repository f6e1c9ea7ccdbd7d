"""A conversation's pause in Rasa (bot/conversation_pause.py), on Rasa's own tracker logic: read
without changing it, lifted once, a tracker store that is down reads as "not paused", and the
answer of a turn a dead process already ran is found again."""

from __future__ import annotations

from typing import Any

from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.conversation_pause import is_paused, recorded_turn, resume
from tests.bot.channels.harness import FakeAgent

CID = "conv-pause-1"


async def test_the_pause_is_read_then_lifted_once() -> None:
    agent = FakeAgent()
    assert not await is_paused(agent, CID)  # no tracker yet
    await agent.pause(CID)
    assert await is_paused(agent, CID)
    assert (await agent.tracker_store.retrieve(CID)).is_paused()  # reading changed nothing
    assert await resume(agent, CID)
    tracker = await agent.tracker_store.retrieve(CID)
    assert not tracker.is_paused() and not await is_paused(agent, CID)
    assert isinstance(tracker.events[-1], ActionExecuted)
    assert tracker.events[-1].action_name == "action_listen"  # the bot waits for the shopper
    assert not await resume(agent, CID)  # not paused any more: nothing to lift


async def test_a_tracker_store_that_is_down_reads_as_not_paused() -> None:
    class Down:
        async def retrieve(self, sender_id: str) -> Any:
            raise ConnectionError("database unreachable")

    agent = FakeAgent()
    agent.tracker_store = Down()  # type: ignore[assignment]
    assert not await is_paused(agent, CID)


async def test_the_answer_of_a_recorded_turn_is_found_again() -> None:
    agent = FakeAgent()
    await agent.tracker_store.save(DialogueStateTracker.from_events(CID, [
        ActionExecuted("action_listen"), UserUttered("hola", message_id="m-1"),
        BotUttered("¡Hola! ¿En qué te ayudo?", {"buttons": [{"title": "Pedido"}]}),
        ActionExecuted("action_listen"), UserUttered("¿y mi pedido?", message_id="m-2")],
        slots=agent.domain.slots))
    assert await recorded_turn(agent, CID, "m-1") == [{
        "recipient_id": CID, "text": "¡Hola! ¿En qué te ayudo?",
        "buttons": [{"title": "Pedido"}]}]
    assert await recorded_turn(agent, CID, "m-2") == []  # recorded, not answered yet
    assert await recorded_turn(agent, CID, "m-3") is None  # never ran
    assert await recorded_turn(agent, "someone-else", "m-1") is None
