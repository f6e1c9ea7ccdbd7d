"""A small SQLite file shared by the worker threads of one Rasa server process.

Used by the Meta channel state (``bot/channels/meta.py``) and the relay outbox
(``bot/outbox.py``). Both call SQLite from ``asyncio.to_thread``, so several threads may open
the file at the same moment — including the very first time, when the schema is created and
the file is switched to WAL. Two threads switching the journal mode together make one of them
fail at once with ``database is locked`` (SQLite does not wait on the busy handler for that
change), which once lost a shopper's message in a test. So:

* the schema and the journal mode are set up exactly once per instance, under a lock;
* every connection has a busy timeout, and each unit of work is one transaction that is
  committed (or rolled back) and the connection closed — ``with sqlite3.connect()`` alone
  commits but never closes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 10.0


class SQLiteFile:
    """Lazily initialised SQLite database file with a one-time schema set-up."""

    def __init__(self, path: Path, schema: str, *, row_factory: bool = False) -> None:
        self.path = path
        self.schema = schema
        self.row_factory = row_factory
        self._init_lock = threading.Lock()
        self._ready = False

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        if self.row_factory:
            conn.row_factory = sqlite3.Row
        return conn

    def _initialise(self) -> None:
        with self._init_lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            deadline = time.monotonic() + BUSY_TIMEOUT_S
            while True:
                conn = self._open()
                try:
                    # another *process* may be converting the same file right now
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.executescript(self.schema)
                    conn.commit()
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
                finally:
                    conn.close()
            self._ready = True

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed on success, rolled back on error, always closed."""
        if not self._ready:
            self._initialise()
        conn = self._open()
        try:
            with conn:
                yield conn
        finally:
            conn.close()
