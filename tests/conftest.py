"""Fixtures shared across test folders. Imports stay light: this file loads in both envs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def whole_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The one running Atiende of tests/whole_system.py (started on first use, stopped at the
    end of the session)."""
    from tests.whole_system import whole_system as start

    yield from start(tmp_path_factory.mktemp("whole-system"))


@pytest.fixture(scope="session")
def migrated_handoff_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite handoff database brought to the latest revision once per session (app env): the
    SQLite ``database_url`` of tests/handoff_api copies it for each test instead of migrating an
    empty file again (create_app still runs the migrations, which then find nothing to do)."""
    from handoff_api.db import make_engine, run_migrations

    path = tmp_path_factory.mktemp("handoff-schema") / "handoff.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        run_migrations(engine)
    finally:
        engine.dispose()
    return path
