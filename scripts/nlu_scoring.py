"""Scoring intent predictions, shared by the NLU evaluations (``scripts/nlu_crossval.py``,
``nlu_heldout.py``, ``nlu_external.py``, ``nlu_abstention.py``): macro and per-intent precision /
recall / F1, the intent the pipeline would give at other fallback thresholds (re-scored offline
from the classifier's own ranking), and the Markdown tables of the reports."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def scores(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Macro and per-intent precision/recall/F1 over the gold intents of one language."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    labels = sorted(set(gold))
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    per_intent = {
        label: {
            "precision": round(float(p[i]), 4),
            "recall": round(float(r[i]), 4),
            "f1": round(float(f[i]), 4),
            "support": int(s[i]),
        }
        for i, label in enumerate(labels)
    }
    return {
        "examples": len(gold),
        "accuracy": round(float(accuracy_score(gold, pred)), 4),
        "macro_precision": round(float(p.mean()), 4),
        "macro_recall": round(float(r.mean()), 4),
        "macro_f1": round(float(f.mean()), 4),
        "per_intent": per_intent,
    }


def classifier_ranking(parsed: dict[str, Any], threshold: float) -> list[dict[str, Any]]:
    """The intent classifier's own ranking, without the fallback classifier's entry in front."""
    ranking = list(parsed.get("intent_ranking") or [])
    if (
        len(ranking) > 1
        and ranking[0].get("name") == "nlu_fallback"
        and abs(float(ranking[0].get("confidence") or 0.0) - threshold) < 1e-9
    ):
        ranking = ranking[1:]
    return ranking


def simulate(
    record: dict[str, Any], threshold: float, ambiguity: float, fallback_cfg: dict[str, Any]
) -> str:
    """The intent the pipeline would give at another fallback threshold / ambiguity threshold."""
    from bot.components.fallback_classifier import is_entity_answer, keeps_faq

    ranking = record["ranking"]
    if not ranking:
        return "nlu_fallback"
    top = ranking[0]
    confidence = float(top.get("confidence") or 0.0)
    ambiguous = (
        len(ranking) > 1 and confidence - float(ranking[1].get("confidence") or 0.0) < ambiguity
    )
    if confidence >= threshold and not ambiguous:
        return top["name"]
    if keeps_faq(
        top,
        fallback_cfg.get("faq_intent", "faq"),
        float(fallback_cfg.get("faq_min_confidence", 0.3)),
    ):
        return top["name"]
    if is_entity_answer(
        record["text"],
        record["entities"],
        list(fallback_cfg.get("inform_entities", ["order_id", "email", "phone"])),
        int(fallback_cfg.get("inform_max_other_words", 3)),
    ):
        return fallback_cfg.get("inform_intent", "inform")
    return "nlu_fallback"


def fallback_config(config_path: Path) -> dict[str, Any]:
    import yaml

    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if "FallbackClassifier" in component["name"]:
            return component
    return {"threshold": 0.0, "ambiguity_threshold": 0.0}


def summary_table(languages: dict[str, Any]) -> list[str]:
    lines = ["| language | examples | accuracy | macro P | macro R | macro F1 |",
             "|---|---|---|---|---|---|"]
    for lang, s in languages.items():
        lines.append(
            f"| {lang} | {s['examples']} | {s['accuracy']} | {s['macro_precision']} | "
            f"{s['macro_recall']} | **{s['macro_f1']}** |"
        )
    return lines


def per_intent_tables(languages: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for lang, s in languages.items():
        lines += ["", f"## {lang}", "", "| intent | P | R | F1 | n |", "|---|---|---|---|---|"]
        for intent, m in s["per_intent"].items():
            lines.append(
                f"| {intent} | {m['precision']} | {m['recall']} | {m['f1']} | {m['support']} |"
            )
    return lines
