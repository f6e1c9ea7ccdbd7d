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


NOISE_KINDS = ("accents", "typos")


def perturb(queries: Sequence[Query], kind: str, seed: int = 0) -> list[Query]:
    """The same queries as a hurried shopper types them: ``accents`` drops every accent (and
    ñ → n); ``typos`` drops accents too and makes one typo in one word of 5+ letters per query
    (a letter dropped, doubled, replaced by a keyboard neighbour, or two letters swapped),
    chosen by a seeded generator so the set is the same on every run."""
    import random
    import re
    import unicodedata

    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise {kind!r}: use one of {', '.join(NOISE_KINDS)}")
    rng = random.Random(seed)
    rows = ("qwertyuiop", "asdfghjklñ", "zxcvbnm")
    near = {c: "".join(r[j] for j in (i - 1, i + 1) if 0 <= j < len(r))
            for r in rows for i, c in enumerate(r)}

    def fold(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", text)
                       if not unicodedata.combining(c))

    def typo(word: str) -> str:
        i = rng.randrange(1, len(word) - 1)  # never the first letter: people rarely miss it
        edit = rng.choice(("drop", "double", "neighbour", "swap"))
        if edit == "drop":
            return word[:i] + word[i + 1:]
        if edit == "double":
            return word[:i] + word[i] + word[i:]
        if edit == "neighbour" and near.get(word[i].lower()):
            return word[:i] + rng.choice(near[word[i].lower()]) + word[i + 1:]
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]

    out = []
    for q in queries:
        text = fold(q.query)
        if kind == "typos":
            words = [m for m in re.finditer(r"[^\W\d_]{5,}", text)]
            if words:
                m = rng.choice(words)
                text = text[:m.start()] + typo(m.group(0)) + text[m.end():]
        out.append(Query(text, q.lang, q.expected, q.cross_language))
    return out


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
    return index.encode_queries([q.query for q in queries], [q.lang for q in queries])


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


# ----------------------------------------------------------------------------- passages
@dataclass(frozen=True)
class PassageQuery:
    query: str
    lang: str
    article: str
    passages: tuple[str, ...]  # acceptable section headings; "" is the article's opening


def load_passage_queries(path: str | Path) -> list[PassageQuery]:
    """``{"query", "lang", "article", "passage", "also": [...]}`` per line."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if "article" not in row or "passage" not in row:
            raise ValueError(f"{path}:{n}: a passage query needs 'article' and 'passage'")
        out.append(PassageQuery(str(row["query"]), str(row.get("lang") or "es"),
                                str(row["article"]),
                                (str(row["passage"]), *map(str, row.get("also") or ()))))
    return out


def passage_key(heading: str, title: str) -> str:
    """A chunk's section as the passage set names it: its heading, "" for the opening."""
    return "" if not heading or heading == title else heading


def passage_metrics(index: KBIndex, queries: Sequence[PassageQuery],
                    vectors: np.ndarray | None = None) -> dict[str, Any]:
    """Per language: passage accuracy with the right article given, and end to end (the search's
    top article is right *and* its quoted passage is one of the accepted sections)."""
    if vectors is None:
        vectors = index.encode_queries([q.query for q in queries], [q.lang for q in queries])
    by_lang: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    misses = []
    for q, vector in zip(queries, vectors, strict=True):
        ranked = index.rank_passages(q.query, q.article, q.lang, query_vector=vector)
        if not ranked:
            raise ValueError(f"article {q.article!r} ({q.lang}) is not in the index")
        chosen = passage_key(ranked[0].heading, ranked[0].title)
        given = chosen in q.passages
        hits = index.search(q.query, top_k=1, prefer_lang=q.lang, query_vector=vector)
        e2e = bool(hits) and hits[0].article_id == q.article and \
            passage_key(hits[0].heading, hits[0].title) in q.passages
        by_lang[q.lang].append((given, e2e))
        if not given:
            misses.append({"query": q.query, "lang": q.lang, "article": q.article,
                           "expected": list(q.passages), "got": chosen})
    result: dict[str, Any] = {}
    for lang, items in sorted(by_lang.items()):
        n = len(items)
        result[lang] = {"n": n,
                        "passage_accuracy": round(sum(g for g, _ in items) / n, 4),
                        "end_to_end": round(sum(e for _, e in items) / n, 4)}
    result["misses"] = misses
    return result
