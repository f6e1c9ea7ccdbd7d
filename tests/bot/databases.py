"""Real databases for the bot side's shared-state tests: a SQLite file, or a PostgreSQL database
of its own on 127.0.0.1:5432 (created for the test, dropped after it)."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def postgres_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), 2).close()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def database_url(kind: str, tmp_path: Path, file_name: str) -> Iterator[str]:
    """The URL of an empty database of ``kind`` (``sqlite`` or ``postgresql``)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / file_name}"
        return
    if not postgres_up():
        if os.environ.get("ATIENDE_SKIP_POSTGRES") == "1":
            pytest.skip("ATIENDE_SKIP_POSTGRES=1")
        pytest.fail("PostgreSQL is not answering on 127.0.0.1:5432: start it with "
                    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
                    "or set ATIENDE_SKIP_POSTGRES=1")
    # a helper running beside others names its databases after itself (ATIENDE_TEST_PG_PREFIX)
    name = f"{os.environ.get('ATIENDE_TEST_PG_PREFIX', 'atiende_bot_')}{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
