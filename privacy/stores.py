"""Every place Atiende keeps a shopper's data, behind one interface, for retention and erasure.

A store answers four questions about a :class:`~privacy.subject.Subject` or a time:

* ``find_conversations(subject)``: conversation ids in which the subject's e-mail or phone appears;
* ``erase(subject)``: delete (or anonymise) everything of the subject's conversations, and any row
  that mentions the e-mail or phone; returns how many rows/files/lines went;
* ``purge(cutoff)``: retention: delete what was last touched before ``cutoff`` (epoch seconds);
* ``traces(subject)``: how much of the subject is still there (0 after a complete erasure).

New stores register a factory with :func:`register_store`; the factory gets a
:class:`StoreContext` and returns ``None`` when the store is not configured. Built in, for the
files and databases under the data directory: the Rasa tracker store (SQLite or PostgreSQL, read
from the endpoints file Rasa uses), its outage journal, the bot's relay outbox, the Meta channel
state, the bot's ledger (received messages, the Meta webhook inbox; SQLite or
PostgreSQL), the analytics JSON-lines files and the shared media storage (``media_store``). The
handoff database registers itself (``handoff_api/privacy_store.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from privacy.records import privacy_key, pseudonym, rewrite_jsonl
from privacy.subject import Subject

ANALYTICS_FILES = ("kb_gaps.jsonl", "kb_feedback.jsonl")


class DataStore(Protocol):
    name: str

    def find_conversations(self, subject: Subject) -> set[str]: ...
    def erase(self, subject: Subject) -> int: ...
    def purge(self, cutoff: float) -> int: ...
    def traces(self, subject: Subject) -> int: ...


@dataclass
class StoreContext:
    env: Mapping[str, str]
    root: Path = field(default_factory=lambda: Path(__file__).resolve().parent.parent)

    @property
    def data_dir(self) -> Path:
        return Path(self.env.get("ATIENDE_DATA_DIR", "var"))

    def key(self) -> bytes:
        return privacy_key(self.env)


StoreFactory = Callable[[StoreContext], "DataStore | None"]
_FACTORIES: dict[str, StoreFactory] = {}


def register_store(name: str, factory: StoreFactory) -> None:
    """Add (or replace) a store; retention and erasure go through every registered one."""
    _FACTORIES[name] = factory


def registered() -> list[str]:
    return list(_FACTORIES)


def open_stores(ctx: StoreContext, extra: list[DataStore] | None = None) -> list[DataStore]:
    stores = [s for f in _FACTORIES.values() if (s := f(ctx)) is not None]
    return stores + list(extra or [])


# ----------------------------------------------------------------- SQLite: no residue
def sqlite_checkpoint(dbapi_connection: Any) -> None:
    """Fold the write-ahead log back into the database file and empty it, so deleted rows do not
    survive in old WAL frames (best effort: a reader elsewhere may keep a frame alive until the
    next checkpoint). Deletes run with ``PRAGMA secure_delete=ON``, which zeroes freed content."""
    with contextlib.suppress(sqlite3.Error):
        dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def scrub_sqlite_engine(engine: Any) -> None:
    """:func:`sqlite_checkpoint` on a SQLAlchemy engine's database (no-op for other dialects)."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        sqlite_checkpoint(raw.driver_connection if hasattr(raw, "driver_connection")
                          else raw.connection)
    finally:
        raw.close()


# ------------------------------------------------------------------------- tracker store
_VAR = re.compile(r"\$\{([^}]+)\}")


def tracker_url(ctx: StoreContext) -> str | None:
    """The SQLAlchemy URL of Rasa's tracker store, from the endpoints file Rasa runs with
    (``RASA_ENDPOINTS``, default ``bot/endpoints.yml``), ``${VAR}`` expanded like Rasa does.
    ``ATIENDE_TRACKER_URL`` overrides it (e.g. a replica's own database)."""
    if ctx.env.get("ATIENDE_TRACKER_URL"):
        return ctx.env["ATIENDE_TRACKER_URL"]
    import yaml

    path = Path(ctx.env.get("RASA_ENDPOINTS", "bot/endpoints.yml"))
    path = path if path.is_absolute() else ctx.root / path
    if not path.exists():
        return None
    raw = _VAR.sub(lambda m: ctx.env.get(m.group(1), ""), path.read_text(encoding="utf-8"))
    conf = (yaml.safe_load(raw) or {}).get("tracker_store") or {}
    dialect = str(conf.get("dialect") or "sqlite")
    db = str(conf.get("db") or "")
    if dialect == "sqlite":
        return f"sqlite:///{db or ctx.env.get('RASA_TRACKER_DB', ctx.data_dir / 'rasa_tracker.db')}"
    from sqlalchemy.engine import URL

    return URL.create(
        "postgresql+psycopg2" if dialect in ("postgresql", "postgres") else dialect,
        username=conf.get("username") or None, password=conf.get("password") or None,
        host=conf.get("url") or None, port=int(conf["port"]) if conf.get("port") else None,
        database=db or None).render_as_string(hide_password=False)


