"""The redactor's measured quality stays above floors chosen from the measurement
(reports/security/redaction.md): a change that makes it leak more, or redact order numbers and
amounts, fails here. The floors sit a little under today's figures, per entity type and on the
held-out lines (written after the rules were tuned, never tuned on)."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy.evaluate import evaluate_splits, load, main

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "pii_redaction.jsonl"
# measured 2026-12-07: overall P 0.992 / R 0.983; held-out P 1.000 / R 0.922
OVERALL = {"precision": 0.97, "recall": 0.97}
HELDOUT = {"precision": 0.95, "recall": 0.90}
PER_TYPE = {  # type: (precision, recall) floors; measured EMAIL 1/1, PHONE .988/.964,
    "EMAIL": (0.97, 0.97),  # CARD .943/.971, IBAN 1/.913, ID .983/1
    "PHONE": (0.95, 0.93),
    "CARD": (0.90, 0.94),
    "IBAN": (0.95, 0.88),
    "ID": (0.95, 0.95),
}


@pytest.fixture(scope="module")
def result() -> dict:
    return evaluate_splits(load(DATA))


def test_the_set_is_large_mixed_and_well_formed(result) -> None:
    assert result["lines"] >= 200
    assert result["by_language"]["es"] >= 150 and result["by_language"]["en"] >= 50
    assert result["lines_without_pii"] >= 60  # the look-alikes
    assert set(result["by_source"]) > {"own"}  # lines we did not write
    assert result["splits"]["heldout"]["lines"] >= 50


def test_redaction_precision_and_recall_stay_above_the_floors(result) -> None:
    for name, floor in OVERALL.items():
        assert result["redaction"][name] >= floor, (name, result["redaction"])
    for name, floor in HELDOUT.items():
        assert result["splits"]["heldout"]["redaction"][name] >= floor


@pytest.mark.parametrize("kind", sorted(PER_TYPE))
def test_each_entity_type_stays_above_its_floor(result, kind: str) -> None:
    precision, recall = PER_TYPE[kind]
    got = result["per_type"][kind]
    assert got["precision"] >= precision and got["recall"] >= recall, got


def test_look_alikes_are_rarely_touched(result) -> None:
    assert result["lines_without_pii_changed"] <= 3


def test_the_command_writes_the_report(tmp_path) -> None:
    assert main(["--data", str(DATA), "--out", str(tmp_path)]) == 0
    report = (tmp_path / "redaction.md").read_text(encoding="utf-8")
    assert "| heldout |" in report and "PHONE (typed, overlap)" in report
    assert (tmp_path / "redaction.json").exists()
