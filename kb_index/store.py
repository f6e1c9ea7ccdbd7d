"""FAISS vector store: exact search for shop-sized corpora, IVF (or HNSW) above a size threshold.

Vectors are L2-normalised, so inner product equals cosine similarity. Exact ``IndexFlatIP`` is
both simplest and fast enough for tens of thousands of chunks; the approximate index exists for
very large catalogues and is only trusted together with a measured recall against exact search
(bench/kb_search.py). IVF is the default approximate kind because it builds several times faster
than HNSW on a small CPU (100k x 512: ~15 s against ~80 s) at equal measured recall.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import faiss
import numpy as np

#: Above this many vectors ``auto`` switches to IVF (exact search at 100k x 512 costs ~35 ms).
APPROXIMATE_THRESHOLD = 20_000
IVF_NPROBE = 16
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 96
KINDS = ("exact", "ivf", "hnsw")


def _set_threads() -> None:
    """One FAISS thread by default: a single query gains nothing from OpenMP on a busy 2-core
    server and measured 4x slower with 2 threads (bench). ``KB_FAISS_THREADS`` overrides."""
    faiss.omp_set_num_threads(int(os.environ.get("KB_FAISS_THREADS") or 1))


def ivf_lists(n: int) -> int:
    """Number of IVF cells: about 4*sqrt(n), with at least 39 training points per cell."""
    return max(1, min(int(4 * math.sqrt(n)), n // 39))


class VectorStore:
    """Inner-product search over normalised float32 vectors."""

    def __init__(self, index: faiss.Index, kind: str) -> None:
        self.index = index
        self.kind = kind

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str = "auto",
              threshold: int = APPROXIMATE_THRESHOLD) -> VectorStore:
        """``kind`` is ``exact``, ``ivf``, ``hnsw`` or ``auto`` (exact up to ``threshold``)."""
        _set_threads()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError("vectors must be a 2-d array")
        dim = vectors.shape[1]
        if kind == "auto":
            kind = "ivf" if len(vectors) > threshold else "exact"
        if kind == "exact":
            index: faiss.Index = faiss.IndexFlatIP(dim)
        elif kind == "ivf":
            if len(vectors) < 39:
                raise ValueError("an IVF index needs at least 39 vectors; use exact")
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, ivf_lists(len(vectors)),
                                       faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(0)
            sample = vectors if len(vectors) <= 40 * index.nlist else \
                vectors[rng.choice(len(vectors), 40 * index.nlist, replace=False)]
            index.train(sample)
            index.nprobe = IVF_NPROBE
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            raise ValueError(f"unknown index kind {kind!r}: use exact, ivf, hnsw or auto")
        if len(vectors):
            index.add(vectors)
        return cls(index, kind)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and row ids, best first; missing neighbours have id -1."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, self.size)) if self.size else 1
        if not self.size:
            return (np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64))
        return self.index.search(queries, k)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str) -> VectorStore:
        _set_threads()
        index = faiss.read_index(str(path))
        if kind == "hnsw":
            faiss.downcast_index(index).hnsw.efSearch = HNSW_EF_SEARCH
        elif kind == "ivf":
            faiss.extract_index_ivf(index).nprobe = IVF_NPROBE
        return cls(index, kind)


def recall_at_k(approx: VectorStore, exact: VectorStore, queries: np.ndarray, k: int = 10) -> float:
    """Share of the exact top-k neighbours the approximate store also returns (1.0 = identical)."""
    _, truth = exact.search(queries, k)
    _, found = approx.search(queries, k)
    hits = sum(len(set(t[t >= 0]) & set(f[f >= 0])) for t, f in zip(truth, found, strict=True))
    total = sum(int((t >= 0).sum()) for t in truth)
    return hits / total if total else 1.0
