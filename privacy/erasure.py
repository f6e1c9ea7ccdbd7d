"""Retention and erasure across every registered store, with an audit trail without the data.

* :func:`erase` — GDPR art. 17 "delete this customer's data": find every conversation in which the
  given conversation id, e-mail or phone appears (in any store), delete or anonymise all of them
  in every store, then check each store again and report what is left (nothing, or the run is
  reported as incomplete).
* :func:`run_retention` — delete or anonymise what was last touched more than
  ``ATIENDE_RETENTION_DAYS`` ago, in every store.

Both append one line to ``<data dir>/privacy_audit.jsonl`` (and log one line): when, who, what
kind of request, how many conversations and rows per store. The identifiers themselves are never
written: the line holds a keyed hash of them (``subject``), so whoever holds the key and the same
identifiers can show later which request it was.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from privacy.records import append_jsonl, privacy_key
from privacy.stores import DataStore, StoreContext, open_stores
from privacy.subject import Subject

logger = logging.getLogger("privacy.erasure")
AUDIT_FILE = "privacy_audit.jsonl"
DEFAULT_RETENTION_DAYS = 180


@dataclass(frozen=True)
class PrivacySettings:
    """Retention settings, from the environment (injected into the handoff API)."""

    retention_days: int = DEFAULT_RETENTION_DAYS  # 0 = keep forever (no scheduled deletion)
    interval_hours: float = 24.0  # scheduled runs in the handoff API
    first_run_seconds: float = 60.0  # after start-up
    run_worker: bool = True
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PrivacySettings:
        try:
            days = int(env.get("ATIENDE_RETENTION_DAYS") or DEFAULT_RETENTION_DAYS)
            hours = float(env.get("ATIENDE_RETENTION_INTERVAL_HOURS") or 24)
            first = float(env.get("ATIENDE_RETENTION_FIRST_RUN_SECONDS") or 60)
        except ValueError as exc:
            raise ValueError(f"ATIENDE_RETENTION_DAYS / ATIENDE_RETENTION_INTERVAL_HOURS / "
                             f"ATIENDE_RETENTION_FIRST_RUN_SECONDS: {exc}") from None
        if days < 0 or hours <= 0 or first < 0:
            raise ValueError("ATIENDE_RETENTION_DAYS must be >= 0 (0 = keep forever), "
                             "ATIENDE_RETENTION_INTERVAL_HOURS > 0 and "
                             "ATIENDE_RETENTION_FIRST_RUN_SECONDS >= 0")
        worker = str(env.get("ATIENDE_RETENTION_WORKER", "1")).lower() not in ("0", "false", "no")
        return cls(days, hours, first, worker, dict(env))

    @property
    def data_dir(self) -> Path:
        return Path(self.env.get("ATIENDE_DATA_DIR", "var"))


@dataclass
class Report:
    action: str
    by: str
    at: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    subject: str | None = None
    identifiers: list[str] = field(default_factory=list)
    conversations: int = 0
    deleted: dict[str, int] = field(default_factory=dict)
    remaining: dict[str, int] = field(default_factory=dict)
    cutoff: str | None = None
    dry_run: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.errors and not any(self.remaining.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "complete": self.complete}


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _audit(settings: PrivacySettings, report: Report) -> None:
    if not report.dry_run:
        append_jsonl(settings.data_dir / AUDIT_FILE, report.as_dict())
    logger.info("privacy.%s id=%s by=%s subject=%s conversations=%d deleted=%s remaining=%s "
                "complete=%s dry_run=%s", report.action, report.id, report.by, report.subject,
                report.conversations, report.deleted, report.remaining, report.complete,
                report.dry_run)


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def erase(settings: PrivacySettings, subject: Subject, *, by: str,
          extra_stores: list[DataStore] | None = None, dry_run: bool = False) -> Report:
    """Erase ``subject`` everywhere (see module docstring); ``dry_run`` only counts."""
    ctx = StoreContext(settings.env)
    stores = open_stores(ctx, extra_stores)
    report = Report("erasure", by, _now_iso(), dry_run=dry_run,
                    subject=subject.fingerprint(privacy_key(settings.env)),
                    identifiers=[kind for kind, values in (
                        ("conversation_id", subject.conversation_ids), ("email", subject.emails),
                        ("phone", subject.phones)) if values])
    try:
        # Discovery, twice: a conversation found through the e-mail in the handoff database may
        # be the only link to the conversation id under which the tracker store keeps it.
        full = subject
        for _ in range(2):
            found: set[str] = set()
            for store in stores:
                with _guard(report, store, "find"):
                    found |= store.find_conversations(full)
            full = full.with_conversations(found)
        report.conversations = len(full.conversation_ids)
        for store in stores:
            with _guard(report, store, "erase"):
                if not dry_run:
                    report.deleted[store.name] = store.erase(full)
                report.remaining[store.name] = store.traces(full)
    finally:
        _close(stores)
    _audit(settings, report)
    return report


def run_retention(settings: PrivacySettings, *, by: str, days: int | None = None,
                  extra_stores: list[DataStore] | None = None,
                  now: float | None = None) -> Report:
    """Delete or anonymise everything older than the retention period, in every store."""
    days = settings.retention_days if days is None else days
    report = Report("retention", by, _now_iso())
    if days <= 0:
        report.errors["settings"] = "retention disabled (ATIENDE_RETENTION_DAYS=0)"
        return report
    cutoff = (now if now is not None else time.time()) - days * 86400
    report.cutoff = datetime.fromtimestamp(cutoff, timezone.utc).isoformat(timespec="seconds")
    stores = open_stores(StoreContext(settings.env), extra_stores)
    try:
        for store in stores:
            with _guard(report, store, "purge"):
                report.deleted[store.name] = store.purge(cutoff)
    finally:
        _close(stores)
    _audit(settings, report)
    return report


@contextlib.contextmanager
def _guard(report: Report, store: DataStore, step: str) -> Iterator[None]:
    """One broken store must not hide the others: record the failure (no data) and go on."""
    try:
        yield
    except Exception as exc:
        report.errors[store.name] = f"{step}: {type(exc).__name__}"
        logger.exception("privacy.%s.%s_failed store=%s", report.action, step, store.name)


def _close(stores: list[DataStore]) -> None:
    for store in stores:
        close = getattr(store, "close", None)
        if close is not None:
            close()
