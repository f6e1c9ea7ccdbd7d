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


def _with_similarity(intent: str, confidence: float, similarity: float | None,
                     minimum: float = 0.5, text: str = "x",
                     entities: list[dict] | None = None) -> Message:
    ranking = [{"name": intent, "confidence": confidence}, {"name": "deny", "confidence": 0.01}]
    data = {"text": text, "intent": dict(ranking[0]), "intent_ranking": ranking,
            "entities": entities or []}
    if similarity is not None:
        data["in_scope_similarity"] = similarity
    message = Message(data=data)
    config = {**AtiendeFallbackClassifier.get_default_config(), "threshold": 0.3,
              "min_in_scope_similarity": minimum}
    AtiendeFallbackClassifier(config).process([message])
    return message


def test_confident_but_far_from_everything_in_scope_falls_back() -> None:
    assert _with_similarity("bot_challenge", 0.9, 0.31).get("intent")["name"] == "nlu_fallback"


def test_close_to_the_training_data_keeps_its_intent() -> None:
    assert _with_similarity("bot_challenge", 0.9, 0.8).get("intent")["name"] == "bot_challenge"


def test_far_unsure_faq_is_not_rescued_for_the_knowledge_base() -> None:
    message = _with_similarity("faq", 0.25, 0.3)
    assert message.get("intent")["name"] == "nlu_fallback"
    assert message.get("faq_low_confidence") is None


def test_similarity_rule_off_by_default_and_without_a_score() -> None:
    assert _with_similarity("greet", 0.9, 0.1, minimum=0.0).get("intent")["name"] == "greet"
    assert _with_similarity("greet", 0.9, None).get("intent")["name"] == "greet"


def test_far_bare_order_number_is_still_an_answer() -> None:
    text = "AT100234"
    message = _with_similarity("greet", 0.9, 0.2, text=text, entities=[
        {"entity": "order_id", "start": 0, "end": len(text), "value": text}])
    assert message.get("intent")["name"] == "inform"


def test_confident_form_answer_far_from_the_examples_is_kept() -> None:
    assert _with_similarity("inform", 0.9, 0.3).get("intent")["name"] == "inform"


def _configured(intent: str, confidence: float, similarity: float, language: str,
                **overrides: object) -> Message:
    ranking = [{"name": intent, "confidence": confidence}, {"name": "deny", "confidence": 0.01}]
    message = Message(data={"text": "x", "intent": dict(ranking[0]), "intent_ranking": ranking,
                            "entities": [], "in_scope_similarity": similarity,
                            "language": language})
    config = {**AtiendeFallbackClassifier.get_default_config(), "threshold": 0.3, **overrides}
    AtiendeFallbackClassifier(config).process([message])
    return message


def test_similarity_minimum_per_language() -> None:
    minimum = {"es": 0.5, "en": 0.4}
    spanish = _configured("greet", 0.9, 0.45, "es", min_in_scope_similarity=minimum)
    english = _configured("greet", 0.9, 0.45, "en", min_in_scope_similarity=minimum)
    assert spanish.get("intent")["name"] == "nlu_fallback"
    assert english.get("intent")["name"] == "greet"


def test_unknown_language_uses_the_default_similarity_minimum() -> None:
    minimum = {"es": 0.2, "default": 0.6}
    message = _configured("greet", 0.9, 0.45, "fr", min_in_scope_similarity=minimum)
    assert message.get("intent")["name"] == "nlu_fallback"


def test_per_intent_threshold_overrides_the_global_one() -> None:
    thresholds = {"complaint": 0.15, "bot_challenge": 0.6}
    unsure_complaint = _configured("complaint", 0.2, 0.9, "es", intent_thresholds=thresholds)
    fairly_sure_bot = _configured("bot_challenge", 0.5, 0.9, "es", intent_thresholds=thresholds)
    other = _configured("greet", 0.2, 0.9, "es", intent_thresholds=thresholds)
    assert unsure_complaint.get("intent")["name"] == "complaint"
    assert fairly_sure_bot.get("intent")["name"] == "nlu_fallback"
    assert other.get("intent")["name"] == "nlu_fallback"


def test_out_of_range_settings_are_rejected() -> None:
    import pytest

    config = {**AtiendeFallbackClassifier.get_default_config(), "threshold": 0.3}
    with pytest.raises(ValueError):
        AtiendeFallbackClassifier.validate_config({**config, "intent_thresholds": {"faq": 2}})
    with pytest.raises(ValueError):
        AtiendeFallbackClassifier.validate_config(
            {**config, "min_in_scope_similarity": {"es": -0.1}})


