"""Learned passage rankers: English with MiniLM's cosines among its features, Spanish with stems.

The hand-set passage score (kb_index.passages) adds seven signals with weights chosen by hand. The
fourth round's bench (bench/kb_passage_ranker.py) measured a linear listwise model over 22 features
-- those seven, the same cosines against the article's other language version, cosines and BM25
relative to the article's best, length, position, numbers shared with the question, centred
cosines, likeness to the article card, and all-MiniLM-L6-v2 cosines (question↔passage, ↔heading,
relative to the best) -- by 5-fold cross-validation grouped by article: English 0.869 → 0.907 held
out; without MiniLM no feature set beat the hand-set weights. The weights in
``passage_ranker.json`` were fitted on the whole passage set (``python -m bench.kb_passage_ranker
--minilm --minilm-spec onnx:<index>/second --write-weights``); they are used only when the index has
the second encoder (kb_index.second) and the question is English.

Spanish questions on Spanish article versions get their own model (sixth round,
``bench/kb_passage_ranker_es.py``): the first nine features (the seven hand-set signals and the
cosines against the article's English version) plus Spanish stems shared with the heading and the
passage (kb_index.passage_features_es), weights in ``passage_ranker_es.json``. It needs no second
encoder. Without its weights file Spanish keeps the hand-set score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kb_index.passage_features_es import FEATURES_ES, spanish_features, stem_sets
from kb_index.passages import heading_text, question_needs

if TYPE_CHECKING:
    from kb_index.index import KBIndex

WEIGHTS_FILE = Path(__file__).with_name("passage_ranker.json")
WEIGHTS_FILE_ES = Path(__file__).with_name("passage_ranker_es.json")
FEATURES = ("full", "heading", "bm25", "kind", "named", "lead", "threshold",
            "other_lang_full", "other_lang_heading", "full_rel", "heading_rel", "bm25_rel",
            "log_length", "position", "lead_if_plain", "numbers_shared",
            "centred_full", "centred_heading", "card_likeness",
            "minilm_full", "minilm_heading", "minilm_full_rel")


@lru_cache(maxsize=1)
def learned_weights() -> np.ndarray | None:
    """The fitted weights over :data:`FEATURES`, or ``None`` if the file is missing."""
    if not WEIGHTS_FILE.is_file():
        return None
    data = json.loads(WEIGHTS_FILE.read_text())
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{WEIGHTS_FILE} was fitted on other features; refit it")
    return np.asarray(data["weights"], dtype=np.float64)


@lru_cache(maxsize=1)
def learned_weights_es() -> tuple[list[int], list[int], np.ndarray] | None:
    """The Spanish model: columns of :data:`FEATURES` and of
    :data:`~kb_index.passage_features_es.FEATURES_ES` it uses and their weights, in that order;
    ``None`` if the file is missing."""
    if not WEIGHTS_FILE_ES.is_file():
        return None
    data = json.loads(WEIGHTS_FILE_ES.read_text())
    names = list(data["features"])
    unknown = [n for n in names if n not in FEATURES and n not in FEATURES_ES]
    if unknown or len(names) != len(data["weights"]):
        raise ValueError(f"{WEIGHTS_FILE_ES} names unknown features {unknown}; refit it")
    base = [FEATURES.index(n) for n in names if n in FEATURES]
    extra = [FEATURES_ES.index(n) for n in names if n in FEATURES_ES]
    if names != [FEATURES[i] for i in base] + [FEATURES_ES[i] for i in extra]:
        raise ValueError(f"{WEIGHTS_FILE_ES}: base features must come first; refit it")
    return base, extra, np.asarray(data["weights"], dtype=np.float64)


def _centred_cos(matrix: np.ndarray, qv: np.ndarray) -> np.ndarray:
    centre = matrix.mean(axis=0)
    m, q = matrix - centre, qv - centre
    return (m @ q) / (np.linalg.norm(m, axis=1) * np.linalg.norm(q) + 1e-9)


class Featurizer:
    """Feature matrices for one question's article passages (rows follow the index)."""

    def __init__(self, index: KBIndex, ml_full: np.ndarray | None = None,
                 ml_head: np.ndarray | None = None) -> None:
        """``ml_full`` / ``ml_head``: MiniLM vectors of every chunk's embedding text and heading
        text (kb_index.second), or ``None`` (MiniLM features are then 0)."""
        self.index, self.ml_full, self.ml_head = index, ml_full, ml_head
        self.pos = {key: i for i, key in enumerate(index.keys)}

    def rows(self, article: str, lang: str) -> tuple[list[int], list[int] | None]:
        index = self.index
        rows = index._article_chunks[self.pos[(article, lang)]]
        other = self.pos.get((article, "en" if lang == "es" else "es"))
        others = index._article_chunks[other] if other is not None else None
        return rows, (others if others is not None and len(others) == len(rows) else None)

    def matrix(self, query: str, lang: str, article: str, qv: np.ndarray,
               ml_qv: np.ndarray | None = None, normalised: bool = False,
               bm25_all: np.ndarray | None = None) -> tuple[list[int], np.ndarray]:
        """Features of the article version's passages; ``query`` raw unless ``normalised``;
        ``bm25_all``: BM25 of every chunk for the query, when already computed."""
        index = self.index
        query = query if normalised else index.normalise_query(query, lang)
        rows, others = self.rows(article, lang)
        needs = question_needs(query, lang)
        full, head = index.vectors[rows] @ qv, index.heading_vectors[rows] @ qv
        bm25 = (index.bm25.scores(query, lang) if bm25_all is None else bm25_all)[rows]
        o_full, o_head = (full, head) if others is None else \
            (index.vectors[others] @ qv, index.heading_vectors[others] @ qv)
        c_full = _centred_cos(index.vectors[rows], qv)
        c_head = _centred_cos(index.heading_vectors[rows], qv)
        card = index.vectors[rows] @ index.card_vectors[self.pos[(article, lang)]]
        ml_full = ml_head = np.zeros(len(rows))
        if ml_qv is not None and self.ml_full is not None and self.ml_head is not None:
            ml_full, ml_head = self.ml_full[rows] @ ml_qv, self.ml_head[rows] @ ml_qv
        q_numbers = set(re.findall(r"\d+", query))
        plain = not (needs.time or needs.money or needs.named)
        out = np.zeros((len(rows), len(FEATURES)))
        for i, row in enumerate(rows):
            f, chunk = index.passage_facts[row], index.chunks[row]
            kind = sum((1.0 if has else -1.0) for wanted, has in
                       ((needs.time, f.has_duration), (needs.money, f.has_money)) if wanted)
            named = len(needs.named & f.named) / len(needs.named) if needs.named else 0.0
            over = f.threshold is not None and any(a > f.threshold for a in needs.amounts)
            numbers = set(re.findall(r"\d+", f"{chunk.heading} {chunk.text}"))
            out[i] = [full[i], head[i], bm25[i], kind, named, f.lead, over, o_full[i], o_head[i],
                      full[i] - full.max(), head[i] - head.max(), bm25[i] / (bm25.max() + 1e-9),
                      np.log1p(len(chunk.text)), i / max(1, len(rows) - 1), f.lead and plain,
                      len(q_numbers & numbers) / len(q_numbers) if q_numbers else 0.0,
                      c_full[i], c_head[i], card[i],
                      ml_full[i], ml_head[i], ml_full[i] - ml_full.max()]
        return rows, out

    def signals(self, query: str, lang: str, article: str, qv: np.ndarray,
                bm25_all: np.ndarray) -> tuple[list[int], np.ndarray]:
        """The first nine :data:`FEATURES` only (the hand-set signals and the other language
        version's cosines), for a normalised ``query``: what the Spanish model needs, without
        the per-passage loop of :meth:`matrix`."""
        index = self.index
        rows, others = self.rows(article, lang)
        needs = question_needs(query, lang)
        facts = [index.passage_facts[r] for r in rows]
        full, head = index.vectors[rows] @ qv, index.heading_vectors[rows] @ qv
        o_full, o_head = (full, head) if others is None else \
            (index.vectors[others] @ qv, index.heading_vectors[others] @ qv)
        kind = np.zeros(len(rows))
        for wanted, has in ((needs.time, "has_duration"), (needs.money, "has_money")):
            if wanted:
                kind += [1.0 if getattr(f, has) else -1.0 for f in facts]
        named = [len(needs.named & f.named) / len(needs.named) if needs.named else 0.0
                 for f in facts]
        over = [f.threshold is not None and any(a > f.threshold for a in needs.amounts)
                for f in facts]
        lead = [f.lead for f in facts]
        out = np.column_stack([full, head, bm25_all[rows], kind, named, lead, over, o_full,
                               o_head]).astype(np.float64)
        return rows, out


