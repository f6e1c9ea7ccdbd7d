"""WhatsApp and Messenger through HTTP (local fake Graph API): a turn that is processed again after
its replies went out does not send them again (``bot/outgoing.py``); a new message with the same
text is answered again. The process killed after the send is in tests/faults/test_reply_once.py;
here the turn fails after sending (as when the tracker cannot be saved) and Meta delivers the
message again."""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.channels.messenger import MessengerInput
from bot.channels.meta import MetaStateStore
from bot.channels.whatsapp import WhatsAppInput
from bot.handoff_gate import HandoffGate
from tests.bot.channels.harness import FakeAgent, Recorder, SanicHarness, load_fixture

SECRET = "outgoing-app-secret"
BUTTONS = [{"title": "Sí", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


@pytest.fixture
def whatsapp(graph: Recorder, tmp_path: Path) -> WhatsAppInput:
    return WhatsAppInput(access_token="wa-access", app_secret=SECRET, verify_token="v",
                         phone_number_id="106540352242922", graph_url=graph.url,
                         state=MetaStateStore(tmp_path / "meta.db"))


@pytest.fixture
def messenger(graph: Recorder, tmp_path: Path) -> MessengerInput:
    return MessengerInput(page_access_token="page-token", app_secret=SECRET, verify_token="v",
                          graph_url=graph.url, state=MetaStateStore(tmp_path / "meta.db"))


def two_replies(message: Any) -> list[dict[str, Any]]:
    return [{"text": f"Sobre «{message.text}»: te cuento."},
            {"text": "¿Algo más?", "buttons": BUTTONS}]


@pytest.fixture
async def server(whatsapp: WhatsAppInput, messenger: MessengerInput, agent: FakeAgent,
                 gate: HandoffGate) -> AsyncIterator[SanicHarness]:
    agent.responder = two_replies
    harness = await SanicHarness([whatsapp, messenger], agent, gate).start()
    yield harness
    await harness.stop()


def fail_after_replying(agent: FakeAgent, times: int = 1) -> None:
    """The next ``times`` turns send their replies, then fail before they are recorded."""
    handle, left = agent.handle_message, [times]

    async def turn(message: Any) -> None:
        await handle(message)
        if left[0] > 0:
            left[0] -= 1
            raise RuntimeError("tracker store unavailable")

    agent.handle_message = turn  # type: ignore[method-assign]


async def deliver(server: SanicHarness, channel: Any, payload: dict, hook: str) -> None:
    status, _ = await server.post_signed(hook, payload, SECRET)
    assert status == 200
    await channel.tasks.drain()


def with_id(payload: dict, message_id: str) -> dict:
    payload = copy.deepcopy(payload)
    for entry in payload.get("entry", []):
        for change in entry.get("changes", []):
            for message in change.get("value", {}).get("messages", []):
                message["id"] = message_id
        for event in entry.get("messaging", []):
            event["message"]["mid"] = message_id
    return payload


async def test_whatsapp_replies_of_a_turn_run_again_are_not_sent_again(
        server: SanicHarness, whatsapp: WhatsAppInput, agent: FakeAgent, graph: Recorder,
        gate: HandoffGate) -> None:
    hook = "/webhooks/whatsapp/webhook"
    payload = load_fixture("wa_text.json")
    fail_after_replying(agent)
    await deliver(server, whatsapp, payload, hook)
    first = graph.bodies("/messages")
    assert [b["type"] for b in first] == ["text", "interactive"]
    await deliver(server, whatsapp, payload, hook)  # Meta delivers it again: the turn runs again
    assert len(agent.handled) == 2, "the failed turn must run again (the tracker needs it)"
    assert graph.bodies("/messages") == first, "the shopper got the replies twice"
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    assert gate.ledger.outgoing.states("whatsapp", message["from"], message["id"]) == \
        ["sent", "sent"]

    # the same words in a new message are a new turn: answered again
    await deliver(server, whatsapp, with_id(payload, "wamid.same-text-again"), hook)
    assert len(graph.bodies("/messages")) == 4
    assert graph.bodies("/messages")[2:] == first


async def test_messenger_replies_of_a_turn_run_again_are_not_sent_again(
        server: SanicHarness, messenger: MessengerInput, agent: FakeAgent,
        graph: Recorder) -> None:
    hook = "/webhooks/messenger/webhook"
    payload = load_fixture("ms_text.json")
    fail_after_replying(agent)
    await deliver(server, messenger, payload, hook)
    first = graph.bodies("/me/messages")
    assert len(first) == 2 and "quick_replies" in first[1]["message"]
    await deliver(server, messenger, payload, hook)
    assert len(agent.handled) == 2
    assert graph.bodies("/me/messages") == first, "the shopper got the replies twice"
    await deliver(server, messenger, with_id(payload, "m_same_text_again"), hook)
    assert len(graph.bodies("/me/messages")) == 4


async def test_a_reply_meta_refused_is_sent_when_the_turn_runs_again(
        server: SanicHarness, whatsapp: WhatsAppInput, agent: FakeAgent,
        graph: Recorder) -> None:
    """Only what Meta accepted counts as sent: a refused reply (here a 5xx) is tried again."""
    hook = "/webhooks/whatsapp/webhook"
    payload = load_fixture("wa_text.json")
    fail_after_replying(agent)
    graph.status = 503
    await deliver(server, whatsapp, payload, hook)
    refused = len(graph.requests)
    assert refused == 2
    graph.status = 200
    await deliver(server, whatsapp, payload, hook)
    assert len(graph.requests) == refused + 2


async def test_a_handed_back_message_run_again_is_not_answered_twice(
        whatsapp: WhatsAppInput, agent: FakeAgent, graph: Recorder, gate: HandoffGate) -> None:
    """What nobody answered in a handoff goes to the bot (``HandoffGate.to_bot``); a turn that
    failed after replying is retried by the outbox — the shopper's phone gets the reply once."""
    phone = "5215512345678"
    await whatsapp.state.record_inbound("whatsapp", phone, time.time())
    gate.app = SimpleNamespace(ctx=SimpleNamespace(agent=agent, input_channels=[whatsapp]))
    agent.responder = two_replies
    fail_after_replying(agent)
    gate.on_new_message = agent.handle_message
    with pytest.raises(RuntimeError):
        await gate.to_bot(phone, "whatsapp", "wamid.left-unanswered", "¿y mi reembolso?")
    first = graph.bodies("/messages")
    assert len(first) == 2
    assert await gate.to_bot(phone, "whatsapp", "wamid.left-unanswered", "¿y mi reembolso?")
    assert len(agent.handled) == 2 and graph.bodies("/messages") == first
