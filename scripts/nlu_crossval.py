"""Per-language NLU cross-validation (intent precision / recall / F1).

Atiende's NLU model is one bilingual model, but quality must hold in each language separately
(goal: macro F1 >= 0.92 for Spanish and for English). Rasa's own ``rasa test nlu
--cross-validation`` only reports the pooled figure, so this script runs a stratified k-fold
itself: every fold trains the real pipeline from ``config.yml`` on the rest of
``data/nlu/{es,en}`` (+ ``data/nlu/common.yml``), parses the held-out examples through the whole
pipeline (including the fallback classifier, as a shopper would meet it) and scores each
language on its own examples.

``--variant lemmas`` / ``no-lemmas`` force word lemmas on / off (tokenizer and word featurizer)
in an otherwise identical pipeline, which is how the lemma choice in config.yml was measured;
``as-configured`` (default) scores config.yml as it is.

Run in the bot env, from the repo root:
    .venv/bot/bin/python -m scripts.nlu_crossval --folds 3                 # config.yml as is
    .venv/bot/bin/python -m scripts.nlu_crossval --folds 3 --seeds 42,7,13 # three random splits
    .venv/bot/bin/python -m scripts.nlu_crossval --folds 3 --variant lemmas
    .venv/bot/bin/python -m scripts.nlu_crossval --folds 3 --variant no-lemmas
Writes reports/nlu/crossval_<variant>.json and .md.

The blind held-out set is scored by ``scripts/nlu_heldout.py``, which reuses the pieces here;
the scoring itself (F1, fallback re-scoring, report tables) is ``scripts/nlu_scoring.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts.nlu_scoring import (
    classifier_ranking,
    fallback_config,
    per_intent_tables,
    scores,
    simulate,
    summary_table,
)

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ("es", "en")

Example = tuple[str, str, Any]  # (language, intent, rasa Message)


def load_examples(nlu_dir: Path) -> list[Example]:
    """Every intent example of data/nlu/<lang>/*.yml tagged with its language."""
    from rasa.shared.nlu.training_data.loading import load_data

    examples: list[Example] = []
    for lang in LANGUAGES:
        for path in sorted((nlu_dir / lang).glob("*.yml")):
            for message in load_data(str(path)).intent_examples:
                examples.append((lang, message.get("intent"), message))
    return examples


def training_only_data(nlu_dir: Path) -> Any:
    """``data/nlu/*.yml`` outside the language folders (``common.yml``, a licensed out-of-scope
    sample): always trained on, never held out or scored."""
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData()
    for path in sorted(nlu_dir.glob("*.yml")):
        data = data.merge(load_data(str(path)))
    return data


def stratified_folds(examples: Sequence[Example], folds: int, seed: int) -> list[list[int]]:
    """Indices per fold, stratified by (language, intent) so each fold sees every class."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (lang, intent, _) in enumerate(examples):
        groups[(lang, intent)].append(i)
    rng = random.Random(seed)
    result: list[list[int]] = [[] for _ in range(folds)]
    for key in sorted(groups):
        idx = groups[key]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            result[j % folds].append(i)
    return result


def variant_config(config_path: Path, variant: str, out_dir: Path) -> Path:
    """config.yml as configured, or with word lemmas forced on ("lemmas") / off ("no-lemmas").

    Only the tokenizer and the word-level CountVectorsFeaturizer change; the char n-gram
    featurizer always reads the surface text.
    """
    import yaml

    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    if variant in ("lemmas", "no-lemmas"):
        on = variant == "lemmas"
        for component in config["pipeline"]:
            if component["name"].endswith("LemmaTokenizer"):
                component["lemmatize"] = on
            if (
                component["name"] == "CountVectorsFeaturizer"
                and component.get("analyzer", "word") == "word"
            ):
                component["use_lemma"] = on
    config["policies"] = []
    path = out_dir / f"config_{variant}.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


async def parse_all(model_path: str, texts: Sequence[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    return [await agent.parse_message(text) for text in texts]


def run(config_path: Path, nlu_dir: Path, folds: int, seed: int, variant: str) -> dict[str, Any]:
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData

    examples = load_examples(nlu_dir)
    common = training_only_data(nlu_dir)
    fold_indices = stratified_folds(examples, folds, seed)
    gold: dict[str, list[str]] = defaultdict(list)
    pred: dict[str, list[str]] = defaultdict(list)
    records: dict[str, list[dict[str, Any]]] = defaultdict(list)
    fb_cfg = fallback_config(config_path)
    threshold = float(fb_cfg.get("threshold", 0.0))
    fold_seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="atiende-cv-") as tmp:
        tmp_dir = Path(tmp)
        config = variant_config(config_path, variant, tmp_dir)
        for k, test_idx in enumerate(fold_indices):
            test_set = set(test_idx)
            train = TrainingData([m for i, (_, _, m) in enumerate(examples) if i not in test_set])
            train = train.merge(common)
            data_path = tmp_dir / f"fold{k}.yml"
            data_path.write_text(RasaYAMLWriter().dumps(train), encoding="utf-8")
            started = time.perf_counter()
            model = train_nlu(
                str(config), str(data_path), str(tmp_dir / "models"), fixed_model_name=f"fold{k}"
            )
            fold_seconds.append(round(time.perf_counter() - started, 1))
            if not model:
                raise RuntimeError(f"training fold {k} failed")
            held_out = [examples[i] for i in test_idx]
            parsed = asyncio.run(parse_all(model, [m.get("text") for _, _, m in held_out]))
            for (lang, intent, _), result in zip(held_out, parsed, strict=True):
                gold[lang].append(intent)
                pred[lang].append((result.get("intent") or {}).get("name") or "")
                records[lang].append(
                    {
                        "text": result.get("text") or "",
                        "entities": result.get("entities") or [],
                        "ranking": classifier_ranking(result, threshold),
                        "language": lang,
                        "in_scope_similarity": result.get("in_scope_similarity"),
                        "out_of_scope_probability": result.get("out_of_scope_probability"),
                    }
                )
            print(f"fold {k + 1}/{folds}: trained in {fold_seconds[-1]} s", file=sys.stderr)
    sweep = {}
    for t in (0.0, 0.2, 0.3, 0.4, 0.5):
        for a in (0.0, 0.03, 0.05, 0.08):
            sweep[f"threshold={t},ambiguity={a}"] = {
                lang: round(
                    scores(gold[lang], [simulate(r, t, a, fb_cfg) for r in records[lang]])[
                        "macro_f1"
                    ],
                    4,
                )
                for lang in LANGUAGES
                if gold[lang]
            }
    errors = {
        lang: [
            {"text": r["text"], "gold": g, "predicted": p}
            for r, g, p in zip(records[lang], gold[lang], pred[lang], strict=True)
            if g != p
        ]
        for lang in LANGUAGES
    }
    return {
        "variant": variant,
        "errors": errors,
        "records": {
            lang: [{**r, "gold": g, "ranking": r["ranking"][:4]}
                   for r, g in zip(records[lang], gold[lang], strict=True)]
            for lang in LANGUAGES
        },
        "fallback_sweep_macro_f1": sweep,
        "config": str(
            config_path.relative_to(ROOT) if config_path.is_relative_to(ROOT) else config_path
        ),
        "folds": folds,
        "seed": seed,
        "fold_training_seconds": fold_seconds,
        "languages": {lang: scores(gold[lang], pred[lang]) for lang in LANGUAGES if gold[lang]},
    }


def to_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# NLU cross-validation — {report['variant']}",
        "",
        f"{report['folds']}-fold stratified, seed {report['seed']}, config `{report['config']}`; "
        "intent predicted by the full pipeline (fallback included).",
        "",
    ]
    lines += summary_table(report["languages"])
    if "seeds" in report:
        langs = list(report["languages"])
        lines += [
            "",
            "Macro F1 over several random splits (the tables below are the first seed's):",
            "",
            "| seed | " + " | ".join(langs) + " |",
            "|---|" + "---|" * len(langs),
        ]
        for seed, per_lang in report["seeds"]["macro_f1_per_seed"].items():
            lines.append(f"| {seed} | " + " | ".join(str(per_lang[lang]) for lang in langs) + " |")
        lines.append(
            "| **mean** | "
            + " | ".join(f"**{report['seeds']['mean_macro_f1'][lang]}**" for lang in langs)
            + " |"
        )
    lines += [
        "",
        "## Fallback thresholds (same predictions, macro F1 re-scored)",
        "",
        "| setting | " + " | ".join(report["languages"]) + " |",
        "|---|" + "---|" * len(report["languages"]),
    ]
    for setting, per_lang in report.get("fallback_sweep_macro_f1", {}).items():
        lines.append(
            f"| {setting} | "
            + " | ".join(str(per_lang[lang]) for lang in report["languages"])
            + " |"
        )
    lines += per_intent_tables(report["languages"])
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config.yml"))
    parser.add_argument("--nlu-dir", default=str(ROOT / "data" / "nlu"))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--seeds",
        default=None,
        help="comma-separated seeds (e.g. 42,7,13): one k-fold run per seed; the "
        "report keeps the first seed's details plus every seed's macro F1 "
        "and the mean (a single split moves macro F1 by about ±0.01)",
    )
    parser.add_argument(
        "--variant", choices=("as-configured", "lemmas", "no-lemmas"), default="as-configured"
    )
    parser.add_argument("--out", default=str(ROOT / "reports" / "nlu"))
    parser.add_argument("--records", default=None,
                        help="also write every out-of-fold prediction (classifier ranking, "
                        "in-scope similarity) of the first seed to this JSON file, to re-score "
                        "abstention rules offline")
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    logging.getLogger("rasa").setLevel(logging.WARNING)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [args.seed]
    runs = [
        run(Path(args.config).resolve(), Path(args.nlu_dir), args.folds, seed, args.variant)
        for seed in seeds
    ]
    report = runs[0]
    if len(runs) > 1:
        per_seed = {
            str(r["seed"]): {lang: s["macro_f1"] for lang, s in r["languages"].items()}
            for r in runs
        }
        report["seeds"] = {
            "macro_f1_per_seed": per_seed,
            "mean_macro_f1": {
                lang: round(sum(v[lang] for v in per_seed.values()) / len(per_seed), 4)
                for lang in report["languages"]
            },
        }
    errors = report.pop("errors")
    records = report.pop("records")
    for r in runs[1:]:
        r.pop("records", None)
    if args.records:
        Path(args.records).write_text(json.dumps(records, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    (out / f"crossval_{args.variant}.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    )
    # Misclassified held-out examples, for whoever curates data/nlu (review, don't train on them).
    (out / f"crossval_{args.variant}_errors.json").write_text(
        json.dumps(errors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / f"crossval_{args.variant}.md").write_text(to_markdown(report), encoding="utf-8")
    for lang, s in report["languages"].items():
        print(
            f"{args.variant} {lang}: macro F1 {s['macro_f1']} "
            f"(accuracy {s['accuracy']}, n={s['examples']})"
        )
    if "seeds" in report:
        print(
            f"{args.variant} macro F1 per seed: {report['seeds']['macro_f1_per_seed']}; "
            f"mean: {report['seeds']['mean_macro_f1']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
