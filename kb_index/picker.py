"""The passage picker of one search: ranks the passages of the articles a search returns.

English questions on an index with the second encoder and Spanish questions on Spanish articles are
ranked by a learned model (kb_index.passage_ranker); every other question by the hand-set score
(kb_index.passages).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from kb_index.passage_ranker import learned_scores
from kb_index.passages import question_needs, score_passages

if TYPE_CHECKING:
    from kb_index.index import KBIndex


class Picker:
    """Ranks the passages of the articles a search returns (only those are scored)."""

    def __init__(self, index: KBIndex, query: str, lang: str | None, qv: np.ndarray,
                 full_cos: np.ndarray, bm25: np.ndarray, second: np.ndarray | None = None
                 ) -> None:
        self.index, self.query, self.lang, self.qv = index, query, lang, qv
        self.full_cos, self.bm25, self.second = full_cos, bm25, second
        self.needs = question_needs(query, lang)

    def ranked(self, rows: Sequence[int]) -> list[int]:
        rows = list(rows)
        learned = learned_scores(self.index, rows, self.query, self.lang, self.qv, self.second,
                                 self.bm25)
        if learned is not None:  # kb_index.passage_ranker
            return [rows[i] for i in np.argsort(-learned, kind="stable")]
        heading_cos = np.zeros(len(self.index.chunks), dtype=np.float32)
        heading_cos[rows] = self.index.heading_vectors[rows] @ self.qv
        scores = score_passages(rows, self.query, self.lang, heading_cos, self.full_cos,
                                self.bm25, self.index.passage_facts, self.index.passage_weights,
                                self.needs)
        return [rows[i] for i in np.argsort(-scores, kind="stable")]

    def best(self, rows: Sequence[int]) -> int:
        return self.ranked(rows)[0]
