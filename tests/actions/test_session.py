"""The language slot follows the shopper turn by turn; sessions start in the widget's language."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.session import (
    ActionSessionStart,
    ValidateSlotMappings,
    language_from_code,
    language_from_metadata,
)

DOMAIN: dict[str, Any] = {
    "slots": {
        "language": {"type": "categorical", "mappings": [{"type": "custom"}]},
        "order_id": {
            "type": "text",
            "mappings": [
                {"type": "from_entity", "entity": "order_id"},
                {
                    "type": "from_text",
                    "conditions": [{"active_loop": "order_status_form",
                                    "requested_slot": "order_id"}],
                },
            ],
        },
        "handoff_active": {"type": "bool", "mappings": [{"type": "custom"}]},
    },
    "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
}


def _tracker(
    slots: dict[str, Any] | None = None,
    latest_message: dict[str, Any] | None = None,
) -> Tracker:
    return Tracker(
        sender_id="c1",
        slots={"language": "es", **(slots or {})},
        latest_message=latest_message or {},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def _validate(tracker: Tracker) -> list[dict[str, Any]]:
    return await ValidateSlotMappings().run(CollectingDispatcher(), tracker, DOMAIN)


@pytest.mark.parametrize(
    ("code", "expected"),
    [("es", "es"), ("es-MX", "es"), ("EN_us", "en"), ("en", "en"), ("fr-FR", None), (None, None),
     (3, None)],
)
def test_language_codes(code: Any, expected: str | None) -> None:
    assert language_from_code(code) == expected


def test_language_from_metadata_accepts_locale_keys() -> None:
    assert language_from_metadata({"locale": "en-GB"}) == "en"
    assert language_from_metadata({"language": "pt-BR"}) is None
    assert language_from_metadata(None) is None


def test_validation_action_has_the_contract_name() -> None:
    assert ValidateSlotMappings().name() == "action_validate_slot_mappings"


async def test_english_message_switches_slot_to_english() -> None:
    tracker = _tracker(latest_message={"text": "where is my order", "language": "en"})
    assert await _validate(tracker) == [SlotSet("language", "en")]


async def test_switch_back_to_spanish_mid_conversation() -> None:
    tracker = _tracker({"language": "en"}, {"text": "¿y cuándo llega?", "language": "es"})
    assert await _validate(tracker) == [SlotSet("language", "es")]


async def test_unsure_message_keeps_previous_language() -> None:
    """The NLU component leaves the key out for "AT100234": no event, the slot stays "en"."""
    tracker = _tracker({"language": "en"}, {"text": "AT100234"})
    assert await _validate(tracker) == []


async def test_same_language_produces_no_event() -> None:
    tracker = _tracker({"language": "es"}, {"text": "hola", "language": "es"})
    assert await _validate(tracker) == []


async def test_unsupported_language_in_parse_data_is_ignored() -> None:
    tracker = _tracker({"language": "en"}, {"text": "bonjour", "language": "fr"})
    assert await _validate(tracker) == []


async def _start(tracker: Tracker, domain: dict[str, Any] = DOMAIN) -> list[dict[str, Any]]:
    return await ActionSessionStart().run(CollectingDispatcher(), tracker, domain)


async def test_session_start_takes_widget_language() -> None:
    events = await _start(_tracker({"session_started_metadata": {"language": "en-US"}}))
    assert events[0] == SessionStarted()
    assert SlotSet("language", "en") in events
    assert events[-1] == ActionExecuted("action_listen")


async def test_session_start_without_metadata_keeps_carried_language() -> None:
    events = await _start(_tracker({"language": "en", "order_id": "AT100234",
                                    "requested_slot": "x"}))
    assert SlotSet("language", "en") in events
    assert SlotSet("order_id", "AT100234") in events
    assert not any(e.get("name") == "requested_slot" for e in events if e["event"] == "slot")


async def test_session_start_respects_no_carry_over() -> None:
    domain = {**DOMAIN, "session_config": {"carry_over_slots_to_new_session": False}}
    events = await _start(_tracker({"language": "en", "order_id": "AT100234"}), domain)
    assert events == [SessionStarted(), ActionExecuted("action_listen")]


async def test_session_start_metadata_from_latest_message() -> None:
    tracker = _tracker(latest_message={"metadata": {"language": "en"}})
    events = await _start(tracker)
    assert SlotSet("language", "en") in events
