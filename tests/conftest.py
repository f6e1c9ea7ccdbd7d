"""Fixtures shared across test folders. Imports stay light: this file loads in both envs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def whole_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The one running Atiende of tests/whole_system.py (started on first use, stopped at the
    end of the session)."""
    from tests.whole_system import whole_system as start

    yield from start(tmp_path_factory.mktemp("whole-system"))
