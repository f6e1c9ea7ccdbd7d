"""Two-stage fallback: clarify with buttons, then offer a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import (
    NONE_OF_THESE_PAYLOAD,
    ActionClarify,
    ActionFallbackHandoff,
    clarify_options,
)


def _tracker(language: str, ranking: list[dict[str, Any]] | None = None) -> Tracker:
    return Tracker(
        sender_id="c1",
        slots={"language": language},
        latest_message={
            "text": "eso de lo otro",
            "intent": {"name": "nlu_fallback", "confidence": 0.5},
            "intent_ranking": ranking or [],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


RANKING = [
    {"name": "nlu_fallback", "confidence": 0.5},
    {"name": "refund_status", "confidence": 0.31},
    {"name": "faq", "confidence": 0.2},
    {"name": "return_request", "confidence": 0.25},
    {"name": "greet", "confidence": 0.1},
    {"name": "cancel_order", "confidence": 0.05},
]


def test_options_follow_the_ranking_and_skip_mechanism_intents() -> None:
    assert clarify_options(RANKING) == ["refund_status", "return_request", "cancel_order"]


def test_options_are_filled_with_common_requests_when_ranking_is_poor() -> None:
    assert clarify_options([{"name": "greet", "confidence": 0.9}]) == [
        "order_status",
        "return_request",
        "cancel_order",
    ]
    assert clarify_options(None, limit=2) == ["order_status", "return_request"]


async def test_clarify_in_spanish_offers_buttons_and_none_of_these() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionClarify().run(dispatcher, _tracker("es", RANKING), {})
    assert events == []
    [message] = dispatcher.messages
    assert message["text"].startswith("Perdona")
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads == ["/refund_status", "/return_request", "/cancel_order", NONE_OF_THESE_PAYLOAD]
    assert message["buttons"][0]["title"] == "Estado de mi reembolso"


async def test_clarify_in_english() -> None:
    dispatcher = CollectingDispatcher()
    await ActionClarify().run(dispatcher, _tracker("en", RANKING), {})
    [message] = dispatcher.messages
    assert message["text"].startswith("Sorry")
    assert message["buttons"][-1]["title"] == "None of these"


async def test_second_failure_offers_a_person_and_records_reason() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionFallbackHandoff().run(dispatcher, _tracker("en"), {})
    assert events == [SlotSet("handoff_reason", "repeated_fallback")]
    [message] = dispatcher.messages
    assert "someone from the team" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/affirm", "/deny"]


async def test_unknown_language_falls_back_to_spanish() -> None:
    dispatcher = CollectingDispatcher()
    await ActionFallbackHandoff().run(dispatcher, _tracker("fr"), {})
    assert dispatcher.messages[0]["text"].startswith("Parece")
