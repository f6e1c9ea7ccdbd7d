"""Background pass for offline cases: reminders before the promised time, and the mail outbox;
and replies whose send was interrupted.

Runs next to the hand-back worker (``create_app`` starts both). Every ``watch_interval_seconds``:
cases due within ``reminder_hours`` get their one reminder (e-mail queued, or a chat message on
the shopper's channel), then due mails are sent. An agent's reply is claimed in the database
before the channel is called (``routes.handoffs._claim_send``); when the process dies between
the claim and the channel's answer (kill -9, crash), the reply would stay "sending" for ever and
nobody would know whether the shopper got it. Once its claim is older than the send lease it is
marked failed with a reason: the console shows it to the agent, and a retry with the same
``client_id`` may send it again (never two requests at once).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from handoff_api.broker import CONSOLE_TOPIC
from handoff_api.followup import remind_due
from handoff_api.mail.outbox import MailWorker
from handoff_api.models import Handoff, Message
from handoff_api.queue import now_utc, record_event
from handoff_api.relay import RelayTarget
from handoff_api.serialize import iso, message_view
from handoff_api.settings import Settings

logger = logging.getLogger(__name__)

INTERRUPTED = ("interrupted: the server stopped while sending this reply, so it may not have "
               "reached the shopper; send it again")


class FollowUpWorker:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], mail: MailWorker,
                 relays: Any, broker: Any) -> None:
        self.settings = settings
        self.sessions = sessions  # write sessions
        self.mail = mail
        self.relays = relays
        self.broker = broker
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def _remind(self) -> list[dict[str, Any]]:
        """Record the due reminders; returns the chat ones still to send (stored as messages of
        the case first, so the widget's replay shows them too)."""
        s = self.settings
        chats = []
        with self.sessions() as session:
            for handoff, text in remind_due(session, hours=s.reminder_hours, store=s.store_name,
                                            tz=s.business_tz, sender=s.smtp_from):
                if text is None:
                    continue
                message = Message(handoff_id=handoff.id, conversation_id=handoff.conversation_id,
                                  message_id=f"reminder-{handoff.id}", role="agent", text=text,
                                  channel=handoff.channel, ts=now_utc(), created_at=now_utc(),
                                  delivery="sending", send_claimed_at=now_utc())
                session.add(message)
                session.flush()
                chats.append({"id": message.id, "handoff_id": handoff.id, "text": text,
                              "ts": iso(message.ts), "target": RelayTarget(
                                  conversation_id=handoff.conversation_id,
                                  channel=handoff.channel, language=handoff.language,
                                  metadata={"message_id": message.id, "ts": iso(message.ts)})})
            session.commit()
        return chats

    def _interrupted_sends(self) -> list[dict[str, Any]]:
        """Mark failed the chat replies claimed for sending longer than the lease ago and never
        settled (their process died mid-send); e-mail answers are the mail outbox's (it retries
        them). Returns the console's live events for them (the conversation shows the failure)."""
        cutoff = now_utc() - timedelta(seconds=self.settings.send_lease_seconds)
        stale = ((Message.delivery == "sending") & (Message.channel != "email")
                 & Message.send_claimed_at.is_not(None) & (Message.send_claimed_at < cutoff))
        with self.sessions() as session:
            ids = list(session.scalars(select(Message.id).where(stale)))
            if not ids:
                return []
            session.execute(update(Message).where(Message.id.in_(ids), stale)
                            .values(delivery="failed", delivery_error=INTERRUPTED))
            marked = list(session.execute(
                select(Message, Handoff.agent_id).join(Handoff, Handoff.id == Message.handoff_id)
                .where(Message.id.in_(ids), Message.delivery == "failed",
                       Message.delivery_error == INTERRUPTED)))
            for message, _agent in marked:
                record_event(session, message.handoff_id, "delivery_failed",
                             data={"message_id": message.id, "reason": "interrupted"})
            events = [{"handoff_id": message.handoff_id, "agent_id": agent_id,
                       "message": message_view(message)} for message, agent_id in marked]
            session.commit()
        if events:
            logger.warning("%d agent replies were interrupted mid-send; marked failed for the "
                           "agent to resend", len(events))
        return events

    def _mark(self, message_row_id: int, ok: bool, reason: str | None) -> None:
        with self.sessions() as session:
            session.execute(update(Message).where(Message.id == message_row_id).values(
                delivery="sent" if ok else "failed", delivery_error=None if ok else reason))
            session.commit()

    async def pass_once(self) -> None:
        for event in await asyncio.to_thread(self._interrupted_sends):
            self.broker.publish(CONSOLE_TOPIC, "message", event)
        if self.settings.reminder_hours > 0:
            for chat in await asyncio.to_thread(self._remind):
                result = await self.relays.send_text(chat["target"], chat["text"])
                await asyncio.to_thread(self._mark, chat["id"], result.ok, result.reason)
                self.broker.publish(CONSOLE_TOPIC, "followup_reminder",
                                    {"handoff_id": chat["handoff_id"], "ok": result.ok})
        await self.mail.deliver_due()

    async def run_forever(self) -> None:
        while True:
            try:
                await self.pass_once()
            except Exception:  # keep the worker alive; rows stay in the database
                logger.exception("follow-up pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.watch_interval_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
