"""Metrics and threshold calibration on hand-made outcomes."""

from __future__ import annotations

import pytest

from kb_index.evaluate import Outcome, Query, calibrate, metrics


def _o(expected: str, ranked: list[str], confidence: float, lang: str = "es",
       cross: bool = False) -> Outcome:
    return Outcome(Query("q", lang, (expected,) if expected else (), cross), tuple(ranked),
                   confidence)


def test_recall_and_mrr_per_language() -> None:
    outcomes = [_o("a", ["a", "b"], 0.9), _o("b", ["a", "b", "c"], 0.5),
                _o("c", ["x", "y", "z", "c"], 0.3, lang="en", cross=True)]
    result = metrics(outcomes)
    assert result["all"]["recall@1"] == pytest.approx(1 / 3, abs=1e-3)
    assert result["all"]["recall@3"] == pytest.approx(2 / 3, abs=1e-3)
    assert result["all"]["mrr"] == pytest.approx((1 + 0.5 + 0.25) / 3, abs=1e-3)
    assert result["es"] == {"n": 2, "recall@1": 0.5, "recall@3": 1.0, "mrr": 0.75}
    assert result["cross_language"]["n"] == 1
    assert [m["expected"] for m in result["misses"]] == [["b"], ["c"]]


def test_calibration_separates_right_from_wrong() -> None:
    right = [_o("a", ["a"], s) for s in (0.62, 0.7, 0.8)]
    wrong = [_o("a", ["b"], 0.41)]
    oos = [_o("", ["a"], s) for s in (0.2, 0.35)]
    result = calibrate(right + wrong, oos)
    assert 0.41 < result["threshold"] < 0.62
    assert result["decision_accuracy"] == 1.0
    assert result["correct_top1_answered"] == "3/3"
    assert result["wrong_or_out_of_scope_abstained"] == "3/3"
    assert calibrate([], [])["threshold"] is None
