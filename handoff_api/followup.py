"""Offline cases after the queue: the agent's answer, the reminder before the promised time.

An offline case (nobody took the handoff in time, or out of hours) promises the shopper an answer
by ``answer_due_at``; the bot has the conversation meanwhile. This module holds the rules:

* **how to reach the shopper** (:func:`choose_via`): on their own channel when it can reach them
  now (the web widget is open, or WhatsApp/Messenger accept the message), by e-mail otherwise
  (when the bot collected one); the agent may force either;
* **what an answer does once delivered** (:func:`resolve_offline`): the case is resolved, with the
  route and the agent recorded; the bot is not interrupted (it already has the conversation);
* **reminders** (:func:`remind_due`): a case still unanswered ``reminder_hours`` before its promised
  time gets one holding message to the shopper (e-mail, else the chat) and shows as due soon.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from handoff_api.mail.outbox import enqueue_mail
from handoff_api.mail.templates import chat_text, render
from handoff_api.models import Handoff, HandoffEvent, MailOutbox, Message
from handoff_api.queue import now_utc, record_event

logger = logging.getLogger(__name__)
WEB_CHANNELS = ("socketio", "rest", "webchat")
WEEKDAYS = {"es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
            "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]}


def customer_email(handoff: Handoff) -> str | None:
    email = ((handoff.packet or {}).get("customer") or {}).get("email")
    return email if isinstance(email, str) and "@" in email else None


def customer_name(handoff: Handoff) -> str:
    name = ((handoff.packet or {}).get("customer") or {}).get("name")
    return name.split()[0] if isinstance(name, str) and name.strip() else ""


def when_text(value: datetime | None, language: str, tz: str) -> str:
    """"viernes 11/12 a las 18:30" / "Friday 11/12 at 18:30" in the business time zone."""
    if value is None:
        return "48 h"
    local = value.astimezone(ZoneInfo(tz))
    day = WEEKDAYS["en" if language == "en" else "es"][local.weekday()]
    at = "at" if language == "en" else "a las"
    return f"{day} {local.day:02d}/{local.month:02d} {at} {local:%H:%M}"


def choose_via(requested: str, handoff: Handoff, *, widget_online: bool) -> str | None:
    """``channel`` or ``email`` for the first attempt; ``None`` when ``requested`` cannot be
    honoured (e-mail asked for but none is known)."""
    email = customer_email(handoff)
    if requested == "email":
        return "email" if email else None
    if requested == "channel" or not email:
        return "channel"
    if handoff.channel in WEB_CHANNELS:  # the page may be long closed: only if it is open now
        return "channel" if widget_online else "email"
    return "channel"  # WhatsApp / Messenger reach the phone; e-mail if the channel refuses


def answer_mail(session: Session, handoff: Handoff, message: Message, *, agent_name: str,
                store: str, tz: str, sender: str) -> MailOutbox:
    """Queue the e-mail carrying ``message`` (the agent's answer) in the caller's transaction."""
    email = customer_email(handoff)
    assert email, "caller checks there is an e-mail address"
    name = customer_name(handoff)
    subject, body = render(
        "offline_answer", handoff.language, case=handoff.id, store=store,
        name=f" {name}" if name else "", answer=message.text, agent=agent_name,
        opened=when_text(handoff.created_at, handoff.language, tz))
    key = f"offline_answer:{handoff.conversation_id}:{message.message_id}"
    return enqueue_mail(session, key=key, kind="offline_answer",
                        to=email, language=handoff.language, subject=subject, body=body,
                        sender=sender, handoff_id=handoff.id, message_row_id=message.id)


def resolve_offline(session: Session, handoff_id: int, *, agent_id: int | None, via: str,
                    message_row_id: int) -> bool:
    """The answer reached the shopper: resolve the case (once). Returns True if it changed."""
    now = now_utc()
    result = session.execute(update(Handoff).where(Handoff.id == handoff_id,
                                                   Handoff.status == "offline")
                             .values(status="resolved", closed_at=now))
    if result.rowcount != 1:
        return False
    session.execute(update(Handoff).where(Handoff.id == handoff_id,
                                          Handoff.first_response_at.is_(None))
                    .values(first_response_at=now))
    record_event(session, handoff_id, "resolved", from_status="offline", to_status="resolved",
                 agent_id=agent_id, at=now,
                 data={"via": via, "followup": True, "message_id": message_row_id})
    return True


def mail_sent(session: Session, row: MailOutbox) -> None:
    """Hook for ``offline_answer`` mails: the message is delivered and the case resolved."""
    if row.message_row_id is None or row.handoff_id is None:
        return
    session.execute(update(Message).where(Message.id == row.message_row_id)
                    .values(delivery="sent", delivery_error=None))
    agent_id = session.scalar(select(Message.agent_id).where(Message.id == row.message_row_id))
    resolve_offline(session, row.handoff_id, agent_id=agent_id, via="email",
                    message_row_id=row.message_row_id)


def mail_dead(session: Session, row: MailOutbox) -> None:
    """Hook for ``offline_answer`` mails given up on: the console shows why; the case stays
    offline so an agent can answer another way."""
    if row.message_row_id is None:
        return
    session.execute(update(Message).where(Message.id == row.message_row_id)
                    .values(delivery="failed", delivery_error=f"e-mail: {row.last_error}"))
    if row.handoff_id is not None:
        record_event(session, row.handoff_id, "delivery_failed",
                     data={"message_id": row.message_row_id, "via": "email"})


def due_for_reminder(session: Session, hours: float, now: datetime | None = None,
                     limit: int = 50) -> list[Handoff]:
    """Offline cases due within ``hours`` (not yet past due) with no reminder yet."""
    now = now or now_utc()
    reminded = exists().where(HandoffEvent.handoff_id == Handoff.id,
                              HandoffEvent.type == "followup_reminder")
    return list(session.scalars(select(Handoff).where(
        Handoff.status == "offline", Handoff.answer_due_at.is_not(None),
        Handoff.answer_due_at > now, Handoff.answer_due_at <= now + timedelta(hours=hours),
        ~reminded).order_by(Handoff.answer_due_at).limit(limit)).all())


def remind_due(session: Session, *, hours: float, store: str, tz: str,
               sender: str) -> list[tuple[Handoff, str | None]]:
    """Record one reminder per due case: an e-mail is queued when the address is known; else the
    caller sends the returned chat text on the shopper's channel. The caller commits."""
    out: list[tuple[Handoff, str | None]] = []
    for handoff in due_for_reminder(session, hours):
        due = when_text(handoff.answer_due_at, handoff.language, tz)
        email = customer_email(handoff)
        if email:
            name = customer_name(handoff)
            subject, body = render("offline_reminder", handoff.language, case=handoff.id,
                                   store=store, name=f" {name}" if name else "", due=due)
            enqueue_mail(session, key=f"offline_reminder:{handoff.conversation_id}:{handoff.id}",
                         kind="offline_reminder",
                         to=email, language=handoff.language, subject=subject, body=body,
                         sender=sender, handoff_id=handoff.id)
            out.append((handoff, None))
        else:
            out.append((handoff, chat_text("offline_reminder", handoff.language,
                                           case=handoff.id, due=due)))
        record_event(session, handoff.id, "followup_reminder",
                     data={"via": "email" if email else "channel"})
    return out


def case_view(handoff: Handoff, now: datetime | None = None,
              reminder_hours: float = 6) -> dict[str, Any]:
    """What the console lists for an offline case (besides the handoff summary)."""
    now = now or now_utc()
    due = handoff.answer_due_at
    state = "overdue" if due and due < now else (
        "due_soon" if due and due <= now + timedelta(hours=reminder_hours) else "open")
    return {"answer_due_at": due.isoformat() if due else None, "due_state": state,
            "email_known": customer_email(handoff) is not None}
