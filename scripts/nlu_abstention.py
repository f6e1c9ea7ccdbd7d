"""Abstention rules re-scored offline: cross-validation picks, the external set measures.

The fallback rule (``bot.components.fallback_classifier.fallback_decision``) only reads the
intent classifier's ranking, the nearest-in-scope similarity, the language, the text and the
entities, so a rule can be re-scored exactly on saved predictions instead of retraining:

    .venv/bot/bin/python -m scripts.nlu_crossval --folds 3 --seed 42 --records cv.json
    .venv/bot/bin/python -m scripts.nlu_external --records external.json
    .venv/bot/bin/python -m scripts.nlu_abstention --cv cv.json --external external.json

Per-intent thresholds and per-language similarity minimums are *chosen on the out-of-fold
cross-validation predictions* (coordinate ascent on macro F1, both languages together, since
the model is bilingual) and only then scored on the external development set, so the external
figures are not tuned on the set that measures them. Writes reports/nlu/abstention.{md,json}.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts.nlu_crossval import LANGUAGES, ROOT
from scripts.nlu_external import OOS, abstention
from scripts.nlu_scoring import fallback_config, scores

THRESHOLD_GRID = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6)
SIMILARITY_GRID = (0.0, 0.4, 0.45, 0.5, 0.55, 0.6)
OOS_CONFIDENCE_GRID = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8)


def decide(record: dict[str, Any], cfg: dict[str, Any]) -> str:
    from bot.components.fallback_classifier import fallback_decision

    return fallback_decision(cfg, record["ranking"], record.get("in_scope_similarity"),
                             record.get("language"), record.get("text"),
                             record.get("entities") or [],
                             record.get("out_of_scope_probability"))["intent"]


def evaluate(records: dict[str, list[dict[str, Any]]], cfg: dict[str, Any]) -> dict[str, Any]:
    result = {}
    for lang in LANGUAGES:
        rows = records.get(lang) or []
        if not rows:
            continue
        gold = [r["gold"] for r in rows]
        pred = [decide(r, cfg) for r in rows]
        s = scores(gold, pred)
        result[lang] = {"accuracy": s["accuracy"], "macro_f1": s["macro_f1"],
                        **abstention(gold, pred)}
    return result


def fallback_causes(records: dict[str, list[dict[str, Any]]],
                    cfg: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per language, which rule sends the in-scope messages that fall back to the fallback.

    ``out-of-scope class``: the classifier itself ranks ``nlu_fallback`` first (no cut-off
    can rescue these: the lever is the data); ``far``: the nearest in-scope example is below
    the similarity minimum (the distance rule); ``unsure``: the confidence is below the
    (per-intent) threshold and ``faq`` was not rescued; ``far + unsure``: both.
    """
    from bot.components.fallback_classifier import (
        intent_threshold,
        is_far_from_scope,
        similarity_minimum,
    )

    result: dict[str, dict[str, int]] = {}
    for lang, rows in records.items():
        counts: dict[str, int] = {}
        for r in rows:
            if r["gold"] == OOS or decide(r, cfg) != OOS:
                continue
            top = (r["ranking"] or [{}])[0]
            far = is_far_from_scope(r.get("in_scope_similarity"), similarity_minimum(
                cfg.get("min_in_scope_similarity"), lang))
            unsure = float(top.get("confidence") or 0.0) < intent_threshold(cfg, top.get("name"))
            if top.get("name") == OOS and not far:
                cause = "out-of-scope class"
            else:
                cause = " + ".join(c for c, on in (("far", far), ("unsure", unsure)) if on)
            counts[cause or "other"] = counts.get(cause or "other", 0) + 1
        result[lang] = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
    return result


def objective(figures: dict[str, Any]) -> float:
    return sum(f["macro_f1"] for f in figures.values())


