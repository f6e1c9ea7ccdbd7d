"""The external NLU development set stays external, and its scoring adds up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from scripts.nlu_external import OOS, abstention, external_markdown
from scripts.nlu_heldout import normalise

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = ROOT / "tests" / "data" / "nlu_external"


def _examples(path: Path) -> list[tuple[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rows = []
    for block in data.get("nlu", []):
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line.strip()[2:].strip())
            if text:
                rows.append((block["intent"], text))
    return rows


@pytest.mark.parametrize("lang", ["es", "en"])
def test_at_least_600_messages_per_language_with_a_recorded_source(lang: str) -> None:
    files = sorted(EXTERNAL.glob(f"{lang}_*.yml"))
    assert sum(len(_examples(f)) for f in files) >= 600
    sources = (EXTERNAL / "SOURCES.md").read_text(encoding="utf-8")
    for f in files:
        assert f"`{f.name}`" in sources, f"{f.name} has no source/licence row in SOURCES.md"


def test_no_external_message_is_in_the_training_data() -> None:
    """Short conventional messages ("thank you very much", "¿eres un robot?") were in data/nlu
    before the set was assembled and are bound to coincide (the report scores the unseen ones
    apart); anything longer found in both has been copied into training."""
    training = {normalise(text) for f in (ROOT / "data" / "nlu").rglob("*.yml")
                for _, text in _examples(f)}
    leaked = [text for f in EXTERNAL.glob("*.yml") for _, text in _examples(f)
              if normalise(text) in training and len(normalise(text).split()) > 5]
    assert not leaked, f"external messages found in data/nlu: {leaked[:10]}"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_patterns_written_from_the_external_errors_copy_none_of_them(lang: str) -> None:
    """chat_patterns.yml was written after reading the external errors: there not even a short
    external message may appear, or the set would score its own sentences."""
    external = {normalise(text) for f in EXTERNAL.glob("*.yml") for _, text in _examples(f)}
    patterns = ROOT / "data" / "nlu" / lang / "chat_patterns.yml"
    copied = [text for _, text in _examples(patterns) if normalise(text) in external]
    assert not copied, f"external messages in {patterns.name}: {copied}"


def test_abstention_counts_both_sides() -> None:
    gold = [OOS, OOS, OOS, OOS, "greet", "greet", "thank", "order_status"]
    pred = [OOS, OOS, OOS, "faq", "greet", OOS, "thank", "faq"]
    a = abstention(gold, pred)
    assert a["oos_recall"] == 0.75 and a["oos_examples"] == 4
    assert a["inscope_false_fallback"] == 0.25 and a["inscope_accuracy"] == 0.5


def test_markdown_has_abstention_sources_and_sweep() -> None:
    lang = {"examples": 2, "accuracy": 0.5, "macro_precision": 0.5, "macro_recall": 0.5,
            "macro_f1": 0.4, "per_intent": {"greet": {"precision": 1.0, "recall": 1.0,
                                                      "f1": 1.0, "support": 1}}}
    report = {"training_examples": 9, "external": "tests/data/nlu_external",
              "languages": {"es": lang},
              "abstention": {"es": {"oos_examples": 1, "oos_recall": 0.0, "inscope_examples": 1,
                                    "inscope_false_fallback": 0.0, "inscope_accuracy": 1.0}},
              "sources": {"es": {"es_x": {"examples": 2, "accuracy": 0.5}}},
              "abstention_sweep": {"es": {"threshold=0.3,nn=0.0": {
                  "oos_recall": 0.0, "inscope_false_fallback": 0.0, "accuracy": 0.5}}}}
    text = external_markdown(report)
    assert "| es | 1 | **0.0** | 1 | **0.0** | 1.0 |" in text
    assert "| es | es_x | 2 | 0.5 |" in text
    assert "| threshold=0.3,nn=0.0 | 0.0 | 0.0 | 0.5 |" in text
