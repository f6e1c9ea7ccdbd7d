"""Building an index, saving and loading it (kb_index/persist.py): the meta, the round trip, the
encoder check and a missing index."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb_index.documents import chunk_articles, load_sources
from kb_index.encoders import HashingEncoder
from kb_index.index import KBIndex
from kb_index.persist import EncoderMismatchError, IndexNotFoundError


@pytest.fixture
def index(kb_dir: Path, encoder: HashingEncoder) -> KBIndex:
    return KBIndex.build(chunk_articles(load_sources([kb_dir])), encoder, progress=False)


def test_meta_describes_the_build(index: KBIndex) -> None:
    meta = index.meta
    assert meta["encoder"] == "hash:128" and meta["dim"] == 128
    assert meta["chunks"] == len(index.chunks) == 6
    assert meta["articles"] == 4 and meta["languages"] == ["en", "es"]
    assert meta["index_kind"] == "exact" and len(meta["corpus_hash"]) == 64


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
