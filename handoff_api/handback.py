"""Hand-back to Rasa through an outbox, so a hand-back is never lost while Rasa is down.

Resolving or returning a handoff writes an outbox row in the same transaction as the transition.
Delivery (per the contract) is two calls to Rasa's HTTP API: append ``resume`` and ``action_listen``
events, then
trigger the ``handoff_ended`` intent with entity ``handoff_outcome``. Failed deliveries are retried
with exponential back-off by the background worker started with the app.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from urllib.parse import quote

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from handoff_api.models import HandbackOutbox
from handoff_api.queue import now_utc, record_event
from handoff_api.settings import Settings

logger = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 300
LEASE_SECONDS = 60  # longer than two Rasa calls with their timeouts
RESUME_EVENTS = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]


def enqueue_handback(session: Session, *, handoff_id: int, conversation_id: str,
                     outcome: str) -> None:
    session.add(HandbackOutbox(handoff_id=handoff_id, conversation_id=conversation_id,
                               outcome=outcome, attempts=0, next_attempt_at=now_utc(),
                               created_at=now_utc()))


class RasaClient:
    """Minimal client of Rasa's HTTP API (``rasa run --enable-api --auth-token``)."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None):
        self.base = settings.rasa_url.rstrip("/")
        self.params = {"token": settings.rasa_token} if settings.rasa_token else {}
        self.client = client or httpx.AsyncClient(timeout=settings.rasa_timeout_seconds)

    async def hand_back(self, conversation_id: str, outcome: str) -> None:
        cid = quote(conversation_id, safe="")
        # `action_handoff` paused the conversation without an `action_listen` after it; rules only
        # match a user turn that follows `action_listen`, so add it with the resume.
        r = await self.client.post(f"{self.base}/conversations/{cid}/tracker/events",
                                   params=self.params, json=RESUME_EVENTS)
        r.raise_for_status()
        r = await self.client.post(
            f"{self.base}/conversations/{cid}/trigger_intent",
            params={**self.params, "output_channel": "latest"},
            json={"name": "handoff_ended", "entities": {"handoff_outcome": outcome}},
        )
        r.raise_for_status()

    async def aclose(self) -> None:
        await self.client.aclose()


class HandbackWorker:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], rasa: RasaClient):
        self.settings = settings
        self.sessions = sessions
        self.rasa = rasa
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def _due(self) -> list[HandbackOutbox]:
        """Due rows, each leased for ``LEASE_SECONDS`` with a conditional update, so two service
        processes never deliver the same hand-back twice."""
        leased: list[HandbackOutbox] = []
        with self.sessions() as s:
            now = now_utc()
            rows = s.scalars(
                select(HandbackOutbox)
                .where(HandbackOutbox.delivered_at.is_(None), HandbackOutbox.next_attempt_at <= now)
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
                record_event(s, row.handoff_id, "handback_delivered", data={"outcome": row.outcome})
            else:
                delay = min(MAX_BACKOFF_SECONDS,
                            self.settings.outbox_interval_seconds * 2**row.attempts)
                s.execute(update(HandbackOutbox).where(HandbackOutbox.id == row.id)
                          .values(attempts=row.attempts + 1, last_error=error[:500],
                                  next_attempt_at=now_utc() + timedelta(seconds=delay)))
            s.commit()

    async def deliver_due(self) -> int:
        """Try every due hand-back once; returns how many Rasa accepted."""
        async with self._lock:
            rows = await asyncio.to_thread(self._due)
            delivered = 0
            for row in rows:
                try:
                    await self.rasa.hand_back(row.conversation_id, row.outcome)
                except (httpx.HTTPError, OSError) as exc:
                    logger.warning("hand-back of %s to Rasa failed (attempt %d): %s",
                                   row.conversation_id, row.attempts + 1, exc)
                    await asyncio.to_thread(self._mark, row, f"{type(exc).__name__}: {exc}")
                else:
                    await asyncio.to_thread(self._mark, row, None)
                    delivered += 1
            return delivered

    async def run_forever(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception:  # keep the worker alive; the rows stay in the outbox
                logger.exception("hand-back outbox pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.outbox_interval_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
