"""Scoring intent predictions (scripts/nlu_scoring.py): macro and per-intent figures over the gold
intents only, the classifier's own ranking under the fallback's entry, and the report tables."""

from __future__ import annotations

from scripts.nlu_scoring import classifier_ranking, per_intent_tables, scores, summary_table


def test_scores_are_macro_over_the_gold_intents() -> None:
    gold = ["greet", "greet", "order_status", "order_status"]
    pred = ["greet", "order_status", "order_status", "nlu_fallback"]
    s = scores(gold, pred)
    assert s["examples"] == 4 and s["accuracy"] == 0.5
    assert set(s["per_intent"]) == {"greet", "order_status"}  # a predicted-only label is no row
    assert s["per_intent"]["greet"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667,
                                        "support": 2}
    assert s["per_intent"]["order_status"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5,
                                               "support": 2}
    assert s["macro_precision"] == 0.75 and s["macro_recall"] == 0.5
    assert s["macro_f1"] == round((2 / 3 + 0.5) / 2, 4)


def test_the_fallback_entry_in_front_is_dropped_only_at_the_threshold() -> None:
    ranked = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "faq", "confidence": 0.35},
              {"name": "greet", "confidence": 0.1}]
    assert [r["name"] for r in classifier_ranking({"intent_ranking": ranked}, 0.4)] == \
        ["faq", "greet"]
    # a classifier that really predicted nlu_fallback (another confidence) keeps its entry
    assert classifier_ranking({"intent_ranking": ranked}, 0.5) == ranked
    assert classifier_ranking({}, 0.4) == []


def test_report_tables_have_one_row_per_language_and_intent() -> None:
    languages = {lang: scores(["greet", "bye"], ["greet", "greet"]) for lang in ("es", "en")}
    summary = summary_table(languages)
    assert summary[0].startswith("| language |") and len(summary) == 2 + 2
    assert summary[2].startswith("| es | 2 | 0.5 |") and summary[2].endswith("|")
    tables = per_intent_tables(languages)
    assert "## es" in tables and "## en" in tables
    assert "| bye | 0.0 | 0.0 | 0.0 | 1 |" in tables
    assert "| greet | 0.5 | 1.0 | 0.6667 | 1 |" in tables
