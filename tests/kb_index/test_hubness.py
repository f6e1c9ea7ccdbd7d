"""Hubness correction: a question close to every article's questions stops winning queries that
only share its generic words, and the abstention confidence is not touched by it."""

from __future__ import annotations

import numpy as np
import pytest

import kb_index.index as index_module
from kb_index.documents import Chunk
from kb_index.encoders import HashingEncoder
from kb_index.index import HUB_K, KBIndex

DIM = 32


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def _corpus() -> tuple[KBIndex, np.ndarray]:
    """A hub article ("my order…", mostly the generic direction g) and 24 topic articles whose
    questions are g plus their own topic. The query is mostly g with a little of topic 1."""
    axes = np.eye(DIM, dtype=np.float32)
    g = axes[0]
    vectors, chunks = [], []
    for i in range(25):
        name = "hub" if i == 0 else f"topic-{i}"
        v = _unit(0.9 * g + 0.44 * axes[1]) if i == 0 else _unit(0.6 * g + 0.8 * axes[1 + i])
        vectors.append(v)
        chunks.append(Chunk(chunk_id=f"en/{name}#0", article_id=name, lang="en", title=name,
                            url="", heading="", text=name, questions=(f"question {name}",)))
    matrix = np.vstack(vectors)
    index = KBIndex(chunks, matrix, HashingEncoder(DIM), {"encoder": "hash:32"},
                    card_vectors=matrix, heading_vectors=matrix, question_vectors=matrix)
    query = _unit(0.95 * g + 0.31 * axes[2])  # topic-1's direction is axes[2]
    return index, query


def test_hub_scores_are_the_mean_of_the_nearest_other_articles_questions() -> None:
    index, _ = _corpus()
    hub_q, hub_chunks, hub_cards = index._hub_questions, index._hub_chunks, index._hub_cards
    # the hub question is 0.54 from every topic question; a topic question 0.36 from the other
    # topics and 0.54 from the hub: its HUB_K nearest are the hub and HUB_K - 1 topics
    assert hub_q[0] == pytest.approx(0.539, abs=1e-3)
    assert hub_q[1] == pytest.approx((hub_q[0] + (HUB_K - 1) * 0.36) / HUB_K, abs=1e-3)
    assert np.allclose(hub_chunks, hub_q) and np.allclose(hub_cards, hub_q)


def test_the_generic_hub_loses_to_the_topic_the_query_names(monkeypatch) -> None:
    index, query = _corpus()
    [plain] = KBIndex.search(_without_hubness(monkeypatch), "zzz", top_k=1,
                             query_vector=query)
    assert plain.article_id == "hub"  # raw cosines: the generic question wins
    monkeypatch.undo()
    [corrected] = index.search("zzz", top_k=1, query_vector=query)
    assert corrected.article_id == "topic-1"
    # confidence is the raw cosine mean: the same for topic-1 with or without the correction
    raw_topic = float(index.vectors[1] @ query)
    assert corrected.confidence == pytest.approx(raw_topic, abs=1e-5)


def _without_hubness(monkeypatch) -> KBIndex:
    monkeypatch.setattr(index_module, "HUB_WEIGHT", 0.0)
    return _corpus()[0]


def test_too_few_questions_means_no_correction() -> None:
    chunks = [Chunk(chunk_id=f"en/a{i}#0", article_id=f"a{i}", lang="en", title=f"a{i}", url="",
                    heading="", text="x", questions=("q",)) for i in range(3)]
    vectors = np.vstack([_unit(np.eye(DIM)[i] + 0.1) for i in range(3)])
    index = KBIndex(chunks, vectors, HashingEncoder(DIM), {"encoder": "hash:32"},
                    card_vectors=vectors, heading_vectors=vectors, question_vectors=vectors)
    assert not index._hub_questions.any() and not index._hub_chunks.any()
