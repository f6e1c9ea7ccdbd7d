"""The stores of :mod:`privacy.stores` that live in SQL databases other processes own: Rasa's
tracker store, SQLite files (the bot's relay outbox, the Meta channel state) and SQL tables by
URL (the bot's ledger), plus the checkpoint that leaves no deleted row behind in SQLite's WAL."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from privacy.subject import Subject

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pathlib import Path


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
# text), one-off keys, the replies sent per received message (bot/outgoing.py: phone, a hash of
# the body). identity_failures holds keyed hashes only; retention still ages it out.
LEDGER_TABLES = (
    Table("inbound_messages", "conversation_id", "claimed_at", ("answer",)),
    Table("outgoing_replies", "conversation_id", "at"),
    Table("meta_inbox", None, "received_at", ("payload", "last_error")),
    Table("once", None, "at", ("key",)),
    Table("identity_failures", None, "window_start"),
)
