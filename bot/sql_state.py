"""SQLAlchemy engines for the bot side's shared state: the ledger (``bot/ledger.py``), the relay
outbox (``bot/outbox.py``) and the Meta channel state (``bot/channels/meta_state.py``).

Each one is a SQLite file in ``$ATIENDE_DATA_DIR`` by default (one host: replicas there share the
file) or a PostgreSQL database by URL (every replica on every host shares it). The URL comes from
the environment through the caller (``ATIENDE_LEDGER_URL``, ``ATIENDE_OUTBOX_URL``,
``ATIENDE_CHANNEL_STATE_URL``) and can be injected in tests.

Every call is a short blocking transaction: callers run them in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa


def url_from_env(variable: str, file_name: str) -> str:
    """``$variable`` if set, else ``sqlite:///$ATIENDE_DATA_DIR/<file_name>`` (read per call)."""
    url = os.environ.get(variable, "").strip()
    if url:
        return url
    return f"sqlite:///{Path(os.environ.get('ATIENDE_DATA_DIR', 'var')) / file_name}"


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL; None for another database or an in-memory one."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return Path(path) if path and path != ":memory:" else None


def safe_url(url: str) -> str:
    """The URL without its password, for log lines."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is reported by create_engine itself
        return "<url>"


def make_engine(url: str) -> sa.engine.Engine:
    """An engine whose transactions (``engine.begin()``) are safe across threads and processes.

    SQLite: WAL, a 30 s busy timeout and ``BEGIN IMMEDIATE`` (every transaction takes the write
    lock at once, so a read-then-update inside one transaction is atomic across processes), and a
    small pool — SQLAlchemy 1.4 (Rasa's) would otherwise open a connection, with its PRAGMAs, per
    transaction. PostgreSQL: ``pool_pre_ping`` (a restarted server does not fail the next call).
    """
    path = sqlite_path(url)
    if url.startswith("sqlite"):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        pool: dict[str, Any] = {"poolclass": sa.pool.QueuePool, "pool_size": 4,
                                "max_overflow": 12} if path is not None else {}
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                                  future=True, **pool)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            conn.isolation_level = None
            cur = conn.cursor()
            _wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, future=True)


class LazyEngine:
    """The engine of one store, made on first use with ``setup(engine)`` (create its tables,
    add missing columns, migrate) — nothing is opened at import or construction time. Worker
    threads (``asyncio.to_thread``) may race to the first use: a lock makes one of them build it,
    and the engine is published only once its setup is done. ``dispose()`` closes it; the next
    use builds it again."""

    def __init__(self, url: str, setup: Callable[[sa.engine.Engine], None]) -> None:
        self.url = url
        self._setup = setup
        self._engine: sa.engine.Engine | None = None
        self._lock = threading.Lock()

    def get(self) -> sa.engine.Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    engine = make_engine(self.url)
                    self._setup(engine)
                    self._engine = engine
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _wal(cur: Any, patience: float = 30.0) -> None:
    """Switch a SQLite file to WAL. Two first connections (two replicas starting, or two worker
    threads) switching a fresh file together make one fail at once with ``database is locked``:
    SQLite does not wait on the busy handler for that change — so wait here."""
    deadline = time.monotonic() + patience
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def create_tables(engine: sa.engine.Engine, metadata: sa.MetaData, lock_key: int) -> None:
    """Create what is missing. On PostgreSQL under an advisory lock: replicas starting together on
    a fresh database otherwise race in CREATE TABLE and one fails with a duplicate-type error."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(lock_key)})")
            metadata.create_all(conn)
    else:
        metadata.create_all(engine)


def add_missing_columns(engine: sa.engine.Engine, table: str, columns: dict[str, str]) -> None:
    """``columns`` (name -> SQL type and default) added to a table created by an older version
    (these stores have no migrations: their tables are created by the code that uses them)."""
    existing = {c["name"] for c in sa.inspect(engine).get_columns(table)}
    guard = "IF NOT EXISTS " if engine.dialect.name == "postgresql" else ""  # replicas racing
    for name, ddl in columns.items():
        if name not in existing:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {guard}{name} {ddl}")
