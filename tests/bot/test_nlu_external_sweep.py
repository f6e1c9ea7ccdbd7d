"""The abstention sweep of scripts/nlu_external.py (bot env: it re-uses the fallback rules)."""

from __future__ import annotations

from scripts.nlu_external import OOS, sweep


def test_sweep_uses_the_threshold_and_the_nearest_neighbour_rule() -> None:
    records = [
        {"text": "tell me a joke", "entities": [], "nn_similarity": 0.2,
         "ranking": [{"name": "faq", "confidence": 0.45}]},
        {"text": "hola", "entities": [], "nn_similarity": 0.9,
         "ranking": [{"name": "greet", "confidence": 0.35}]},
    ]
    gold = [OOS, "greet"]
    result = sweep(records, gold, {"faq_min_confidence": 0.9})
    assert result["threshold=0.3,nn=0.0"]["oos_recall"] == 0.0  # faq kept at 0.45
    assert result["threshold=0.5,nn=0.0"]["oos_recall"] == 1.0
    assert result["threshold=0.5,nn=0.0"]["inscope_false_fallback"] == 1.0  # greet 0.35 < 0.5
    assert result["threshold=0.3,nn=0.3"] == {**result["threshold=0.3,nn=0.3"], "oos_recall": 1.0,
                                              "inscope_false_fallback": 0.0}
