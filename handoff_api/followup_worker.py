"""Background pass for offline cases: reminders before the promised time, and the mail outbox.

Runs next to the hand-back worker (``create_app`` starts both). Every ``watch_interval_seconds``:
cases due within ``reminder_hours`` get their one reminder (e-mail queued, or a chat message on
the shopper's channel), then due mails are sent.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from handoff_api.broker import CONSOLE_TOPIC
from handoff_api.followup import remind_due
from handoff_api.mail.outbox import MailWorker
from handoff_api.models import Message
from handoff_api.queue import now_utc
from handoff_api.relay import RelayTarget
from handoff_api.serialize import iso
from handoff_api.settings import Settings

logger = logging.getLogger(__name__)


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

    def _mark(self, message_row_id: int, ok: bool, reason: str | None) -> None:
        from sqlalchemy import update

        with self.sessions() as session:
            session.execute(update(Message).where(Message.id == message_row_id).values(
                delivery="sent" if ok else "failed", delivery_error=None if ok else reason))
            session.commit()

    async def pass_once(self) -> None:
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
