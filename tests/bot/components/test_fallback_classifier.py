"""Unsure-but-best faq goes to the knowledge base; other unsure messages fall back."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from bot.components.fallback_classifier import AtiendeFallbackClassifier


def _classify(intent: str, confidence: float, second: tuple[str, float]) -> Message:
    ranking = [
        {"name": intent, "confidence": confidence},
        {"name": second[0], "confidence": second[1]},
    ]
    message = Message(data={"text": "x", "intent": dict(ranking[0]), "intent_ranking": ranking})
    config = {**AtiendeFallbackClassifier.get_default_config(), "threshold": 0.5}
    AtiendeFallbackClassifier(config).process([message])
    return message


def test_low_confidence_faq_is_kept_and_marked() -> None:
    message = _classify("faq", 0.42, ("order_status", 0.2))
    assert message.get("intent")["name"] == "faq"
    assert message.get("faq_low_confidence") is True


def test_low_confidence_other_intent_falls_back() -> None:
    message = _classify("order_status", 0.42, ("faq", 0.2))
    assert message.get("intent")["name"] == "nlu_fallback"


def test_faq_below_the_faq_floor_falls_back() -> None:
    message = _classify("faq", 0.2, ("greet", 0.19))
    assert message.get("intent")["name"] == "nlu_fallback"


def test_confident_prediction_is_untouched() -> None:
    message = _classify("order_status", 0.95, ("faq", 0.02))
    assert message.get("intent")["name"] == "order_status"
    assert message.get("faq_low_confidence") is None


def _unsure(text: str, entities: list[dict], intent: str = "greet") -> Message:
    ranking = [{"name": intent, "confidence": 0.4}, {"name": "deny", "confidence": 0.35}]
    message = Message(
        data={"text": text, "intent": dict(ranking[0]), "intent_ranking": ranking,
              "entities": entities}
    )
    config = {**AtiendeFallbackClassifier.get_default_config(), "threshold": 0.5}
    AtiendeFallbackClassifier(config).process([message])
    return message


def test_bare_email_is_an_inform_answer() -> None:
    text = "emma.wilson@gmail.com"
    message = _unsure(text, [{"entity": "email", "start": 0, "end": len(text), "value": text}])
    assert message.get("intent")["name"] == "inform"


def test_short_phrase_around_order_id_is_an_inform_answer() -> None:
    message = _unsure("es el 100234",
                      [{"entity": "order_id", "start": 6, "end": 12, "value": "100234"}])
    assert message.get("intent")["name"] == "inform"


def test_long_unclear_sentence_with_an_order_id_still_falls_back() -> None:
    text = "no entiendo nada de lo que pasa con el AT100234"
    start = text.index("AT")
    message = _unsure(text,
                      [{"entity": "order_id", "start": start, "end": start + 8,
                        "value": "AT100234"}])
    assert message.get("intent")["name"] == "nlu_fallback"


def test_unclear_text_without_entities_falls_back() -> None:
    assert _unsure("blablabla", []).get("intent")["name"] == "nlu_fallback"
