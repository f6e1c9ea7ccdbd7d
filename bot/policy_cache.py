"""TED's prediction for a dialogue state it has already seen, without running TensorFlow again.

``TEDPolicy.predict_action_probabilities`` turns the tracker into its *prediction states* (the
last ``max_history`` turns: intent and entities, previous action, active loop, slots, as its
featurizer sees them), one-hot encodes them and runs the network. The network's output is a
function of those states only (no dropout at inference, the model and domain fixed once loaded),
so two trackers with identical states get identical predictions: a cache keyed by the states is
exact. That was the largest single cost of a turn (~24 % of the Rasa process, TensorFlow's
per-call Python overhead, 1.7 predictions per turn, reports/perf/README.md); conversations repeat
the same few states all day.

The cache is bypassed (Rasa runs as it would) whenever the output could depend on anything
else: a TED trained end-to-end (user *text* features: the state would then carry the text and
entity recognition would run on it), or features precomputed by the NLU pipeline for core
(``precomputations``; our model's graph gives TED none). The states are computed once per call
either way: on a miss Rasa's own code runs with them.

One bounded LRU cache per loaded policy (a new model gets new policies, so a new cache). Switched
on with the rest of ``bot/rasa_speedups.py`` (``ATIENDE_RASA_SPEEDUPS=0``: stock Rasa).

Second part (``shared_states``, below): the dialogue states every policy of one prediction builds
from the same tracker, computed once per distinct question within that prediction.
"""

from __future__ import annotations

import contextvars
import copy
import inspect
from collections import OrderedDict
from typing import Any

CACHE_SIZE = 4096
#: Rasa's own method, kept by install()
STOCK: dict[str, Any] = {}


def _frozen(value: Any) -> Any:
    """A hashable, order-independent image of a state (dicts of dicts of tuples / lists)."""
    if isinstance(value, dict):
        return ("d", tuple(sorted((key, _frozen(item)) for key, item in value.items())))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_frozen(item) for item in value))
    if isinstance(value, (set, frozenset)):
        return ("s", frozenset(_frozen(item) for item in value))
    return value


def _copy(prediction: Any) -> Any:
    """A prediction the caller may change without changing the cached one."""
    fresh = copy.copy(prediction)
    fresh.probabilities = list(prediction.probabilities)
    fresh.events = list(prediction.events)
    fresh.optional_events = list(prediction.optional_events)
    fresh.diagnostic_data = dict(prediction.diagnostic_data)
    fresh.action_metadata = copy.deepcopy(prediction.action_metadata)
    return fresh


def cacheable(policy: Any, precomputations: Any) -> bool:
    from rasa.shared.nlu.constants import TEXT

    return (policy.model is not None and precomputations is None and not policy.only_e2e
            and TEXT not in (policy.fake_features or {}))


def state_arguments(policy: Any, domain: Any, rule_only_data: Any) -> dict[str, Any]:
    """The arguments ``TEDPolicy._featurize_tracker`` gives ``featurizer.prediction_states``
    (``Policy._featurize_for_prediction``, ``use_text_for_last_user_input=self.only_e2e``: False
    when cacheable)."""
    from rasa.core.policies.policy import SupportedData

    ml_only = policy.supported_data() == SupportedData.ML_DATA
    return {"domain": domain, "use_text_for_last_user_input": False,
            "ignore_rule_only_turns": ml_only, "rule_only_data": rule_only_data,
            "ignore_action_unlikely_intent": ml_only}


class _GivenStates:
    """``featurizer.prediction_states`` answering the one call whose result is known already;
    any other call goes to the featurizer."""

    def __init__(self, featurizer: Any, tracker: Any, arguments: dict[str, Any],
                 states: list) -> None:
        self.original = featurizer.prediction_states
        self.signature = inspect.signature(self.original)
        self.tracker, self.arguments, self.states = tracker, arguments, states

    def __call__(self, *args: Any, **kwargs: Any) -> list:
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        given = dict(bound.arguments)
        trackers = given.pop("trackers")
        if (len(trackers) == 1 and trackers[0] is self.tracker
                and given.keys() == self.arguments.keys()
                and all(given[k] is v or given[k] == v for k, v in self.arguments.items())):
            return self.states
        return self.original(*args, **kwargs)