class TrackerStore:
    """Rasa's SQL tracker store (table ``events``: one row per event, JSON in ``data``)."""

    name = "tracker_store"

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(url)

    def _exists(self, conn: Any) -> bool:
        from sqlalchemy import inspect

        return inspect(conn).has_table("events")

    def _mentioning(self, conn: Any, subject: Subject) -> set[str]:
        from sqlalchemy import text

        found: set[str] = set()
        for pattern in subject.like_patterns():
            rows = conn.execute(text("SELECT sender_id, data FROM events WHERE lower(data) LIKE "
                                     ":p"), {"p": pattern.lower()})
            found |= {sender for sender, data in rows if subject.mentioned_in(data)}
        return found

    def _ids(self, subject: Subject) -> list[str]:
        return sorted(subject.conversation_ids | subject.phone_conversation_ids())

    @staticmethod
    def _with_ids(sql: str) -> Any:
        """``sql`` with an expanding, string-typed ``:ids`` (PostgreSQL needs the type when the
        list is empty)."""
        from sqlalchemy import String, bindparam, text

        return text(sql).bindparams(bindparam("ids", expanding=True, type_=String))

    def find_conversations(self, subject: Subject) -> set[str]:
        with self.engine.connect() as conn:
            if not self._exists(conn):
                return set()
            ids = set(conn.execute(self._with_ids("SELECT DISTINCT sender_id FROM events WHERE "
                                                  "sender_id IN :ids"),
                                   {"ids": self._ids(subject)}).scalars())
            return ids | self._mentioning(conn, subject)

    def erase(self, subject: Subject) -> int:
        with self.engine.begin() as conn:
            if not self._exists(conn):
                return 0
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            ids = set(self._ids(subject)) | self._mentioning(conn, subject)
            deleted = conn.execute(self._with_ids("DELETE FROM events WHERE sender_id IN :ids"),
                                   {"ids": sorted(ids)}).rowcount or 0
        scrub_sqlite_engine(self.engine)
        return deleted

    def purge(self, cutoff: float) -> int:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            if not self._exists(conn):
                return 0
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            deleted = conn.execute(text(
                "DELETE FROM events WHERE sender_id IN (SELECT sender_id FROM events "
                "GROUP BY sender_id HAVING MAX(timestamp) < :cutoff)"), {"cutoff": cutoff}
            ).rowcount or 0
        scrub_sqlite_engine(self.engine)
        return deleted

    def traces(self, subject: Subject) -> int:
        with self.engine.connect() as conn:
            if not self._exists(conn):
                return 0
            left = conn.execute(self._with_ids("SELECT COUNT(*) FROM events WHERE sender_id IN "
                                               ":ids"), {"ids": self._ids(subject)}).scalar() or 0
            return left + len(self._mentioning(conn, subject))

    def close(self) -> None:
        self.engine.dispose()


class JournalFiles:
    """The tracker store's outage journal (``bot/tracker_store.py``): one JSON file per
    conversation, named by a hash of its id."""

    name = "tracker_journal"

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def _files(self) -> Iterator[Path]:
        yield from (self.dir.glob("*.json") if self.dir.is_dir() else [])

    def _path(self, conversation_id: str) -> Path:
        return self.dir / f"{hashlib.sha256(conversation_id.encode()).hexdigest()[:32]}.json"

    def _matching(self, subject: Subject) -> set[Path]:
        ids = subject.conversation_ids | subject.phone_conversation_ids()
        wanted = {self._path(c) for c in ids}
        return {p for p in self._files() if p in wanted
                or subject.mentioned_in(p.read_text(encoding="utf-8", errors="replace"))}

    def find_conversations(self, subject: Subject) -> set[str]:
        ids = set()
        for path in self._matching(subject):
            with contextlib.suppress(ValueError, OSError):
                ids.add(json.loads(path.read_text(encoding="utf-8"))["sender_id"])
        return ids

    def erase(self, subject: Subject) -> int:
        paths = self._matching(subject)
        for path in paths:
            path.unlink(missing_ok=True)
        return len(paths)

    def purge(self, cutoff: float) -> int:
        old = [p for p in self._files() if p.stat().st_mtime < cutoff]
        for path in old:
            path.unlink(missing_ok=True)
        return len(old)

    def traces(self, subject: Subject) -> int:
        return len(self._matching(subject))


