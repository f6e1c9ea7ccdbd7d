"""The knowledge-base index: search (dense, BM25 or hybrid), with hubness correction.

Search works on chunks and answers with articles: each article is represented by its best
chunk, because the shopper needs one article to read and one passage to quote. An article written
in both languages (same ``id``) appears once, in the shopper's language when it exists.
Building, saving and loading an index: :mod:`kb_index.persist`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kb_index import passage_ranker
from kb_index.documents import Chunk
from kb_index.encoders import Encoder
from kb_index.lexical import STOPWORDS, BM25Ranker
from kb_index.normalise import QueryNormaliser
from kb_index.passages import (
    WEIGHTS,
    PassageWeights,
    passage_facts,
)
from kb_index.persist import IndexFolder, KBIndexError, article_questions
from kb_index.picker import Picker
from kb_index.second import ARTICLE_WEIGHT, SecondEncoder
from kb_index.store import VectorStore

#: Weight of the best question-to-question cosine in the hybrid score (articles' ``questions``,
#: a FAQ's own question). Adding it lifted recall@1 on questions written by other people from
#: 0.831 to 0.855 (es) and 0.800 to 0.867 (en) (reports/kb/README.md).
QUESTION_WEIGHT = 1.0
#: Reciprocal-rank-fusion constant; 60 is the value from Cormack et al. and rarely worth tuning.
RRF_K = 60
#: Weight of raw BM25 in the hybrid score (cosines are in [-1, 1], BM25 here mostly 0-15).
#: Chosen on the evaluation set; tuning on either half of it and testing on the other gave the
#: same value (reports/kb/eval.md).
BM25_WEIGHT = 0.03
#: Hubness correction (CSLS, Conneau et al. 2018): before ranking, each question, chunk and card
#: cosine is lowered by ``HUB_WEIGHT`` x its mean cosine with the ``HUB_K`` nearest questions of
#: *other* articles. A text close to every article's questions ("¿Cómo cancelo mi pedido?" sits
#: near all the "mi pedido" questions) stops winning queries that only share the generic words.
#: Computed from the corpus alone; chosen on the team's own query set (k 5/10/20 x weight
#: 0-1: 0.25 with k 20 was the best there), then measured on the external set
#: (reports/kb/README.md). The abstention confidence keeps the raw cosines.
HUB_WEIGHT = 0.25
HUB_K = 20
#: At most this many questions are the reference set (evenly spaced), so the correction stays
#: bounded for a FAQ import with thousands of questions (computed once per load: chunks x 2,000
#: cosines: 1.3 s of CPU at 10k chunks and 5k questions).
HUB_REFERENCE = 2000
MODES = ("hybrid", "rrf", "dense", "bm25")


@dataclass(frozen=True)
class Hit:
    """One article in a result list, with the chunk that matched best."""

    article_id: str
    lang: str
    title: str
    url: str
    score: float  # the ranking score of the chosen mode
    confidence: float  # mean of best chunk's cosine and max(card, best question): abstention
    bm25: float
    chunk_id: str
    heading: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def guess_language(text: str) -> str | None:
    """``es``/``en`` from stop words and Spanish letters; ``None`` when the text gives no clue."""
    words = re.findall(r"\w+", text.lower())
    es = sum(w in STOPWORDS["es"] for w in words) + 2 * len(re.findall(r"[ñáéíóú¿¡]", text.lower()))
    en = sum(w in STOPWORDS["en"] for w in words)
    if es == en:
        return None
    return "es" if es > en else "en"


class KBIndex(IndexFolder):
    """Chunks, their vectors and rankers, tied to the encoder that made the vectors."""

    def __init__(self, chunks: Sequence[Chunk], vectors: np.ndarray, encoder: Encoder,
                 meta: dict[str, Any], store: VectorStore | None = None,
                 card_vectors: np.ndarray | None = None,
                 heading_vectors: np.ndarray | None = None,
                 question_vectors: np.ndarray | None = None) -> None:
        self.chunks = list(chunks)
        self.vectors = vectors
        self.encoder = encoder
        self.meta = meta
        self.store = store or VectorStore.build(vectors)
        self.bm25 = BM25Ranker([c.lexical_text() for c in self.chunks],
                               [c.lang for c in self.chunks])
        self.keys: list[tuple[str, str]] = []  # (article id, lang), one per article version
        self._article_chunks: list[list[int]] = []
        positions: dict[tuple[str, str], int] = {}
        for row, chunk in enumerate(self.chunks):
            key = (chunk.article_id, chunk.lang)
            if key not in positions:
                positions[key] = len(self.keys)
                self.keys.append(key)
                self._article_chunks.append([])
            self._article_chunks[positions[key]].append(row)
        self._chunk_article = np.array([positions[(c.article_id, c.lang)] for c in self.chunks],
                                       dtype=np.int64)
        self._key_langs = np.array([lang for _, lang in self.keys])
        self.card_vectors = card_vectors if card_vectors is not None else \
            np.zeros((len(self.keys), vectors.shape[1] if vectors.ndim == 2 else 0), np.float32)
        if len(self.card_vectors) != len(self.keys):
            raise KBIndexError("index is inconsistent: one article card per article expected; "
                               "rebuild it with --force")
        # Heading vectors help pick the answering passage (kb_index.passages); without them the
        # chunk vectors stand in.
        self.heading_vectors = heading_vectors if heading_vectors is not None else vectors
        if len(self.heading_vectors) != len(self.chunks):
            raise KBIndexError("index is inconsistent: one heading vector per chunk expected; "
                               "rebuild it with --force")
        self.passage_facts = passage_facts(self.chunks)
        passage_ranker.warm(self)  # Spanish passages' stems, for the Spanish passage ranker
        # One vector per question of each article version (see article_questions()).
        self._question_article = np.array([a for a, _ in article_questions(self.chunks)],
                                          dtype=np.int64)
        self._has_questions = np.zeros(len(self.keys), dtype=bool)
        self._has_questions[self._question_article] = True
        dim = vectors.shape[1] if vectors.ndim == 2 else 0
        self.question_vectors = question_vectors if question_vectors is not None else \
            np.zeros((0, dim), np.float32)
        if len(self.question_vectors) not in (0, len(self._question_article)):
            raise KBIndexError("index is inconsistent: one vector per article question "
                               "expected; rebuild it with --force")
        self.passage_weights: PassageWeights = WEIGHTS
        #: MiniLM beside USE (kb_index.second), attached by :meth:`load` when built with it.
        self.second: SecondEncoder | None = None
        self._hub_questions, self._hub_chunks, self._hub_cards = self._hubness()
        # Missing accents and small typos are fixed against the corpus's own words
        # (kb_index.normalise) before a query is encoded or scored.
        # One vocabulary per language, so "cancelé" is not "corrected" to the English "cancel".
        self.normalisers = {lang: QueryNormaliser(
            [c.lexical_text() + "\n" + "\n".join(c.questions)
             for c in self.chunks if lang in (None, c.lang)])
            for lang in (*sorted({c.lang for c in self.chunks}), None)}

    def _hubness(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per question, chunk and card: mean cosine with its ``HUB_K`` nearest questions of
        other articles (both language versions of an article count as the article); zeros when
        the corpus has too few questions to say (fewer than ``HUB_K`` in other articles)."""
        zeros = (np.zeros(len(self.question_vectors), np.float32),
                 np.zeros(len(self.chunks), np.float32), np.zeros(len(self.keys), np.float32))
        if HUB_WEIGHT == 0 or len(self.question_vectors) <= HUB_K:
            return zeros
        ids = np.array([article for article, _ in self.keys])
        step = max(1, -(-len(self.question_vectors) // HUB_REFERENCE))
        reference = np.arange(0, len(self.question_vectors), step)
        ref_vectors = self.question_vectors[reference]
        ref_ids = ids[self._question_article[reference]]

        def hub(vectors: np.ndarray, owners: np.ndarray) -> np.ndarray:
            out = np.zeros(len(vectors), np.float32)
            for start in range(0, len(vectors), 1024):
                sims = vectors[start:start + 1024] @ ref_vectors.T
                sims[owners[start:start + 1024, None] == ref_ids[None, :]] = -np.inf
                k = min(HUB_K, sims.shape[1])
                top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
                top = np.where(np.isfinite(top), top, np.nan)
                out[start:start + 1024] = np.nan_to_num(np.nanmean(top, axis=1), nan=0.0) \
                    if top.size else 0.0
            return out

        with np.errstate(all="ignore"):
            return (hub(self.question_vectors, ids[self._question_article]),
                    hub(self.vectors, ids[self._chunk_article]),
                    hub(self.card_vectors, ids))

    # ---------------------------------------------------------------- search
    def normalise_query(self, query: str, lang: str | None = None) -> str:
        """``query`` with missing accents and small typos fixed against the words of the
        articles in ``lang`` (default: the language guessed from the query, else all)."""
        lang = lang or guess_language(query)
        return self.normalisers.get(lang, self.normalisers[None]).normalise(query)

    def encode_query(self, query: str) -> np.ndarray:
        """The vector of an already normalised query."""
        return self.encoder.encode([query])[0]

    def encode_queries(self, queries: Sequence[str],
                       langs: Sequence[str | None] | None = None) -> np.ndarray:
        """Vectors for :meth:`search`'s ``query_vector``, one per raw query (normalised here the
        way :meth:`search` normalises it: give the ``prefer_lang`` each search will get)."""
        langs = langs or [None] * len(queries)
        return self.encoder.encode([self.normalise_query(q, lang)
                                    for q, lang in zip(queries, langs, strict=True)])

    def search(self, query: str, top_k: int = 3, lang: str | None = None,
               prefer_lang: str | None = None, mode: str = "hybrid",
               query_vector: np.ndarray | None = None) -> list[Hit]:
        """The ``top_k`` best articles for ``query``.

        ``lang`` keeps only articles in that language; ``prefer_lang`` (default: ``lang`` or the
        language guessed from the query) picks which version of a two-language article to show.
        ``query_vector``, when given, must come from :meth:`encode_queries` (normalised query).
        """
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        if not self.chunks or not query.strip():
            return []
        prefer = prefer_lang or lang or guess_language(query)
        query = self.normalise_query(query, prefer)
        # Dense scores are computed in every mode: the cosine is the confidence used to abstain.
        qv = self.encode_query(query) if query_vector is None else query_vector
        chunk_dense = np.full(len(self.chunks), -1.0, dtype=np.float32)
        k = len(self.chunks) if self.store.kind == "exact" and len(self.chunks) <= 5000 \
            else max(200, top_k * 50)
        scores, ids = self.store.search(qv[None, :], k)
        valid = ids[0] >= 0
        chunk_dense[ids[0][valid]] = scores[0][valid]
        chunk_bm25 = self.bm25.scores(query, prefer)
        art_bm25 = np.zeros(len(self.keys), dtype=np.float32)
        np.maximum.at(art_bm25, self._chunk_article, chunk_bm25)
        question_cos = self.question_vectors @ qv
        # Raw cosines give the confidence; hubness-corrected ones the ranking (HUB_WEIGHT).
        art_chunk, art_card, art_question = self._article_scores(chunk_dense, question_cos, qv)
        rank_chunk, rank_card, rank_question = self._article_scores(
            chunk_dense - HUB_WEIGHT * self._hub_chunks,
            question_cos - HUB_WEIGHT * self._hub_questions, qv,
            HUB_WEIGHT * self._hub_cards)
        ranking = self._fuse(rank_chunk, rank_card + QUESTION_WEIGHT * rank_question, art_bm25,
                             mode)
        second = self._second_vector(query, prefer)
        if mode == "hybrid" and second is not None and self.second is not None \
                and ARTICLE_WEIGHT.get(prefer or ""):
            ranking = ranking + ARTICLE_WEIGHT[prefer or ""] * self.second.article_scores(
                second, self._chunk_article, self._question_article, self._has_questions,
                QUESTION_WEIGHT)
        if lang:
            ranking = np.where(self._key_langs == lang, ranking, -np.inf)
        picker = Picker(self, query, prefer, qv, chunk_dense, chunk_bm25, second)
        # Confidence: the best chunk's cosine with the better of card and best question. A shopper
        # question that matches one of the article's own questions is the surest sign it answers.
        confidence = (art_chunk + np.maximum(art_card, art_question)) / 2
        return self._articles(ranking, confidence, art_bm25, picker, top_k, prefer)

    def _article_scores(self, chunk_cos: np.ndarray, question_cos: np.ndarray, qv: np.ndarray,
                        card_penalty: np.ndarray | float = 0.0
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per article version: best chunk, card, and best question cosine. An article without
        questions counts its card as its question (its title is the question it answers), so
        mixed corpora are not biased."""
        art_chunk = np.full(len(self.keys), -1.0, dtype=np.float32)
        np.maximum.at(art_chunk, self._chunk_article, chunk_cos)
        art_card = (self.card_vectors @ qv - card_penalty) if len(self.keys) else art_chunk
        art_question = art_card.astype(np.float32, copy=True)
        if len(self.question_vectors):
            asked = np.full(len(self.keys), -1.0, dtype=np.float32)
            np.maximum.at(asked, self._question_article, question_cos)
            art_question = np.where(self._has_questions, asked, art_question)
        return art_chunk, art_card, art_question

    @staticmethod
    def _fuse(chunk: np.ndarray, card: np.ndarray, lexical: np.ndarray, mode: str) -> np.ndarray:
        """One score per article for the ranking mode.

        ``hybrid`` adds the best chunk's cosine, the article card's cosine (title + tags) plus its
        best question's cosine (both in ``card``) and a small multiple of BM25; ``rrf`` fuses the
        dense and BM25 rankings by reciprocal rank.
        """
        dense = chunk.astype(np.float64) + card
        if mode == "dense":
            return dense
        if mode == "bm25":
            return lexical.astype(np.float64)
        if mode == "hybrid":
            return dense + BM25_WEIGHT * lexical

        def rrf(values: np.ndarray) -> np.ndarray:
            order = np.argsort(-values, kind="stable")
            ranks = np.empty(len(values), dtype=np.float64)
            ranks[order] = np.arange(1, len(values) + 1)
            return 1.0 / (RRF_K + ranks)

        return rrf(dense) + np.where(lexical > 0, rrf(lexical), 0.0)

    def _articles(self, ranking: np.ndarray, confidence: np.ndarray, lexical: np.ndarray,
                  picker: Picker, top_k: int, prefer: str | None) -> list[Hit]:
        groups: dict[str, list[int]] = {}  # article id -> its language versions, best first
        for a in np.argsort(-ranking, kind="stable"):
            if not np.isfinite(ranking[a]):
                break
            groups.setdefault(self.keys[a][0], []).append(int(a))
        hits = []
        for versions in list(groups.values())[:top_k]:
            chosen = next((a for a in versions if self.keys[a][1] == prefer), versions[0])
            chunk = self.chunks[picker.best(self._article_chunks[chosen])]
            hits.append(Hit(
                article_id=chunk.article_id, lang=chunk.lang, title=chunk.title, url=chunk.url,
                score=float(ranking[versions[0]]), confidence=float(confidence[chosen]),
                bm25=float(lexical[chosen]), chunk_id=chunk.chunk_id, heading=chunk.heading,
                text=chunk.text))
        return hits

    def _second_vector(self, query: str, lang: str | None) -> np.ndarray | None:
        """The normalised query's MiniLM vector when the index has the second encoder and the
        query's language uses it (kb_index.second.LANGUAGES), else ``None``."""
        if self.second is None or lang not in self.second.languages:
            return None
        return self.second.encode(query)

    def rank_passages(self, query: str, article_id: str, lang: str,
                      query_vector: np.ndarray | None = None) -> list[Chunk]:
        """The chunks of one article version, best answering passage first (for evaluation)."""
        try:
            rows = self._article_chunks[self.keys.index((article_id, lang))]
        except ValueError:
            return []
        query = self.normalise_query(query, lang)
        qv = self.encode_query(query) if query_vector is None else query_vector
        picker = Picker(self, query, lang, qv, self.vectors @ qv, self.bm25.scores(query, lang),
                         self._second_vector(query, lang))
        return [self.chunks[r] for r in picker.ranked(rows)]

    def article(self, article_id: str, lang: str | None = None) -> Hit | None:
        """An article's first chunk, in ``lang`` when that version exists (for button payloads)."""
        candidates = [c for c in self.chunks if c.article_id == article_id]
        if not candidates:
            return None
        chunk = next((c for c in candidates if c.lang == lang), candidates[0])
        return Hit(article_id=chunk.article_id, lang=chunk.lang, title=chunk.title, url=chunk.url,
                   score=1.0, confidence=1.0, bm25=0.0, chunk_id=chunk.chunk_id,
                   heading=chunk.heading, text=chunk.text)


