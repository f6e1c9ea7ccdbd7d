"""One end-to-end check with the real default encoder (loaded offline from the package)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_index.documents import chunk_articles, load_sources
from kb_index.encoders import DEFAULT_ENCODER, load_encoder
from kb_index.index import KBIndex

pytestmark = pytest.mark.slow


def test_default_encoder_answers_across_languages(kb_dir: Path, tmp_path: Path) -> None:
    encoder = load_encoder(DEFAULT_ENCODER)
    vectors = encoder.encode(["hola", "¿dónde está mi pedido?"])
    assert vectors.shape == (2, encoder.dim)
    assert abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-4
    index = KBIndex.build(chunk_articles(load_sources([kb_dir])), encoder, progress=False)
    index.save(tmp_path / "idx")
    loaded = KBIndex.load(tmp_path / "idx")
    assert loaded.meta["encoder"] == DEFAULT_ENCODER
    hit = loaded.search("¿cuántos días tarda el paquete en llegar?", top_k=1, mode="dense")[0]
    assert hit.article_id == "shipping-times"
    # an English question finds the Spanish-only article by meaning
    hit = loaded.search("how long does delivery take?", top_k=1, mode="dense",
                        prefer_lang="en")[0]
    assert hit.article_id == "shipping-times"
