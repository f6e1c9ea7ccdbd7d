"""MiniLM exported to ONNX (kb_index.onnx_encoder) against the same model through torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb_index.encoders import load_encoder
from kb_index.onnx_encoder import OnnxMiniLMEncoder, export_minilm
from kb_index.second import SECOND_DIR

pytestmark = pytest.mark.slow

TEXTS = [
    "How long does a refund take?",
    "¿Cuánto tarda el reembolso?",
    "Refunds reach your card in 3-5 business days; PayPal takes 1-2 days.",
    "Shipping to the Balearic Islands costs 5.95 EUR. " * 60,  # over 256 tokens: cut, as torch
    "x",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, built: Path) -> dict[str, Path]:
    """fp32 exported here; int8 the one ``kb_index build`` exported into the index (conftest)."""
    root = tmp_path_factory.mktemp("onnx")
    return {"fp32": export_minilm(root / "fp32", quantize=False),
            "int8": built / "idx" / SECOND_DIR}


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return load_encoder("minilm").encode(TEXTS)


def test_fp32_export_matches_torch(exported: dict[str, Path], torch_vectors: np.ndarray) -> None:
    vectors = OnnxMiniLMEncoder(exported["fp32"]).encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose((vectors * torch_vectors).sum(axis=1), 1.0, atol=1e-4)


def test_int8_cosines_stay_within_tolerance_and_keep_the_ranking(
        exported: dict[str, Path], torch_vectors: np.ndarray) -> None:
    encoder = OnnxMiniLMEncoder(exported["int8"])
    assert encoder.name == "minilm-onnx-int8"
    vectors = encoder.encode(TEXTS)
    assert np.all((vectors * torch_vectors).sum(axis=1) > 0.97)
    # the question's nearest text is the same one in both
    onnx_sims, torch_sims = vectors[1:] @ vectors[0], torch_vectors[1:] @ torch_vectors[0]
    assert np.argmax(onnx_sims) == np.argmax(torch_sims) == 1
    np.testing.assert_allclose(onnx_sims, torch_sims, atol=0.03)


def test_a_batch_with_padding_encodes_like_single_texts(exported: dict[str, Path]) -> None:
    encoder = OnnxMiniLMEncoder(exported["fp32"])
    batch = encoder.encode(TEXTS)
    single = np.vstack([encoder.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(batch, single, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_load_encoder_spec_and_missing_export(exported: dict[str, Path], tmp_path: Path) -> None:
    assert load_encoder(f"onnx:{exported['int8']}").name == "minilm-onnx-int8"
    with pytest.raises(ValueError, match="no exported MiniLM"):
        OnnxMiniLMEncoder(tmp_path)
