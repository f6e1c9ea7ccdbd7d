"""TED's cached predictions are the ones it computes (bot/policy_cache.py), on the trained model
and every dialogue state of the test conversations."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import policy_cache
from tests.bot.trained_model import MODEL, model_test_marks

pytestmark = model_test_marks("TED prediction cache tests")
CONVERSATIONS = Path(__file__).resolve().parents[1] / "conversations"
TED_NODE = "run_TEDPolicy2"  # the model's predict graph (metadata.json)


@pytest.fixture(scope="module")
def agent():
    from rasa.core.agent import Agent

    return Agent.load(str(MODEL))


@pytest.fixture(scope="module")
def dialogue_states(agent) -> list:
    """Every tracker the test conversations pass through before a bot action."""
    from rasa.core.test import _create_data_generator
    from rasa.shared.core.trackers import DialogueStateTracker

    generator = _create_data_generator(str(CONVERSATIONS), agent,
                                       use_conversation_test_files=True)
    trackers = generator.generate_story_trackers()
    assert len(trackers) > 50
    return [DialogueStateTracker.from_events(prior.sender_id, list(prior.events),
                                             agent.domain.slots)
            for tracker in trackers for prior, _hidden in tracker.generate_all_prior_trackers()]


@pytest.fixture()
def ted_node(agent, monkeypatch):
    """The graph node that runs TED; a node takes its function when the model is loaded, so
    each test says which one it runs."""
    policy_cache.install()
    node = agent.processor.graph_runner._instantiated_nodes[TED_NODE]
    monkeypatch.setattr(node, "_fn", policy_cache.predict_action_probabilities)
    node._component.__dict__.pop("_atiende_cache", None)
    return node


def ted_predictions(agent, trackers: list) -> list:
    from rasa.engine.constants import PLACEHOLDER_TRACKER

    runner = agent.processor.graph_runner
    return [runner.run(inputs={PLACEHOLDER_TRACKER: tracker}, targets=[TED_NODE])[TED_NODE]
            for tracker in trackers]


def test_cached_predictions_equal_computed_ones(agent, dialogue_states, ted_node,
                                                monkeypatch) -> None:
    import rasa.utils.tensorflow.models as models

    ted_node._fn = policy_cache.STOCK["predict_action_probabilities"]
    computed = ted_predictions(agent, dialogue_states)  # Rasa's own TEDPolicy
    ted_node._fn = policy_cache.predict_action_probabilities
    ted = ted_node._component
    calls = []
    run_inference = models.RasaModel.run_inference

    def counted(self, *args, **kwargs):
        calls.append(1)
        return run_inference(self, *args, **kwargs)

    monkeypatch.setattr(models.RasaModel, "run_inference", counted)
    first = ted_predictions(agent, dialogue_states)
    runs_first = len(calls)
    again = ted_predictions(agent, dialogue_states)
    assert len(computed) == len(first) > 300
    for stock, cached, repeated in zip(computed, first, again, strict=True):
        assert cached.probabilities == stock.probabilities  # exactly, not approximately
        assert repeated.probabilities == stock.probabilities
        assert cached.policy_name == stock.policy_name
        assert cached.optional_events == stock.optional_events == []
        assert cached.is_end_to_end_prediction == stock.is_end_to_end_prediction
    # TensorFlow ran once per distinct dialogue state, and not at all the second time round
    assert runs_first == len(ted._atiende_cache) < len(dialogue_states)
    assert len(calls) == runs_first


def test_a_changed_prediction_does_not_change_the_cache(agent, dialogue_states,
                                                        ted_node) -> None:
    tracker = dialogue_states[-1]
    first = ted_predictions(agent, [tracker])[0]
    expected = list(first.probabilities)
    first.probabilities[0] = 123.0
    assert ted_predictions(agent, [tracker])[0].probabilities == expected
    assert len(ted_node._component._atiende_cache) == 1


@pytest.fixture()
def shared_states():
    policy_cache.install_shared_states()
    yield
    policy_cache.uninstall_shared_states()


def ensemble_predictions(agent, trackers: list) -> list:
    """What the processor acts on: the whole policy ensemble's prediction for each tracker."""
    return [agent.processor._predict_next_with_tracker(tracker.copy()) for tracker in trackers]


def test_predictions_with_shared_states_equal_rasas_own(agent, dialogue_states, shared_states,
                                                        monkeypatch) -> None:
    computed: list[int] = []
    stock = policy_cache.STOCK["states_for_tracker_history"]

    def counted(*args, **kwargs):
        computed.append(1)
        return stock(*args, **kwargs)

    policy_cache.uninstall_shared_states()
    monkeypatch.setattr("rasa.shared.core.domain.Domain.states_for_tracker_history", counted)
    rasas = ensemble_predictions(agent, dialogue_states)
    computed_by_rasa = len(computed)
    monkeypatch.undo()
    policy_cache.install_shared_states()
    policy_cache.STOCK["states_for_tracker_history"] = counted
    computed.clear()
    shared = ensemble_predictions(agent, dialogue_states)
    assert len(shared) == len(rasas) > 300
    for ours, theirs in zip(shared, rasas, strict=True):
        assert ours == theirs  # probabilities exactly, policy, events, hide_rule_turn, metadata
        assert ours.diagnostic_data.keys() == theirs.diagnostic_data.keys()
    # every policy asked, but each distinct question was computed once per prediction
    assert len(computed) <= computed_by_rasa * 0.7
    assert len(computed) >= len(dialogue_states)  # still computed for every prediction
    print(f"states computed: Rasa {computed_by_rasa}, shared {len(computed)} "
          f"for {len(dialogue_states)} predictions")


def test_a_caller_changing_its_states_does_not_change_the_next_callers(
        agent, dialogue_states, shared_states) -> None:
    domain, tracker = agent.domain, dialogue_states[-1]
    expected = policy_cache.STOCK["states_for_tracker_history"](domain, tracker)
    token = policy_cache._PREDICTION.set({})
    try:
        first = domain.states_for_tracker_history(tracker)
        first[-1].clear()
        first.append({"user": {"intent": "changed"}})
        for name in first[0]:
            first[0][name] = {}
        assert domain.states_for_tracker_history(tracker) == expected
        # another tracker with other events is another question
        other = dialogue_states[0]
        assert domain.states_for_tracker_history(other) == policy_cache.STOCK[
            "states_for_tracker_history"](domain, other)
    finally:
        policy_cache._PREDICTION.reset(token)


def test_outside_a_prediction_states_are_computed_as_rasa_does(agent, dialogue_states,
                                                                shared_states) -> None:
    tracker = dialogue_states[-1]
    first = agent.domain.states_for_tracker_history(tracker)
    assert first is not agent.domain.states_for_tracker_history(tracker)
    assert first == policy_cache.STOCK["states_for_tracker_history"](agent.domain, tracker)