def test_the_offline_rescoring_is_the_component_rule() -> None:
    """scripts/nlu_abstention scores exactly what the component decides."""
    from scripts.nlu_abstention import decide

    overrides = {"intent_thresholds": {"complaint": 0.15}, "faq_min_confidence": 0.2,
                 "min_in_scope_similarity": {"es": 0.5, "en": 0.4}}
    cases = [("complaint", 0.2, 0.9, "es"), ("greet", 0.2, 0.9, "en"), ("faq", 0.25, 0.9, "es"),
             ("faq", 0.25, 0.3, "en"), ("bot_challenge", 0.9, 0.45, "es"),
             ("bot_challenge", 0.9, 0.45, "en"), ("inform", 0.9, 0.1, "es")]
    for intent, confidence, similarity, language in cases:
        message = _configured(intent, confidence, similarity, language, **overrides)
        record = {"ranking": [{"name": intent, "confidence": confidence},
                              {"name": "deny", "confidence": 0.01}],
                  "in_scope_similarity": similarity, "language": language, "text": "x",
                  "entities": []}
        config = {**AtiendeFallbackClassifier.get_default_config(), "threshold": 0.3,
                  **overrides}
        assert decide(record, config) == message.get("intent")["name"], (intent, language)


def _ranked_out_of_scope(oos: float, second: str, confidence: float, similarity: float,
                         **overrides: object) -> Message:
    ranking = [{"name": "nlu_fallback", "confidence": oos},
               {"name": second, "confidence": confidence}, {"name": "deny", "confidence": 0.01}]
    message = Message(data={"text": "x", "intent": dict(ranking[0]), "intent_ranking": ranking,
                            "entities": [], "in_scope_similarity": similarity,
                            "language": "es"})
    config = {**AtiendeFallbackClassifier.get_default_config(), "threshold": 0.3,
              "min_in_scope_similarity": 0.5, **overrides}
    AtiendeFallbackClassifier(config).process([message])
    return message


def test_unsure_out_of_scope_ranking_gives_way_to_a_sure_enough_in_scope_intent() -> None:
    kept = _ranked_out_of_scope(0.55, "greet", 0.4, 0.8, out_of_scope_min_confidence=0.6)
    assert kept.get("intent") == {"name": "greet", "confidence": 0.4}


def test_out_of_scope_ranking_stays_when_sure_off_or_the_runner_up_is_weak_or_far() -> None:
    sure = _ranked_out_of_scope(0.7, "greet", 0.3, 0.8, out_of_scope_min_confidence=0.6)
    off = _ranked_out_of_scope(0.55, "greet", 0.4, 0.8)
    weak = _ranked_out_of_scope(0.55, "greet", 0.2, 0.8, out_of_scope_min_confidence=0.6)
    far = _ranked_out_of_scope(0.55, "greet", 0.4, 0.3, out_of_scope_min_confidence=0.6)
    for message in (sure, off, weak, far):
        assert message.get("intent")["name"] == "nlu_fallback"


def _with_detector(intent: str, confidence: float, probability: float | None,
                   **overrides: object) -> Message:
    ranking = [{"name": intent, "confidence": confidence},
               {"name": "greet", "confidence": 0.35}, {"name": "deny", "confidence": 0.01}]
    data = {"text": "x", "intent": dict(ranking[0]), "intent_ranking": ranking, "entities": [],
            "in_scope_similarity": 0.8, "language": "es"}
    if probability is not None:
        data["out_of_scope_probability"] = probability
    message = Message(data=data)
    config = {**AtiendeFallbackClassifier.get_default_config(), "threshold": 0.3,
              "min_in_scope_similarity": 0.5, **overrides}
    AtiendeFallbackClassifier(config).process([message])
    return message


def test_a_sure_detector_sends_a_confident_in_scope_guess_to_the_fallback() -> None:
    assert _with_detector("complaint", 0.9, 0.95, out_of_scope_above=0.9).get(
        "intent")["name"] == "nlu_fallback"
    # below the setting, rule off, no score, or a form answer: the intent stays
    for probability, above, intent in ((0.85, 0.9, "complaint"), (0.95, 0.0, "complaint"),
                                       (None, 0.9, "complaint"), (0.95, 0.9, "inform")):
        message = _with_detector(intent, 0.9, probability, out_of_scope_above=above)
        assert message.get("intent")["name"] == intent


def test_a_detector_sure_of_scope_lets_an_out_of_scope_ranking_give_way() -> None:
    kept = _with_detector("nlu_fallback", 0.6, 0.05, in_scope_below=0.1)
    assert kept.get("intent") == {"name": "greet", "confidence": 0.35}
    for probability, below in ((0.2, 0.1), (0.05, 0.0), (None, 0.1)):
        message = _with_detector("nlu_fallback", 0.6, probability, in_scope_below=below)
        assert message.get("intent")["name"] == "nlu_fallback"


def test_the_offline_rescoring_passes_the_detector_probability() -> None:
    from scripts.nlu_abstention import decide

    config = {**AtiendeFallbackClassifier.get_default_config(), "threshold": 0.3,
              "out_of_scope_above": 0.9, "in_scope_below": 0.1}
    for intent, probability in (("complaint", 0.95), ("nlu_fallback", 0.05), ("greet", 0.5)):
        message = _with_detector(intent, 0.6, probability, **config)
        ranking = [{"name": intent, "confidence": 0.6}, {"name": "greet", "confidence": 0.35},
                   {"name": "deny", "confidence": 0.01}]
        record = {"ranking": ranking, "in_scope_similarity": 0.8,
                  "language": "es", "text": "x", "entities": [],
                  "out_of_scope_probability": probability}
        assert decide(record, config) == message.get("intent")["name"]
