"""The trained model that some bot-env tests load, and what to do when it is missing."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "atiende.tar.gz"


def model_test_marks(what: str) -> list[pytest.MarkDecorator]:
    """``pytestmark`` for a module of tests that need ``models/atiende.tar.gz``.

    Without the model they are SKIPPED LOUDLY (reason in the summary and on stderr);
    ``ATIENDE_REQUIRE_MODEL=1`` (``make test`` after ``make train``) makes that a failure.
    """
    if MODEL.exists():
        return [pytest.mark.slow]
    message = (f"{what} NOT RUN: {MODEL} does not exist. Train it first (make train); "
               "set ATIENDE_REQUIRE_MODEL=1 to make this a failure.")
    if os.environ.get("ATIENDE_REQUIRE_MODEL") == "1":
        raise RuntimeError(message)
    sys.stderr.write(f"\n*** {message} ***\n")
    return [pytest.mark.slow, pytest.mark.skip(reason=message)]


def fresh_conversations(agent: Any) -> Any:
    """``agent`` (loaded once, e.g. per module: loading the model takes 15-60 s) with empty,
    new in-memory tracker and lock stores, as a newly loaded agent has them: no conversation of
    an earlier test is visible. The model, domain and endpoints are kept."""
    from rasa.core.agent import Agent

    agent.tracker_store = Agent._create_tracker_store(None, agent.domain)
    agent.lock_store = Agent._create_lock_store(None)
    agent.processor.tracker_store = agent.tracker_store
    agent.processor.lock_store = agent.lock_store
    return agent
