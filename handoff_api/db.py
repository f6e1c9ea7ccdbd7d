"""Engine, sessions and start-up migrations.

SQLite is the default (one file, WAL so readers never block the writer). Reads and writes get
different transactions, because on SQLite that decides who waits for whom:

* **read sessions** (``sessions``) begin a plain deferred ``BEGIN``: in WAL mode a reader takes no
  lock at all, so any number of widget replays, queue views or logins run side by side and never
  hold up a writer;
* **write sessions** (``writes``) begin ``BEGIN IMMEDIATE``: the write lock is taken up front, so a
  writer either gets it or waits on the busy timeout — it can never fail half-way with
  "database is locked" when a read transaction tries to upgrade.

Before this split every transaction, reads included, began ``IMMEDIATE``; 50 concurrent
unauthenticated GETs then queued on the single write lock, each holding a pooled connection while
it waited for a worker thread, and froze the service for 30 s (issue #11, measured in
``reports/reliability``). The connection pool is sized to the worker-thread pool, so a request never
waits for a connection that a thread which cannot run is holding.

PostgreSQL is selected by the URL alone; there both session kinds are ordinary transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
WRITE_OPTION = "atiende_write"  # execution option marking a connection of a write session
DEFAULT_POOL_SIZE = 40  # = the default worker-thread pool of Starlette's sync routes (anyio)
BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, *, pool_size: int = DEFAULT_POOL_SIZE,
                busy_timeout_ms: int = BUSY_TIMEOUT_MS, **kwargs: Any) -> Engine:
    """An engine whose pool holds ``pool_size`` connections (one per worker thread) plus a few for
    the background workers; a request waits at most ``pool_timeout`` for one, then gets a 503."""
    pool = {"pool_size": pool_size, "max_overflow": 10, "pool_timeout": 10}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            **pool,
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            write = conn.get_execution_options().get(WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    # no pre-ping: it costs a round trip per request; after a server restart the pool drops its
    # dead connections on the first error (answered 503) and reconnects
    return create_engine(url, pool_recycle=1800, **pool, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Read sessions (deferred transactions on SQLite)."""
    return sessionmaker(engine, expire_on_commit=False)


def make_write_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Write sessions: every transaction takes SQLite's write lock when it begins."""
    return sessionmaker(engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


MIGRATION_LOCK = 731800912  # pg_advisory_xact_lock key of the handoff schema's migrations


def run_migrations(engine: Engine) -> None:
    """Bring the schema to the latest revision; a no-op when it is already there.

    ``heads``: migrations written in parallel from the same base (0005 console security and 0009
    store events both follow 0004; they touch different tables) are all applied, in either order,
    instead of alembic refusing to choose between two heads."""
    config = alembic_config(engine)
    with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
        if connection.dialect.name == "postgresql":
            # replicas starting together: one migrates, the others wait, then find it done
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def check_database(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error (CLI, workers, bench)."""
    session = factory()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
