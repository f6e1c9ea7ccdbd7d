"""Hand-back to Rasa through an outbox, so a hand-back is never lost while Rasa is down.

Closing a handoff (resolve, hand back, abandon, queue timeout → offline case) writes an outbox row
in the same transaction as the transition. The row carries what the bot needs to take over: the
outcome, the channel, the offline case's promised answer time, and the shopper messages that
arrived while the handoff was closing (the agent never answered them, so the resumed bot does). A
shopper message that reaches the API after the close but before Rasa took the conversation back is
appended as a further ``messages`` row for the same conversation (see ``routes/bot.py``).

Delivery is one call to the Rasa process (``POST {RASA_URL}/webhooks/atiende/handback`` with the
bot token, served by ``bot/channels/handback.py``), which resumes the conversation, lets the bot
speak on the shopper's own channel and feeds it the pending messages — idempotently by outbox id,
so a retry after a timeout never makes the bot speak twice. Rows of one conversation are
delivered strictly in order; failed deliveries are retried with exponential back-off by the
background worker, which also turns queued handoffs nobody took in time into offline cases.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urljoin

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from handoff_api.models import HandbackOutbox, Handoff, Message
from handoff_api.queue import answer_due_from, expire_queued, now_utc, record_event
from handoff_api.schemas import HandbackIn
from handoff_api.serialize import iso
from handoff_api.settings import Settings

logger = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 300
LEASE_SECONDS = 60  # longer than one Rasa call with its timeout
HANDBACK_PATH = "/webhooks/atiende/handback"


def pending_for_bot(session: Session, handoff: Handoff, seen_up_to: int | None) -> list[dict]:
    """Shopper messages of ``handoff`` the agent did not answer: those after ``seen_up_to`` (the
    last message the console showed the agent) or, when the caller does not say, after the
    agent's last reply. They go to the resumed bot, so none is left unanswered."""
    if seen_up_to is None:
        seen_up_to = session.scalar(select(func.max(Message.id)).where(
            Message.handoff_id == handoff.id, Message.role == "agent")) or 0
    rows = session.scalars(select(Message).where(
        Message.handoff_id == handoff.id, Message.role == "user", Message.id > seen_up_to)
        .order_by(Message.id)).all()
    return [message_payload(m) for m in rows]


def message_payload(m: Message) -> dict[str, Any]:
    return {"message_id": m.message_id, "text": m.text, "ts": iso(m.ts)}


def enqueue_handback(session: Session, *, handoff_id: int, conversation_id: str,
                     outcome: str, handoff: Handoff | None = None,
                     messages: list[dict] | None = None) -> None:
    """Queue the hand-back (``outcome``: resolved, handed_back, abandoned, offline, or
    ``messages`` for late shopper messages only) in the caller's transaction."""
    payload: dict[str, Any] = {"messages": messages or []}
    if handoff is not None:
        payload.update(channel=handoff.channel, language=handoff.language,
                       answer_due_at=iso(handoff.answer_due_at),
                       contact=_contact(handoff))
    session.add(HandbackOutbox(handoff_id=handoff_id, conversation_id=conversation_id,
                               outcome=outcome, attempts=0, next_attempt_at=now_utc(),
                               created_at=now_utc(), payload=payload))


def _contact(handoff: Handoff) -> str:
    """How the offline answer will reach the shopper: e-mail when the packet has one, else the
    chat itself."""
    customer = (handoff.packet or {}).get("customer") or {}
    return "email" if customer.get("email") else "channel"


def undelivered_handback(session: Session, conversation_id: str) -> HandbackOutbox | None:
    """The latest hand-back of this conversation Rasa has not confirmed yet, if any."""
    return session.scalar(select(HandbackOutbox).where(
        HandbackOutbox.conversation_id == conversation_id, HandbackOutbox.delivered_at.is_(None))
        .order_by(HandbackOutbox.id.desc()).limit(1))


