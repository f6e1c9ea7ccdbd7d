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
"""

from __future__ import annotations

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
