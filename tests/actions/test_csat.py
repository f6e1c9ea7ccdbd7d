"""Bot-side satisfaction (``actions/csat.py``): who is asked for a rating, once, in their
language."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.csat import ActionOfferRating, in_sample, resolved_a_task, sample_rate

ORDER_DONE = [{"event": "action", "name": "order_status_form"},
              {"event": "action", "name": "action_order_status"}]


def tracker(events: list[dict[str, Any]], sender: str = "web-1", **slots: Any) -> Tracker:
    values = {"language": "es", "csat_offered": None, "handoff_id": None,
              "handoff_active": None, **slots}
    return Tracker(sender_id=sender, slots=values, latest_message={}, events=events,
                   paused=False, followup_action=None, active_loop={},
                   latest_action_name="action_listen")


async def offer(t: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await ActionOfferRating().run(dispatcher, t, {})
    return dispatcher.messages, events


async def test_a_resolved_bot_only_conversation_is_asked_once_in_its_language(monkeypatch):
    monkeypatch.delenv("ATIENDE_CSAT_SAMPLE_RATE", raising=False)
    messages, events = await offer(tracker(ORDER_DONE))
    assert "Valóralo de 1" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]][-1] == '/rate{"rating":"5"}'
    assert events == [SlotSet("csat_offered", True)]
    en, _ = await offer(tracker(ORDER_DONE, language="en"))
    assert "Rate it from 1" in en[0]["text"] and en[0]["buttons"][0]["title"].startswith("1 ·")
    again, events = await offer(tracker(ORDER_DONE, csat_offered=True))
    assert again == [] and events == []


@pytest.mark.parametrize("events, slots", [
    (ORDER_DONE, {"handoff_id": "12"}),                                  # a person was involved
    ([*ORDER_DONE, {"event": "action", "name": "action_handoff"}], {}),  # asked for one
    (ORDER_DONE, {"handoff_active": True}),
])
async def test_a_conversation_with_a_person_is_not_asked(events, slots):
    messages, out = await offer(tracker(events, **slots))
    assert messages == [] and out == [SlotSet("csat_offered", True)]


async def test_no_task_yet_means_no_question_and_no_decision():
    messages, events = await offer(tracker([{"event": "action", "name": "utter_greet"}]))
    assert messages == [] and events == []


def test_what_counts_as_a_resolved_task():
    kb = [{"event": "action", "name": "action_answer_from_kb"},
          {"event": "slot", "name": "kb_last_article", "value": "envios"}]
    gap = [{"event": "action", "name": "action_answer_from_kb"},
           {"event": "slot", "name": "kb_articles_shown", "value": []}]
    assert resolved_a_task(kb) and not resolved_a_task(gap)
    # a task in an earlier session does not count for this one
    assert not resolved_a_task([*ORDER_DONE, {"event": "session_started"}])


async def test_sampling_is_configurable_and_stable(monkeypatch):
    monkeypatch.setenv("ATIENDE_CSAT_SAMPLE_RATE", "0")
    messages, events = await offer(tracker(ORDER_DONE))
    assert messages == [] and events == [SlotSet("csat_offered", True)]
    monkeypatch.setenv("ATIENDE_CSAT_SAMPLE_RATE", "0.3")
    ids = [f"conv-{i}" for i in range(2000)]
    share = sum(in_sample(c, 0.3) for c in ids) / len(ids)
    assert 0.25 < share < 0.35
    assert [in_sample(c, 0.3) for c in ids] == [in_sample(c, 0.3) for c in ids]
    asked = [bool((await offer(tracker(ORDER_DONE, sender=c)))[0]) for c in ids[:50]]
    assert asked == [in_sample(c, 0.3) for c in ids[:50]]


@pytest.mark.parametrize("raw, rate", [("", 1.0), ("0.25", 0.25), ("1", 1.0), ("abc", 1.0),
                                       ("1.5", 1.0), ("-0.1", 1.0)])
def test_sample_rate_from_the_environment(raw, rate):
    assert sample_rate({"ATIENDE_CSAT_SAMPLE_RATE": raw}) == rate