def passage_stems(index: KBIndex, rows: Sequence[int]
                  ) -> tuple[list[frozenset[str]], list[frozenset[str]]]:
    """Spanish stems of each passage's heading (as its heading vector reads it) and of its
    heading and text (kb_index.passage_features_es), computed once per passage and kept on the
    index."""
    cache: dict[int, tuple[frozenset[str], frozenset[str]]] = index.__dict__.setdefault(
        "_passage_stems", {})
    for row in rows:
        if row not in cache:
            chunk = index.chunks[row]
            head, body = stem_sets([heading_text(chunk), f"{chunk.heading}\n{chunk.text}"])
            cache[row] = (head, body)
    return [cache[r][0] for r in rows], [cache[r][1] for r in rows]


def warm(index: KBIndex) -> None:
    """Stem every Spanish passage now (index load) rather than on a shopper's first question,
    when the Spanish model is there to use them."""
    if learned_weights_es() is not None:
        passage_stems(index, [i for i, c in enumerate(index.chunks) if c.lang == "es"])


def _featurizer(index: KBIndex) -> Featurizer:
    """The index's featurizer, made once (with MiniLM's vectors when the index has them)."""
    featurizer = getattr(index, "_featurizer", None)
    if featurizer is None:
        second = index.second
        featurizer = Featurizer(index) if second is None else \
            Featurizer(index, second.chunks, second.headings)
        index._featurizer = featurizer  # type: ignore[attr-defined]
    return featurizer


