"""Score the blind held-out NLU sets per language (tests/data/nlu_heldout, nlu_heldout_v2).

Each set was written by someone who never saw data/nlu and is never trained on: the closest we
get to "messages nobody on the team wrote". By default the real pipeline is trained once on all of
data/nlu; ``--model`` parses with an already trained model instead (e.g. models/atiende.tar.gz,
which ``scripts.prepare`` built from the same data), so no training is needed. Short messages
("hola", "thanks") also occur in the training data, so each report also scores only the held-out
messages that do not. Sets with an out-of-scope block (``nlu_fallback``) also get the two sides
of abstaining: out-of-scope recall and in-scope false fallback.

Run in the bot env, from the repo root:
    .venv/bot/bin/python -m scripts.nlu_heldout [--dir DIR ...] [--model MODEL] [--show-errors]
Writes, per set, reports/nlu/<name>.json, .md and <name>_confusions.json — ``<name>`` is the
directory's name without ``nlu_`` (heldout, heldout_v2) — with which intent was taken for which,
without the texts, so that the sets stay blind for whoever writes training data
(``--show-errors`` prints the missed texts when someone really needs them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts.nlu_crossval import (
    LANGUAGES,
    ROOT,
    Example,
    load_examples,
    parse_all,
    training_only_data,
    variant_config,
)
from scripts.nlu_scoring import per_intent_tables, scores, summary_table

DEFAULT_SETS = (ROOT / "tests" / "data" / "nlu_heldout", ROOT / "tests" / "data" / "nlu_heldout_v2")
OOS = "nlu_fallback"

#: Intents added after the first held-out set was labelled, and the older labels they refine: that
#: set's "inform" reasons ("arrived broken") and "return_request" of a damaged or wrong item are
#: ``item_problem`` now, which takes the shopper to the same return form (reason pre-filled, or
#: taken from the text when the form asks). The strict score counts them as errors; the
#: "refined" score accepts the refinement, and only it (issue #12, reports/nlu/README.md). A set
#: labelled with ``item_problem`` itself (v2) is scored strictly only.
REFINEMENTS = {"item_problem": {"inform", "return_request"}}


def refined(gold: str, predicted: str) -> str:
    """``predicted`` counted as ``gold`` when it is a later refinement of that label."""
    return gold if gold in REFINEMENTS.get(predicted, ()) else predicted


def report_name(heldout_dir: Path) -> str:
    """``tests/data/nlu_heldout_v2`` -> ``heldout_v2``: the basename of the set's report files."""
    return heldout_dir.name.removeprefix("nlu_")


def load_heldout(heldout_dir: Path) -> list[Example]:
    from rasa.shared.nlu.training_data.loading import load_data

    examples: list[Example] = []
    for lang in LANGUAGES:
        path = heldout_dir / f"{lang}.yml"
        for message in load_data(str(path)).intent_examples:
            examples.append((lang, message.get("intent"), message))
    return examples


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def score_set(test: list[Example], parsed: list[dict[str, Any]],
              seen_texts: set[str]) -> dict[str, Any]:
    """Strict, unseen-only, refined (first set only) and abstention figures per language."""
    gold: dict[str, list[str]] = defaultdict(list)
    pred: dict[str, list[str]] = defaultdict(list)
    unseen_gold: dict[str, list[str]] = defaultdict(list)
    unseen_pred: dict[str, list[str]] = defaultdict(list)
    refined_pred: dict[str, list[str]] = defaultdict(list)
    errors: dict[str, list[dict[str, str]]] = defaultdict(list)
    for (lang, intent, message), result in zip(test, parsed, strict=True):
        predicted = (result.get("intent") or {}).get("name") or ""
        gold[lang].append(intent)
        pred[lang].append(predicted)
        refined_pred[lang].append(refined(intent, predicted))
        if normalise(message.get("text")) not in seen_texts:
            unseen_gold[lang].append(intent)
            unseen_pred[lang].append(predicted)
        if predicted != intent:
            errors[lang].append(
                {"text": message.get("text"), "gold": intent, "predicted": predicted}
            )
    langs = [lang for lang in LANGUAGES if gold[lang]]
    report: dict[str, Any] = {
        "errors": dict(errors),
        "languages": {lang: scores(gold[lang], pred[lang]) for lang in langs},
        # short messages ("hola", "thanks") are bound to be in the training data too; this is
        # the score on the held-out messages that are not (case- and accent-insensitive)
        "unseen_only": {lang: scores(unseen_gold[lang], unseen_pred[lang])
                        for lang in langs if unseen_gold[lang]},
    }
    if not any("item_problem" in gold[lang] for lang in langs):
        report["refined"] = {lang: scores(gold[lang], refined_pred[lang]) for lang in langs}
    if any(OOS in gold[lang] for lang in langs):
        from scripts.nlu_external import abstention  # that module imports this one

        report["abstention"] = {lang: abstention(gold[lang], pred[lang]) for lang in langs}
    return report


