"""Offline cases and dead letters in the agent console.

* ``GET /api/offline-cases``: cases waiting for a written answer, soonest promised time first,
  with how close that time is and whether an e-mail address is known;
* ``POST /api/handoffs/{id}/follow-up``: the agent's answer, delivered on the shopper's channel
  when it can reach them now, by e-mail otherwise (see :mod:`handoff_api.followup`); the case is
  resolved once the answer is delivered;
* ``GET /api/dead-letters``: shopper messages the bot side could not deliver, with the latest
  handoff of their conversation so the agent can open it and answer.
"""

from __future__ import annotations

import uuid
from typing import Any

import anyio.from_thread
from fastapi import APIRouter, HTTPException, Response
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from handoff_api.broker import CONSOLE_TOPIC, widget_topic
from handoff_api.deps import CurrentAgent, ServicesDep, SessionDep, WriteSessionDep
from handoff_api.errors import Conflict
from handoff_api.followup import (
    answer_mail,
    case_view,
    choose_via,
    customer_email,
    resolve_offline,
)
from handoff_api.models import DeadLetter, Handoff, MailOutbox, Message
from handoff_api.queue import get_handoff, now_utc, record_event
from handoff_api.relay import RelayTarget
from handoff_api.routes.bot import check_size
from handoff_api.routes.common import HandoffId, errors
from handoff_api.routes.handoffs import _claim_send, _last_shopper_ts
from handoff_api.schemas import FollowUpIn
from handoff_api.serialize import handoff_summary, iso, message_view

router = APIRouter(prefix="/api", tags=["offline cases"])

#: what an agent can do about a dead letter, by the HTTP status the bot side got
DEAD_LETTER_CAUSES = {"413": "too_large", "422": "invalid", "404": "no_handoff",
                      "409": "conflict"}


@router.get("/offline-cases", responses=errors(401))
def offline_cases(agent: CurrentAgent, session: SessionDep, services: ServicesDep) -> dict:
    rows = session.scalars(select(Handoff).where(Handoff.status == "offline")
                           .order_by(Handoff.answer_due_at, Handoff.id).limit(200)).all()
    now, hours = now_utc(), services.settings.reminder_hours
    return {"cases": [{**handoff_summary(h), **case_view(h, now, hours)} for h in rows]}


def _dead_letter_view(session: Any, d: DeadLetter) -> dict:
    latest = session.scalar(select(Handoff).where(Handoff.conversation_id == d.conversation_id)
                            .order_by(Handoff.id.desc()).limit(1))
    code = next((c for c in DEAD_LETTER_CAUSES if c in d.reason), None)
    return {"id": d.id, "conversation_id": d.conversation_id, "message_id": d.message_id,
            "channel": d.channel, "text": d.text, "reason": d.reason,
            "cause": DEAD_LETTER_CAUSES.get(code or "", "other"),
            "created_at": iso(d.created_at),
            "handoff_id": latest.id if latest else None,
            "handoff_status": latest.status if latest else None}


@router.get("/dead-letters", responses=errors(401))
def dead_letters(agent: CurrentAgent, session: SessionDep) -> dict:
    """Undelivered shopper messages not dealt with yet (oldest first)."""
    rows = session.scalars(select(DeadLetter).where(DeadLetter.dismissed_at.is_(None))
                           .order_by(DeadLetter.id).limit(200)).all()
    return {"dead_letters": [_dead_letter_view(session, d) for d in rows]}


def _stored_answer(session: Any, handoff: Handoff, message_id: str, text: str, channel: str,
                   agent_id: int) -> Message:
    existing = session.scalar(select(Message).where(
        Message.conversation_id == handoff.conversation_id, Message.message_id == message_id))
    if existing is not None:
        return existing
    message = Message(handoff_id=handoff.id, conversation_id=handoff.conversation_id,
                      message_id=message_id, role="agent", text=text, channel=channel,
                      agent_id=agent_id, ts=now_utc(), created_at=now_utc(), delivery="stored")
    session.add(message)
    try:
        session.flush()
        record_event(session, handoff.id, "followup_written", agent_id=agent_id,
                     data={"message_id": message.id})
        session.commit()  # stored before anything is sent: nothing the agent wrote is lost
    except IntegrityError:  # a concurrent retry with the same client_id stored it first
        session.rollback()
        message = session.scalar(select(Message).where(
            Message.conversation_id == handoff.conversation_id, Message.message_id == message_id))
    return message


