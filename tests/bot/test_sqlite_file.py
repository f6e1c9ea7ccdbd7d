"""The SQLite helper under the Meta channel state and the relay outbox."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from bot.sqlite_file import SQLiteFile

SCHEMA = "CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY);"


def test_many_threads_opening_a_fresh_file_at_once_all_succeed(tmp_path: Path) -> None:
    # regression: two first connections switching to WAL together failed with
    # "database is locked" and a WhatsApp message was dropped
    for round_ in range(40):  # the old race hit about one round in twenty
        db = SQLiteFile(tmp_path / f"state{round_}.db", SCHEMA)
        barrier = threading.Barrier(12)
        errors: list[BaseException] = []

        def work(i: int, db: SQLiteFile, barrier: threading.Barrier,
                 errors: list[BaseException]) -> None:
            barrier.wait()
            try:
                with db.connect() as conn:
                    conn.execute("INSERT INTO seen VALUES (?)", (str(i),))
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i, db, barrier, errors)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with db.connect() as conn:
            assert conn.execute("SELECT COUNT(*) FROM seen").fetchone()[0] == 12
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_two_instances_on_the_same_file_share_it(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    first, second = SQLiteFile(path, SCHEMA), SQLiteFile(path, SCHEMA)
    with first.connect() as conn:
        conn.execute("INSERT INTO seen VALUES ('a')")
    with second.connect() as conn:
        assert conn.execute("SELECT id FROM seen").fetchall() == [("a",)]


def test_a_failed_unit_of_work_is_rolled_back(tmp_path: Path) -> None:
    db = SQLiteFile(tmp_path / "state.db", SCHEMA)
    with pytest.raises(sqlite3.IntegrityError):
        with db.connect() as conn:
            conn.execute("INSERT INTO seen VALUES ('x')")
            conn.execute("INSERT INTO seen VALUES ('x')")
    with db.connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM seen").fetchone()[0] == 0


def test_rows_by_name_when_asked(tmp_path: Path) -> None:
    db = SQLiteFile(tmp_path / "state.db", SCHEMA, row_factory=True)
    with db.connect() as conn:
        conn.execute("INSERT INTO seen VALUES ('r')")
        assert conn.execute("SELECT id FROM seen").fetchone()["id"] == "r"
