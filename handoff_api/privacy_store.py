"""The handoff database as a privacy store (see ``privacy/stores.py``): retention and erasure.

A handoff is *anonymised*, not deleted: its live messages, notes and hand-back outbox rows are
deleted; the packet (transcript, slots, order, customer), the rating comment and free text in its
events are emptied; the conversation id becomes a random ``erased:…`` token. What stays is what the
supervisor metrics are computed from (status, timestamps, channel, language, reason, agent,
rating), so first-response time, handling time and CSAT history do not change when a shopper's
data goes. An open handoff that is erased is closed as ``abandoned`` first.

A withdrawal record (right of withdrawal, ``handoff_api/routes/withdrawals.py``) is the store's
evidence that a contract was withdrawn on a date: its code, order, market, dates and outcome stay;
the name, e-mail and conversation id that identified the shopper go, on erasure and once older
than the retention period.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from handoff_api.eventlog import erase_subject, subject_traces
from handoff_api.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    HandbackOutbox,
    Handoff,
    HandoffEvent,
    MailOutbox,
    Message,
    Note,
    Withdrawal,
)
from handoff_api.queue import now_utc, record_event
from privacy.sql_stores import scrub_sqlite_engine
from privacy.subject import Subject

ERASED_PREFIX = "erased:"
# event data that carries no personal data: enums, and numbers/booleans under these keys
# (a shopper's message id is a string that may embed the conversation id: it goes)
SAFE_EVENT_TEXT = {"reason", "channel", "outcome"}
SAFE_EVENT_NUMBERS = {"vip", "rating", "from_agent_id", "to_agent_id", "message_id", "note_id"}


class HandoffStore:
    name = "handoff_db"

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    # ------------------------------------------------------------------ finding
    def _like(self, column: Any, subject: Subject) -> Any:
        text = func.lower(cast(column, String))
        return or_(*[text.like(p.lower()) for p in subject.like_patterns()]) \
            if subject.like_patterns() else None

    def _handoff_ids(self, s: Session, subject: Subject) -> set[int]:
        ids = sorted(subject.conversation_ids | subject.phone_conversation_ids())
        found = set(s.scalars(select(Handoff.id).where(Handoff.conversation_id.in_(ids))))
        found |= set(s.scalars(select(Message.handoff_id).where(Message.conversation_id.in_(ids))))
        if not subject.like_patterns():
            return found
        for h in s.scalars(select(Handoff).where(or_(self._like(Handoff.packet, subject),
                                                     self._like(Handoff.rating_comment, subject)))):
            if subject.mentioned_in(json.dumps(h.packet, ensure_ascii=False)) \
                    or subject.mentioned_in(h.rating_comment):
                found.add(h.id)
        for model, column in ((Message, Message.text), (Note, Note.text),
                              (HandoffEvent, HandoffEvent.data)):
            for handoff_id, value in s.execute(select(model.handoff_id, column)
                                               .where(self._like(column, subject))):
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                if subject.mentioned_in(text):
                    found.add(handoff_id)
        return found

    def find_conversations(self, subject: Subject) -> set[str]:
        with self.sessions() as s:
            ids = self._handoff_ids(s, subject)
            return {c for c in s.scalars(select(Handoff.conversation_id)
                                         .where(Handoff.id.in_(ids)))
                    if not c.startswith(ERASED_PREFIX)}

    # ------------------------------------------------------------------ anonymising
    def _anonymise(self, s: Session, handoff: Handoff, why: str) -> int:
        rows = 0
        for model in (Message, Note, HandbackOutbox):
            rows += s.execute(delete(model).where(model.handoff_id == handoff.id)).rowcount or 0
        for event in s.scalars(select(HandoffEvent).where(HandoffEvent.handoff_id == handoff.id)):
            if event.data:
                safe = {k: v for k, v in event.data.items() if k in SAFE_EVENT_TEXT or (
                    k in SAFE_EVENT_NUMBERS and isinstance(v, (bool, int, float)))}
                event.data = safe or None
        if handoff.status in OPEN_STATUSES:
            record_event(s, handoff.id, why, from_status=handoff.status, to_status="abandoned")
            handoff.status, handoff.closed_at = "abandoned", now_utc()
        handoff.conversation_id = f"{ERASED_PREFIX}{uuid.uuid4().hex}"
        handoff.packet = {}
        handoff.rating_comment = None
        return rows + 1

    def _secure(self, s: Session) -> None:
        if s.get_bind().dialect.name == "sqlite":  # zero freed pages (see privacy.sql_stores)
            s.execute(text("PRAGMA secure_delete=ON"))

    def erase(self, subject: Subject) -> int:
        with self.sessions() as s:
            self._secure(s)
            ids = self._handoff_ids(s, subject)
            # (dash) the event log's subject is read while the handoffs still hold their
            # conversation ids, and erased after them (closing an open handoff logs a row)
            logged = self._event_log_subject(s, subject, ids)
            rows = sum(self._anonymise(s, h, "erased")
                       for h in s.scalars(select(Handoff).where(Handoff.id.in_(ids))))
            rows += erase_subject(s, **logged)
            conversation_ids = sorted(subject.conversation_ids | subject.phone_conversation_ids())
            rows += s.execute(delete(Message).where(Message.conversation_id.in_(conversation_ids))
                              ).rowcount or 0
            rows += self._erase_mail(s, subject, ids)
            rows += self._anonymise_withdrawals(s, self._withdrawals(subject, ids))
            s.commit()
        scrub_sqlite_engine(self.sessions.kw["bind"])
        return rows

    @staticmethod
    def _erase_mail(s: Session, subject: Subject, handoff_ids: set[int]) -> int:
        """Mails to the subject (offline answers, order notices), sent or not: their address,
        subject and body are theirs. (The opt-out list holds hashes and stays: erasing it would
        start the notices again.)"""
        wanted = [MailOutbox.handoff_id.in_(sorted(handoff_ids))] if handoff_ids else []
        if subject.emails:
            wanted.append(func.lower(MailOutbox.to_addr).in_(sorted(subject.emails)))
        if not wanted:
            return 0
        return s.execute(delete(MailOutbox).where(or_(*wanted))).rowcount or 0

    @staticmethod
    def _withdrawals(subject: Subject, handoff_ids: set[int]) -> Any:
        """The subject's withdrawal records: by e-mail, conversation or the case opened."""
        wanted = [Withdrawal.conversation_id.in_(
            sorted(subject.conversation_ids | subject.phone_conversation_ids()))]
        if handoff_ids:
            wanted.append(Withdrawal.handoff_id.in_(sorted(handoff_ids)))
        if subject.emails:
            wanted.append(func.lower(Withdrawal.email).in_(sorted(subject.emails)))
        return or_(*wanted) & ~Withdrawal.conversation_id.startswith(ERASED_PREFIX)

    @staticmethod
    def _anonymise_withdrawals(s: Session, where: Any) -> int:
        rows = 0
        for w in s.scalars(select(Withdrawal).where(where)):
            w.name, w.email = "", ""
            w.conversation_id = f"{ERASED_PREFIX}{uuid.uuid4().hex}"
            rows += 1
        return rows

    def purge(self, cutoff: float) -> int:
        from datetime import UTC, datetime

        when = datetime.fromtimestamp(cutoff, UTC)
        with self.sessions() as s:
            self._secure(s)
            old = s.scalars(select(Handoff).where(
                Handoff.status.in_(CLOSED_STATUSES), Handoff.closed_at < when,
                ~Handoff.conversation_id.startswith(ERASED_PREFIX)))
            rows = sum(self._anonymise(s, h, "expired") for h in old)
            rows += s.execute(delete(MailOutbox).where(  # done with, and old
                MailOutbox.status != "pending", MailOutbox.created_at < when)).rowcount or 0
            rows += self._anonymise_withdrawals(s, (Withdrawal.created_at < when) & ~(
                Withdrawal.conversation_id.startswith(ERASED_PREFIX)))
            s.commit()
        scrub_sqlite_engine(self.sessions.kw["bind"])
        return rows

    def _event_log_subject(self, s: Session, subject: Subject, ids: set[int]
                           ) -> dict[str, set[str]]:
        conversations = set(subject.conversation_ids | subject.phone_conversation_ids())
        conversations |= set(s.scalars(select(Handoff.conversation_id)
                                       .where(Handoff.id.in_(ids))))
        return {"conversation_ids": conversations,
                "contacts": set(subject.emails) | set(subject.phones)}

    def traces(self, subject: Subject) -> int:
        with self.sessions() as s:
            ids = self._handoff_ids(s, subject)
            mails = s.scalar(select(func.count()).select_from(MailOutbox).where(
                func.lower(MailOutbox.to_addr).in_(sorted(subject.emails)))) \
                if subject.emails else 0
            withdrawals = s.scalar(select(func.count()).select_from(Withdrawal).where(
                self._withdrawals(subject, ids)))
            return (len(ids) + int(mails or 0) + int(withdrawals or 0)
                    + subject_traces(s, **self._event_log_subject(s, subject, ids)))
