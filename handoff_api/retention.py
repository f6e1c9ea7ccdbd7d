"""Scheduled retention in the handoff API, and the privacy commands of ``python -m handoff_api``.

The handoff API is the long-running process that can reach every store (its own database, the
tracker store through the endpoints file, the files under the data directory), so it runs
retention: ``first_run_seconds`` after start-up, then every ``interval_hours``
(``ATIENDE_RETENTION_*``; ``make run`` starts it like this). One run is a few DELETE/UPDATE
statements per store, executed in a worker thread so the API keeps answering.

Commands (same code as the supervisor routes):

    python -m handoff_api retention [--days N]
    python -m handoff_api erase [--conversation-id ID] [--email E] [--phone P] [--dry-run] --yes
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
from typing import Any

from handoff_api.privacy_store import HandoffStore
from handoff_api.settings import Settings
from privacy.erasure import PrivacySettings, cli_actor, erase, run_retention
from privacy.subject import Subject

logger = logging.getLogger("handoff_api.retention")


class RetentionSchedule:
    """A timer until the first run (no task, nothing to await while it waits), then a task that
    runs retention every ``interval_hours``."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self.settings: PrivacySettings = services.privacy
        self._task: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(self.settings.first_run_seconds,
                                                            self._start)

    def _start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="privacy-retention")

    async def _loop(self) -> None:
        while True:
            try:
                report = await asyncio.to_thread(
                    run_retention, self.settings, by="scheduler",
                    extra_stores=[HandoffStore(self.services.write_sessions())])
                self.services.privacy_state["last_retention"] = report.as_dict()
            except Exception:  # keep the schedule: the next run may succeed
                logger.exception("privacy.retention.failed")
            await asyncio.sleep(self.settings.interval_hours * 3600)

    async def stop(self) -> None:
        self._timer.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def start_retention_worker(services: Any) -> RetentionSchedule | None:
    settings: PrivacySettings = services.privacy
    if not settings.run_worker or settings.retention_days <= 0:
        return None
    return RetentionSchedule(services)


def add_commands(sub: Any) -> None:
    ret = sub.add_parser("retention", help="delete or anonymise data older than "
                                           "ATIENDE_RETENTION_DAYS in every store, now")
    ret.add_argument("--days", type=int, help="override ATIENDE_RETENTION_DAYS for this run")
    er = sub.add_parser("erase", help="delete one customer's data everywhere (GDPR art. 17)")
    er.add_argument("--conversation-id", action="append", default=[])
    er.add_argument("--email", action="append", default=[])
    er.add_argument("--phone", action="append", default=[])
    er.add_argument("--dry-run", action="store_true", help="only count what would go")
    er.add_argument("--yes", action="store_true", help="really erase (it cannot be undone)")


def run_command(settings: Settings, args: argparse.Namespace) -> int:
    from handoff_api.db import make_engine, make_write_session_factory, run_migrations

    privacy = PrivacySettings.from_env({**os.environ, "ATIENDE_DATA_DIR": str(settings.data_dir)})
    engine = make_engine(settings.database_url)
    run_migrations(engine)
    store = HandoffStore(make_write_session_factory(engine))
    try:
        if args.command == "retention":
            report = run_retention(privacy, by=cli_actor(), days=args.days, extra_stores=[store])
        else:
            if not args.dry_run and not args.yes:
                print("error: erasure cannot be undone; add --yes (or --dry-run to count)")
                return 2
            try:
                subject = Subject.build(conversation_ids=args.conversation_id, emails=args.email,
                                        phones=args.phone)
            except ValueError as exc:
                print(f"error: {exc}")
                return 2
            report = erase(privacy, subject, by=cli_actor(), dry_run=args.dry_run,
                           extra_stores=[store])
    finally:
        engine.dispose()
    print(json.dumps(report.as_dict(), indent=2))
    return 0 if report.complete or (report.dry_run and not report.errors) else 1
