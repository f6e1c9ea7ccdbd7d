"""bot/action_fallback.py without a model: a real ``RemoteAction`` calling a dead action server
records the failure for the turn; the apology is said once, in the shopper's language, on the
channel and in the tracker. (The whole bot with the action server killed: tests/faults.)"""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

from bot import action_fallback
from bot.action_fallback import TurnFaults, apologise_if_needed, language_of
from bot.channels.texts import TEXTS

DOMAIN = Domain.from_yaml("""
version: "3.1"
slots:
  language:
    type: categorical
    values: [es, en]
    initial_value: es
    mappings: [{type: custom}]
""")


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/webhook"  # nothing listens there any more


def tracker(text: str, parse_language: str | None, *events: object) -> DialogueStateTracker:
    t = DialogueStateTracker.from_events("shopper-34600000001", [], slots=DOMAIN.slots)
    parse = {"intent": {"name": "order_status", "confidence": 0.9}, "entities": []}
    if parse_language:
        parse["language"] = parse_language
    t.update(UserUttered(text, parse_data=parse, message_id="m-1"))
    for e in events:
        t.update(e)
    return t


def test_a_dead_action_server_is_recorded_for_the_turn_and_logged_without_personal_data(
        caplog: pytest.LogCaptureFixture) -> None:
    action_fallback.install()
    faults = TurnFaults()
    token = action_fallback._turn.set(faults)
    t = tracker("¿dónde está mi pedido AT100234?", "es")
    try:
        with caplog.at_level(logging.ERROR, logger="bot.action_fallback"), \
                pytest.raises(RasaException):
            asyncio.run(RemoteAction("action_order_status", EndpointConfig(dead_url())).run(
                CollectingOutputChannel(), None, t, DOMAIN))
    finally:
        action_fallback._turn.reset(token)
    assert faults.failed == ["action_order_status"]
    line = next(r.getMessage() for r in caplog.records if "bot.action_failed" in r.getMessage())
    assert "action_order_status" in line
    assert "34600000001" not in line and "AT100234" not in line


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_apology_is_said_once_in_the_shoppers_language(lang: str) -> None:
    t = tracker("where is my order?" if lang == "en" else "¿dónde está mi pedido?", lang,
                ActionExecuted("action_order_status"))
    out = CollectingOutputChannel()
    assert asyncio.run(apologise_if_needed(t, out, TurnFaults(["action_order_status"])))
    assert [m["text"] for m in out.messages] == [TEXTS["action_unavailable"][lang]]
    bot = [e for e in t.events if isinstance(e, BotUttered)]
    assert [e.text for e in bot] == [TEXTS["action_unavailable"][lang]]


def test_no_apology_without_a_failure_or_when_only_the_session_start_failed_and_bot_spoke() -> None:
    out = CollectingOutputChannel()
    assert not asyncio.run(apologise_if_needed(tracker("hola", "es"), out, TurnFaults()))
    greeted = tracker("hola", "es", BotUttered("¡Hola! Soy el asistente de la tienda."))
    assert not asyncio.run(apologise_if_needed(greeted, out, TurnFaults([
        action_fallback.SESSION_START])))
    assert out.messages == []
    # the session start failed and nothing was said: the shopper still gets an answer
    silent = tracker("hola", "es")
    assert asyncio.run(apologise_if_needed(silent, out, TurnFaults([
        action_fallback.SESSION_START])))
    # any other failed action: the apology even after another bot message ("anything else?")
    asked = tracker("¿puedo devolverlo?", "es", BotUttered("¿Algo más?"))
    assert asyncio.run(apologise_if_needed(asked, out, TurnFaults(["action_answer_from_kb"])))


def test_language_without_detection_is_the_conversations_slot() -> None:
    t = tracker("ok", None)
    assert language_of(t) == "es"  # the slot's initial value: Spanish first
    t.update(SlotSet("language", "en"))
    t.update(UserUttered("ok", parse_data={"intent": {"name": "affirm"}}))
    assert language_of(t) == "en"
    assert action_fallback.timeout_from_env({"RASA_ACTION_TIMEOUT": "12"}) == 12.0
    with pytest.raises(SystemExit):
        action_fallback.timeout_from_env({"RASA_ACTION_TIMEOUT": "soon"})
