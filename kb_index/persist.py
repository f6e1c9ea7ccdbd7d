"""Building a knowledge-base index and keeping it in a folder.

:class:`IndexFolder` gives :class:`kb_index.index.KBIndex` its ``build`` (encode every chunk, its
article's card, heading and questions), ``save`` (into a temp folder swapped in whole, so a reader
never sees half an index), ``read_meta`` and ``load`` (refusing another format version or another
encoder than the one the vectors were made with). Searching is :mod:`kb_index.index`'s.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kb_index.documents import Chunk, corpus_hash
from kb_index.encoders import Encoder, canonical_name, load_encoder
from kb_index.passages import heading_text
from kb_index.second import SecondEncoder
from kb_index.settings import second_encoder_enabled
from kb_index.store import VectorStore

if TYPE_CHECKING:
    from kb_index.index import KBIndex

FORMAT_VERSION = 4  # 3: heading vectors for passage selection; 4: question vectors
META_FILE, CHUNKS_FILE, VECTORS_FILE, CARDS_FILE, HEADINGS_FILE, QUESTIONS_FILE, FAISS_FILE = (
    "meta.json", "chunks.jsonl", "vectors.npy", "cards.npy", "headings.npy", "questions.npy",
    "vectors.faiss")


class KBIndexError(RuntimeError):
    """Base class for index problems that deserve a one-line message, not a traceback."""


class IndexNotFoundError(KBIndexError):
    pass


class EncoderMismatchError(KBIndexError):
    pass


class IndexFolder:
    """Build, save and load for :class:`kb_index.index.KBIndex` (its base class)."""

    # what :meth:`save` writes; set by ``KBIndex.__init__``
    chunks: list[Chunk]
    vectors: np.ndarray
    card_vectors: np.ndarray
    heading_vectors: np.ndarray
    question_vectors: np.ndarray
    store: VectorStore
    meta: dict[str, Any]

    @classmethod
    def build(cls, chunks: Sequence[Chunk], encoder: Encoder, batch_size: int = 32,
              progress: bool = True, index_kind: str = "auto") -> KBIndex:
        """Encode every chunk (with a tqdm bar on stderr) and index the vectors."""
        from tqdm import tqdm

        cards = article_cards(chunks)
        questions = [q for _, q in article_questions(chunks)]
        texts = ([c.embedding_text() for c in chunks] + cards
                 + [heading_text(c) for c in chunks] + questions)
        started = time.monotonic()
        parts = []
        with tqdm(total=len(texts), desc=f"encoding ({encoder.name})", unit="chunk",
                  disable=not progress) as bar:
            for start in range(0, len(texts), batch_size):
                batch = texts[start:start + batch_size]
                parts.append(encoder.encode(batch, batch_size=batch_size))
                bar.update(len(batch))
        encoded = (np.vstack(parts) if parts else np.zeros((0, encoder.dim), np.float32))
        n, m = len(chunks), len(cards)
        vectors, card_vectors = encoded[:n], encoded[n:n + m]
        headings, question_vectors = encoded[n + m:2 * n + m], encoded[2 * n + m:]
        store = VectorStore.build(vectors, kind=index_kind)
        meta = {
            "format_version": FORMAT_VERSION, "encoder": encoder.name, "dim": int(encoder.dim),
            "corpus_hash": corpus_hash(chunks), "chunks": len(chunks),
            "articles": len({(c.article_id, c.lang) for c in chunks}),
            "languages": sorted({c.lang for c in chunks}), "index_kind": store.kind,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.monotonic() - started, 2),
        }
        return cls(chunks, vectors, encoder, meta, store, card_vectors, headings,
                   question_vectors)

    def save(self, out: str | Path,
             extra: Callable[[Path], dict[str, Any]] | None = None) -> Path:
        """Write to a sibling temp folder, then swap it in, so a reader never sees half an index.
        ``extra(folder)`` writes more files into the temp folder before ``meta.json`` (whose
        change makes a running action server reload) and returns keys added to the meta."""
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
        np.save(tmp / HEADINGS_FILE, self.heading_vectors)
        np.save(tmp / QUESTIONS_FILE, self.question_vectors)
        self.store.save(tmp / FAISS_FILE)
        if extra is not None:
            self.meta.update(extra(tmp))
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
        index = cls(chunks, vectors, encoder, meta, store, np.load(directory / CARDS_FILE),
                    np.load(directory / HEADINGS_FILE), np.load(directory / QUESTIONS_FILE))
        if meta["encoder"] == "use" and second_encoder_enabled():
            index.second = SecondEncoder.load(directory, len(chunks))
        return index


def article_questions(chunks: Sequence[Chunk]) -> list[tuple[int, str]]:
    """(article position, question) for every question of every article version, in the order
    articles first appear (the positions of :attr:`KBIndex.keys`)."""
    positions: dict[tuple[str, str], int] = {}
    out: list[tuple[int, str]] = []
    for chunk in chunks:
        key = (chunk.article_id, chunk.lang)
        if key in positions:
            continue
        positions[key] = len(positions)
        out.extend((positions[key], q) for q in dict.fromkeys(chunk.questions))
    return out


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
