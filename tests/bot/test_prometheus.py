"""``bot/prometheus.py`` on Rasa's own classes: a turn through ``Agent.handle_message`` and a
custom action call that fails (action server down) are counted; the view enforces the token."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from bot import prometheus
from tests.timing.test_prometheus import parse


def test_a_turn_and_a_failed_action_call_are_counted() -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    prometheus.install()
    prometheus.install()  # idempotent: one wrapper
    turns = prometheus.TURNS.value(channel="rest", outcome="ok")
    asyncio.run(Agent().handle_message(UserMessage("hola", sender_id="m-1",
                                                   input_channel="rest")))
    asyncio.run(Agent().handle_message(UserMessage("hola", sender_id="m-1",
                                                   input_channel="made-up")))
    assert prometheus.TURNS.value(channel="rest", outcome="ok") == turns + 1
    assert prometheus.TURNS.value(channel="other", outcome="ok") >= 1  # no free label values

    action = RemoteAction("action_order_status",
                          EndpointConfig(url="http://127.0.0.1:9/webhook"))  # nobody there
    tracker = DialogueStateTracker.from_events("m-1", [])
    failed = prometheus.ACTION_ERRORS.value(action="action_order_status")
    with pytest.raises(Exception):  # noqa: B017 - Rasa raises its own RasaException subclasses
        asyncio.run(action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}),
                               tracker, Domain.empty()))
    assert prometheus.ACTION_ERRORS.value(action="action_order_status") == failed + 1
    samples = parse(prometheus.REGISTRY.render())
    assert samples['atiende_rasa_action_seconds_count{action="action_order_status"}'] >= 1
    assert samples['atiende_rasa_turn_seconds_count{channel="rest"}'] >= 1


def test_the_view_enforces_the_token() -> None:
    view = prometheus.handler("metrics-token-0123456789")
    denied = asyncio.run(view(SimpleNamespace(headers={})))
    assert denied.status == 401
    ok = asyncio.run(view(SimpleNamespace(
        headers={"authorization": "Bearer metrics-token-0123456789"})))
    assert ok.status == 200 and b"# TYPE atiende_rasa_turn_seconds histogram" in ok.body
    assert asyncio.run(prometheus.handler("")(SimpleNamespace(headers={}))).status == 200