# ----------------------------------------------------------------------- SQLite files
@dataclass(frozen=True)
class Table:
    name: str
    id_column: str | None  # the column holding a conversation id
    time_column: str  # epoch seconds
    text_columns: tuple[str, ...] = ()


class SQLiteFileStore:
    """Tables of a SQLite file owned by another process (WAL: safe to write alongside it)."""

    def __init__(self, name: str, path: Path, tables: tuple[Table, ...]) -> None:
        self.name, self.path, self.tables = name, path, tables

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection | None]:
        if not self.path.exists():
            yield None
            return
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            conn.execute("PRAGMA secure_delete=ON")
            with conn:
                names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
                yield conn if names else None
            sqlite_checkpoint(conn)
        finally:
            conn.close()

    def _present(self, conn: sqlite3.Connection) -> list[Table]:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return [t for t in self.tables if t.name in names]

    def _rows(self, conn: sqlite3.Connection, table: Table, subject: Subject) -> list[int]:
        """rowids of ``table`` that belong to or mention the subject."""
        ids = sorted(subject.conversation_ids | subject.phone_conversation_ids())
        rowids: set[int] = set()
        if table.id_column and ids:
            marks = ",".join("?" * len(ids))
            rowids |= {r[0] for r in conn.execute(
                f"SELECT rowid FROM {table.name} WHERE {table.id_column} IN ({marks})", ids)}
        for column in table.text_columns:
            for pattern in subject.like_patterns():
                for rowid, value in conn.execute(
                        f"SELECT rowid, {column} FROM {table.name} WHERE lower({column}) LIKE ?",
                        (pattern.lower(),)):
                    if subject.mentioned_in(value):
                        rowids.add(rowid)
        return sorted(rowids)

    def find_conversations(self, subject: Subject) -> set[str]:
        found: set[str] = set()
        with self._conn() as conn:
            for table in self._present(conn) if conn else []:
                if table.id_column:
                    for rowid in self._rows(conn, table, subject):
                        found.add(conn.execute(f"SELECT {table.id_column} FROM {table.name} "
                                               "WHERE rowid = ?", (rowid,)).fetchone()[0])
        return found

    def erase(self, subject: Subject) -> int:
        total = 0
        with self._conn() as conn:
            for table in self._present(conn) if conn else []:
                rows = self._rows(conn, table, subject)
                total += len(rows)
                conn.executemany(f"DELETE FROM {table.name} WHERE rowid = ?",
                                 [(r,) for r in rows])
        return total

    def purge(self, cutoff: float) -> int:
        total = 0
        with self._conn() as conn:
            for table in self._present(conn) if conn else []:
                total += conn.execute(f"DELETE FROM {table.name} WHERE {table.time_column} < ?",
                                      (cutoff,)).rowcount
        return total

    def traces(self, subject: Subject) -> int:
        with self._conn() as conn:
            return sum(len(self._rows(conn, t, subject)) for t in self._present(conn)) \
                if conn else 0


RELAY_OUTBOX_TABLES = (  # "outbox" is the first version's table name (migrated by bot/outbox.py)
    Table("relay_outbox", "conversation_id", "created_at", ("text", "last_error")),
    Table("outbox", "conversation_id", "created_at", ("text", "last_error")),
)
META_TABLES = (
    Table("last_inbound", "conversation_id", "at"),
    Table("delivery_status", "recipient_id", "at", ("error",)),
    Table("seen_messages", None, "seen_at"),
    # (issue #17) the last menu sent as numbered text, per conversation (bot/channels/options.py)
    Table("offered_options", "conversation_id", "at", ("options",)),
)



