"""An action server's answer is accepted one event type at a time exactly when Rasa's whole schema
accepts it (bot/action_result.py), and rejected with Rasa's own error otherwise."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core import events as ev

from bot import action_result, rasa_speedups

ENTITY = {"entity": "order_id", "value": "AT101001", "start": 0, "end": 8, "confidence": 0.9,
          "extractor": "RegexEntityExtractor", "role": None, "group": None}
#: one event of every type Rasa serialises, as Rasa serialises them (Event.as_dict)
EVENTS = [e.as_dict() for e in [
    ev.UserUttered("hola", {"name": "greet", "confidence": 0.9}, [ENTITY], message_id="m1",
                   input_channel="rest"),
    ev.BotUttered("¡Hola!", {"buttons": [{"title": "sí", "payload": "/affirm"}]},
                  {"utter_action": "utter_greet"}),
    ev.SlotSet("language", "es"), ev.SlotSet("order_id", None), ev.SlotSet("count", 3),
    ev.SlotSet("items", [1, {"a": 2}]),
    ev.ActionExecuted("action_listen"), ev.ActionExecuted("action_order", "RulePolicy", 1.0),
    ev.ActiveLoop("order_form"), ev.ActiveLoop(None), ev.FollowupAction("utter_goodbye"),
    ev.ConversationPaused(), ev.ConversationResumed(), ev.Restarted(), ev.AllSlotsReset(),
    ev.UserUtteranceReverted(), ev.ActionReverted(), ev.SessionStarted(metadata={"a": 1}),
    ev.ReminderScheduled("remind", datetime(2030, 1, 1, tzinfo=timezone.utc), name="r1"),
    ev.ReminderCancelled(name="r1"), ev.ActionExecutionRejected("action_x", "TEDPolicy", 0.3),
    ev.LoopInterrupted(True), ev.LegacyFormValidation(False), ev.AgentUttered("hi"),
    ev.EntitiesAdded([ENTITY]), ev.DefinePrevUserUtteredFeaturization(False),
]]
RESPONSES = [{"text": "Tu pedido AT101001 está en camino", "buttons": [], "elements": [],
              "custom": {}, "template": None, "response": None, "image": None,
              "attachment": None}]
ODD_VALUES = [None, 2.5, "x", [], {"event": "slot"}]


SCHEMA = RemoteAction.action_response_format_spec()
WHOLE = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)


def rasa_error(answer: object) -> jsonschema.ValidationError | None:
    """What stock Rasa 3.6 does: ``jsonschema.validate`` against the whole schema (which is
    ``best_match(iter_errors)`` after checking the schema itself)."""
    return jsonschema.exceptions.best_match(WHOLE.iter_errors(answer))


def answers() -> list[object]:
    """Valid answers and many invalid ones: every field of every event given odd values, events
    dropped of each field, unknown and non-string names, broken outer shapes."""
    found: list[object] = [{"events": list(EVENTS), "responses": RESPONSES}, {}, {"events": []},
                           {"responses": []}, {"events": EVENTS[:3]}]
    for event in EVENTS:
        found.append({"events": [event], "responses": RESPONSES})
        for key in event:
            found.append({"events": [{k: v for k, v in event.items() if k != key}]})
            for odd in ODD_VALUES:
                found.append({"events": [EVENTS[2], {**event, key: odd}]})
        found.append({"events": [{**event, "unexpected": 1}]})  # extra keys are allowed
    for name in ("no-such-event", None, 3, ["slot"], {"x": 1}):
        found.append({"events": [{"event": name, "name": "a", "value": 1}]})
    found += [{"events": "not a list"}, {"events": [None]}, {"events": ["slot"]},
              {"events": None}, {"events": [], "responses": ["not an object"]},
              {"events": [], "responses": {}}, [], None, "events", 3]
    return found


ANSWERS = answers()


def test_the_reference_is_jsonschema_validate() -> None:
    for answer in ANSWERS[::25]:
        try:
            jsonschema.validate(answer, SCHEMA)
            expected = None
        except jsonschema.ValidationError as exc:
            expected = exc
        found = rasa_error(answer)
        assert (found is None) is (expected is None)
        assert found is None or found.message == expected.message


def test_fast_check_accepts_exactly_what_the_whole_schema_accepts() -> None:
    verdicts = [(rasa_error(a) is None, action_result.fast_valid(a)) for a in ANSWERS]
    assert [fast for _, fast in verdicts] == [whole for whole, _ in verdicts]
    valid = sum(whole for whole, _ in verdicts)
    assert valid > 50 and len(verdicts) - valid > 50  # both kinds were tried


@pytest.mark.parametrize("fast", [True, False])
def test_validate_action_result_answers_as_stock_rasa_does(fast: bool, monkeypatch) -> None:
    monkeypatch.setattr(rasa_speedups, "_fast_validation", fast)
    action = RemoteAction("action_x", None)
    for answer in ANSWERS:
        expected = rasa_error(answer)
        if expected is None:
            assert rasa_speedups.validate_action_result(action, answer) is True
            continue
        with pytest.raises(jsonschema.ValidationError) as caught:
            rasa_speedups.validate_action_result(action, answer)
        assert caught.value.message.startswith(expected.message)
        assert list(caught.value.path) == list(expected.path)
        assert list(caught.value.schema_path) == list(expected.schema_path)


@pytest.mark.parametrize("fast", [True, False])
def test_a_valid_answer_skips_the_whole_schema_only_with_the_speed_up(fast: bool,
                                                                        monkeypatch) -> None:
    monkeypatch.setattr(rasa_speedups, "_fast_validation", fast)
    whole = rasa_speedups.action_result_validator()
    calls = itertools.count()
    original = whole.iter_errors

    def counted(*args, **kwargs):
        next(calls)
        return original(*args, **kwargs)

    monkeypatch.setattr(whole, "iter_errors", counted)
    answer = {"events": list(EVENTS), "responses": RESPONSES}
    assert rasa_speedups.validate_action_result(RemoteAction("action_x", None), answer)
    assert next(calls) == (0 if fast else 1)


def test_switched_by_its_part(monkeypatch) -> None:
    monkeypatch.setenv("ATIENDE_RASA_SPEEDUPS_OFF", "action_validation")
    assert not rasa_speedups.enabled("action_validation")
    monkeypatch.delenv("ATIENDE_RASA_SPEEDUPS_OFF")
    assert rasa_speedups.enabled("action_validation")
