"""Offline re-scoring of abstention rules (scripts/nlu_abstention.py) on saved predictions.

Runs in the bot environment (scripts/test.sh): it scores with the Rasa component's own decision."""

from __future__ import annotations

from bot.components.fallback_classifier import AtiendeFallbackClassifier
from scripts.nlu_abstention import evaluate, fallback_causes, markdown, tune


def _record(gold: str, top: str, confidence: float, similarity: float, lang: str) -> dict:
    return {"gold": gold, "language": lang, "text": "x", "entities": [],
            "in_scope_similarity": similarity,
            "ranking": [{"name": top, "confidence": confidence},
                        {"name": "deny", "confidence": 0.01}]}


BASE = {**AtiendeFallbackClassifier.get_default_config(), "threshold": 0.3,
        "faq_min_confidence": 0.2, "min_in_scope_similarity": 0.5}


def test_evaluate_counts_fallbacks_on_both_sides() -> None:
    records = {"es": [_record("complaint", "complaint", 0.9, 0.9, "es"),
                      _record("complaint", "complaint", 0.2, 0.9, "es"),
                      _record("nlu_fallback", "greet", 0.9, 0.3, "es"),
                      _record("nlu_fallback", "greet", 0.9, 0.9, "es")]}
    figures = evaluate(records, BASE)["es"]
    assert figures["accuracy"] == 0.5
    assert figures["oos_recall"] == 0.5
    assert figures["inscope_false_fallback"] == 0.5


def test_tuning_lowers_the_threshold_of_an_intent_that_is_right_when_unsure() -> None:
    es = [_record("complaint", "complaint", 0.2, 0.9, "es") for _ in range(5)]
    es += [_record("greet", "greet", 0.9, 0.9, "es") for _ in range(5)]
    es += [_record("nlu_fallback", "greet", 0.2, 0.9, "es") for _ in range(5)]
    en = [_record("greet", "greet", 0.9, 0.9, "en") for _ in range(5)]
    en += [_record("nlu_fallback", "nlu_fallback", 0.9, 0.3, "en") for _ in range(5)]
    records = {"es": es, "en": en}
    tuned = tune(records, BASE)
    assert tuned["intent_thresholds"].get("complaint", 0.3) <= 0.2
    assert "greet" not in tuned["intent_thresholds"]  # unsure greet here is out of scope
    assert evaluate(records, tuned)["es"]["macro_f1"] > evaluate(records, BASE)["es"]["macro_f1"]


def test_markdown_lists_every_rule() -> None:
    figures = {"accuracy": 0.9, "macro_f1": 0.8, "oos_recall": 0.85,
               "inscope_false_fallback": 0.05}
    rows = [{"rule": "as configured", "config_changes": {"threshold": 0.3},
             "cv": {"es": figures}, "external": {"es": figures, "en": figures}}]
    text = markdown(rows)
    assert "| as configured | 0.8 | - | 0.9 / 0.85 / 0.05 | 0.9 / 0.85 / 0.05 |" in text


def test_fallback_causes_name_the_rule_that_dropped_each_in_scope_message() -> None:
    records = {"es": [_record("greet", "nlu_fallback", 0.6, 0.9, "es"),
                      _record("greet", "greet", 0.9, 0.3, "es"),
                      _record("greet", "greet", 0.2, 0.9, "es"),
                      _record("greet", "greet", 0.2, 0.3, "es"),
                      _record("greet", "greet", 0.9, 0.9, "es"),
                      _record("nlu_fallback", "greet", 0.2, 0.3, "es")]}
    causes = fallback_causes(records, BASE)["es"]
    assert causes == {"out-of-scope class": 1, "far": 1, "unsure": 1, "far + unsure": 1}
    tuned = {**BASE, "intent_thresholds": {"greet": 0.1}}
    assert fallback_causes(records, tuned)["es"] == {"out-of-scope class": 1, "far": 2}
