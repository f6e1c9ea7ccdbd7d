"""Run-time settings of the knowledge base, read from the environment when asked, not at import."""

from __future__ import annotations

import os
from pathlib import Path

#: Confidence (mean cosine of the top article's best chunk and its card, ``Hit.confidence``) below
#: which the assistant offers choices instead of answering. Calibrated in hybrid mode on
#: tests/data/kb_queries.jsonl + tests/data/kb_out_of_scope.jsonl with a wrong answer costing
#: twice a right one (reports/kb/eval.md). Unknown encoders fall back to ``FALLBACK_THRESHOLD``.
ANSWER_THRESHOLDS = {"use": 0.215, "minilm": 0.32}
FALLBACK_THRESHOLD = 0.35


def data_dir() -> Path:
    return Path(os.environ.get("ATIENDE_DATA_DIR") or "var")


def index_dir() -> Path:
    """``KB_INDEX_DIR``, else ``$ATIENDE_DATA_DIR/kb_index``."""
    configured = os.environ.get("KB_INDEX_DIR")
    return Path(configured) if configured else data_dir() / "kb_index"


def answer_threshold(encoder_name: str) -> float:
    """``KB_MIN_SCORE`` when set, else the calibrated figure for the index's encoder."""
    configured = os.environ.get("KB_MIN_SCORE")
    if configured:
        try:
            return float(configured)
        except ValueError:
            raise ValueError(f"KB_MIN_SCORE must be a number, got {configured!r}") from None
    return ANSWER_THRESHOLDS.get(encoder_name, FALLBACK_THRESHOLD)
