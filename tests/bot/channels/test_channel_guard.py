"""Bad input and floods at the bot's web channels (issue #11): each was a 500, a stalled Rasa or a
lost turn; now a clear 4xx with a reason, a reply in the shopper's language, and every accepted
message handled exactly once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.channels.rest import HandoffAwareRestInput
from bot.channels.socketio import HandoffAwareSocketIOInput
from bot.channels.texts import t
from bot.handoff_gate import HandoffGate
from tests.bot.channels.harness import FakeAgent, SanicHarness
from tests.bot.channels.test_web_channels import Widget


@pytest.fixture
async def server(agent: FakeAgent, gate: HandoffGate, monkeypatch: pytest.MonkeyPatch
                 ) -> AsyncIterator[SanicHarness]:
    monkeypatch.setenv("ATIENDE_SENDER_RATE", "10")
    monkeypatch.setenv("ATIENDE_SENDER_WINDOW_SECONDS", "60")
    monkeypatch.setenv("ATIENDE_SENDER_MAX_WAITING", "5")
    channels = [HandoffAwareRestInput(),
                HandoffAwareSocketIOInput.from_credentials({
                    "user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered",
                    "session_persistence": True})]
    harness = await SanicHarness(channels, agent, gate).start()
    yield harness
    await harness.stop()


async def rest(server: SanicHarness, body: Any = None, raw: bytes | None = None
               ) -> tuple[int, Any, dict]:
    kwargs: dict[str, Any] = {"data": raw, "headers": {"Content-Type": "application/json"}} \
        if raw is not None else {"json": body}
    status, text, headers = await server.request("POST", "/webhooks/rest/webhook", **kwargs)
    return status, json.loads(text), headers


@pytest.mark.parametrize("raw,reason", [
    (b'{"sender": "w-1", "message": ""}', "empty"),
    (b'{"sender": "w-1", "message": "   \\n\\t "}', "empty"),
    (b'{"sender": "w-1", "message": "hola \\ud800"}', "surrogate"),
    (b'{"sender": "w-1", "message": "ho\\u0000la"}', "NUL"),
    (b'{"sender": "w-1", "message": "hola", "metadata": "es"}', "metadata"),
    (b'{"sender": "w-1", "message": 42}', "string"),
    (b'{"sender": "w-1", "message": "hola", "message_id": ""}', "message_id"),
    (b'not json', "JSON"),
])
async def test_malformed_messages_are_400_with_the_reason(server: SanicHarness, agent: FakeAgent,
                                                          raw: bytes, reason: str) -> None:
    status, body, _ = await rest(server, raw=raw)
    assert status == 400 and reason in body["error"], body
    assert agent.handled == []


@pytest.mark.parametrize("language", ["es", "en"])
async def test_an_oversize_message_is_refused_in_the_shoppers_language(
        server: SanicHarness, agent: FakeAgent, language: str) -> None:
    await agent.set_language(f"w-long-{language}", language)
    status, body, _ = await rest(server, {"sender": f"w-long-{language}", "message": "x" * 2001})
    assert status == 413
    assert body["messages"][0]["text"] == t("too_long", language, limit=2000)
    assert agent.handled == []
    status, _, _ = await rest(server, {"sender": f"w-long-{language}", "message": "x" * 2000})
    assert status == 200  # the limit itself is allowed


async def test_a_flood_from_one_sender_is_slowed_politely_and_no_turn_is_lost(
        server: SanicHarness, agent: FakeAgent) -> None:
    agent.delay = 0.05  # a turn takes time, so the flood piles up
    await agent.set_language("w-flood", "en")
    results = await asyncio.gather(*(
        rest(server, {"sender": "w-flood", "message": f"msg {i}", "message_id": f"f-{i}"})
        for i in range(40)))
    statuses = [status for status, _, _ in results]
    assert set(statuses) <= {200, 429}, statuses
    accepted = sorted(f"msg {i}" for i, (status, _, _) in enumerate(results) if status == 200)
    assert 0 < len(accepted) <= 10
    assert sorted(m.text for m in agent.handled) == accepted  # each accepted one, exactly once
    slowed = [(body, headers) for status, body, headers in results if status == 429]
    assert slowed and all(int(h["Retry-After"]) >= 1 for _, h in slowed)
    assert slowed[0][0]["messages"][0]["text"] == t("slow_down", "en")
    # other shoppers are not slowed by this one
    status, _, _ = await rest(server, {"sender": "w-other", "message": "hola"})
    assert status == 200


async def test_the_same_message_id_is_processed_once_even_when_sent_together(
        server: SanicHarness, agent: FakeAgent) -> None:
    agent.delay = 0.2
    body = {"sender": "w-dup", "message": "hola", "message_id": "d-1"}
    results = await asyncio.gather(*(rest(server, body) for _ in range(5)))
    assert [m.text for m in agent.handled] == ["hola"]
    statuses = sorted(status for status, _, _ in results)
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 409}
    status, again, headers = await rest(server, body)
    assert status == 200 and headers["X-Atiende-Duplicate"] == "1"
    assert again == [{"recipient_id": "w-dup", "text": "echo: hola"}]
    assert len(agent.handled) == 1


async def test_the_widget_hears_why_a_message_was_refused(server: SanicHarness,
                                                          agent: FakeAgent) -> None:
    widget = Widget(server.url)
    session = await widget.connect()
    await widget.client.emit("user_uttered", {"session_id": session, "message": "y" * 2500,
                                              "message_id": "s-1",
                                              "customData": {"language": "en"}})
    await widget.client.emit("user_uttered", {"session_id": session, "message": "  ",
                                              "message_id": "s-2"})
    for _ in range(100):
        if len(widget.acks) >= 2:
            break
        await asyncio.sleep(0.05)
    await asyncio.wait_for(widget.client.eio.disconnect(abort=True), 5)
    assert [(a["message_id"], a["status"]) for a in widget.acks] == [("s-1", "too_long"),
                                                                      ("s-2", "invalid")]
    assert widget.bot[0]["text"] == t("too_long", "en", limit=2000)
    assert agent.handled == []