def _outcome(session: Any, handoff_id: int, message_row_id: int, response: Response,
             via: str) -> dict:
    session.commit()
    handoff = get_handoff(session, handoff_id)
    message = session.scalar(select(Message).where(Message.id == message_row_id)
                             .execution_options(populate_existing=True))
    mail = session.scalar(select(MailOutbox).where(MailOutbox.message_row_id == message_row_id))
    session.commit()
    if message.delivery == "failed":
        raise HTTPException(409, f"Not delivered to the shopper: {message.delivery_error}")
    response.status_code = 201 if message.delivery == "sent" else 202
    return {"handoff": handoff_summary(handoff), "message": message_view(message), "via": via,
            "mail": {"status": mail.status, "attempts": mail.attempts,
                     "last_error": mail.last_error} if mail else None}


@router.post("/handoffs/{handoff_id}/follow-up", status_code=201,
             responses={**errors(401, 404, 409, 413),
                        202: {"description": "stored; the e-mail will be retried (the mail "
                                             "server failed for now)"}})
def post_follow_up(handoff_id: HandoffId, body: FollowUpIn, agent: CurrentAgent,
                   session: WriteSessionDep, services: ServicesDep, response: Response) -> dict:
    """Answer an offline case. 201: delivered (the case is resolved); 202: stored and the e-mail
    is queued for retry; 409: the shopper cannot be reached that way (the reason says why)."""
    s = services.settings
    check_size(body.text, s.max_message_bytes)
    handoff = get_handoff(session, handoff_id)
    message_id = body.client_id or f"followup-{uuid.uuid4().hex}"
    done = session.scalar(select(Message).where(
        Message.conversation_id == handoff.conversation_id, Message.message_id == message_id))
    if done is not None:  # a retry of an answer already written: report its outcome
        return _outcome(session, handoff.id, done.id, response,
                        "email" if done.channel == "email" else "channel")
    if handoff.status != "offline":
        raise Conflict(f"Handoff {handoff_id} is {handoff.status}; only offline cases are "
                       "answered by follow-up")
    online = services.broker.subscriber_count(widget_topic(handoff.conversation_id)) > 0
    via = choose_via(body.via, handoff, widget_online=online)
    if via is None:
        raise Conflict(f"No e-mail address is known for case {handoff_id}; answer on the "
                       "shopper's channel")
    channel = "email" if via == "email" else handoff.channel
    message = _stored_answer(session, handoff, message_id, body.text, channel, agent.id)
    if via == "channel":
        refused = _send_on_channel(session, services, handoff, message, agent)
        if refused is None:
            return _outcome(session, handoff.id, message.id, response, "channel")
        if body.via == "channel" or customer_email(handoff) is None:
            raise HTTPException(409, f"Not delivered to the shopper on {handoff.channel}: "
                                     f"{refused}")
        session.execute(update(Message).where(Message.id == message.id)
                        .values(channel="email", delivery="stored", delivery_error=None))
        via = "email"
    row = answer_mail(session, handoff, message, agent_name=agent.name, store=s.store_name,
                      tz=s.business_tz, sender=s.smtp_from)
    session.execute(update(Message).where(Message.id == message.id).values(delivery="sending"))
    session.commit()
    anyio.from_thread.run(services.mail.deliver, row.id)
    return _outcome(session, handoff.id, message.id, response, via)


def _send_on_channel(session: Any, services: Any, handoff: Handoff, message: Message,
                     agent: Any) -> str | None:
    """Relay the answer on the shopper's channel; ``None`` when delivered (the case is then
    resolved), else the channel's reason."""
    if message.delivery == "sent":
        return None
    if not _claim_send(session, message.id, services.settings.send_lease_seconds):
        return "another request is sending this answer"
    target = RelayTarget(conversation_id=handoff.conversation_id, channel=handoff.channel,
                         language=handoff.language,
                         last_shopper_message_at=_last_shopper_ts(session, handoff),
                         metadata={"message_id": message.id, "ts": iso(message.ts),
                                   "agent_name": agent.name})
    session.commit()  # no lock held while the channel answers
    result = anyio.from_thread.run(services.relays.send_text, target, message.text)
    if not result.ok:
        session.execute(update(Message).where(Message.id == message.id)
                        .values(delivery="failed", delivery_error=result.reason))
        session.commit()
        return result.reason or "refused"
    session.execute(update(Message).where(Message.id == message.id)
                    .values(delivery="sent", delivery_error=None))
    resolve_offline(session, handoff.id, agent_id=agent.id, via="channel",
                    message_row_id=message.id)
    session.commit()
    services.broker.publish(CONSOLE_TOPIC, "handoff_closed",
                            handoff_summary(get_handoff(session, handoff.id)))
    session.commit()
    return None
