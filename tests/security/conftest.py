"""``bot_system``: the one running Atiende (tests/whole_system.py: scripts.run, development mode,
demo store seeded) shared by the attacks that go through the real processes, and by the browser
tests of tests/e2e. Nothing heavy is imported here: this folder's ``bot/`` subfolder runs in the
bot environment."""

from __future__ import annotations

from typing import Any

import pytest

from tests.whole_system import ALLOWED_ORIGIN
from tests.whole_system import RASA_TOKEN as SYSTEM_RASA_TOKEN

__all__ = ["ALLOWED_ORIGIN", "SYSTEM_RASA_TOKEN"]


@pytest.fixture(scope="session")
def bot_system(whole_system: Any) -> Any:
    return whole_system
