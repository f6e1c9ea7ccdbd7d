"""Score the external NLU development set per language (tests/data/nlu_external).

The messages there were written by people outside the team (public intent datasets and public bot
training data; sources, commits, licences and the label mapping in
``tests/data/nlu_external/SOURCES.md``). They are never trained on. This script trains the real
pipeline once on all of data/nlu, parses every external message through the whole pipeline
(fallback included) and reports, per language:

* accuracy and macro F1 over the gold intents, per-intent P/R/F1 and the confusions;
* abstention: out-of-scope recall (gold ``nlu_fallback`` that falls back) together with the
  in-scope false-fallback rate (gold in-scope that falls back), and a sweep of the fallback
  threshold plus a nearest-neighbour rule on the USE sentence embedding, all re-scored on the
  same predictions.

Run in the bot env, from the repo root:
    .venv/bot/bin/python -m scripts.nlu_external [--show-errors]
Writes reports/nlu/external.{json,md}, external_confusions.json and external_errors.json, then
prints the external figures next to cross-validation and the two blind held-out sets (read from
reports/nlu/crossval_as-configured.json, heldout.json and heldout_v2.json).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts.nlu_crossval import (
    LANGUAGES,
    ROOT,
    load_examples,
    parse_all,
    training_only_data,
    variant_config,
)
from scripts.nlu_heldout import (
    abstention_table,
    confusions,
    evaluation_arguments,
    normalise,
    output_dir,
)
from scripts.nlu_scoring import (
    classifier_ranking,
    fallback_config,
    per_intent_tables,
    scores,
    simulate,
    summary_table,
)

OOS = "nlu_fallback"
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6)
NN_THRESHOLDS = (0.0, 0.3, 0.35, 0.4, 0.45, 0.5)


def load_external(external_dir: Path) -> list[tuple[str, str, str, str]]:
    """(language, intent, text, source file) for every example of ``<lang>_*.yml``."""
    from rasa.shared.nlu.training_data.loading import load_data

    rows = []
    for lang in LANGUAGES:
        for path in sorted(external_dir.glob(f"{lang}_*.yml")):
            for message in load_data(str(path)).intent_examples:
                rows.append((lang, message.get("intent"), message.get("text"), path.stem))
    return rows


def abstention(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Out-of-scope recall and in-scope false fallback, the two sides of abstaining."""
    oos = [p for g, p in zip(gold, pred, strict=True) if g == OOS]
    inscope = [(g, p) for g, p in zip(gold, pred, strict=True) if g != OOS]
    return {
        "oos_examples": len(oos),
        "oos_recall": round(sum(p == OOS for p in oos) / len(oos), 4) if oos else None,
        "inscope_examples": len(inscope),
        "inscope_false_fallback": (
            round(sum(p == OOS for _, p in inscope) / len(inscope), 4) if inscope else None
        ),
        "inscope_accuracy": (
            round(sum(g == p for g, p in inscope) / len(inscope), 4) if inscope else None
        ),
    }


def nearest_inscope_similarity(train_texts: list[str], train_intents: list[str],
                               texts: list[str]) -> list[float]:
    """Cosine similarity of each text to its nearest in-scope training example (USE)."""
    import numpy as np

    from bot.components.use_featurizer import _Encoder

    inscope = [t for t, i in zip(train_texts, train_intents, strict=True) if i != OOS]
    train = np.vstack([_Encoder.encode(inscope[i:i + 256]) for i in range(0, len(inscope), 256)])
    test = _Encoder.encode(list(texts))
    return [round(float(s), 4) for s in (test @ train.T).max(axis=1)]


def sweep(records: list[dict[str, Any]], gold: list[str], fb_cfg: dict[str, Any]) -> dict:
    """Abstention figures for other fallback thresholds and nearest-neighbour cut-offs."""
    result = {}
    for t in THRESHOLDS:
        for nn in NN_THRESHOLDS:
            pred = []
            for r in records:
                p = simulate(r, t, 0.0, fb_cfg)
                if p != OOS and nn and r["nn_similarity"] < nn and p != "inform":
                    p = OOS
                pred.append(p)
            result[f"threshold={t},nn={nn}"] = {
                **abstention(gold, pred), "accuracy": scores(gold, pred)["accuracy"]}
    return result