def predict_action_probabilities(self: Any, tracker: Any, domain: Any,
                                 rule_only_data: dict | None = None,
                                 precomputations: Any = None, **kwargs: Any) -> Any:
    """``TEDPolicy.predict_action_probabilities``, answered from the cache for a known state."""
    stock = STOCK["predict_action_probabilities"]
    if not cacheable(self, precomputations):
        return stock(self, tracker, domain, rule_only_data, precomputations, **kwargs)
    arguments = state_arguments(self, domain, rule_only_data)
    states = self.featurizer.prediction_states([tracker], **arguments)
    key = _frozen(states)
    cache: OrderedDict = self.__dict__.setdefault("_atiende_cache", OrderedDict())
    cached = cache.get(key)
    if cached is not None:
        cache.move_to_end(key)
        return _copy(cached)
    featurizer = self.featurizer
    featurizer.prediction_states = _GivenStates(featurizer, tracker, arguments, states)
    try:
        prediction = stock(self, tracker, domain, rule_only_data, precomputations, **kwargs)
    finally:
        del featurizer.prediction_states  # back to the class's method
    cache[key] = _copy(prediction)
    if len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return prediction


def install() -> None:
    """Replace ``TEDPolicy.predict_action_probabilities`` (called by ``rasa_speedups.install``)."""
    from rasa.core.policies.ted_policy import TEDPolicy

    if "predict_action_probabilities" in STOCK:
        return
    STOCK["predict_action_probabilities"] = TEDPolicy.predict_action_probabilities
    TEDPolicy.predict_action_probabilities = predict_action_probabilities  # type: ignore


def uninstall() -> None:
    from rasa.core.policies.ted_policy import TEDPolicy

    if "predict_action_probabilities" in STOCK:
        TEDPolicy.predict_action_probabilities = STOCK.pop("predict_action_probabilities")


# -- the dialogue states of one prediction, computed once for all the policies ---------------
#
# Every policy of the ensemble (Memoization, Rule, TED) turns the tracker into its states with
# ``Domain.states_for_tracker_history``: a replay of the whole conversation, one tracker per
# step, each step's state built from the domain (~1 ms per turn, 3-4 replays per prediction).
# Memoization and TED ask with the same arguments (ML data: rule-only turns ignored), RulePolicy
# twice with its own. Within one prediction the tracker does not change (the graph only reads
# it), and the states are a function of its events, the domain and the arguments: so each
# distinct question is answered once per prediction, and every caller gets its own copy (the
# featurizer edits the last state in place). Outside a prediction Rasa computes as it would.

_PREDICTION: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "atiende_prediction_states", default=None)


def _copy_states(states: list) -> list:
    """A copy of states (a list of {sub-state: {feature: str / number / tuple}}) sharing no
    mutable part with them."""
    return [{name: (dict(sub) if isinstance(sub, dict) else copy.deepcopy(sub))
             for name, sub in state.items()} for state in states]


def _immutable(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_immutable(item) for item in value)
    return isinstance(value, (str, int, float, bool, type(None)))


def _plain(states: list) -> bool:
    """True when :func:`_copy_states` copies every mutable part (what Rasa 3.6 builds)."""
    return all(isinstance(sub, dict) and all(_immutable(v) for v in sub.values())
               for state in states for sub in state.values())


def states_for_tracker_history(self: Any, tracker: Any, omit_unset_slots: bool = False,
                               ignore_rule_only_turns: bool = False,
                               rule_only_data: dict | None = None) -> list:
    """``Domain.states_for_tracker_history``, once per question within one prediction."""
    stock = STOCK["states_for_tracker_history"]
    known = _PREDICTION.get()
    if known is None:
        return stock(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    key = (id(self), id(tracker), omit_unset_slots, ignore_rule_only_turns,
           _frozen(rule_only_data))
    entry = known.get(key)
    if entry is None or entry[0] is not tracker or entry[1] is not self:
        states = stock(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        if not _plain(states):
            return states  # a shape this copy was not written for: never shared
        known[key] = (tracker, self, _copy_states(states))  # the objects kept: ids stay theirs
        return states
    return _copy_states(entry[2])


def predict_next_with_tracker(self: Any, tracker: Any) -> Any:
    """``MessageProcessor._predict_next_with_tracker`` with one prediction's shared states."""
    token = _PREDICTION.set({})
    try:
        return STOCK["_predict_next_with_tracker"](self, tracker)
    finally:
        _PREDICTION.reset(token)


def install_shared_states() -> None:
    """Replace the two (called by ``rasa_speedups.install``, part ``shared_states``)."""
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.domain import Domain

    if "states_for_tracker_history" in STOCK:
        return
    STOCK["states_for_tracker_history"] = Domain.states_for_tracker_history
    STOCK["_predict_next_with_tracker"] = MessageProcessor._predict_next_with_tracker
    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore
    MessageProcessor._predict_next_with_tracker = predict_next_with_tracker  # type: ignore


def uninstall_shared_states() -> None:
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.domain import Domain

    if "states_for_tracker_history" in STOCK:
        Domain.states_for_tracker_history = STOCK.pop("states_for_tracker_history")
        MessageProcessor._predict_next_with_tracker = STOCK.pop("_predict_next_with_tracker")
