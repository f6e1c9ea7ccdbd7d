"""Choose the out-of-scope detector's settings by cross-validation, then score the external set.

The detector (``bot/components/out_of_scope_detector.py``) is a logistic regression on the USE
embedding, so it can be cross-validated offline on exactly the folds of
``scripts.nlu_crossval`` (same examples, same seed) and combined with that run's saved
out-of-fold predictions of the intent classifier; the combined rule is
``fallback_decision``, the function the fallback classifier runs:

    .venv/bot/bin/python -m scripts.nlu_crossval --folds 3 --seed 42 --records cv.json
    .venv/bot/bin/python -m scripts.nlu_external --records external.json
    .venv/bot/bin/python -m scripts.nlu_oos_detector --cv cv.json --external external.json

For each detector variant (with / without the licensed corpus, regularisation ``C``) and each
pair of settings (``out_of_scope_above``: fall back when the detector is at least this sure;
``in_scope_below``: an out-of-scope ranking of the classifier gives way when the detector is
below this), the CV macro F1 of both languages is computed; the best pair **on CV** is then
scored on the external set (detector trained on all of data/nlu + corpus). The external set
never chooses. Writes ``oos_detector.{md,json}`` to ``--out`` (default reports/nlu).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scripts.nlu_abstention import evaluate, objective
from scripts.nlu_crossval import (
    LANGUAGES,
    ROOT,
    load_examples,
    stratified_folds,
    training_only_data,
)
from scripts.nlu_scoring import fallback_config

ABOVE_GRID = (0.0, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)
BELOW_GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
# (name, licensed corpus?, C, char n-grams too?); the component implements the USE-only ones
VARIANTS = (("corpus, C=1", True, 1.0, False), ("corpus, C=10", True, 10.0, False),
            ("no corpus, C=1", False, 1.0, False),
            ("corpus, C=10, + char 2-5-grams", True, 10.0, True))


def char_gram_model(texts: list[str], vectors: np.ndarray, labels: np.ndarray, c: float) -> Any:
    """USE + tf-idf char 2-5-grams (the variant the component would need a vectorizer for)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    grams = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), strip_accents="unicode",
                            sublinear_tf=True, min_df=2)
    x = hstack([grams.fit_transform(texts), csr_matrix(vectors)]).tocsr()
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(x, labels)
    return lambda t, v: model.predict_proba(
        hstack([grams.transform(t), csr_matrix(v)]).tocsr())[:, 1]


def detector(texts: list[str], inside: np.ndarray, outside: np.ndarray, c: float,
             chars: bool) -> Any:
    """p(out of scope) as a function of (texts, vectors); ``texts`` = inside then outside."""
    from bot.components.out_of_scope_detector import fit, probability

    if chars:
        labels = np.r_[np.zeros(len(inside)), np.ones(len(outside))]
        return char_gram_model(texts, np.vstack([inside, outside]), labels, c)
    w, b = fit(inside, outside, c)
    return lambda t, v: probability(w, b, v)


def with_probability(records: dict[str, list[dict[str, Any]]],
                     probabilities: dict[str, list[float]]) -> dict[str, list[dict[str, Any]]]:
    return {lang: [{**r, "out_of_scope_probability": p}
                   for r, p in zip(rows, probabilities[lang], strict=True)]
            for lang, rows in records.items()}


def rule(above: float, below: float) -> str:
    return f"out_of_scope_above={above}, in_scope_below={below}"


