"""FAISS store on random vectors: exact search, approximate recall, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb_index.store import VectorStore, recall_at_k


def _normalised(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _clustered(rng: np.random.Generator, n: int, dim: int, centres: int) -> np.ndarray:
    """Embedding-like data: points gathered around topics, not uniform noise."""
    c = _normalised(rng, centres, dim)
    v = c[rng.integers(0, centres, n)] + 0.35 * _normalised(rng, n, dim)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_exact_search_returns_cosine_order() -> None:
    rng = np.random.default_rng(1)
    vectors = _normalised(rng, 500, 32)
    store = VectorStore.build(vectors)
    assert store.kind == "exact" and store.size == 500 and store.dim == 32
    query = vectors[7] + 0.01 * rng.standard_normal(32).astype(np.float32)
    scores, ids = store.search(query / np.linalg.norm(query), 5)
    assert ids[0][0] == 7
    expected = np.argsort(-(vectors @ (query / np.linalg.norm(query))))[:5]
    assert list(ids[0]) == list(expected)
    assert np.all(np.diff(scores[0]) <= 1e-6)


def test_auto_switches_to_approximate_above_threshold() -> None:
    vectors = _normalised(np.random.default_rng(2), 300, 16)
    assert VectorStore.build(vectors, threshold=299).kind == "ivf"
    assert VectorStore.build(vectors, threshold=300).kind == "exact"


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_recall_against_exact(kind: str) -> None:
    rng = np.random.default_rng(3)
    vectors = _clustered(rng, 4000, 48, 80)
    queries = _clustered(rng, 100, 48, 80)
    exact = VectorStore.build(vectors, kind="exact")
    approx = VectorStore.build(vectors, kind=kind)
    assert approx.kind == kind
    assert recall_at_k(approx, exact, queries, k=10) >= 0.9
    assert recall_at_k(exact, exact, queries, k=10) == 1.0


def test_k_larger_than_store_and_empty_store() -> None:
    store = VectorStore.build(_normalised(np.random.default_rng(4), 3, 8))
    _, ids = store.search(np.ones(8, dtype=np.float32) / np.sqrt(8), 10)
    assert sorted(ids[0]) == [0, 1, 2]
    empty = VectorStore.build(np.zeros((0, 8), dtype=np.float32))
    assert empty.search(np.ones(8, dtype=np.float32), 3)[1].shape == (1, 0)


@pytest.mark.parametrize("kind", ["exact", "ivf", "hnsw"])
def test_save_and_load(tmp_path: Path, kind: str) -> None:
    vectors = _normalised(np.random.default_rng(5), 200, 16)
    store = VectorStore.build(vectors, kind=kind)
    store.save(tmp_path / "v.faiss")
    loaded = VectorStore.load(tmp_path / "v.faiss", kind)
    assert loaded.size == 200
    assert list(loaded.search(vectors[:3], 1)[1][:, 0]) == [0, 1, 2]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="2-d"):
        VectorStore.build(np.ones(8, dtype=np.float32))
    with pytest.raises(ValueError, match="unknown index kind"):
        VectorStore.build(np.ones((2, 8), dtype=np.float32), kind="pq")
    with pytest.raises(ValueError, match="at least 39"):
        VectorStore.build(np.ones((2, 8), dtype=np.float32), kind="ivf")