def tune(cv: dict[str, list[dict[str, Any]]], base: dict[str, Any],
         rounds: int = 2) -> dict[str, Any]:
    """Per-language similarity minimums, the out-of-scope ranking's minimum confidence, then
    per-intent thresholds, by coordinate ascent."""
    cfg = json.loads(json.dumps(base))
    sim = cfg.get("min_in_scope_similarity")
    if not isinstance(sim, dict):
        cfg["min_in_scope_similarity"] = {lang: float(sim or 0.0) for lang in LANGUAGES}
    intents = sorted({r["gold"] for rows in cv.values() for r in rows} - {OOS})
    cfg["intent_thresholds"] = dict(cfg.get("intent_thresholds") or {})
    best = objective(evaluate(cv, cfg))
    for _ in range(rounds):
        for lang in LANGUAGES:
            for value in SIMILARITY_GRID:
                trial = {**cfg, "min_in_scope_similarity": {
                    **cfg["min_in_scope_similarity"], lang: value}}
                score = objective(evaluate(cv, trial))
                if score > best + 1e-6:
                    best, cfg = score, trial
        for value in OOS_CONFIDENCE_GRID:
            trial = {**cfg, "out_of_scope_min_confidence": value}
            score = objective(evaluate(cv, trial))
            if score > best + 1e-6:
                best, cfg = score, trial
        for intent in intents:
            for value in THRESHOLD_GRID:
                trial = {**cfg, "intent_thresholds": {**cfg["intent_thresholds"], intent: value}}
                score = objective(evaluate(cv, trial))
                if score > best + 1e-6:
                    best, cfg = score, trial
    cfg["intent_thresholds"] = {k: v for k, v in cfg["intent_thresholds"].items()
                                if abs(v - float(base["threshold"])) > 1e-9}
    return cfg


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "# Abstention rules re-scored on saved predictions",
        "",
        "Same classifier outputs (cross-validation seed 42 out-of-fold, external set trained on "
        "all of data/nlu), different fallback rules (`scripts/nlu_abstention.py`). CV = macro F1; "
        "external = accuracy / out-of-scope recall / in-scope false fallback. Tuned rules are "
        "chosen on CV only.",
        "",
        "| rule | CV es | CV en | external es | external en |",
        "|---|---|---|---|---|",
    ]
    def external(figures: dict[str, Any], lang: str) -> str:
        f = figures.get(lang)
        return (f"{f['accuracy']} / {f['oos_recall']} / {f['inscope_false_fallback']}"
                if f else "-")

    for row in rows:
        cv, ext = row["cv"], row["external"]
        lines.append(f"| {row['rule']} | {cv.get('es', {}).get('macro_f1', '-')} | "
                     f"{cv.get('en', {}).get('macro_f1', '-')} | {external(ext, 'es')} | "
                     f"{external(ext, 'en')} |")
    causes = [row for row in rows if row.get("causes")]
    if causes:
        lines += ["", "Why in-scope messages fall back (counts; `out-of-scope class` = the "
                  "classifier ranks nlu_fallback first, `far` = similarity rule, `unsure` = "
                  "below the threshold):", "",
                  "| rule | set | es | en |", "|---|---|---|---|"]
        for row in causes:
            for name, per_lang in row["causes"].items():
                cells = [", ".join(f"{k} {v}" for k, v in per_lang.get(lang, {}).items()) or "-"
                         for lang in ("es", "en")]
                lines.append(f"| {row['rule']} | {name} | {cells[0]} | {cells[1]} |")
    lines += ["", "Tuned settings:", ""]
    for row in rows:
        lines.append(f"- {row['rule']}: `{json.dumps(row['config_changes'], sort_keys=True)}`")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config.yml"))
    parser.add_argument("--cv", default=None, help="records JSON of scripts.nlu_crossval "
                        "(without it nothing is tuned: only the fixed rules are scored)")
    parser.add_argument("--external", required=True, help="records JSON of scripts.nlu_external")
    parser.add_argument("--out", default=str(ROOT / "reports" / "nlu"))
    args = parser.parse_args(argv)
    from bot.components.fallback_classifier import AtiendeFallbackClassifier

    base = {**AtiendeFallbackClassifier.get_default_config(),
            **fallback_config(Path(args.config))}
    base.pop("name", None)
    cv = json.loads(Path(args.cv).read_text(encoding="utf-8")) if args.cv else {}
    ext = json.loads(Path(args.external).read_text(encoding="utf-8"))
    keys = ("threshold", "min_in_scope_similarity", "intent_thresholds",
            "out_of_scope_min_confidence")
    candidates = [("as configured", base)]
    for t in (0.2, 0.3, 0.4):
        for nn in (0.0, 0.45, 0.5, 0.55):
            candidates.append((f"threshold {t}, similarity {nn}",
                               {**base, "threshold": t, "min_in_scope_similarity": nn}))
    for es, en in ((0.5, 0.45), (0.55, 0.5), (0.55, 0.45), (0.6, 0.5)):
        candidates.append((f"similarity es {es} / en {en}",
                           {**base, "min_in_scope_similarity": {"es": es, "en": en}}))
    for oos in (0.5, 0.6, 0.7):
        candidates.append((f"out-of-scope ranking needs {oos}",
                           {**base, "out_of_scope_min_confidence": oos}))
    if cv:
        sim_only = tune(cv, base, rounds=1)
        sim_only = {**base, "min_in_scope_similarity": sim_only["min_in_scope_similarity"]}
        candidates.append(("similarity per language (tuned on CV)", sim_only))
        oos_only = max(({**base, "out_of_scope_min_confidence": v} for v in OOS_CONFIDENCE_GRID),
                       key=lambda c: objective(evaluate(cv, c)))
        candidates.append(("out-of-scope ranking minimum (tuned on CV)", oos_only))
        candidates.append(("similarity per language + per-intent thresholds (tuned on CV)",
                           tune(cv, base)))
    rows = []
    for name, cfg in candidates:
        rows.append({"rule": name,
                     "config_changes": {k: cfg.get(k) for k in keys},
                     "cv": evaluate(cv, cfg), "external": evaluate(ext, cfg)})
        if name == "as configured" or "tuned" in name:
            rows[-1]["causes"] = {"CV": fallback_causes(cv, cfg),
                                  "external": fallback_causes(ext, cfg)}
        print(rows[-1]["rule"], json.dumps({k: rows[-1][k] for k in ("cv", "external")}))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "abstention.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    (out / "abstention.md").write_text(markdown(rows), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
