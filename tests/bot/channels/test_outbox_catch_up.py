"""After the handoff API comes back, what waits in the bot's outbox goes at once — not after its
back-off (found by tests/faults, kill -9 of the API mid-handoff: the shopper's first message waited
out its back-off, the next ones queued behind it, and meanwhile the agent claimed, replied and
resolved without ever seeing them; the bot answered them after the close instead)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.handoff_client import HandoffApiClient
from bot.handoff_gate import HandoffGate, Route
from bot.ledger import Ledger
from bot.outbox import Outbox
from tests.bot.channels.harness import FakeAgent, Recorder


async def send(gate: HandoffGate, agent: FakeAgent, cid: str, mid: str) -> Route:
    message = UserMessage(f"text {mid}", CollectingOutputChannel(), cid, input_channel="rest",
                          message_id=mid)
    return await gate.route(agent, message, agent.handle_message, message_id=mid)




async def test_messages_behind_a_backoff_go_when_the_api_is_back(tmp_path: Path) -> None:
    api = await Recorder(status=503, answer=lambda r, b: {"detail": "down"}).start()
    agent = FakeAgent()
    # a back-off far longer than the test: only the catch-up can deliver in time
    gate = HandoffGate(HandoffApiClient(api.url, "t"),
                       Outbox(tmp_path / "o.db", base_delay=60, max_delay=60),
                       ledger=Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"), poll_interval=60)
    try:
        for cid in ("c-1", "c-2"):
            await agent.pause(cid)
        assert await send(gate, agent, "c-1", "m-1") is Route.QUEUED  # API down
        assert await send(gate, agent, "c-2", "m-x") is Route.QUEUED
        api.status = 201
        api.answer = lambda r, b: {"stored": True}
        # the shopper writes again: queued behind m-1, and both go now, in order; once the API
        # answers, the other conversation's waiting message goes too
        assert await send(gate, agent, "c-1", "m-2") is Route.QUEUED
        for _ in range(40):
            if await gate.outbox.counts() == {"delivered": 3}:
                break
            await asyncio.sleep(0.05)
        posted = [(r["path"].split("/")[-2], r["json"]["message_id"]) for r in api.requests[2:]]
        assert [m for c, m in posted if c == "c-1"] == ["m-1", "m-2"], posted
        assert ("c-2", "m-x") in posted, posted
        assert await gate.outbox.counts() == {"delivered": 3}
    finally:
        await gate.close()
        await api.stop()