def run_external(config_path: Path, nlu_dir: Path, external_dir: Path) -> dict[str, Any]:
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData

    examples = load_examples(nlu_dir)
    seen = {normalise(m.get("text")) for _, _, m in examples}
    train = TrainingData([m for _, _, m in examples]).merge(training_only_data(nlu_dir))
    rows = load_external(external_dir)
    fb_cfg = fallback_config(config_path)
    threshold = float(fb_cfg.get("threshold", 0.0))
    with tempfile.TemporaryDirectory(prefix="atiende-external-") as tmp:
        tmp_dir = Path(tmp)
        config = variant_config(config_path, "as-configured", tmp_dir)
        data_path = tmp_dir / "train.yml"
        data_path.write_text(RasaYAMLWriter().dumps(train), encoding="utf-8")
        model = train_nlu(str(config), str(data_path), str(tmp_dir / "models"),
                          fixed_model_name="external")
        if not model:
            raise RuntimeError("training failed")
        parsed = asyncio.run(parse_all(model, [text for _, _, text, _ in rows]))
    similarity = nearest_inscope_similarity(
        [m.get("text") for _, _, m in examples], [i for _, i, _ in examples],
        [text for _, _, text, _ in rows])
    by_lang: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for (lang, intent, text, source), result, sim in zip(rows, parsed, similarity, strict=True):
        predicted = (result.get("intent") or {}).get("name") or ""
        slot = by_lang[lang]
        slot["gold"].append(intent)
        slot["pred"].append(predicted)
        if normalise(text) not in seen:
            slot["unseen_gold"].append(intent)
            slot["unseen_pred"].append(predicted)
        slot["records"].append({"text": text, "source": source, "nn_similarity": sim,
                                "language": lang, "gold": intent,
                                "in_scope_similarity": result.get("in_scope_similarity"),
                                "out_of_scope_probability": result.get("out_of_scope_probability"),
                                "entities": result.get("entities") or [],
                                "ranking": classifier_ranking(result, threshold)})
    report: dict[str, Any] = {
        "variant": "external",
        "external": str(external_dir.relative_to(ROOT) if external_dir.is_relative_to(ROOT)
                        else external_dir),
        "training_examples": len(train.intent_examples),
        "languages": {}, "unseen_only": {}, "abstention": {}, "sources": {},
        "abstention_sweep": {}, "errors": {},
    }
    for lang in LANGUAGES:
        if lang not in by_lang:
            continue
        gold, pred, records = (by_lang[lang][k] for k in ("gold", "pred", "records"))
        report["languages"][lang] = scores(gold, pred)
        report["unseen_only"][lang] = scores(by_lang[lang]["unseen_gold"],
                                             by_lang[lang]["unseen_pred"])
        report["abstention"][lang] = abstention(gold, pred)
        per_source: dict[str, list] = defaultdict(list)
        for g, p, r in zip(gold, pred, records, strict=True):
            per_source[r["source"]].append(g == p)
        report["sources"][lang] = {s: {"examples": len(v), "accuracy": round(sum(v) / len(v), 4)}
                                   for s, v in per_source.items()}
        report["abstention_sweep"][lang] = sweep(records, gold, fb_cfg)
        report.setdefault("records", {})[lang] = [{**r, "ranking": r["ranking"][:4]}
                                                  for r in records]
        report["errors"][lang] = [
            {"text": r["text"], "gold": g, "predicted": p, "source": r["source"],
             "nn_similarity": r["nn_similarity"]}
            for g, p, r in zip(gold, pred, records, strict=True) if g != p]
    return report