class SQLTables:
    """Tables of a SQL database owned by another process, by SQLAlchemy URL (SQLite or
    PostgreSQL): rows whose id column is one of the subject's conversations, or whose text
    columns mention the subject, are deleted; retention deletes rows older than the cutoff."""

    def __init__(self, name: str, url: str, tables: tuple[Table, ...]) -> None:
        from sqlalchemy import create_engine

        self.name, self.tables = name, tables
        self.engine = create_engine(url)

    def _present(self, conn: Any) -> list[Table]:
        from sqlalchemy import inspect

        inspector = inspect(conn)
        return [t for t in self.tables if inspector.has_table(t.name)]

    def _ids(self, subject: Subject) -> list[str]:
        return sorted(subject.conversation_ids | subject.phone_conversation_ids())

    def _matches(self, conn: Any, table: Table, subject: Subject) -> list[tuple[str, str]]:
        """(column, value) pairs whose rows belong to or mention the subject."""
        from sqlalchemy import String, bindparam, text

        found: set[tuple[str, str]] = set()
        ids = self._ids(subject)
        if table.id_column and ids:
            query = text(f"SELECT DISTINCT {table.id_column} FROM {table.name} WHERE "
                         f"{table.id_column} IN :ids").bindparams(
                bindparam("ids", expanding=True, type_=String))
            found |= {(table.id_column, v) for v in conn.execute(query, {"ids": ids}).scalars()}
        for column in table.text_columns:
            for pattern in subject.like_patterns():
                rows = conn.execute(text(f"SELECT DISTINCT {column} FROM {table.name} WHERE "
                                         f"lower({column}) LIKE :p"), {"p": pattern.lower()})
                found |= {(column, v) for v in rows.scalars() if subject.mentioned_in(v)}
        return sorted(found)

    def find_conversations(self, subject: Subject) -> set[str]:
        from sqlalchemy import text

        found: set[str] = set()
        with self.engine.connect() as conn:
            for table in self._present(conn):
                if not table.id_column:
                    continue
                for column, value in self._matches(conn, table, subject):
                    found |= set(conn.execute(text(
                        f"SELECT DISTINCT {table.id_column} FROM {table.name} WHERE "
                        f"{column} = :v"), {"v": value}).scalars())
        return found

    def erase(self, subject: Subject) -> int:
        from sqlalchemy import text

        total = 0
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            for table in self._present(conn):
                for column, value in self._matches(conn, table, subject):
                    total += conn.execute(text(f"DELETE FROM {table.name} WHERE {column} = :v"),
                                          {"v": value}).rowcount or 0
        scrub_sqlite_engine(self.engine)
        return total

    def purge(self, cutoff: float) -> int:
        from sqlalchemy import text

        total = 0
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            for table in self._present(conn):
                total += conn.execute(text(f"DELETE FROM {table.name} WHERE "
                                           f"{table.time_column} < :c"), {"c": cutoff}
                                      ).rowcount or 0
        scrub_sqlite_engine(self.engine)
        return total

    def traces(self, subject: Subject) -> int:
        from sqlalchemy import text

        total = 0
        with self.engine.connect() as conn:
            for table in self._present(conn):
                for column, value in self._matches(conn, table, subject):
                    total += conn.execute(text(f"SELECT COUNT(*) FROM {table.name} WHERE "
                                               f"{column} = :v"), {"v": value}).scalar() or 0
        return total

    def close(self) -> None:
        self.engine.dispose()


# The bot's ledger (bot/ledger.py): which messages were received and answered (the conversation
# id of a WhatsApp shopper is their phone), the Meta webhook inbox (whole payloads: phone, name,
# text), one-off keys. identity_failures holds keyed hashes only; retention still ages it out.
LEDGER_TABLES = (
    Table("inbound_messages", "conversation_id", "claimed_at", ("answer",)),
    Table("meta_inbox", None, "received_at", ("payload", "last_error")),
    Table("once", None, "at", ("key",)),
    Table("identity_failures", None, "window_start"),
)

# ------------------------------------------------------------------------ files
class AnalyticsFiles:
    """The analytics JSON-lines files (conversation ids pseudonymised, text redacted)."""

    name = "analytics"

    def __init__(self, paths: list[Path], key: bytes) -> None:
        self.paths, self.key = paths, key

    def _belongs(self, record: dict[str, Any], subject: Subject) -> bool:
        ids = subject.conversation_ids | subject.phone_conversation_ids()
        cid = str(record.get("conversation_id", ""))
        if cid and (cid in ids or cid in {pseudonym(i, self.key) for i in ids}):
            return True
        return subject.mentioned_in(json.dumps(record, ensure_ascii=False))

    def _lines(self) -> Iterator[dict[str, Any]]:
        for path in self.paths:
            if path.exists():
                for raw in path.read_text(encoding="utf-8").splitlines():
                    with contextlib.suppress(ValueError):
                        yield json.loads(raw)

    def find_conversations(self, subject: Subject) -> set[str]:
        return {str(r["conversation_id"]) for r in self._lines()
                if r.get("conversation_id") and not str(r["conversation_id"]).startswith("p_")
                and subject.mentioned_in(json.dumps(r, ensure_ascii=False))}

    def erase(self, subject: Subject) -> int:
        return sum(rewrite_jsonl(p, lambda r: not self._belongs(r, subject)) for p in self.paths)

    def purge(self, cutoff: float) -> int:
        return sum(rewrite_jsonl(p, lambda r: float(r.get("ts") or 0) >= cutoff)
                   for p in self.paths)

    def traces(self, subject: Subject) -> int:
        return sum(1 for r in self._lines() if self._belongs(r, subject))


