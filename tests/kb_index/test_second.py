"""MiniLM beside USE (kb_index.second): built by ``kb_index build``, switchable, for English."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from kb_index import passage_ranker
from kb_index.cli import main
from kb_index.index import KBIndex
from kb_index.second import ARTICLE_WEIGHT, SECOND_DIR, SecondEncoder
from kb_index.settings import second_encoder_enabled


class _Fixed:
    """Stands in for the ONNX model in the arithmetic test."""

    name, dim = "fixed", 2


def test_article_scores_add_best_chunk_card_and_weighted_question() -> None:
    vectors = {"chunks": np.array([[1, 0], [0, 1], [0.6, 0.8]], np.float32),
               "cards": np.array([[1, 0], [0, 1]], np.float32),
               "headings": np.zeros((3, 2), np.float32),
               "questions": np.array([[0.8, 0.6]], np.float32)}
    second = SecondEncoder(_Fixed(), vectors)  # type: ignore[arg-type]
    qv = np.array([1.0, 0.0], np.float32)
    scores = second.article_scores(qv, chunk_article=np.array([0, 1, 1]),
                                   question_article=np.array([0]),
                                   has_questions=np.array([True, False]), question_weight=2.0)
    # article 0: chunk 1.0 + card 1.0 + 2 x question 0.8; article 1: chunk 0.6 + card 0 + 2 x card
    np.testing.assert_allclose(scores, [3.6, 0.6], atol=1e-6)


def test_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KB_SECOND_ENCODER", raising=False)
    assert second_encoder_enabled()
    monkeypatch.setenv("KB_SECOND_ENCODER", "off")
    assert not second_encoder_enabled()
    monkeypatch.setenv("KB_SECOND_ENCODER", "bert")
    with pytest.raises(ValueError, match="KB_SECOND_ENCODER"):
        second_encoder_enabled()


@pytest.mark.slow
def test_build_exports_the_model_and_load_attaches_it(built: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KB_SECOND_ENCODER", raising=False)
    assert (built / "idx" / SECOND_DIR / "model.onnx").is_file()
    # written inside the folder before the swap: meta.json (what a running server watches)
    # already names it
    assert KBIndex.read_meta(built / "idx")["second_encoder"] == "minilm-onnx-int8"
    index = KBIndex.load(built / "idx")
    assert index.second is not None
    assert index.second.chunks.shape == (len(index.chunks), 384)
    assert len(index.second.cards) == len(index.keys)
    assert len(index.second.questions) == len(index.question_vectors)
    assert SecondEncoder.load(built / "idx", len(index.chunks) + 1) is None  # stale vectors


@pytest.mark.slow
def test_english_questions_use_it_spanish_ones_do_not(built: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KB_SECOND_ENCODER", raising=False)
    on = KBIndex.load(built / "idx")
    monkeypatch.setenv("KB_SECOND_ENCODER", "off")
    off = KBIndex.load(built / "idx")
    assert off.second is None and ARTICLE_WEIGHT["en"] > 0 == ARTICLE_WEIGHT["es"]
    en = "how many days until my parcel arrives?"
    hit_on, hit_off = on.search(en, top_k=1)[0], off.search(en, top_k=1)[0]
    assert hit_on.article_id == hit_off.article_id == "shipping-times"
    assert hit_on.score > hit_off.score + 0.5  # MiniLM's chunk + card cosines added
    assert hit_on.confidence == pytest.approx(hit_off.confidence)  # USE alone decides answering
    es = "¿cuántos días tarda en llegar mi paquete?"
    assert on.search(es, top_k=1)[0].score == pytest.approx(off.search(es, top_k=1)[0].score)


@pytest.mark.slow
def test_build_switch_off_and_up_to_date(built: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("KB_SECOND_ENCODER", raising=False)
    args = ["build", "--input", str(built / "kb"), "--quiet"]
    assert main([*args, "--out", str(built / "idx")]) == 0
    assert "up to date" in capsys.readouterr().out
    copy = tmp_path / "idx"
    shutil.copytree(built / "idx", copy)
    monkeypatch.setenv("KB_SECOND_ENCODER", "off")
    assert main([*args, "--out", str(copy)]) == 0
    assert "built" in capsys.readouterr().out and not (copy / SECOND_DIR).exists()
    assert main([*args, "--out", str(copy)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_the_fitted_weights_file_matches_the_features() -> None:
    weights = passage_ranker.learned_weights()
    assert weights is not None and weights.shape == (len(passage_ranker.FEATURES),)
    assert np.all(np.isfinite(weights)) and np.any(weights != 0)


@pytest.mark.slow
def test_english_passages_are_ranked_by_the_learned_model(built: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KB_SECOND_ENCODER", raising=False)
    index = KBIndex.load(built / "idx")
    position = passage_ranker.FEATURES.index("position")

    def only(sign: float) -> np.ndarray:
        w = np.zeros(len(passage_ranker.FEATURES))
        w[position] = sign
        return w

    question = "which items can't I send back?"
    # the learned model decides: weights that prefer the last passage, then the first
    monkeypatch.setattr(passage_ranker, "learned_weights", lambda: only(1.0))
    last = index.rank_passages(question, "return-policy", "en")
    monkeypatch.setattr(passage_ranker, "learned_weights", lambda: only(-1.0))
    first = index.rank_passages(question, "return-policy", "en")
    assert [c.chunk_id for c in last] == [c.chunk_id for c in reversed(first)]
    # Spanish questions are not ranked by the English weights: without the Spanish model (its own
    # weights, tests/kb_index/test_passage_features_es.py) the hand-set score decides
    monkeypatch.setattr(passage_ranker, "learned_weights", lambda: only(-1.0))
    monkeypatch.setattr(passage_ranker, "learned_weights_es", lambda: None)
    es = index.rank_passages("¿qué no se puede devolver?", "return-policy", "es")
    assert es[0].heading == "Qué no se puede devolver"
