"""Run-time settings of the knowledge base, read from the environment when asked, not at import."""

from __future__ import annotations

import os
from pathlib import Path

#: Confidence (``Hit.confidence``: the mean of the top article's best chunk cosine and the better
#: of its card and its best question) below which the assistant offers choices instead of
#: answering. USE: 0.35, the lowest threshold at which out-of-scope questions written by others
#: are answered at most 5 % of the time (CLINC150 oos_test, English: 4.7 %; Leyzer es-ES assistant
#: commands: 2.2 %) while 92.7 % of in-scope questions are still answered directly
#: (reports/kb/README.md). Unknown encoders fall back to ``FALLBACK_THRESHOLD``.
ANSWER_THRESHOLDS = {"use": 0.35, "minilm": 0.32}
FALLBACK_THRESHOLD = 0.35


#: The repository's own policy files, used when ``ATIENDE_POLICY_DIR`` is not set.
DEFAULT_POLICY_DIR = Path(__file__).resolve().parents[1] / "data" / "policies"


def policy_dir() -> Path:
    """``ATIENDE_POLICY_DIR``, else ``data/policies`` of this checkout: one YAML file per market,
    read by the order actions and rendered into the articles at build time (kb_index.facts)."""
    configured = os.environ.get("ATIENDE_POLICY_DIR")
    return Path(configured) if configured else DEFAULT_POLICY_DIR


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


def second_encoder_enabled() -> bool:
    """``KB_SECOND_ENCODER``: ``minilm`` (default) builds and searches with MiniLM through
    onnxruntime beside USE (kb_index.second); ``off`` without it."""
    value = (os.environ.get("KB_SECOND_ENCODER") or "minilm").strip().lower()
    if value in ("off", "none", "0", "false", "no"):
        return False
    if value != "minilm":
        raise ValueError(f"KB_SECOND_ENCODER must be 'minilm' or 'off', got {value!r}")
    return True
