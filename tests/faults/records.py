"""The stores of record, read-only, as the fault tests judge them: Rasa's tracker (its HTTP API)
and the handoff API's database (SQLite, or PostgreSQL after ``Seam.use_database`` with a
:func:`throwaway_postgres` database). :class:`tests.faults.system.Seam` mixes them in; it
provides the processes, the data directory and the HTTP client these read through."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.faults.plumbing import RASA_TOKEN, wait_for


class StoresOfRecord:
    """The auditor's side of :class:`~tests.faults.system.Seam`."""

    data_dir: Path
    overrides: dict[str, str]
    system: Any
    http: httpx.Client
    _engines: dict[str, Any]

    # --- the auditor ---------------------------------------------------------------------------
    def tracker_events(self, conversation_id: str) -> list[dict[str, Any]]:
        # Rasa's HTTP API is served on its own loopback address (bot/serve.py)
        admin = f"http://127.0.0.1:{self.system.settings.rasa_admin_port}"
        r = self.http.get(f"{admin}/conversations/{conversation_id}/tracker",
                          params={"token": RASA_TOKEN, "include_events": "ALL"})
        r.raise_for_status()
        return r.json().get("events") or []

    # --- the handoff API's database: SQLite (default) or a throwaway PostgreSQL database --------
    @property
    def database_url(self) -> str:
        if self.system is not None:
            return self.system.settings.env.get("HANDOFF_DATABASE_URL") or ""
        return self.overrides["HANDOFF_DATABASE_URL"]

    @property
    def on_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    def _pg(self) -> Any:
        from sqlalchemy import create_engine

        engine = self._engines.get(self.database_url)
        if engine is None:
            engine = self._engines[self.database_url] = create_engine(
                self.database_url, pool_size=2, max_overflow=4)
        return engine

    def _api_query(self, sql: str, params: dict[str, Any]) -> list[Any]:
        """Rows of a read-only query on the handoff database (``:name`` parameters); each row
        is a mapping (``row["role"]``)."""
        if self.on_postgres:
            from sqlalchemy import text

            with self._pg().connect() as conn:
                return list(conn.execute(text(sql), params).mappings())
        db = sqlite3.connect(f"file:{self.data_dir / 'handoff.db'}?mode=ro", uri=True,
                             timeout=30)
        db.row_factory = sqlite3.Row
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def api_rows(self, conversation_id: str) -> list[Any]:
        return self._api_query("SELECT id, handoff_id, message_id, role, delivery FROM messages "
                               "WHERE conversation_id = :cid ORDER BY id",
                               {"cid": conversation_id})

    def describe(self, conversation_id: str) -> str:
        """What the stores hold for one conversation (for failure messages; no shopper data
        leaves the test machine)."""
        lines = [f"API rows of {conversation_id}:"]
        lines += [f"  {dict(r)}" for r in self.api_rows(conversation_id)]
        lines.append("tracker:")
        try:
            for e in self.tracker_events(conversation_id):
                if e.get("event") in ("user", "bot", "action", "pause", "resume"):
                    what = (e.get("name") or e.get("text") or "")[:50]
                    lines.append(f"  {e.get('event'):6} {what!r} {e.get('message_id') or ''}")
        except httpx.HTTPError as exc:
            lines.append(f"  (unreadable: {exc})")
        return "\n".join(lines)

    def health(self) -> dict[str, Any]:
        return self.http.get(f"{self.api_url}/health").json()

    def _count(self, db_file: Path, table: str, where: str, ids: list[str]) -> int:
        if db_file.name == "handoff.db" and self.on_postgres:
            names = {f"c{i}": cid for i, cid in enumerate(ids)}
            query = f"SELECT count(*) AS n FROM {table} WHERE {where}"  # noqa: S608 - fixed names
            if ids:
                query += f" AND conversation_id IN ({','.join(':' + k for k in names)})"
            return int(self._api_query(query, names)[0]["n"])
        if not db_file.exists():
            return 0
        db = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=30)
        try:
            if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                              (table,)).fetchone():
                return 0
            query = f"SELECT count(*) FROM {table} WHERE {where}"  # noqa: S608 - fixed names
            if ids:
                query += f" AND conversation_id IN ({','.join('?' * len(ids))})"
            return int(db.execute(query, ids).fetchone()[0])
        finally:
            db.close()

    def settled(self, conversation_ids: list[str]) -> bool:
        """No hand-back of these conversations (all, if none given) waits for Rasa and none of
        their shopper messages waits in the bot's outbox."""
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return not (self._count(self.data_dir / "handoff.db", "handback_outbox",
                                    "delivered_at IS NULL", conversation_ids)
                        or self._count(self.data_dir / "relay_outbox.db", "relay_outbox",
                                       "status = 'pending'", conversation_ids))
        except (sqlite3.Error, SQLAlchemyError):  # a file being created or checkpointed, a
            return False  # database restarting: look again

    def wait_settled(self, conversation_ids: list[str], timeout: float = 120) -> None:
        wait_for(lambda: self.settled(conversation_ids), timeout,
                 "hand-backs and outbox to drain")


PG_ADMIN_URL = os.environ.get("ATIENDE_TEST_PG_ADMIN_URL",
                              "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def throwaway_postgres(prefix: str = "atiende_faults") -> Iterator[str]:
    """A fresh PostgreSQL database (trust auth on 127.0.0.1:5432), dropped afterwards even if
    something still holds a connection to it."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