class RasaClient:
    """Client of the Rasa process's hand-back endpoint (bot token, like every bot↔API call)."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None):
        self.url = urljoin(settings.rasa_url.rstrip("/") + "/", HANDBACK_PATH.lstrip("/"))
        self.headers = {"Authorization": f"Bearer {settings.bot_token}"}
        self.client = client or httpx.AsyncClient(timeout=max(settings.rasa_timeout_seconds,
                                                              30.0))

    @staticmethod
    def body(row: HandbackOutbox) -> dict[str, Any]:
        """The ``handback`` webhook body of the contract (``schemas.HandbackIn``)."""
        payload = row.payload or {}
        return HandbackIn(
            outbox_id=row.id, handoff_id=row.handoff_id, conversation_id=row.conversation_id,
            outcome=row.outcome, channel=payload.get("channel"),
            language=payload.get("language"), answer_due_at=payload.get("answer_due_at"),
            contact=payload.get("contact"), messages=payload.get("messages") or [],
        ).model_dump(mode="json")

    async def hand_back(self, row: HandbackOutbox) -> None:
        r = await self.client.post(self.url, json=self.body(row), headers=self.headers)
        r.raise_for_status()

    async def alive(self) -> bool:
        """The hand-back channel answers its health route (``GET /webhooks/atiende/``)."""
        try:
            r = await self.client.get(self.url.rsplit("/", 1)[0] + "/", timeout=3.0)
        except (httpx.HTTPError, OSError):
            return False
        return r.status_code == 200

    async def aclose(self) -> None:
        await self.client.aclose()


class HandbackWorker:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], rasa: RasaClient,
                 on_offline: Any = None):
        self.settings = settings
        self.sessions = sessions  # write sessions
        self.rasa = rasa
        self.on_offline = on_offline  # callback(list of summaries) for live console events
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        # Rasa refused connections at the last attempt: its rows back off (up to 5 min), so the
        # worker asks Rasa's health route each pass and, once it answers, sends them at once —
        # not minutes after a restart (found by bench/seam_chaos.py: kill -9 of Rasa)
        self.rasa_down = False

    def wake(self) -> None:
        self._wake.set()

    def _due(self) -> list[HandbackOutbox]:
        """The first undelivered row of each conversation, when due, leased for
        ``LEASE_SECONDS`` with a conditional update (two service processes never deliver the same
        hand-back twice; a later row never overtakes an earlier one of the same conversation)."""
        leased: list[HandbackOutbox] = []
        with self.sessions() as s:
            now = now_utc()
            heads = select(func.min(HandbackOutbox.id)).where(
                HandbackOutbox.delivered_at.is_(None)).group_by(HandbackOutbox.conversation_id)
            rows = s.scalars(
                select(HandbackOutbox)
                .where(HandbackOutbox.id.in_(heads), HandbackOutbox.next_attempt_at <= now)
                .order_by(HandbackOutbox.id).limit(50)
            ).all()
            for row in rows:
                taken = s.execute(
                    update(HandbackOutbox)
                    .where(HandbackOutbox.id == row.id, HandbackOutbox.delivered_at.is_(None),
                           HandbackOutbox.next_attempt_at == row.next_attempt_at)
                    .values(next_attempt_at=now + timedelta(seconds=LEASE_SECONDS))
                )
                if taken.rowcount == 1:
                    leased.append(row)
            s.commit()
        return leased

    def _mark(self, row: HandbackOutbox, error: str | None) -> None:
        with self.sessions() as s:
            if error is None:
                s.execute(update(HandbackOutbox).where(HandbackOutbox.id == row.id)
                          .values(delivered_at=now_utc(), attempts=row.attempts + 1,
                                  last_error=None))
                record_event(s, row.handoff_id, "handback_delivered",
                             data={"outcome": row.outcome,
                                   "messages": len((row.payload or {}).get("messages") or [])})
            else:
                delay = min(MAX_BACKOFF_SECONDS,
                            self.settings.outbox_interval_seconds * 2**row.attempts)
                s.execute(update(HandbackOutbox).where(HandbackOutbox.id == row.id)
                          .values(attempts=row.attempts + 1, last_error=error[:500],
                                  next_attempt_at=now_utc() + timedelta(seconds=delay)))
            s.commit()

    def _retry_now(self) -> int:
        """Rows waiting out a back-off become due now (not rows leased for a delivery)."""
        with self.sessions() as s:
            now = now_utc()
            n = s.execute(update(HandbackOutbox).where(
                HandbackOutbox.delivered_at.is_(None), HandbackOutbox.attempts > 0,
                HandbackOutbox.last_error.is_not(None), HandbackOutbox.next_attempt_at > now)
                .values(next_attempt_at=now)).rowcount
            s.commit()
            return n or 0

    async def catch_up(self) -> int:
        """If Rasa was unreachable and answers again, make its waiting hand-backs due now."""
        if not self.rasa_down or not await self.rasa.alive():
            return 0
        self.rasa_down = False
        n = await asyncio.to_thread(self._retry_now)
        if n:
            logger.info("Rasa answers again: %d hand-back(s) sent now instead of after back-off",
                        n)
        return n

    def expire_queue(self) -> list[Handoff]:
        """Queued handoffs nobody took within the queue timeout become offline cases; the bot
        gets the conversation back meanwhile (an ``offline`` hand-back)."""
        now = now_utc()
        with self.sessions() as s:
            changed = expire_queued(
                s, older_than=now - timedelta(minutes=self.settings.queue_timeout_minutes),
                answer_due=answer_due_from(now, self.settings.answer_hours))
            for handoff in changed:
                enqueue_handback(s, handoff_id=handoff.id,
                                 conversation_id=handoff.conversation_id, outcome="offline",
                                 handoff=handoff, messages=pending_for_bot(s, handoff, None))
            s.commit()
        if changed:
            logger.info("queue timeout: %d handoff(s) became offline cases", len(changed))
        return changed

    async def deliver_due(self) -> int:
        """Try every due hand-back once; returns how many Rasa accepted."""
        async with self._lock:
            rows = await asyncio.to_thread(self._due)
            delivered = 0
            for row in rows:
                try:
                    await self.rasa.hand_back(row)
                except (httpx.HTTPError, OSError, ValueError) as exc:
                    # ValueError: the row does not make a hand-back of the contract; kept, retried
                    # and counted on /health (its text may hold a shopper's message: not logged)
                    logger.warning("hand-back %s to Rasa failed (attempt %d): %s",
                                   row.id, row.attempts + 1, type(exc).__name__)
                    detail = type(exc).__name__ if isinstance(exc, ValueError) \
                        else f"{type(exc).__name__}: {exc}"
                    if isinstance(exc, httpx.TransportError | OSError):
                        self.rasa_down = True
                    await asyncio.to_thread(self._mark, row, detail)
                else:
                    await asyncio.to_thread(self._mark, row, None)
                    delivered += 1
            return delivered

    async def run_forever(self) -> None:
        while True:
            try:
                changed = await asyncio.to_thread(self.expire_queue)
                if changed and self.on_offline is not None:
                    self.on_offline(changed)
                await self.catch_up()
                await self.deliver_due()
            except Exception:  # keep the worker alive; the rows stay in the outbox
                logger.exception("hand-back outbox pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(),
                                       min(self.settings.outbox_interval_seconds,
                                           self.settings.watch_interval_seconds))
            except TimeoutError:
                pass
            self._wake.clear()
