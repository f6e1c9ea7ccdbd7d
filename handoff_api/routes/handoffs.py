"""An agent's work on a handoff: claim, reply (relayed to the shopper's channel), notes,
transfer, resolve and hand back to the bot."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import anyio.from_thread
from fastapi import APIRouter, HTTPException, Response
from sqlalchemy import func, select, update

from handoff_api.broker import CONSOLE_TOPIC, widget_topic
from handoff_api.deps import CurrentAgent, ServicesDep, SessionDep
from handoff_api.errors import Conflict
from handoff_api.handback import enqueue_handback
from handoff_api.models import Agent, Handoff, HandoffEvent, Message, Note
from handoff_api.queue import (
    _check_holder,
    claim,
    claim_next,
    get_handoff,
    now_utc,
    record_event,
    transfer,
    transition,
)
from handoff_api.relay import RelayTarget
from handoff_api.routes.bot import _ts, check_size
from handoff_api.schemas import AgentMessageIn, CloseIn, NoteIn, TransferIn
from handoff_api.serialize import agent_view, handoff_summary, iso, message_view, note_view

router = APIRouter(prefix="/api/handoffs", tags=["handoffs"])


def _announce_assigned(services: Any, handoff: Handoff, agent: Agent) -> None:
    services.broker.publish(CONSOLE_TOPIC, "handoff_assigned", handoff_summary(handoff, agent.name))
    services.broker.publish(widget_topic(handoff.conversation_id), "agent_joined",
                            {"agent_name": agent.name, "handoff_id": handoff.id})


@router.get("/{handoff_id}")
def get_detail(handoff_id: int, agent: CurrentAgent, session: SessionDep) -> dict:
    """Everything the bot knew (the packet) plus the live messages, notes and events."""
    h = get_handoff(session, handoff_id)
    holder = session.get(Agent, h.agent_id) if h.agent_id else None
    messages = session.scalars(select(Message).where(Message.handoff_id == h.id)
                               .order_by(Message.id))
    notes = session.scalars(select(Note).where(Note.handoff_id == h.id).order_by(Note.id))
    events = session.scalars(select(HandoffEvent).where(HandoffEvent.handoff_id == h.id)
                             .order_by(HandoffEvent.id))
    return {
        **handoff_summary(h, holder.name if holder else None),
        "packet": h.packet,
        "rating_comment": h.rating_comment,
        "messages": [message_view(m) for m in messages],
        "notes": [note_view(n) for n in notes],
        "events": [{"type": e.type, "from": e.from_status, "to": e.to_status,
                    "agent_id": e.agent_id, "at": iso(e.at), "data": e.data} for e in events],
    }


@router.post("/claim-next", response_model=None)
def post_claim_next(agent: CurrentAgent, session: SessionDep, services: ServicesDep,
                    response: Response) -> dict | None:
    """Take the most urgent waiting conversation.

    204 when none is waiting or you are at capacity.
    """
    handoff = claim_next(session, agent, services.settings.agent_capacity)
    session.commit()
    if handoff is None:
        response.status_code = 204
        return None
    _announce_assigned(services, handoff, agent)
    return handoff_summary(handoff, agent.name)


@router.post("/{handoff_id}/claim")
def post_claim(handoff_id: int, agent: CurrentAgent, session: SessionDep,
               services: ServicesDep) -> dict:
    before = get_handoff(session, handoff_id).status
    session.rollback()
    handoff = claim(session, handoff_id, agent, services.settings.agent_capacity)
    session.commit()
    if before == "queued":
        _announce_assigned(services, handoff, agent)
    return handoff_summary(handoff, agent.name)


def _last_shopper_ts(session: Any, handoff: Handoff) -> Any:
    last = session.scalar(select(func.max(Message.ts)).where(
        Message.conversation_id == handoff.conversation_id, Message.role == "user"))
    if last is not None:
        return last if last.tzinfo else last.replace(tzinfo=now_utc().tzinfo)
    for entry in reversed((handoff.packet or {}).get("transcript") or []):
        if entry.get("role") == "user" and entry.get("ts") is not None:
            try:
                ts = entry["ts"]
                return _ts(float(ts) if isinstance(ts, int | float) else datetime.fromisoformat(ts))
            except (TypeError, ValueError):
                break
    return handoff.created_at


@router.post("/{handoff_id}/messages", status_code=201)
def post_agent_message(handoff_id: int, body: AgentMessageIn, agent: CurrentAgent,
                       session: SessionDep, services: ServicesDep, response: Response) -> dict:
    """Store the reply, then relay it to the shopper's channel. A refused delivery (e.g. WhatsApp's
    24-hour window) answers 409 with the channel's reason; the message stays marked ``failed``."""
    check_size(body.text, services.settings.max_message_bytes)
    handoff = get_handoff(session, handoff_id)
    if handoff.status != "assigned":
        raise Conflict(f"Handoff {handoff_id} is {handoff.status}; "
                       "replies need an assigned handoff")
    _check_holder(handoff, agent)
    message_id = body.client_id or f"agent-{uuid.uuid4().hex}"
    existing = session.scalar(select(Message).where(
        Message.conversation_id == handoff.conversation_id, Message.message_id == message_id))
    if existing is not None and existing.delivery == "sent":
        response.status_code = 200
        return message_view(existing)
    message = existing or Message(
        handoff_id=handoff.id, conversation_id=handoff.conversation_id, message_id=message_id,
        role="agent", text=body.text, channel=handoff.channel, agent_id=agent.id, ts=now_utc(),
        created_at=now_utc(), delivery="stored")
    session.add(message)
    session.commit()  # stored before we try to deliver: nothing typed by the agent is lost

    target = RelayTarget(conversation_id=handoff.conversation_id, channel=handoff.channel,
                         language=handoff.language,
                         last_shopper_message_at=_last_shopper_ts(session, handoff),
                         metadata={"message_id": message.id, "ts": iso(message.ts),
                                   "agent_name": agent.name})
    session.commit()  # end the read transaction: no database lock is held while the channel answers
    result = anyio.from_thread.run(services.relays.send_text, target, body.text)
    now = now_utc()
    if result.ok:
        message.delivery, message.delivery_error = "sent", None
        record_event(session, handoff.id, "agent_message", agent_id=agent.id,
                     data={"message_id": message.id})
        if handoff.first_response_at is None:
            session.execute(update(Handoff).where(Handoff.id == handoff.id,
                                                  Handoff.first_response_at.is_(None))
                            .values(first_response_at=now))
            record_event(session, handoff.id, "first_agent_reply", agent_id=agent.id, at=now)
    else:
        message.delivery, message.delivery_error = "failed", result.reason
        record_event(session, handoff.id, "delivery_failed", agent_id=agent.id,
                     data={"message_id": message.id, "reason": result.reason})
    session.commit()
    view = message_view(message)
    services.broker.publish(CONSOLE_TOPIC, "message", {"handoff_id": handoff.id,
                                                        "agent_id": handoff.agent_id,
                                                       "message": view})
    if not result.ok:
        raise HTTPException(409,
                            f"Not delivered to the shopper on {handoff.channel}: {result.reason}")
    return view