def external_markdown(report: dict[str, Any]) -> str:
    lines = [
        "# NLU external development set",
        "",
        f"Trained once on all of `data/nlu` ({report['training_examples']} examples), scored on "
        f"`{report['external']}`: messages written by people outside the team (sources and "
        "licences in its SOURCES.md), never trained on. Full pipeline, fallback included.",
        "",
    ]
    lines += summary_table(report["languages"])
    lines += ["", "Only the messages that do not also occur in the training data (short "
              "conventional ones such as \"thank you very much\" do):", "",
              "| language | examples | accuracy | macro F1 |", "|---|---|---|---|"]
    for lang, s in report.get("unseen_only", {}).items():
        lines.append(f"| {lang} | {s['examples']} | {s['accuracy']} | {s['macro_f1']} |")
    lines += ["", "## Abstention (as configured)", ""]
    lines += abstention_table(report["abstention"])
    lines += ["", "## Per source", "", "| language | source | n | accuracy |", "|---|---|---|---|"]
    for lang, per in report["sources"].items():
        for source, s in per.items():
            lines.append(f"| {lang} | {source} | {s['examples']} | {s['accuracy']} |")
    lines += ["", "## Abstention sweep (same predictions re-scored)", "",
              "Fallback when the classifier's confidence is below `threshold`, or when the nearest "
              "in-scope training example (USE cosine) is below `nn` (0 = rule off).", "",
              "| setting | " + " | ".join(
                  f"{lang} OOS recall | {lang} false fallback | {lang} acc"
                  for lang in report["abstention_sweep"]) + " |",
              "|---|" + "---|---|---|" * len(report["abstention_sweep"])]
    settings = next(iter(report["abstention_sweep"].values()), {})
    for setting in settings:
        cells = []
        for per in report["abstention_sweep"].values():
            a = per[setting]
            cells += [str(a["oos_recall"]), str(a["inscope_false_fallback"]), str(a["accuracy"])]
        lines.append(f"| {setting} | " + " | ".join(cells) + " |")
    lines += per_intent_tables(report["languages"])
    return "\n".join(lines) + "\n"


def side_by_side(out: Path, report: dict[str, Any]) -> list[str]:
    """One line per language: CV mean, blind held-out, external (what `make nlu-eval` prints)."""
    def load(name: str) -> dict[str, Any]:
        path = out / name
        return json.loads(path.read_text()) if path.exists() else {}

    cv, heldout, heldout_v2 = (load("crossval_as-configured.json"), load("heldout.json"),
                               load("heldout_v2.json"))
    lines = ["language | CV macro F1 (mean) | held-out macro F1 | held-out v2 macro F1 | "
             "external accuracy | external macro F1 | OOS recall | in-scope false fallback"]
    for lang, s in report["languages"].items():
        cv_f1 = (cv.get("seeds", {}).get("mean_macro_f1", {}).get(lang)
                 or cv.get("languages", {}).get(lang, {}).get("macro_f1"))
        ho_f1, v2_f1 = (h.get("languages", {}).get(lang, {}).get("macro_f1")
                        for h in (heldout, heldout_v2))
        a = report["abstention"][lang]
        lines.append(f"{lang} | {cv_f1} | {ho_f1} | {v2_f1} | {s['accuracy']} | "
                     f"{s['macro_f1']} | {a['oos_recall']} | {a['inscope_false_fallback']}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = evaluation_arguments(__doc__.splitlines()[0], "--external",
                                  ROOT / "tests" / "data" / "nlu_external",
                                  "directory with <lang>_<source>.yml files")
    parser.add_argument("--records", default=None,
                        help="also write every prediction (classifier ranking, in-scope "
                        "similarity) to this JSON file, to re-score abstention rules offline")
    args = parser.parse_args(argv)
    out = output_dir(args.out)
    report = run_external(Path(args.config).resolve(), Path(args.nlu_dir),
                          Path(args.external).resolve())
    errors = report.pop("errors")
    records = report.pop("records", {})
    if args.records:
        Path(args.records).write_text(json.dumps(records, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    (out / "external.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    (out / "external_errors.json").write_text(
        json.dumps(errors, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "external_confusions.json").write_text(
        json.dumps(confusions(errors), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "external.md").write_text(external_markdown(report), encoding="utf-8")
    if args.show_errors:
        for lang, errs in errors.items():
            for e in errs:
                print(f"{lang}\t{e['gold']} -> {e['predicted']}\t{e['text']}")
    for line in side_by_side(out, report):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