def main(argv: Sequence[str] | None = None) -> int:
    from bot.components.out_of_scope_detector import encode_corpus, read_corpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", required=True)
    parser.add_argument("--external", required=True)
    parser.add_argument("--config", default=str(ROOT / "config.yml"))
    parser.add_argument("--nlu-dir", default=str(ROOT / "data" / "nlu"))
    parser.add_argument("--corpus", default=str(ROOT / "data" / "out_of_scope_corpus"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "reports" / "nlu"))
    args = parser.parse_args(argv)

    cv = json.loads(Path(args.cv).read_text(encoding="utf-8"))
    external = json.loads(Path(args.external).read_text(encoding="utf-8"))
    examples = load_examples(Path(args.nlu_dir))
    common = training_only_data(Path(args.nlu_dir)).intent_examples
    folds = stratified_folds(examples, args.folds, args.seed)
    vectors = encode_corpus([m.get("text") for _, _, m in examples])
    oos = np.array([intent == "nlu_fallback" for _, intent, _ in examples])
    common_vectors = encode_corpus([m.get("text") for m in common])
    common_oos = np.array([m.get("intent") == "nlu_fallback" for m in common], dtype=bool)
    corpus_texts = read_corpus(Path(args.corpus))
    corpus = encode_corpus(corpus_texts)
    texts = [m.get("text") for _, _, m in examples]
    common_texts = [m.get("text") for m in common]
    ext_vectors = {lang: encode_corpus([r["text"] for r in external[lang]]) for lang in external}

    from bot.components.fallback_classifier import AtiendeFallbackClassifier

    base = {**AtiendeFallbackClassifier.get_default_config(), **fallback_config(Path(args.config))}
    for key in ("out_of_scope_above", "in_scope_below"):
        base.pop(key, None)
    report: dict[str, Any] = {"seed": args.seed, "folds": args.folds,
                              "corpus_sentences": len(corpus), "variants": {}}
    def train_on(mask: np.ndarray, use_corpus: bool, c: float, chars: bool) -> Any:
        extra, extra_texts = (corpus, corpus_texts) if use_corpus else (corpus[:0], [])
        pick = lambda rows, keep: [t for t, k in zip(rows, keep, strict=True) if k]  # noqa: E731
        ordered = (pick(texts, mask & ~oos) + pick(common_texts, ~common_oos)
                   + pick(texts, mask & oos) + pick(common_texts, common_oos) + extra_texts)
        return detector(ordered, np.vstack([vectors[mask & ~oos], common_vectors[~common_oos]]),
                        np.vstack([vectors[mask & oos], common_vectors[common_oos], extra]),
                        c, chars)

    for name, use_corpus, c, chars in VARIANTS:
        cv_p: dict[str, list[float]] = defaultdict(list)
        for test_idx in folds:
            test = set(test_idx)
            train = np.array([i not in test for i in range(len(examples))])
            p_oos = train_on(train, use_corpus, c, chars)(
                [texts[i] for i in test_idx], vectors[test_idx])
            for i, p in zip(test_idx, p_oos, strict=True):
                cv_p[examples[i][0]].append(float(p))
        for lang in LANGUAGES:  # the records are in the same order: fold by fold
            in_order = [examples[i][2].get("text") for k in folds for i in k
                        if examples[i][0] == lang]
            assert in_order == [r["text"] for r in cv[lang]], "CV records are from other folds"
        full = train_on(np.ones(len(examples), dtype=bool), use_corpus, c, chars)
        ext_p = {lang: [float(p) for p in full([r["text"] for r in external[lang]], v)]
                 for lang, v in ext_vectors.items()}
        cv_r, ext_r = with_probability(cv, cv_p), with_probability(external, ext_p)
        grid = []
        for above in ABOVE_GRID:
            for below in BELOW_GRID:
                cfg = {**base, "out_of_scope_above": above, "in_scope_below": below}
                grid.append({"rule": rule(above, below), "above": above, "below": below,
                             "cv": evaluate(cv_r, cfg), "external": evaluate(ext_r, cfg)})
        best = max(grid, key=lambda g: objective(g["cv"]))
        report["variants"][name] = {"best_on_cv": best["rule"], "grid": grid}
        ext = {k: (v["accuracy"], v["oos_recall"], v["inscope_false_fallback"])
               for k, v in best["external"].items()}
        print(f"{name}: best on CV {best['rule']}: CV "
              f"{ {k: v['macro_f1'] for k, v in best['cv'].items()} } external {ext}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "oos_detector.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "oos_detector.md").write_text(markdown(report), encoding="utf-8")
    return 0


def markdown(report: dict[str, Any]) -> str:
    lines = ["# Out-of-scope detector: settings chosen on cross-validation",
             "", f"3-fold CV seed {report['seed']} (out-of-fold, same folds as "
             "`scripts.nlu_crossval`) and the external set, same intent-classifier predictions; "
             f"licensed corpus {report['corpus_sentences']} sentences. CV F1 = macro F1; CV and "
             "external = accuracy / out-of-scope recall / in-scope false fallback.", ""]
    for name, v in report["variants"].items():
        lines += [f"## {name} (best on CV: `{v['best_on_cv']}`)", "",
                  "| rule | CV F1 es | CV F1 en | CV es | CV en | external es | external en |",
                  "|---|---|---|---|---|---|---|"]
        for g in v["grid"]:
            if g["above"] and g["below"] and g["rule"] != v["best_on_cv"]:
                continue  # one-rule rows, the off row and the chosen pair
            ext = g["external"]
            cells = [f"{f[lang]['accuracy']} / {f[lang]['oos_recall']} / "
                     f"{f[lang]['inscope_false_fallback']}" for f in (g["cv"], ext)
                     for lang in ("es", "en")]
            lines.append(f"| {g['rule']} | {g['cv']['es']['macro_f1']} | "
                         f"{g['cv']['en']['macro_f1']} | {' | '.join(cells)} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