@router.post("/{handoff_id}/notes", status_code=201)
def post_note(handoff_id: int, body: NoteIn, agent: CurrentAgent, session: SessionDep,
              services: ServicesDep) -> dict:
    """Internal note, never shown to the shopper."""
    handoff = get_handoff(session, handoff_id)
    note = Note(handoff_id=handoff.id, agent_id=agent.id, text=body.text, created_at=now_utc())
    session.add(note)
    session.flush()
    record_event(session, handoff.id, "note", agent_id=agent.id, data={"note_id": note.id})
    session.commit()
    services.broker.publish(CONSOLE_TOPIC, "note",
                            {"handoff_id": handoff.id, "note": note_view(note)})
    return note_view(note)


@router.post("/{handoff_id}/transfer")
def post_transfer(handoff_id: int, body: TransferIn, agent: CurrentAgent, session: SessionDep,
                  services: ServicesDep) -> dict:
    target = session.scalar(select(Agent).where(Agent.username == body.agent_username))
    if target is None:
        raise HTTPException(404, f"Agent {body.agent_username} not found")
    handoff = transfer(session, handoff_id, by=agent, to=target,
                       default_capacity=services.settings.agent_capacity)
    session.commit()
    services.broker.publish(CONSOLE_TOPIC, "handoff_transferred",
                            {**handoff_summary(handoff, target.name), "to": agent_view(target)})
    services.broker.publish(widget_topic(handoff.conversation_id), "agent_joined",
                            {"agent_name": target.name, "handoff_id": handoff.id})
    return handoff_summary(handoff, target.name)


def _close(handoff_id: int, outcome: str, body: CloseIn | None, agent: Agent, session: Any,
           services: Any) -> dict:
    handoff, changed = transition(session, handoff_id, outcome, agent=agent,
                                  data={"note": body.note} if body and body.note else None)
    if changed:
        enqueue_handback(session, handoff_id=handoff.id, conversation_id=handoff.conversation_id,
                         outcome=outcome)
    session.commit()
    if changed:
        services.broker.publish(CONSOLE_TOPIC, "handoff_closed", handoff_summary(handoff))
        services.broker.publish(widget_topic(handoff.conversation_id), "agent_left",
                                {"outcome": outcome, "handoff_id": handoff.id})
        services.handback.wake()
    return handoff_summary(handoff)


@router.post("/{handoff_id}/resolve")
def post_resolve(handoff_id: int, agent: CurrentAgent, session: SessionDep, services: ServicesDep,
                 body: CloseIn | None = None) -> dict:
    """Solved: the bot takes the conversation back and asks the shopper for a rating."""
    return _close(handoff_id, "resolved", body, agent, session, services)


@router.post("/{handoff_id}/hand-back")
def post_hand_back(handoff_id: int, agent: CurrentAgent, session: SessionDep, services: ServicesDep,
                   body: CloseIn | None = None) -> dict:
    """Return the conversation to the bot without resolving it (the bot can handle the rest)."""
    return _close(handoff_id, "handed_back", body, agent, session, services)
