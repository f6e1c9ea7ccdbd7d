"""Search modes, fusion, language handling, persistence and the encoder check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb_index.documents import chunk_articles, load_sources
from kb_index.encoders import HashingEncoder
from kb_index.index import (
    BM25_WEIGHT,
    EncoderMismatchError,
    IndexNotFoundError,
    KBIndex,
    guess_language,
)


@pytest.fixture
def index(kb_dir: Path, encoder: HashingEncoder) -> KBIndex:
    return KBIndex.build(chunk_articles(load_sources([kb_dir])), encoder, progress=False)


def test_meta_describes_the_build(index: KBIndex) -> None:
    meta = index.meta
    assert meta["encoder"] == "hash:128" and meta["dim"] == 128
    assert meta["chunks"] == len(index.chunks) == 6
    assert meta["articles"] == 4 and meta["languages"] == ["en", "es"]
    assert meta["index_kind"] == "exact" and len(meta["corpus_hash"]) == 64


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


def test_save_load_round_trip(index: KBIndex, tmp_path: Path) -> None:
    out = index.save(tmp_path / "out" / "idx")
    loaded = KBIndex.load(out)
    assert loaded.meta == index.meta
    assert loaded.chunks == index.chunks
    before = [h.to_json() for h in index.search("tarjetas regalo", top_k=3)]
    assert [h.to_json() for h in loaded.search("tarjetas regalo", top_k=3)] == before
    index.save(out)  # overwriting an existing index works and leaves no temp folders
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["idx"]


def test_loading_with_another_encoder_fails_clearly(index: KBIndex, tmp_path: Path) -> None:
    index.save(tmp_path / "idx")
    with pytest.raises(EncoderMismatchError, match=r"built with encoder 'hash:128'.*'hash:64'"):
        KBIndex.load(tmp_path / "idx", HashingEncoder(64))
    with pytest.raises(EncoderMismatchError, match="rebuild"):
        KBIndex.load(tmp_path / "idx", "minilm")  # refused before the model is even loaded


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="python -m kb_index build"):
        KBIndex.load(tmp_path / "none")
