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
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

LOW_CONFIDENCE_KEY = "faq_low_confidence"
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def keeps_faq(intent: Optional[Dict[str, Any]], faq_intent: str, min_confidence: float) -> bool:
    """Whether a would-be fallback should stay ``faq_intent`` and go to the knowledge base."""
    if not intent or intent.get(INTENT_NAME_KEY) != faq_intent:
        return False
    return float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0) >= min_confidence


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
        }

    def _should_fallback(self, message: Message) -> bool:
        if not super()._should_fallback(message):
            return False
        config = self.component_config
        intent = message.get(INTENT)
        if keeps_faq(intent, str(config["faq_intent"]), float(config["faq_min_confidence"])):
            message.set(LOW_CONFIDENCE_KEY, True, add_to_output=True)
            return False
        if is_entity_answer(
            message.get(TEXT),
            message.get(ENTITIES) or [],
            list(config["inform_entities"]),
            int(config["inform_max_other_words"]),
        ):
            confidence = (intent or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0
            message.set(
                INTENT,
                {INTENT_NAME_KEY: config["inform_intent"], PREDICTED_CONFIDENCE_KEY: confidence},
                add_to_output=True,
            )
            return False
        return True
