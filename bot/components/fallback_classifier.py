"""Fallback classifier with two rescues before asking the shopper to rephrase.

Rasa's ``FallbackClassifier`` turns every unsure prediction into ``nlu_fallback``. Two kinds of
unsure messages deserve better, and this drop-in replacement keeps them:

* ``faq`` as the best guess with at least ``faq_min_confidence``: FAQ questions are open-ended
  ("¿hacéis envíos a Canarias?"), so the intent classifier is often unsure even when it is right.
  The knowledge base retrieval in ``action_answer_from_kb`` judges the question on its own terms
  (and records gaps), a better next step than a clarification. Parse data gets
  ``faq_low_confidence: true``.
* A message that is essentially an order number, e-mail or phone ("emma.wilson@gmail.com",
  "es el 100234") is an ``inform`` answer whatever the classifier thinks of the unfamiliar name in
  it: the regex extractor already found the entity. Only applied to unsure predictions, so a
  confident "cancelar AT100234" stays ``cancel_order``.

A third test can send a *confident* prediction to the fallback: with ``min_in_scope_similarity``
set, a message whose nearest in-scope training example (``in_scope_similarity``, written by
``InScopeSimilarity``) is less similar than that falls back, and an unsure ``faq`` is then not
rescued either (an off-topic question must not become a store answer). Bare entity answers stay
``inform``.

Two refinements of the plain thresholds, both measured on out-of-fold cross-validation
predictions and then on the external development set (reports/nlu/README.md):

* ``min_in_scope_similarity`` may be a mapping per language (``{es: 0.5, en: 0.45}``, key
  ``default`` for the rest): Spanish and English USE similarities are not on the same scale.
* ``intent_thresholds`` overrides ``threshold`` for the predicted intent (``{complaint: 0.2}``):
  some intents are right even when unsure (long angry messages), others are the ones an
  off-topic question lands on when it has nowhere else to go.

A third refinement concerns the classifier's own out-of-scope class (``nlu_fallback`` is a
class of the linear classifier, trained on ``out_of_scope*.yml``): most in-scope messages that
fall back are *ranked* out of scope by the classifier, not cut by a threshold (reports/nlu/).
With ``out_of_scope_min_confidence`` set, an out-of-scope ranking less sure than that is not
taken at its word: the best in-scope intent is judged by the usual rules instead (threshold,
distance), so it still falls back unless it is itself sure enough and near the training data.

``fallback_decision`` is the whole rule as a pure function of the classifier's ranking, the
similarity, the language, the text and the entities; the component and the offline re-scoring
(``scripts/nlu_abstention.py``) both call it, so the figures are the rule that runs.

Everything else falls back exactly as with Rasa's classifier.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

LOW_CONFIDENCE_KEY = "faq_low_confidence"
SIMILARITY_KEY = "in_scope_similarity"  # written by bot.components.in_scope_similarity
LANGUAGE_KEY = "language"  # written by bot.components.language.LanguageDetector
OOS_PROBABILITY_KEY = "out_of_scope_probability"  # written by out_of_scope_detector
OUT_OF_SCOPE_INTENT = "nlu_fallback"
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def keeps_faq(intent: Optional[Dict[str, Any]], faq_intent: str, min_confidence: float) -> bool:
    """Whether a would-be fallback should stay ``faq_intent`` and go to the knowledge base."""
    if not intent or intent.get(INTENT_NAME_KEY) != faq_intent:
        return False
    return float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0) >= min_confidence


def is_far_from_scope(similarity: Optional[float], minimum: float) -> bool:
    """True when the nearest in-scope example is less similar than ``minimum`` (0 = rule off)."""
    return minimum > 0 and similarity is not None and float(similarity) < minimum


def similarity_minimum(setting: Any, language: Optional[str]) -> float:
    """``min_in_scope_similarity`` for ``language``: one number, or a mapping per language."""
    if isinstance(setting, dict):
        value = setting.get(language or "", setting.get("default", 0.0))
        return float(value or 0.0)
    return float(setting or 0.0)


def intent_threshold(config: Dict[str, Any], intent_name: Optional[str]) -> float:
    """The confidence ``intent_name`` needs: ``intent_thresholds`` or the global threshold."""
    per_intent = config.get("intent_thresholds") or {}
    return float(per_intent.get(intent_name, config["threshold"]))


def fallback_decision(config: Dict[str, Any], ranking: List[Dict[str, Any]],
                      similarity: Optional[float], language: Optional[str],
                      text: Optional[str], entities: List[Dict[str, Any]],
                      oos_probability: Optional[float] = None) -> Dict[str, Any]:
    """What the fallback classifier does with one classified message.

    Returns ``{"intent": name, "low_confidence_faq": bool}`` where name is the classifier's
    best intent (its runner-up when an unsure out-of-scope ranking is set aside, then with that
    intent's ``confidence`` too), ``nlu_fallback``, or the inform intent for a bare entity answer.
    ``oos_probability`` is the dedicated detector's (``out_of_scope_detector.py``), if any.
    """
    intent = ranking[0] if ranking else None
    name = (intent or {}).get(INTENT_NAME_KEY)
    confidence = float((intent or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0)
    promoted: Dict[str, Any] = {}
    detector_says_in = (oos_probability is not None
                        and oos_probability < float(config.get("in_scope_below") or 0.0))
    if (name == OUT_OF_SCOPE_INTENT and len(ranking) > 1
            and (confidence < float(config.get("out_of_scope_min_confidence") or 0.0)
                 or detector_says_in)):
        ranking = ranking[1:]
        intent = ranking[0]
        name = intent.get(INTENT_NAME_KEY)
        confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        promoted = {"confidence": confidence}
    exempt = name in config.get("similarity_exempt_intents", [])
    far = is_far_from_scope(
        similarity, similarity_minimum(config.get("min_in_scope_similarity"), language)
    ) and not exempt
    above = float(config.get("out_of_scope_above") or 0.0)
    if above > 0 and oos_probability is not None and oos_probability >= above and not exempt:
        far = True
    unsure = intent is None or confidence < intent_threshold(config, name)
    ambiguity = float(config.get("ambiguity_threshold") or 0.0)
    if not unsure and ambiguity > 0 and len(ranking) > 1:
        second = float(ranking[1].get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        unsure = confidence - second < ambiguity
    if not far and not unsure:
        return {"intent": name, "low_confidence_faq": False, **promoted}
    if not far and keeps_faq(intent, str(config["faq_intent"]),
                             float(config["faq_min_confidence"])):
        return {"intent": name, "low_confidence_faq": True, **promoted}
    if is_entity_answer(text, entities, list(config["inform_entities"]),
                        int(config["inform_max_other_words"])):
        return {"intent": config["inform_intent"], "low_confidence_faq": False}
    return {"intent": OUT_OF_SCOPE_INTENT, "low_confidence_faq": False}


def is_entity_answer(
    text: Optional[str], entities: List[Dict[str, Any]], entity_types: List[str], max_words: int
) -> bool:
    """True when the text is one of ``entity_types`` plus at most ``max_words`` other words."""
    if not text:
        return False
    spans = [
        (e[ENTITY_ATTRIBUTE_START], e[ENTITY_ATTRIBUTE_END])
        for e in entities or []
        if e.get(ENTITY_ATTRIBUTE_TYPE) in entity_types
        and ENTITY_ATTRIBUTE_START in e
        and ENTITY_ATTRIBUTE_END in e
    ]
    if not spans:
        return False
    rest = text
    for start, end in sorted(spans, reverse=True):
        rest = rest[:start] + " " + rest[end:]
    return len(_WORD.findall(rest)) <= max_words


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class AtiendeFallbackClassifier(FallbackClassifier):
    """``FallbackClassifier`` that rescues unsure ``faq`` and bare entity answers."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **FallbackClassifier.get_default_config(),
            "faq_intent": "faq",
            "faq_min_confidence": 0.3,
            "inform_intent": "inform",
            "inform_entities": ["order_id", "email", "phone"],
            "inform_max_other_words": 3,
            "min_in_scope_similarity": 0.0,
            # form answers (an item, an address) are often unlike any training example
            "similarity_exempt_intents": ["inform"],
            "intent_thresholds": {},
            # 0 = the classifier's out-of-scope ranking is final, however unsure
            "out_of_scope_min_confidence": 0.0,
            # the dedicated out-of-scope detector (OutOfScopeDetector); 0 = rule off
            "out_of_scope_above": 0.0,  # its probability at least this: fall back
            "in_scope_below": 0.0,  # below this: an out-of-scope ranking gives way
        }

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        for key in ("min_in_scope_similarity", "intent_thresholds",
                    "out_of_scope_min_confidence", "out_of_scope_above", "in_scope_below"):
            value = config.get(key)
            values = value.values() if isinstance(value, dict) else [value or 0.0]
            if any(not 0.0 <= float(v) <= 1.0 for v in values):
                raise ValueError(f"AtiendeFallbackClassifier {key} must be within 0..1")

    def _should_fallback(self, message: Message) -> bool:
        intent = message.get(INTENT) or {}
        ranking = list(message.get(INTENT_RANKING_KEY) or [])
        if intent and (not ranking or ranking[0].get(INTENT_NAME_KEY) != intent.get(
                INTENT_NAME_KEY)):
            ranking = [intent]
        decision = fallback_decision(
            self.component_config,
            ranking,
            message.get(SIMILARITY_KEY),
            message.get(LANGUAGE_KEY),
            message.get(TEXT),
            message.get(ENTITIES) or [],
            message.get(OOS_PROBABILITY_KEY),
        )
        if decision["intent"] == OUT_OF_SCOPE_INTENT:
            return True
        if decision["low_confidence_faq"]:
            message.set(LOW_CONFIDENCE_KEY, True, add_to_output=True)
        if decision["intent"] != intent.get(INTENT_NAME_KEY):
            message.set(
                INTENT,
                {INTENT_NAME_KEY: decision["intent"],
                 PREDICTED_CONFIDENCE_KEY: decision.get(
                     "confidence", intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)},
                add_to_output=True,
            )
        return False
