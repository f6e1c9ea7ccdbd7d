"""Order at the hand-back (found by tests/faults, the race of shopper messages against the close):
a message that arrives while the bot is taking the conversation back must be answered after the
bot's "I'm back" and after the messages of the closing window, not before them.

Before the fix, ``take_back`` resumed the tracker first and then ran its turns; a new message
arriving in between found the conversation not paused, went straight to Rasa and was answered
first (seen with real Rasa: the shopper's last question answered before the bot said it was back
and before their three earlier questions).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import SimpleNamespace

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.handoff_client import HandoffApiClient
from bot.handoff_gate import HandoffGate, Route
from bot.ledger import Ledger
from bot.outbox import Outbox
from tests.bot.channels.harness import FakeAgent, Recorder

CID = "web-order-1"


def app_with(agent: FakeAgent) -> SimpleNamespace:
    """The part of Sanic's app the gate reads: ``app.ctx.agent`` and the input channels."""
    return SimpleNamespace(ctx=SimpleNamespace(agent=agent, input_channels=[]))


async def test_a_message_during_the_take_back_waits_for_it(tmp_path: Path,
                                                         handoff_api: Recorder) -> None:
    agent = FakeAgent()
    agent.delays = {'/handoff_ended{"handoff_outcome": "resolved"}': 0.3, "early": 0.2}
    gate = HandoffGate(HandoffApiClient(handoff_api.url, "t"), Outbox(tmp_path / "o.db"),
                       ledger=Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"))
    gate.bind(app_with(agent), agent.handle_message)
    try:
        await agent.pause(CID)
        body = {"outbox_id": 1, "handoff_id": 3, "conversation_id": CID, "outcome": "resolved",
                "channel": "rest", "language": "es",
                "messages": [{"message_id": "m-early", "text": "early", "ts": None}]}
        taking = asyncio.create_task(gate.take_back(body))
        for _ in range(200):  # until the resumed bot is running "/handoff_ended"
            if agent.handled:
                break
            await asyncio.sleep(0.02)
        assert not (await agent.tracker_store.retrieve(CID)).is_paused()
        late = UserMessage("late", CollectingOutputChannel(), CID, input_channel="rest",
                           message_id="m-late")
        route = await gate.route(agent, late, agent.handle_message, message_id="m-late")
        assert await taking == "done"
        assert route is Route.RASA
        assert [m.text for m in agent.handled] == [
            '/handoff_ended{"handoff_outcome": "resolved"}', "early", "late"]
    finally:
        await gate.close()


async def test_a_hand_back_cut_off_half_way_is_finished_by_its_retry(
        tmp_path: Path, handoff_api: Recorder) -> None:
    """The API hung up (killed, or its timeout) while the bot was answering the second of the
    closing window's messages: the retry of the same hand-back must answer it. Before, the
    cancelled turn left the message claimed "processing" in the ledger and the retry skipped it
    as handled — lost (tests/faults, kill -9 of the API right after a resolve)."""
    agent = FakeAgent()
    agent.delays = {"second": 0.5}
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    gate = HandoffGate(HandoffApiClient(handoff_api.url, "t"), Outbox(tmp_path / "o.db"),
                       ledger=ledger)
    gate.bind(app_with(agent), agent.handle_message)
    try:
        await agent.pause(CID)
        body = {"outbox_id": 7, "handoff_id": 3, "conversation_id": CID, "outcome": "resolved",
                "channel": "rest", "language": "es",
                "messages": [{"message_id": "m-1", "text": "first", "ts": None},
                             {"message_id": "m-2", "text": "second", "ts": None}]}
        first_try = asyncio.create_task(gate.take_back(body))
        for _ in range(200):
            if "second" in [m.text for m in agent.handled]:
                break
            await asyncio.sleep(0.02)
        first_try.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first_try
        assert await gate.take_back(body) == "done"
        assert [m.text for m in agent.handled] == [
            '/handoff_ended{"handoff_outcome": "resolved"}', "first", "second", "second"]
        assert ledger.claim("to_bot", CID, "m-2").state == "done"
        assert await gate.take_back(body) == "already"
    finally:
        await gate.close()