def run_heldout(config_path: Path, nlu_dir: Path, heldout_dirs: Sequence[Path],
                model: Path | None = None) -> list[dict[str, Any]]:
    """Train on all of data/nlu (or load ``model``) once, score every held-out set."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData

    train = TrainingData([m for _, _, m in load_examples(nlu_dir)]).merge(
        training_only_data(nlu_dir)
    )
    seen_texts = {normalise(m.get("text")) for m in train.intent_examples}
    sets = [(d, load_heldout(d)) for d in heldout_dirs]
    texts = [m.get("text") for _, test in sets for _, _, m in test]
    seconds = None
    with tempfile.TemporaryDirectory(prefix="atiende-heldout-") as tmp:
        if model is None:
            from rasa.model_training import train_nlu

            tmp_dir = Path(tmp)
            config = variant_config(config_path, "as-configured", tmp_dir)
            data_path = tmp_dir / "train.yml"
            data_path.write_text(RasaYAMLWriter().dumps(train), encoding="utf-8")
            started = time.perf_counter()
            trained = train_nlu(
                str(config), str(data_path), str(tmp_dir / "models"), fixed_model_name="heldout"
            )
            seconds = round(time.perf_counter() - started, 1)
            if not trained:
                raise RuntimeError("training failed")
            parsed = asyncio.run(parse_all(trained, texts))
        else:
            parsed = asyncio.run(parse_all(str(model), texts))
    reports, start = [], 0
    for heldout_dir, test in sets:
        report = score_set(test, parsed[start:start + len(test)], seen_texts)
        start += len(test)
        reports.append({
            "variant": "held-out",
            "name": report_name(heldout_dir),
            "config": relative(config_path),
            "heldout": relative(heldout_dir),
            "model": relative(model) if model else None,
            "training_examples": len(train.intent_examples),
            "training_seconds": seconds,
            **report,
        })
    return reports


def normalise(text: str) -> str:
    """Lower-case, accents and punctuation dropped: what "the same message" means here."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.lower())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in letters).split())


def evaluation_arguments(description: str, data_flag: str, data_default: Path,
                         data_help: str) -> argparse.ArgumentParser:
    """The arguments every "train on data/nlu, score a set" script takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", default=str(ROOT / "config.yml"))
    parser.add_argument("--nlu-dir", default=str(ROOT / "data" / "nlu"))
    parser.add_argument(data_flag, default=str(data_default), help=data_help)
    parser.add_argument("--out", default=str(ROOT / "reports" / "nlu"))
    parser.add_argument("--show-errors", action="store_true", help="print the missed texts")
    return parser


def output_dir(out: str) -> Path:
    """Quiet Rasa, no telemetry; the report directory, created."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    logging.getLogger("rasa").setLevel(logging.WARNING)
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    return path


def confusions(errors: dict[str, list[dict[str, str]]]) -> dict[str, dict[str, int]]:
    """Per language, how often each ``gold -> predicted`` mistake happened (no texts)."""
    return {
        lang: dict(Counter(f"{e['gold']} -> {e['predicted']}" for e in errs).most_common())
        for lang, errs in errors.items()
    }


def abstention_table(abstention: dict[str, dict[str, Any]]) -> list[str]:
    """Out-of-scope recall next to in-scope false fallback, one row per language."""
    lines = ["| language | OOS n | OOS recall | in-scope n | in-scope false fallback | "
             "in-scope accuracy |", "|---|---|---|---|---|---|"]
    for lang, a in abstention.items():
        lines.append(f"| {lang} | {a['oos_examples']} | **{a['oos_recall']}** | "
                     f"{a['inscope_examples']} | **{a['inscope_false_fallback']}** | "
                     f"{a['inscope_accuracy']} |")
    return lines


