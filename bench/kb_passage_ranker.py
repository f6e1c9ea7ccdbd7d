"""Would a learned passage ranker beat the hand-set weights? Cross-validated by article.

    python -m bench.kb_passage_ranker --index var/kb_index [--minilm] [--report out.json]

For every question of ``tests/data/kb_passages.jsonl`` the expected article's passages get a
feature vector: the signals :func:`kb_index.passages.score_passages` adds up (question↔passage and
question↔heading cosines, BM25, kind of figure asked for, named things, opening paragraph, amount
over a heading's threshold) and cheap ones it does not use (the same cosines against the parallel
section of the article's other language version, cosines relative to the article's best, BM25
relative to the article's best, length, position, numbers shared with the question, cosines after
removing the article's mean vector, likeness to the article's card). With ``--minilm``, English
questions also get all-MiniLM-L6-v2 cosines (question↔passage, ↔heading, relative to the best).

A linear listwise model (softmax over an article's passages, the log-probability of the accepted
passages maximised with an L2 penalty, L-BFGS) is fitted per feature set and measured by k-fold
cross-validation **grouped by article** (both language versions of an article in the same fold),
averaged over seeds: no question is judged by a model fitted on its own article. The hand-set
weights (chosen on the whole set) are printed in sample, for reference.

Also measured (``--articles``), on the team's own and the external query set: pooling the two
language versions of an article (own-language score + mu x other-language score), and the hybrid
score's fusion weights chosen on the own set (never on the external set) by grid search.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb_index.evaluate import load_passage_queries, load_queries, passage_key
from kb_index.index import BM25_WEIGHT, HUB_WEIGHT, QUESTION_WEIGHT, KBIndex
from kb_index.passage_ranker import FEATURES, Featurizer
from kb_index.passages import WEIGHTS, heading_text

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
HAND = {"full": WEIGHTS.full, "heading": WEIGHTS.heading, "bm25": WEIGHTS.bm25,
        "kind": WEIGHTS.kind, "named": WEIGHTS.named, "lead": WEIGHTS.lead,
        "threshold": WEIGHTS.threshold}
FEATURE_SETS = {
    "hand-set signals (7)": FEATURES[:7],
    "+ other language version": FEATURES[:9],
    "+ relative, length, position, numbers (16)": FEATURES[:16],
    "+ centred cosines, card likeness (19)": FEATURES[:19],
    "hand-set signals + MiniLM": FEATURES[:7] + FEATURES[19:],
    "all (22, MiniLM)": FEATURES,
}


def fit(samples: Sequence[tuple[np.ndarray, np.ndarray]], l2: float) -> np.ndarray:
    """Listwise linear ranker: weights maximising the summed log-probability (softmax over each
    question's passages) of its accepted passages, minus ``l2`` x |w|²; features standardised
    while fitting, the returned weights apply to raw features (their intercept cancels out)."""
    from scipy.optimize import minimize

    useful = [(x, y) for x, y in samples if 0 < y.sum() < len(y)]
    if not useful:
        return np.zeros(samples[0][0].shape[1])
    stacked = np.vstack([x for x, _ in useful])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0) + 1e-9
    useful = [((x - mean) / scale, y) for x, y in useful]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = l2 * float(w @ w), 2 * l2 * w
        for x, y in useful:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            accepted = float(p @ y)
            total -= np.log(accepted + 1e-12)
            grad -= x.T @ (p * y) / (accepted + 1e-12) - x.T @ p
        return total, grad

    w = minimize(loss, np.zeros(stacked.shape[1]), jac=True, method="L-BFGS-B").x
    return np.asarray(w / scale)


def article_folds(articles: Sequence[str], k: int, seed: int) -> list[int]:
    """A fold number per question; every question of one article (any language) shares it."""
    ids = sorted(set(articles))
    np.random.default_rng(seed).shuffle(ids)
    fold = {a: i % k for i, a in enumerate(ids)}
    return [fold[a] for a in articles]


def cross_validate(samples: Sequence[tuple[np.ndarray, np.ndarray]], langs: Sequence[str],
                   articles: Sequence[str], columns: Sequence[int], l2: float, k: int,
                   seeds: Sequence[int]) -> dict[str, float]:
    """Held-out passage accuracy per language, averaged over ``seeds``."""
    right: dict[str, list[float]] = {}
    for seed in seeds:
        folds = article_folds(articles, k, seed)
        for f in range(k):
            train = [(x[:, columns], y)
                     for (x, y), g in zip(samples, folds, strict=True) if g != f]
            w = fit(train, l2)
            for (x, y), lang, g in zip(samples, langs, folds, strict=True):
                if g == f:
                    right.setdefault(lang, []).append(float(y[np.argmax(x[:, columns] @ w)]))
    return {lang: round(float(np.mean(v)), 4) for lang, v in sorted(right.items())}


def passages(index: KBIndex, minilm_spec: str | None, k: int, seeds: Sequence[int],
             l2s: Sequence[float], write_weights: str | None = None) -> dict[str, Any]:
    from kb_index.encoders import load_encoder

    queries = load_passage_queries(DATA / "kb_passages.jsonl")
    vectors = index.encode_queries([q.query for q in queries], [q.lang for q in queries])
    minilm = load_encoder(minilm_spec) if minilm_spec else None
    featurizer = Featurizer(index) if minilm is None else Featurizer(
        index, minilm.encode([c.embedding_text() for c in index.chunks]),
        minilm.encode([heading_text(c) for c in index.chunks]))
    samples = []
    for q, qv in zip(queries, vectors, strict=True):
        ml_qv = minilm.encode([index.normalise_query(q.query, "en")])[0] \
            if minilm is not None and q.lang == "en" else None
        rows, x = featurizer.matrix(q.query, q.lang, q.article, qv, ml_qv)
        y = np.array([passage_key(index.chunks[r].heading, index.chunks[r].title) in q.passages
                      for r in rows], dtype=float)
        samples.append((x, y))
    langs, articles = [q.lang for q in queries], [q.article for q in queries]
    hand = np.array([HAND.get(name, 0.0) for name in FEATURES])
    report: dict[str, Any] = {"hand-set weights, in sample": {
        lang: round(float(np.mean([y[np.argmax(x @ hand)] for (x, y), g in
                                   zip(samples, langs, strict=True) if g == lang])), 4)
        for lang in ("es", "en")}}
    if write_weights and minilm is not None:
        from kb_index.passage_ranker import WEIGHTS_FILE

        w = fit(samples, l2s[0])
        WEIGHTS_FILE.write_text(json.dumps({
            "features": list(FEATURES), "weights": [round(float(v), 6) for v in w],
            "l2": l2s[0], "minilm": "all-MiniLM-L6-v2, ONNX int8 (kb_index.second)",
            "fitted_on": f"tests/data/kb_passages.jsonl, {len(samples)} questions"}, indent=1)
            + "\n")
        report["in sample, fitted weights written"] = {
            lang: round(float(np.mean([y[np.argmax(x @ w)] for (x, y), g in
                                       zip(samples, langs, strict=True) if g == lang])), 4)
            for lang in ("es", "en")}
        print(json.dumps(report["in sample, fitted weights written"]), flush=True)
        if seeds == [] or not l2s:
            return report
    for name, names in FEATURE_SETS.items():
        if minilm is None and any(n.startswith("minilm") for n in names):
            continue
        columns = [FEATURES.index(n) for n in names]
        for l2 in l2s:
            report[f"{name}, L2 {l2}, CV"] = cross_validate(samples, langs, articles, columns,
                                                            l2, k, seeds)
            print(json.dumps({f"{name}, L2 {l2}": report[f"{name}, L2 {l2}, CV"]}), flush=True)
    return report


def article_sets(index: KBIndex) -> dict[str, list[tuple[Any, np.ndarray]]]:
    """The own and external query sets with every query's fusion components."""
    out = {}
    for name, file in (("own", "kb_queries.jsonl"), ("external", "kb_queries_external.jsonl")):
        queries = load_queries(DATA / file)
        vectors = index.encode_queries([q.query for q in queries], [q.lang for q in queries])
        out[name] = [(q, _components(index, q.query, q.lang, v))
                     for q, v in zip(queries, vectors, strict=True)]
    return out


def versions(index: KBIndex, sets: dict[str, list[tuple[Any, np.ndarray]]],
             mus: Sequence[float]) -> dict[str, Any]:
    """recall@1/@3 per language when an article's score is its version in the question's language
    plus ``mu`` x its other version's (the search today takes the better version: ``max``)."""
    ids = sorted({a for a, _ in index.keys})
    where = [ids.index(a) for a, _ in index.keys]
    current = np.array(CURRENT_FUSION)

    def pooled(mu: str | float) -> Any:
        def combine(q: Any, parts: np.ndarray) -> np.ndarray:
            scores = current @ parts
            own, other = np.full(len(ids), -np.inf), np.full(len(ids), -np.inf)
            for v, (_, lang) in enumerate(index.keys):
                (own if lang == q.lang else other)[where[v]] = scores[v]
            return np.maximum(own, other) if mu == "max" else \
                own + float(mu) * np.where(np.isfinite(other), other, own)
        return combine

    return {f"{name}, mu {mu}": _recall(index, rows, pooled(mu))
            for name, rows in sets.items() for mu in ("max", *mus)}


#: The hybrid score's weights today: best chunk, card, best question, BM25 (kb_index.index).
CURRENT_FUSION = (1.0, 1.0, QUESTION_WEIGHT, BM25_WEIGHT)


def _components(index: KBIndex, query: str, lang: str, qv: np.ndarray) -> np.ndarray:
    """Per article version (columns): the hubness-corrected best chunk, card and best question
    cosines and BM25 (rows), as :meth:`KBIndex.search` fuses them."""
    query = index.normalise_query(query, lang)
    lexical = np.zeros(len(index.keys), dtype=np.float32)
    np.maximum.at(lexical, index._chunk_article, index.bm25.scores(query, lang))
    chunk, card, asked = index._article_scores(
        index.vectors @ qv - HUB_WEIGHT * index._hub_chunks,
        index.question_vectors @ qv - HUB_WEIGHT * index._hub_questions, qv,
        HUB_WEIGHT * index._hub_cards)
    return np.vstack([chunk, card, asked, lexical]).astype(np.float64)


def _recall(index: KBIndex, rows: Sequence[tuple[Any, np.ndarray]],
            combine: Any) -> dict[str, dict[str, float]]:
    """recall@1/@3 per language; ``combine(query, per-version scores)`` -> per-article scores."""
    ids = sorted({a for a, _ in index.keys})
    ranks: dict[str, list[int | None]] = {}
    for q, scores in rows:
        total = combine(q, scores)
        top = [ids[i] for i in np.argsort(-total, kind="stable")[:3]]
        ranks.setdefault(q.lang, []).append(
            next((n for n, a in enumerate(top, 1) if a in q.expected), None))
    return {lang: {"recall@1": round(sum(r == 1 for r in rs) / len(rs), 4),
                   "recall@3": round(sum(r is not None for r in rs) / len(rs), 4)}
            for lang, rs in sorted(ranks.items())}


def fusion(index: KBIndex, sets: dict[str, list[tuple[Any, np.ndarray]]]) -> dict[str, Any]:
    """Fusion weights chosen on the team's own set (240 weightings, summed recall@1 of both
    languages), the eight best there reported on the external set too."""
    ids = sorted({a for a, _ in index.keys})
    where = np.array([ids.index(a) for a, _ in index.keys])

    def by_weights(w: np.ndarray) -> Any:
        def combine(q: Any, parts: np.ndarray) -> np.ndarray:
            best = np.full(len(ids), -np.inf)
            np.maximum.at(best, where, w @ parts)
            return best
        return combine

    grid = [np.array(w) for w in itertools.product((0.5, 0.75, 1.0, 1.25), (0.5, 1.0, 1.5),
                                                    (0.5, 0.75, 1.0, 1.25, 1.5),
                                                    (0.0, 0.015, 0.03, 0.05))]
    own = [(sum(v["recall@1"] for v in _recall(index, sets["own"], by_weights(w)).values()),
            tuple(w)) for w in grid]
    chosen = [np.array(CURRENT_FUSION)] + [np.array(w) for _, w in sorted(own, reverse=True)[:8]]
    return {", ".join(f"{x:g}" for x in w) + (" (current)" if i == 0 else ""):
            {name: _recall(index, sets[name], by_weights(w)) for name in ("own", "external")}
            for i, w in enumerate(chosen)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", default=str(ROOT / "var" / "kb_index"))
    p.add_argument("--minilm", action="store_true", help="add MiniLM features (English)")
    p.add_argument("--minilm-spec", default="minilm",
                   help="encoder spec of MiniLM (onnx:<dir> for the exported model)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--l2", type=float, nargs="+", default=[1.0, 10.0])
    p.add_argument("--articles", action="store_true",
                   help="also article ranking: language-version pooling, fusion weights")
    p.add_argument("--report", help="write the figures to this JSON file")
    p.add_argument("--write-weights", action="store_true",
                   help="fit all features (L2 = the first --l2) on the whole passage set and "
                        "write kb_index/passage_ranker.json (needs --minilm)")
    args = p.parse_args(argv)
    index = KBIndex.load(args.index)
    report = {"passages": passages(index, args.minilm_spec if args.minilm else None, args.folds,
                                   args.seeds, args.l2,
                                   args.minilm_spec if args.write_weights else None)}
    if args.articles:
        sets = article_sets(index)
        report["language versions"] = versions(index, sets, (0.0, 0.25, 0.5, 0.75, 1.0))
        report["fusion weights"] = fusion(index, sets)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
