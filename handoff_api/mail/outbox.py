"""Durable e-mail outbox: enqueue in the caller's transaction, send with retries.

``enqueue_mail`` writes a ``mail_outbox`` row next to whatever decided the mail (an agent's answer,
a reminder), so the decision and the mail commit together. :class:`MailWorker` sends due rows: a
row is leased with a conditional update (two processes never send it at the same time), sent, then
marked ``sent``; a retryable failure is tried again with exponential back-off, a permanent one (or
``max_attempts`` failures) marks it ``dead``. Per-kind hooks run in the same transaction as the
mark (e.g. an offline-case answer resolves the case once its mail is sent).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import make_msgid, parseaddr
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from handoff_api.mail.base import Mail, Mailer, MailError
from handoff_api.models import MailOutbox
from handoff_api.queue import now_utc

logger = logging.getLogger(__name__)
LEASE_SECONDS = 120  # longer than one SMTP conversation with its timeout
BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 3600


def enqueue_mail(session: Session, *, key: str, kind: str, to: str, language: str,
                 subject: str, body: str, sender: str, handoff_id: int | None = None,
                 message_row_id: int | None = None,
                 headers: dict[str, str] | None = None) -> MailOutbox:
    """Add a mail to the outbox (idempotent by ``key``); the caller commits. ``headers``: extra
    mail headers (e.g. List-Unsubscribe), sent with every attempt."""
    existing = session.scalar(select(MailOutbox).where(MailOutbox.key == key))
    if existing is not None:
        return existing
    domain = parseaddr(sender)[1].rpartition("@")[2] or "atiende.invalid"
    row = MailOutbox(key=key, kind=kind, to_addr=to, language=language, subject=subject,
                     body=body, handoff_id=handoff_id, message_row_id=message_row_id,
                     status="pending", attempts=0, next_attempt_at=now_utc(),
                     smtp_message_id=make_msgid(domain=domain), created_at=now_utc(),
                     headers=dict(headers) if headers else None)
    session.add(row)
    session.flush()
    return row


@dataclass
class MailHooks:
    """What a kind of mail changes once it is sent or given up on (same transaction as the mark),
    and what it announces after the commit (live events)."""

    sent: Callable[[Session, MailOutbox], None] | None = None
    dead: Callable[[Session, MailOutbox], None] | None = None
    announce: Callable[[MailOutbox], None] | None = None


class MailWorker:
    def __init__(self, sessions: sessionmaker[Session], mailer: Mailer, *, max_attempts: int = 8,
                 hooks: dict[str, MailHooks] | None = None) -> None:
        self.sessions = sessions  # write sessions
        self.mailer = mailer
        self.max_attempts = max_attempts
        self.hooks = hooks or {}

    def _lease(self, row_id: int | None = None, limit: int = 20) -> list[MailOutbox]:
        with self.sessions() as s:
            now = now_utc()
            stmt = select(MailOutbox).where(MailOutbox.status == "pending",
                                            MailOutbox.next_attempt_at <= now)
            if row_id is not None:
                stmt = stmt.where(MailOutbox.id == row_id)
            rows = s.scalars(stmt.order_by(MailOutbox.id).limit(limit)).all()
            leased = []
            for row in rows:
                taken = s.execute(update(MailOutbox).where(
                    MailOutbox.id == row.id, MailOutbox.status == "pending",
                    MailOutbox.next_attempt_at == row.next_attempt_at)
                    .values(next_attempt_at=now + timedelta(seconds=LEASE_SECONDS)))
                if taken.rowcount == 1:
                    leased.append(row)
            s.commit()
            for row in leased:
                s.expunge(row)
        return leased

    def _mark(self, row: MailOutbox, error: MailError | None) -> str:
        hooks = self.hooks.get(row.kind, MailHooks())
        with self.sessions() as s:
            attempts = row.attempts + 1
            if error is None:
                status, values = "sent", {"sent_at": now_utc(), "last_error": None}
            elif error.retryable and attempts < self.max_attempts:
                delay = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** row.attempts)
                status = "pending"
                values = {"next_attempt_at": now_utc() + timedelta(seconds=delay),
                          "last_error": error.reason[:500]}
            else:
                status, values = "dead", {"last_error": error.reason[:500]}
            s.execute(update(MailOutbox).where(MailOutbox.id == row.id)
                      .values(status=status, attempts=attempts, **values))
            fresh = s.get(MailOutbox, row.id)
            if status == "sent" and hooks.sent:
                hooks.sent(s, fresh)
            elif status == "dead" and hooks.dead:
                hooks.dead(s, fresh)
            s.commit()
            s.refresh(fresh)
            s.expunge(fresh)
        if status != "pending" and hooks.announce:
            hooks.announce(fresh)
        return status

    async def _send(self, row: MailOutbox) -> str:
        mail = Mail(to=row.to_addr, subject=row.subject, text=row.body, language=row.language,
                    message_id=row.smtp_message_id, headers=dict(row.headers or {}))
        try:
            await self.mailer.send(mail)
        except MailError as exc:
            logger.warning("mail %s (%s) not sent, attempt %d: %s", row.id, row.kind,
                           row.attempts + 1, exc.reason)  # the reason never holds the address
            return await asyncio.to_thread(self._mark, row, exc)
        logger.info("mail %s (%s) sent", row.id, row.kind)
        return await asyncio.to_thread(self._mark, row, None)

    async def deliver(self, row_id: int) -> str | None:
        """Try one row now (an agent is waiting for the outcome); its status afterwards, or
        ``None`` when it was not due (another process has it, or it is done)."""
        rows = await asyncio.to_thread(self._lease, row_id)
        return await self._send(rows[0]) if rows else None

    async def deliver_due(self) -> int:
        """Try every due row once; returns how many were sent."""
        sent = 0
        for row in await asyncio.to_thread(self._lease):
            sent += await self._send(row) == "sent"
        return sent


def mail_view(row: Any) -> dict[str, Any]:
    """What the console may show of a mail (never the body: it is in the message row)."""
    return {"id": row.id, "kind": row.kind, "status": row.status, "attempts": row.attempts,
            "last_error": row.last_error}
