"""action_item_problem: sorry in the shopper's language, problem and claim description filled."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.item_problem import REASON_MAX_CHARS, ActionItemProblem, return_reason


def tracker(text: str, language: str = "es", problem: str | None = None,
            slots: dict[str, Any] | None = None) -> Tracker:
    entities = [{"entity": "problem", "value": problem}] if problem else []
    return Tracker(sender_id="c1", slots={"language": language, **(slots or {})},
                   latest_message={"text": text, "intent": {"name": "item_problem"},
                                   "entities": entities},
                   events=[], paused=False, followup_action=None, active_loop={},
                   latest_action_name="action_listen")


async def run(t: Tracker) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = await ActionItemProblem().run(dispatcher, t, {})
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


@pytest.mark.parametrize(("problem", "language", "start", "reason"), [
    ("damaged", "es", "Siento mucho que te haya llegado en mal estado",
     "Llegó dañado o defectuoso: me llegó la taza rota"),
    ("wrong_item", "en", "Sorry, that's not what you ordered",
     "Wrong item: me llegó la taza rota"),
    ("missing", "es", "Siento que falte algo", "Falta un artículo: me llegó la taza rota"),
])
async def test_sorry_and_prefilled_reason_per_problem(problem: str, language: str, start: str,
                                                      reason: str) -> None:
    [message], slots = await run(tracker("me llegó la taza  rota", language, problem))
    assert message["text"].startswith(start)
    assert {k: slots[k] for k in ("problem", "claim_description")} == \
        {"problem": problem, "claim_description": reason}
    assert slots["claim_item"] is None and slots["claim_photo_asks"] == 0.0  # a fresh claim


async def test_unknown_problem_still_prefills_the_shoppers_words() -> None:
    [message], slots = await run(tracker("algo raro pasó con mi compra", "en"))
    assert message["text"].startswith("I'm sorry about the problem")
    reason = "Problem with the item received: algo raro pasó con mi compra"
    assert {k: slots[k] for k in ("problem", "claim_description")} == \
        {"problem": None, "claim_description": reason}


async def test_unknown_entity_value_is_ignored_but_the_slot_is_kept() -> None:
    _, slots = await run(tracker("vino raro", problem="weird", slots={"problem": "missing"}))
    assert slots["problem"] == "missing"


def test_reason_is_cut_to_what_the_form_keeps_and_ignores_payloads() -> None:
    assert len(return_reason("damaged", "roto " * 200, "es")) == REASON_MAX_CHARS
    assert return_reason("damaged", "/item_problem", "en") == "Arrived damaged or faulty"
