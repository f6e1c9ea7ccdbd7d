"""The knowledge-base index: build, persist, load and search (dense, BM25 or hybrid).

Search works on chunks and answers with articles: each article is represented by its best
chunk, because the shopper needs one article to read and one passage to quote. An article written
in both languages (same ``id``) appears once, in the shopper's language when it exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb_index.documents import Chunk, corpus_hash
from kb_index.encoders import Encoder, canonical_name, load_encoder
from kb_index.lexical import STOPWORDS, BM25Ranker
from kb_index.store import VectorStore

FORMAT_VERSION = 2
META_FILE, CHUNKS_FILE, VECTORS_FILE, CARDS_FILE, FAISS_FILE = (
    "meta.json", "chunks.jsonl", "vectors.npy", "cards.npy", "vectors.faiss")
#: Reciprocal-rank-fusion constant; 60 is the value from Cormack et al. and rarely worth tuning.
RRF_K = 60
#: Weight of raw BM25 in the hybrid score (cosines are in [-1, 1], BM25 here mostly 0-15).
#: Chosen on the evaluation set; tuning on either half of it and testing on the other gave the
#: same value (reports/kb/eval.md).
BM25_WEIGHT = 0.03
MODES = ("hybrid", "rrf", "dense", "bm25")


class KBIndexError(RuntimeError):
    """Base class for index problems that deserve a one-line message, not a traceback."""


class IndexNotFoundError(KBIndexError):
    pass


class EncoderMismatchError(KBIndexError):
    pass


@dataclass(frozen=True)
class Hit:
    """One article in a result list, with the chunk that matched best."""

    article_id: str
    lang: str
    title: str
    url: str
    score: float  # the ranking score of the chosen mode
    confidence: float  # mean cosine of best chunk and article card: what abstention looks at
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


class KBIndex:
    """Chunks, their vectors and rankers, tied to the encoder that made the vectors."""

    def __init__(self, chunks: Sequence[Chunk], vectors: np.ndarray, encoder: Encoder,
                 meta: dict[str, Any], store: VectorStore | None = None,
                 card_vectors: np.ndarray | None = None) -> None:
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

    # ---------------------------------------------------------------- build / persist
    @classmethod
    def build(cls, chunks: Sequence[Chunk], encoder: Encoder, batch_size: int = 32,
              progress: bool = True, index_kind: str = "auto") -> KBIndex:
        """Encode every chunk (with a tqdm bar on stderr) and index the vectors."""
        from tqdm import tqdm

        cards = article_cards(chunks)
        texts = [c.embedding_text() for c in chunks] + cards
        started = time.monotonic()
        parts = []
        with tqdm(total=len(texts), desc=f"encoding ({encoder.name})", unit="chunk",
                  disable=not progress) as bar:
            for start in range(0, len(texts), batch_size):
                batch = texts[start:start + batch_size]
                parts.append(encoder.encode(batch, batch_size=batch_size))
                bar.update(len(batch))
        encoded = (np.vstack(parts) if parts else np.zeros((0, encoder.dim), np.float32))
        vectors, card_vectors = encoded[:len(chunks)], encoded[len(chunks):]
        store = VectorStore.build(vectors, kind=index_kind)
        meta = {
            "format_version": FORMAT_VERSION, "encoder": encoder.name, "dim": int(encoder.dim),
            "corpus_hash": corpus_hash(chunks), "chunks": len(chunks),
            "articles": len({(c.article_id, c.lang) for c in chunks}),
            "languages": sorted({c.lang for c in chunks}), "index_kind": store.kind,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.monotonic() - started, 2),
        }
        return cls(chunks, vectors, encoder, meta, store, card_vectors)

    def save(self, out: str | Path) -> Path:
        """Write to a sibling temp folder, then swap it in, so a reader never sees half an index."""
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        with (tmp / CHUNKS_FILE).open("w", encoding="utf-8") as handle:
            for chunk in self.chunks:
                handle.write(json.dumps(chunk.to_json(), ensure_ascii=False) + "\n")
        np.save(tmp / VECTORS_FILE, self.vectors)
        np.save(tmp / CARDS_FILE, self.card_vectors)
        self.store.save(tmp / FAISS_FILE)
        (tmp / META_FILE).write_text(json.dumps(self.meta, indent=2) + "\n")
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        if out.exists():
            out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
        return out

    @staticmethod
    def read_meta(directory: str | Path) -> dict[str, Any]:
        path = Path(directory) / META_FILE
        if not path.is_file():
            raise IndexNotFoundError(
                f"no knowledge-base index at {directory}: build it with "
                f"`python -m kb_index build --input data/kb --out {directory}`")
        return dict(json.loads(path.read_text()))

    @classmethod
    def load(cls, directory: str | Path, encoder: Encoder | str | None = None) -> KBIndex:
        """Open an index; ``encoder`` (object or spec) must be the one it was built with.

        With ``encoder=None`` the encoder recorded in the index is loaded.
        """
        directory = Path(directory)
        meta = cls.read_meta(directory)
        if meta.get("format_version") != FORMAT_VERSION:
            raise KBIndexError(f"the index at {directory} has format {meta.get('format_version')}"
                               f", this code reads format {FORMAT_VERSION}; rebuild it with "
                               f"`python -m kb_index build --force ...`")
        wanted = meta["encoder"]
        if isinstance(encoder, str):
            check_encoder(meta, canonical_name(encoder), directory)
            encoder = load_encoder(encoder)
        elif encoder is None:
            encoder = load_encoder(wanted)
        check_encoder(meta, encoder.name, directory, encoder.dim)
        with (directory / CHUNKS_FILE).open(encoding="utf-8") as handle:
            chunks = [Chunk.from_json(json.loads(line)) for line in handle if line.strip()]
        vectors = np.load(directory / VECTORS_FILE)
        store = VectorStore.load(directory / FAISS_FILE, meta.get("index_kind", "exact"))
        return cls(chunks, vectors, encoder, meta, store, np.load(directory / CARDS_FILE))

    # ---------------------------------------------------------------- search
    def encode_query(self, query: str) -> np.ndarray:
        return self.encoder.encode([query])[0]

    def search(self, query: str, top_k: int = 3, lang: str | None = None,
               prefer_lang: str | None = None, mode: str = "hybrid",
               query_vector: np.ndarray | None = None) -> list[Hit]:
        """The ``top_k`` best articles for ``query``.

        ``lang`` keeps only articles in that language; ``prefer_lang`` (default: ``lang`` or the
        language guessed from the query) picks which version of a two-language article to show.
        """
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        if not self.chunks or not query.strip():
            return []
        prefer = prefer_lang or lang or guess_language(query)
        # Dense scores are computed in every mode: the cosine is the confidence used to abstain.
        qv = self.encode_query(query) if query_vector is None else query_vector
        chunk_dense = np.full(len(self.chunks), -1.0, dtype=np.float32)
        k = len(self.chunks) if self.store.kind == "exact" and len(self.chunks) <= 5000 \
            else max(200, top_k * 50)
        scores, ids = self.store.search(qv[None, :], k)
        valid = ids[0] >= 0
        chunk_dense[ids[0][valid]] = scores[0][valid]
        chunk_bm25 = self.bm25.scores(query, prefer)
        art_chunk = np.full(len(self.keys), -1.0, dtype=np.float32)
        np.maximum.at(art_chunk, self._chunk_article, chunk_dense)
        art_bm25 = np.zeros(len(self.keys), dtype=np.float32)
        np.maximum.at(art_bm25, self._chunk_article, chunk_bm25)
        art_card = self.card_vectors @ qv if len(self.keys) else art_chunk
        ranking = self._fuse(art_chunk, art_card, art_bm25, mode)
        if lang:
            ranking = np.where(self._key_langs == lang, ranking, -np.inf)
        chunk_pick = chunk_dense + BM25_WEIGHT * chunk_bm25
        return self._articles(ranking, (art_chunk + art_card) / 2, art_bm25, chunk_pick, top_k,
                              prefer)

    @staticmethod
    def _fuse(chunk: np.ndarray, card: np.ndarray, lexical: np.ndarray, mode: str) -> np.ndarray:
        """One score per article for the ranking mode.

        ``hybrid`` adds the best chunk's cosine, the article card's cosine (title + tags) and a
        small multiple of BM25; ``rrf`` fuses the dense and BM25 rankings by reciprocal rank.
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
                  chunk_pick: np.ndarray, top_k: int, prefer: str | None) -> list[Hit]:
        groups: dict[str, list[int]] = {}  # article id -> its language versions, best first
        for a in np.argsort(-ranking, kind="stable"):
            if not np.isfinite(ranking[a]):
                break
            groups.setdefault(self.keys[a][0], []).append(int(a))
        hits = []
        for versions in list(groups.values())[:top_k]:
            chosen = next((a for a in versions if self.keys[a][1] == prefer), versions[0])
            rows = self._article_chunks[chosen]
            chunk = self.chunks[max(rows, key=lambda r: chunk_pick[r])]
            hits.append(Hit(
                article_id=chunk.article_id, lang=chunk.lang, title=chunk.title, url=chunk.url,
                score=float(ranking[versions[0]]), confidence=float(confidence[chosen]),
                bm25=float(lexical[chosen]), chunk_id=chunk.chunk_id, heading=chunk.heading,
                text=chunk.text))
        return hits

    def article(self, article_id: str, lang: str | None = None) -> Hit | None:
        """An article's first chunk, in ``lang`` when that version exists (for button payloads)."""
        candidates = [c for c in self.chunks if c.article_id == article_id]
        if not candidates:
            return None
        chunk = next((c for c in candidates if c.lang == lang), candidates[0])
        return Hit(article_id=chunk.article_id, lang=chunk.lang, title=chunk.title, url=chunk.url,
                   score=1.0, confidence=1.0, bm25=0.0, chunk_id=chunk.chunk_id,
                   heading=chunk.heading, text=chunk.text)


def article_cards(chunks: Sequence[Chunk]) -> list[str]:
    """One short text per article version: its title and tags.

    Sections dilute an article's topic; the card states it. Authors' tags carry the words
    shoppers use ("devolver", "no me queda"), which lifted recall@1 by ~10 points in evaluation.
    """
    cards: dict[tuple[str, str], str] = {}
    for chunk in chunks:
        key = (chunk.article_id, chunk.lang)
        if key not in cards:
            cards[key] = "\n".join(p for p in (chunk.title, ", ".join(chunk.tags)) if p)
    return list(cards.values())


def check_encoder(meta: dict[str, Any], name: str, directory: Path,
                  dim: int | None = None) -> None:
    """Refuse an encoder other than the index's: its vectors would be compared in another space."""
    if meta["encoder"] != name or (dim is not None and int(meta["dim"]) != dim):
        raise EncoderMismatchError(
            f"the index at {directory} was built with encoder {meta['encoder']!r} "
            f"({meta['dim']}-d) but encoder {name!r} was requested; rebuild it with "
            f"`python -m kb_index build --encoder {name} --force ...` or set KB_ENCODER="
            f"{meta['encoder']}")