def heldout_markdown(report: dict[str, Any]) -> str:
    if report.get("model"):
        source = (f"Parsed with the trained model `{report['model']}`, no training here (built by "
                  f"`scripts.prepare` from `data/nlu`, which holds {report['training_examples']} "
                  f"examples now, and `{report['config']}`)")
    else:
        source = (f"Trained once on all of `data/nlu` ({report['training_examples']} examples, "
                  f"config `{report['config']}`)")
    lines = [
        f"# NLU held-out evaluation: `{report['heldout']}`",
        "",
        f"{source}, scored on `{report['heldout']}` — messages written blind, by someone who "
        "never read the training data, and never trained on. Intent predicted by the full "
        "pipeline (fallback included).",
        "",
    ]
    lines += summary_table(report["languages"])
    lines += [
        "",
        "Only the held-out messages that do not also occur in the training data "
        "(case, accents and punctuation ignored):",
        "",
        "| language | examples | accuracy | macro F1 |",
        "|---|---|---|---|",
    ]
    for lang, s in report.get("unseen_only", {}).items():
        lines.append(f"| {lang} | {s['examples']} | {s['accuracy']} | **{s['macro_f1']}** |")
    if report.get("refined"):
        lines += [
            "",
            "Counting `item_problem` (added later) as right where the set's older label is "
            "`inform` or `return_request`, the labels it refines (same return form):",
            "",
            "| language | accuracy | macro F1 |",
            "|---|---|---|",
        ]
        for lang, s in report["refined"].items():
            lines.append(f"| {lang} | {s['accuracy']} | **{s['macro_f1']}** |")
    if report.get("abstention"):
        lines += ["", "Abstention (gold `nlu_fallback` = out of scope):", ""]
        lines += abstention_table(report["abstention"])
    lines += per_intent_tables(report["languages"])
    return "\n".join(lines) + "\n"


def summary_line(report: dict[str, Any], lang: str) -> str:
    """What `make nlu-eval` prints for one set and language."""
    s = report["languages"][lang]
    unseen = report["unseen_only"].get(lang, {})
    line = (f"{report['name']} {lang}: macro F1 {s['macro_f1']} (accuracy {s['accuracy']}, "
            f"n={s['examples']}); unseen only: macro F1 {unseen.get('macro_f1')} "
            f"(n={unseen.get('examples')})")
    if "refined" in report:
        refined_f1 = report["refined"][lang]["macro_f1"]
        line += f"; item_problem refinement accepted: macro F1 {refined_f1}"
    if "abstention" in report:
        a = report["abstention"][lang]
        line += (f"; OOS recall {a['oos_recall']}, in-scope false fallback "
                 f"{a['inscope_false_fallback']}")
    return line


def write_report(out: Path, report: dict[str, Any], show_errors: bool) -> None:
    name = report["name"]
    errors = report.pop("errors")
    (out / f"{name}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    (out / f"{name}_confusions.json").write_text(
        json.dumps(confusions(errors), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / f"{name}.md").write_text(heldout_markdown(report), encoding="utf-8")
    if show_errors:
        for lang, errs in errors.items():
            for e in errs:
                print(f"{name}\t{lang}\t{e['gold']} -> {e['predicted']}\t{e['text']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = evaluation_arguments(__doc__.splitlines()[0], "--heldout",
                                  DEFAULT_SETS[0], "a held-out directory with es.yml and en.yml "
                                  "(same as one --dir; kept for older commands)")
    parser.add_argument("--dir", action="append", dest="dirs", default=None,
                        help="a held-out directory with es.yml and en.yml; repeat for several "
                        "(default: --heldout, or both sets when neither is given)")
    parser.add_argument("--model", default=None,
                        help="parse with this trained model (e.g. models/atiende.tar.gz) instead "
                        "of training on data/nlu")
    args = parser.parse_args(argv)
    if args.dirs:
        dirs = args.dirs
    elif args.heldout != str(DEFAULT_SETS[0]):
        dirs = [args.heldout]
    else:
        dirs = [str(d) for d in DEFAULT_SETS if (d / "es.yml").exists()]
    out = output_dir(args.out)
    reports = run_heldout(
        Path(args.config).resolve(), Path(args.nlu_dir), [Path(d).resolve() for d in dirs],
        Path(args.model).resolve() if args.model else None,
    )
    for report in reports:
        write_report(out, report, args.show_errors)
        for lang in report["languages"]:
            print(summary_line(report, lang))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
