"""A second, cheap encoder beside USE: all-MiniLM-L6-v2 through onnxruntime (int8).

USE stays the first encoder (its vectors, FAISS, hubness correction, confidence and threshold are
unchanged). When the index was built with the second encoder, a query in one of its
:data:`LANGUAGES` is encoded once more and

every article version's ranking score gets ``ARTICLE_WEIGHT[lang]`` x (best chunk + card +
``QUESTION_WEIGHT`` x best question) in MiniLM's space. The weight was chosen on the team's own set
(``kb_queries.jsonl``) from 0-2, never on the external set (``bench/kb_second_encoder.py``; figures
in reports/kb/README.md, fifth round). MiniLM was trained on English only; for Spanish questions
the own set chose weight 0, so they are not encoded twice. Added to the passage score the same way,
MiniLM's cosines did not help held out (the weight chosen per fold was 0 or 0.1); :attr:`headings`
are kept for the learned passage ranker (bench/kb_passage_ranker.py).

Files, in the index folder: ``second/`` (the exported model, :mod:`kb_index.onnx_encoder`) and
``second/vectors.npz`` (MiniLM vectors of the chunks, cards, headings and article questions).
``KB_SECOND_ENCODER=off`` builds and searches without it (kb_index.settings).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kb_index.onnx_encoder import MODEL_FILE, OnnxMiniLMEncoder, export_minilm

if TYPE_CHECKING:
    from kb_index.documents import Chunk

#: Folder of the second encoder inside an index folder.
SECOND_DIR = "second"
VECTORS_FILE = "vectors.npz"
#: Weight of MiniLM's dense article score per query language (0: not used for that language).
ARTICLE_WEIGHT = {"en": 1.0, "es": 0.0}
LANGUAGES = frozenset(lang for lang, weight in ARTICLE_WEIGHT.items() if weight)


class SecondEncoder:
    """The exported MiniLM and its vectors of one index's texts."""

    #: Query languages it is asked for (those with a non-zero weight).
    languages: frozenset[str] = LANGUAGES

    def __init__(self, encoder: OnnxMiniLMEncoder, vectors: dict[str, np.ndarray]) -> None:
        self.encoder = encoder
        self.chunks, self.cards = vectors["chunks"], vectors["cards"]
        self.headings, self.questions = vectors["headings"], vectors["questions"]

    @staticmethod
    def build(directory: str | Path, chunks: Sequence[Chunk], quantize: bool = True) -> Path:
        """Export MiniLM into ``directory``/second and encode the index's texts with it."""
        from kb_index.passages import heading_text
        from kb_index.persist import article_cards, article_questions

        out = export_minilm(Path(directory) / SECOND_DIR, quantize=quantize)
        encoder = OnnxMiniLMEncoder(out)
        np.savez(out / VECTORS_FILE,
                 chunks=encoder.encode([c.embedding_text() for c in chunks]),
                 cards=encoder.encode(article_cards(chunks)),
                 headings=encoder.encode([heading_text(c) for c in chunks]),
                 questions=encoder.encode([q for _, q in article_questions(chunks)]))
        meta = json.loads((out / "onnx_meta.json").read_text())
        meta["chunks"] = len(chunks)
        (out / "onnx_meta.json").write_text(json.dumps(meta) + "\n")
        return out

    @classmethod
    def load(cls, directory: str | Path, chunks: int) -> SecondEncoder | None:
        """The index's second encoder, or ``None`` if it was built without one (or for other
        chunks: an index rebuilt with ``KB_SECOND_ENCODER=off`` keeps no stale folder)."""
        folder = Path(directory) / SECOND_DIR
        if not (folder / MODEL_FILE).is_file() or not (folder / VECTORS_FILE).is_file():
            return None
        with np.load(folder / VECTORS_FILE) as data:
            vectors = {name: data[name] for name in data.files}
        if len(vectors["chunks"]) != chunks:
            return None
        return cls(OnnxMiniLMEncoder(folder), vectors)

    def encode(self, query: str) -> np.ndarray:
        return self.encoder.encode([query])[0]

    def article_scores(self, qv: np.ndarray, chunk_article: np.ndarray,
                       question_article: np.ndarray, has_questions: np.ndarray,
                       question_weight: float) -> np.ndarray:
        """Per article version: best chunk + card + ``question_weight`` x best question (the
        card stands in for an article without questions), in MiniLM's space."""
        chunk = np.full(len(self.cards), -1.0, dtype=np.float32)
        np.maximum.at(chunk, chunk_article, self.chunks @ qv)
        card = self.cards @ qv
        asked = card.astype(np.float32, copy=True)
        if len(self.questions):
            best = np.full(len(self.cards), -1.0, dtype=np.float32)
            np.maximum.at(best, question_article, self.questions @ qv)
            asked = np.where(has_questions, best, asked)
        return chunk + card + question_weight * asked
