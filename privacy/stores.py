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
handoff database registers itself (``handoff_api/privacy_store.py``). The stores themselves are in
:mod:`privacy.sql_stores` (SQL databases) and :mod:`privacy.file_stores` (files, media storage).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from privacy.file_stores import AnalyticsFiles, JournalFiles, SharedMediaStore
from privacy.records import privacy_key
from privacy.sql_stores import (
    LEDGER_TABLES,
    META_TABLES,
    RELAY_OUTBOX_TABLES,
    SQLiteFileStore,
    SQLTables,
    Table,
    TrackerStore,
)
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
