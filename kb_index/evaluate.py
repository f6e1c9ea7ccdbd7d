"""Retrieval quality on labelled queries (recall@k, MRR per language) and threshold calibration.

The numbers decide the default encoder and ranking mode, and the calibrated threshold decides
when the assistant answers and when it offers choices instead: a wrong confident answer costs
more trust than a "did you mean one of these?".
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from kb_index.index import KBIndex


@dataclass(frozen=True)
class Query:
    query: str
    lang: str
    expected: tuple[str, ...]  # empty for out-of-scope queries
    cross_language: bool = False


def load_queries(path: str | Path, out_of_scope: bool = False) -> list[Query]:
    queries = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        expected = row.get("expected") or ()
        if isinstance(expected, str):
            expected = (expected,)
        if not out_of_scope and not expected:
            raise ValueError(f"{path}:{n}: in-scope query without 'expected'")
        queries.append(Query(str(row["query"]), str(row.get("lang") or "es"), tuple(expected),
                             bool(row.get("cross_language", False))))
    return queries


@dataclass(frozen=True)
class Outcome:
    query: Query
    ranked: tuple[str, ...]
    confidence: float  # cosine of the top hit's best chunk

    @property
    def rank(self) -> int | None:
        for position, article in enumerate(self.ranked, start=1):
            if article in self.query.expected:
                return position
        return None


def run_queries(index: KBIndex, queries: Sequence[Query], mode: str = "hybrid",
                depth: int = 10, vectors: np.ndarray | None = None) -> list[Outcome]:
    """Search every query; ``vectors`` (from :func:`encode_queries`) avoids re-encoding per mode."""
    if vectors is None:
        vectors = encode_queries(index, queries)
    outcomes = []
    for q, vector in zip(queries, vectors, strict=True):
        hits = index.search(q.query, top_k=depth, prefer_lang=q.lang, mode=mode,
                            query_vector=vector)
        outcomes.append(Outcome(q, tuple(h.article_id for h in hits),
                                hits[0].confidence if hits else -1.0))
    return outcomes


def encode_queries(index: KBIndex, queries: Sequence[Query]) -> np.ndarray:
    return index.encoder.encode([q.query for q in queries])


def metrics(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """recall@1, recall@3 and MRR@10, overall, per query language and for cross-language queries."""
    def summary(items: Sequence[Outcome]) -> dict[str, Any]:
        n = len(items)
        if not n:
            return {"n": 0}
        ranks = [o.rank for o in items]
        return {
            "n": n,
            "recall@1": round(sum(r == 1 for r in ranks) / n, 4),
            "recall@3": round(sum(r is not None and r <= 3 for r in ranks) / n, 4),
            "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
        }

    by_lang: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_lang[o.query.lang].append(o)
    result: dict[str, Any] = {"all": summary(outcomes)}
    result.update({lang: summary(items) for lang, items in sorted(by_lang.items())})
    cross = [o for o in outcomes if o.query.cross_language]
    if cross:
        result["cross_language"] = summary(cross)
    result["misses"] = [
        {"query": o.query.query, "lang": o.query.lang, "expected": list(o.query.expected),
         "got": list(o.ranked[:3]), "confidence": round(o.confidence, 4)}
        for o in outcomes if o.rank != 1
    ]
    return result


#: An answer to the wrong question costs more than a "which of these?" (whose three buttons hold
#: the right article ~95% of the time): the threshold maximises right answers minus this many
#: times wrong answers.
WRONG_ANSWER_COST = 2.0


def calibrate(in_scope: Sequence[Outcome], out_of_scope: Sequence[Outcome],
              wrong_answer_cost: float = WRONG_ANSWER_COST) -> dict[str, Any]:
    """The confidence threshold above which answering pays off.

    Answering a correct top-1 gains 1, answering a wrong top-1 or an out-of-scope question costs
    ``wrong_answer_cost``, abstaining is 0. The threshold is the midpoint of the best gap, so
    small score drift does not flip it.
    """
    samples = [(o.confidence, o.rank == 1) for o in in_scope]
    samples += [(o.confidence, False) for o in out_of_scope]
    if not samples:
        return {"threshold": None}
    scores = sorted({s for s, _ in samples})
    candidates = ([scores[0] - 1e-3] + [(a + b) / 2 for a, b in pairwise(scores)]
                  + [scores[-1] + 1e-3])

    def gain(th: float) -> float:
        return sum((1.0 if good else -wrong_answer_cost) for s, good in samples if s >= th)

    best = max(candidates, key=lambda th: (gain(th), -th))
    answered = [(s, good) for s, good in samples if s >= best]
    good_scores = [s for s, good in samples if good]
    bad_scores = [s for s, good in samples if not good]
    return {
        "threshold": round(best, 4),
        "wrong_answer_cost": wrong_answer_cost,
        "decision_accuracy": round(sum((s >= best) == g for s, g in samples) / len(samples), 4),
        "answered_share": round(len(answered) / len(samples), 4),
        "precision_when_answering": round(sum(g for _, g in answered) / len(answered), 4)
        if answered else None,
        "correct_top1_answered": f"{sum(s >= best for s in good_scores)}/{len(good_scores)}",
        "wrong_or_out_of_scope_abstained": f"{sum(s < best for s in bad_scores)}/{len(bad_scores)}",
        "out_of_scope_abstained": f"{sum(o.confidence < best for o in out_of_scope)}/"
                                  f"{len(out_of_scope)}",
        "correct_top1_confidence": _quantiles(good_scores),
        "wrong_or_oos_confidence": _quantiles(bad_scores),
    }


def _quantiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    def q(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * (len(ordered) - 1) + 0.5))], 4)
    return {"min": q(0), "p25": q(0.25), "median": q(0.5), "p75": q(0.75), "max": q(1)}
