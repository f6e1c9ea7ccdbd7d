"""Stemming and BM25 ranking in Spanish and English."""

from __future__ import annotations

from kb_index.lexical import BM25Ranker, tokenize, tokenize_query


def test_spanish_word_families_meet() -> None:
    assert tokenize("devoluciones", "es") == tokenize("devolver", "es")
    assert tokenize("envío", "es") == tokenize("envio", "es") == tokenize("envíos", "es")


def test_english_stemming() -> None:
    assert tokenize("returns", "en") == tokenize("returning", "en") == ["return"]


def test_stop_words_are_dropped() -> None:
    assert tokenize("¿Cómo hago una devolución?", "es") == tokenize("devolución", "es")
    assert tokenize("How do I get a refund?", "en") == ["refund"]


def test_unknown_language_query_uses_both_analyses() -> None:
    tokens = tokenize_query("returns devoluciones", None)
    assert "return" in tokens and "devol" in tokens


def test_bm25_finds_the_inflected_form() -> None:
    texts = ["Cómo devolver un artículo", "Plazos de envío", "Formas de pago"]
    ranker = BM25Ranker(texts, ["es", "es", "es"])
    scores = ranker.scores("mis devoluciones", "es")
    assert scores.argmax() == 0 and scores[0] > 0
    assert scores[1] == scores[2] == 0


def test_bm25_empty_query_and_corpus() -> None:
    assert BM25Ranker([], []).scores("hola", "es").shape == (0,)
    assert not BM25Ranker(["algo"], ["es"]).scores("¿qué?", "es").any()


def test_sparse_scores_equal_rank_bm25s_own_scoring() -> None:
    """The sparse-matrix scoring is BM25Okapi.get_scores, only faster: on the real articles and
    queries (a word asked twice, unknown words, words in over half the texts) they agree."""
    from pathlib import Path

    import numpy as np

    from kb_index.documents import chunk_articles, load_sources

    root = Path(__file__).resolve().parents[2]
    chunks = chunk_articles(load_sources([root / "data" / "kb"]))
    ranker = BM25Ranker([c.lexical_text() for c in chunks], [c.lang for c in chunks])
    for query, lang in [("¿cuánto tarda el reembolso a PayPal?", "es"),
                        ("envío envío Baleares", "es"), ("how long does a refund take", "en"),
                        ("pedido", "es"), ("zzzz qqqq", None), ("returns devoluciones", None)]:
        expected = ranker._bm25.get_scores(tokenize_query(query, lang))
        assert np.allclose(ranker.scores(query, lang), expected, atol=1e-4), query