class SharedMediaStore:
    """The shared media storage of ``media_store`` (local folder or S3: photos, documents, voice
    notes shoppers and agents send), through its own erasure and retention calls."""

    name = "media_store"

    def __init__(self, env: Mapping[str, str]) -> None:
        from media_store import open_store, settings_from_env

        self._open = lambda: open_store(settings_from_env(env))

    def _run(self, call: Callable[[Any], Any]) -> Any:
        import asyncio

        async def go() -> Any:
            store = self._open()
            try:
                return await call(store)
            finally:
                await store.aclose()

        return asyncio.run(go())  # stores are called from worker threads / the CLI

    def _ids(self, subject: Subject) -> list[str]:
        return sorted(subject.conversation_ids | subject.phone_conversation_ids())

    def find_conversations(self, subject: Subject) -> set[str]:
        return set()  # file contents are not searched; files are found by conversation

    def erase(self, subject: Subject) -> int:
        async def call(store: Any) -> int:
            total = 0
            for cid in self._ids(subject):
                with contextlib.suppress(ValueError):  # not a valid media conversation id
                    total += await store.delete_conversation(cid)
            return total

        return int(self._run(call))

    def purge(self, cutoff: float) -> int:
        from datetime import datetime, timezone

        when = datetime.fromtimestamp(cutoff, timezone.utc)
        return int(self._run(lambda store: store.delete_older_than(when)))

    def traces(self, subject: Subject) -> int:
        async def call(store: Any) -> int:
            total = 0
            for cid in self._ids(subject):
                with contextlib.suppress(ValueError):
                    total += len(await store.list_conversation(cid))
            return total

        return int(self._run(call))


# --------------------------------------------------------------------- registrations
def _tracker(ctx: StoreContext) -> DataStore | None:
    url = tracker_url(ctx)
    if url is None or (url.startswith("sqlite:///") and not Path(url[10:]).exists()):
        return None
    return TrackerStore(url)


def _journal(ctx: StoreContext) -> DataStore:
    return JournalFiles(Path(ctx.env.get("ATIENDE_TRACKER_JOURNAL")
                             or ctx.data_dir / "tracker_journal"))


register_store("tracker_store", _tracker)
register_store("tracker_journal", _journal)
def _bot_state(name: str, variable: str, tables: tuple[Table, ...]) -> Any:
    """The relay outbox or the Meta channel state: PostgreSQL (or any database) when the bot is
    configured with its URL (``bot/outbox.py``, ``bot/channels/meta_state.py``), else its file."""
    def build(ctx: StoreContext) -> DataStore:
        url = (ctx.env.get(variable) or "").strip()
        if url:
            return SQLTables(name, url, tables)
        return SQLiteFileStore(name, ctx.data_dir / f"{name}.db", tables)
    return build


register_store("relay_outbox", _bot_state("relay_outbox", "ATIENDE_OUTBOX_URL",
                                          RELAY_OUTBOX_TABLES))
register_store("meta_channels", _bot_state("meta_channels", "ATIENDE_CHANNEL_STATE_URL",
                                           META_TABLES))
def _ledger(ctx: StoreContext) -> DataStore | None:
    url = (ctx.env.get("ATIENDE_LEDGER_URL") or "").strip()
    if not url:
        path = ctx.data_dir / "ledger.db"
        if not path.exists():
            return None
        url = f"sqlite:///{path}"
    return SQLTables("ledger", url, LEDGER_TABLES)


register_store("ledger", _ledger)
register_store("analytics", lambda ctx: AnalyticsFiles(
    [ctx.data_dir / name for name in ANALYTICS_FILES], ctx.key()))
register_store("media_store", lambda ctx: SharedMediaStore(
    {**ctx.env, "ATIENDE_DATA_DIR": str(ctx.data_dir)}))


def now() -> float:
    return time.time()