def learned_scores_es(index: KBIndex, rows: list[int], query: str, qv: np.ndarray,
                      bm25_all: np.ndarray) -> np.ndarray | None:
    """The Spanish model's score of each passage in ``rows`` (one Spanish article version) for a
    normalised Spanish ``query``, or ``None`` without its weights file."""
    model = learned_weights_es()
    if model is None or not rows:
        return None
    base, extra, weights = model
    chunk = index.chunks[rows[0]]
    if max(base, default=0) < 9:
        feature_rows, x = _featurizer(index).signals(query, "es", chunk.article_id, qv, bm25_all)
    else:
        feature_rows, x = _featurizer(index).matrix(query, "es", chunk.article_id, qv, None,
                                                    normalised=True, bm25_all=bm25_all)
    if list(feature_rows) != list(rows):
        return None
    x_es = spanish_features(query, *passage_stems(index, rows))
    return np.asarray(np.hstack([x[:, base], x_es[:, extra]]) @ weights)


def learned_scores(index: KBIndex, rows: list[int], query: str, lang: str | None,
                   qv: np.ndarray, ml_qv: np.ndarray | None,
                   bm25_all: np.ndarray) -> np.ndarray | None:
    """The learned score of each passage in ``rows`` (one article version) for a normalised
    ``query``, or ``None`` when no learned ranker applies: English needs MiniLM's vectors and
    its weights file, Spanish (:func:`learned_scores_es`) its own weights file; a question on
    an article version of the other language keeps the hand-set score."""
    if not rows or index.chunks[rows[0]].lang != lang:
        return None
    if lang == "es":
        return learned_scores_es(index, rows, query, qv, bm25_all)
    weights = learned_weights()
    if ml_qv is None or index.second is None or weights is None or lang != "en":
        return None
    chunk = index.chunks[rows[0]]
    featurizer = _featurizer(index)
    feature_rows, x = featurizer.matrix(query, "en", chunk.article_id, qv, ml_qv,
                                        normalised=True, bm25_all=bm25_all)
    if list(feature_rows) != list(rows):
        return None
    return np.asarray(x @ weights)
