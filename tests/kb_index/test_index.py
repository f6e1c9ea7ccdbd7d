"""Search modes, fusion and language handling (building and loading: test_persist.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb_index.documents import chunk_articles, load_sources
from kb_index.encoders import HashingEncoder
from kb_index.index import BM25_WEIGHT, KBIndex, guess_language


@pytest.fixture
def index(kb_dir: Path, encoder: HashingEncoder) -> KBIndex:
    return KBIndex.build(chunk_articles(load_sources([kb_dir])), encoder, progress=False)


@pytest.mark.parametrize("mode", ["hybrid", "rrf", "dense", "bm25"])
def test_each_mode_finds_the_article(index: KBIndex, mode: str) -> None:
    [hit] = index.search("plazos de envío península", top_k=1, mode=mode)
    assert hit.article_id == "shipping-times"
    assert hit.url == "https://tienda.example/ayuda/envios"


def test_hybrid_rescues_a_stemmed_word_dense_hashing_misses(index: KBIndex) -> None:
    """The hashing encoder only matches exact words; BM25 stems "devoluciones" -> devolver."""
    query = "devoluciones"
    assert index.search(query, top_k=1, mode="bm25", prefer_lang="es")[0].article_id == \
        "return-policy"
    assert index.search(query, top_k=1, mode="hybrid", prefer_lang="es")[0].article_id == \
        "return-policy"


def test_fusion_modes() -> None:
    chunk = np.array([0.9, 0.8, 0.1])
    card = np.array([0.5, 0.6, 0.0])
    lexical = np.array([0.0, 5.0, 1.0])
    dense = KBIndex._fuse(chunk, card, lexical, "dense")
    assert list(dense) == pytest.approx([1.4, 1.4, 0.1])
    hybrid = KBIndex._fuse(chunk, card, lexical, "hybrid")
    assert hybrid[1] == pytest.approx(1.4 + BM25_WEIGHT * 5.0)
    assert hybrid.argmax() == 1  # the keyword match breaks the dense tie
    assert list(KBIndex._fuse(chunk, card, lexical, "bm25")) == [0.0, 5.0, 1.0]
    rrf = KBIndex._fuse(chunk, card, lexical, "rrf")
    assert rrf[1] == pytest.approx(1 / 62 + 1 / 61)  # dense rank 2 (stable tie), bm25 rank 1
    assert rrf[0] == pytest.approx(1 / 61)  # no keyword match: no lexical contribution


def test_two_language_article_shown_once_in_preferred_language(index: KBIndex) -> None:
    es = index.search("devolver artículo 30 días", top_k=4, prefer_lang="es")
    assert [h.article_id for h in es].count("return-policy") == 1
    assert es[0].article_id == "return-policy" and es[0].lang == "es"
    en = index.search("devolver artículo 30 días", top_k=4, prefer_lang="en")
    assert en[0].article_id == "return-policy" and en[0].lang == "en"
    assert en[0].url == "https://shop.example/help/returns"


def test_language_filter(index: KBIndex) -> None:
    hits = index.search("return unused item 30 days", top_k=5, lang="en")
    assert {h.lang for h in hits} == {"en"}
    assert [h.article_id for h in hits] == ["return-policy"]


def test_guess_language() -> None:
    assert guess_language("¿dónde está mi pedido?") == "es"
    assert guess_language("where is my order") == "en"
    assert guess_language("AT100234") is None


def test_empty_query_and_unknown_mode(index: KBIndex) -> None:
    assert index.search("   ") == []
    with pytest.raises(ValueError, match="unknown mode"):
        index.search("hola", mode="magic")


def test_article_lookup_prefers_language(index: KBIndex) -> None:
    hit = index.article("return-policy", "en")
    assert hit is not None and hit.title == "Return policy"
    assert index.article("shipping-times", "en").lang == "es"  # type: ignore[union-attr]
    assert index.article("nope") is None
