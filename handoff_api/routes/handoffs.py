"""An agent's work on a handoff: claim, reply (relayed to the shopper's channel), notes,
transfer, resolve and hand back to the bot."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import anyio.from_thread
from fastapi import APIRouter, HTTPException, Query, Response
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from handoff_api.broker import CONSOLE_TOPIC, widget_topic
from handoff_api.delivery_status import with_statuses
from handoff_api.deps import CurrentAgent, ServicesDep, SessionDep, WriteSessionDep
from handoff_api.errors import Conflict
from handoff_api.handback import enqueue_handback, pending_for_bot
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
from handoff_api.routes.common import HandoffId, errors
from handoff_api.schemas import MAX_ID, AgentMessageIn, CloseIn, NoteIn, TransferIn
from handoff_api.search import search_handoffs
from handoff_api.serialize import agent_view, handoff_summary, iso, message_view, note_view

router = APIRouter(prefix="/api/handoffs", tags=["handoffs"])

#: Who may read a handoff (its packet: transcript, order, customer; its messages and notes) and
#: add notes to it: supervisors; the agent who holds it (or held it last); an agent who took part
#: in it (claimed, replied, noted, transferred or answered it: an event with their id); and, while
#: nobody holds it — ``queued`` (deciding whether to claim it) or ``offline`` (any agent may write
#: the answer) — every agent. A conversation a colleague holds or handled alone is theirs (403).
#: The console's live stream applies the first and last parts (holder, supervisors, unheld).
VISIBLE_TO_ALL = ("queued", "offline")


def may_see(handoff: Any, agent: Any) -> bool:
    status = handoff["status"] if isinstance(handoff, dict) else handoff.status
    holder = handoff.get("agent_id") if isinstance(handoff, dict) else handoff.agent_id
    return agent.role == "supervisor" or holder == agent.id or status in VISIBLE_TO_ALL


def _require_visible(session: Any, handoff: Handoff, agent: Agent) -> None:
    if may_see(handoff, agent):
        return
    took_part = session.scalar(select(HandoffEvent.id).where(
        HandoffEvent.handoff_id == handoff.id, HandoffEvent.agent_id == agent.id).limit(1))
    if took_part is None:
        raise HTTPException(403, f"Handoff {handoff.id} belongs to another agent; only they "
                                 "and supervisors can read it or add notes")


def _announce_assigned(services: Any, handoff: Handoff, agent: Agent) -> None:
    services.broker.publish(CONSOLE_TOPIC, "handoff_assigned", handoff_summary(handoff, agent.name))
    services.broker.publish(widget_topic(handoff.conversation_id), "agent_joined",
                            {"agent_name": agent.name, "handoff_id": handoff.id})


@router.get("/search", responses=errors(401))
def get_search(
    agent: CurrentAgent, session: SessionDep,
    q: Annotated[str | None, Query(min_length=2, max_length=200, pattern=r"^[^\x00-\x1f]+$",
                                   description="text in the live messages, the customer's name, "
                                               "the order number or the conversation id")] = None,
    email: Annotated[str | None, Query(min_length=3, max_length=254,
                                       pattern=r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+$",
                                       description="the verified order's e-mail")] = None,
    phone: Annotated[str | None, Query(min_length=6, max_length=40,
                                       pattern=r"^\+?[0-9 ()./-]{6,40}$",
                                       description="the verified order's phone, or the WhatsApp "
                                                   "number; compared as digits")] = None,
    channel_id: Annotated[str | None, Query(min_length=1, max_length=200,
                                            pattern=r"^[^\x00-\x1f]+$",
                                            description="the channel's id of the conversation "
                                                        "(conversation_id)")] = None,
    status: Annotated[Literal["closed", "all"], Query(
        description="closed (resolved, handed back, abandoned) or all")] = "closed",
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                           description="next page: next_before_id")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict:
    """Search closed conversations and a customer's history (``handoff_api.search``): identities
    (``email``, ``phone``, ``channel_id``) are OR-ed, ``q`` is AND-ed with them. Newest first.
    Agents see in full what they may read; an identity search also lists the customer's other
    conversations without their content (``readable: false``). 422 without any criterion."""
    if not any(v and v.strip() for v in (q, email, phone, channel_id)):
        raise HTTPException(422, "Give at least one of q (text), email, phone or channel_id")
    if phone is not None and len(re.sub(r"\D", "", phone)) < 6:
        raise HTTPException(422, "phone needs at least 6 digits")
    if q is not None and len(q.strip()) < 2:
        raise HTTPException(422, "q needs at least 2 characters besides spaces")
    return search_handoffs(session, agent, q=q, email=email, phone=phone,
                           channel_id=channel_id, status=status, before_id=before_id,
                           limit=limit)


@router.get("/{handoff_id}", responses=errors(401, 403, 404))
def get_detail(handoff_id: HandoffId, agent: CurrentAgent, session: SessionDep) -> dict:
    """Everything the bot knew (the packet) plus the live messages, notes and events (403 for a
    handoff another agent holds; see ``VISIBLE_TO_ALL``)."""
    h = get_handoff(session, handoff_id)
    _require_visible(session, h, agent)
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
        "messages": with_statuses(session, [message_view(m) for m in messages]),
        "notes": [note_view(n) for n in notes],
        "events": [{"type": e.type, "from": e.from_status, "to": e.to_status,
                    "agent_id": e.agent_id, "at": iso(e.at), "data": e.data} for e in events],
    }


@router.post("/claim-next", response_model=None, responses=errors(401))
def post_claim_next(agent: CurrentAgent, session: WriteSessionDep, services: ServicesDep,
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


@router.post("/{handoff_id}/claim", responses=errors(401, 404, 409))
def post_claim(handoff_id: HandoffId, agent: CurrentAgent, session: WriteSessionDep,
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


def _claim_send(session: Any, message_id: int, lease_seconds: int) -> bool:
    """Take the right to send one stored reply, in the database, before calling the channel:
    only the request whose conditional update wins sends it; concurrent retries of the same
    ``client_id`` see ``sending``/``sent`` and do not. A claim older than the lease (its
    process died mid-send) may be taken again."""
    now = now_utc()
    result = session.execute(update(Message).where(
        Message.id == message_id,
        or_(Message.delivery.in_(("stored", "failed")),
            (Message.delivery == "sending")
            & (Message.send_claimed_at < now - timedelta(seconds=lease_seconds))))
        .values(delivery="sending", send_claimed_at=now, delivery_error=None))
    session.commit()
    return result.rowcount == 1


def _wait_for_outcome(services: Any, message_id: int, seconds: float = 10.0) -> Message:
    """Another request is sending this reply: wait (briefly, in read sessions that take no lock)
    for its outcome to answer with."""
    deadline = time.monotonic() + seconds
    while True:
        with services.sessions() as read:
            message = read.scalar(select(Message).where(Message.id == message_id))
        if message.delivery != "sending" or time.monotonic() > deadline:
            return message
        time.sleep(0.05)


def store_agent_message(session: Any, handoff: Handoff, client_id: str | None,
                        new: Any, *, kind: str | None = None) -> Message:
    """The agent's message stored once per ``client_id`` before anything is sent (nothing typed
    is lost; a concurrent retry finds the row its twin stored). ``new(message_id)`` builds it;
    409 when the id belongs to another kind of message."""
    message_id = client_id or f"agent-{uuid.uuid4().hex}"

    def stored() -> Message | None:
        return session.scalar(select(Message).where(
            Message.conversation_id == handoff.conversation_id, Message.message_id == message_id))

    message = stored()
    if message is None:
        session.add(new(message_id))
        try:
            session.commit()
        except IntegrityError:  # a concurrent retry stored it first
            session.rollback()
        message = stored()
    if message is None or message.role != "agent" or message.handoff_id != handoff.id or (
            kind is not None and message.kind != kind):
        raise Conflict(f"client_id {message_id} is already used by another message")
    return message


def settled_or_claimed(session: Any, services: Any, handoff: Handoff, message: Message,
                       response: Response) -> dict | None:
    """``None`` when this request has claimed the send (go and send it); else the answer for a
    message already sent (200) or being sent by a concurrent request (its outcome: 200, 202, or
    409 if the channel refused it)."""
    if message.delivery == "sent":
        response.status_code = 200
        return message_view(message)
    if _claim_send(session, message.id, services.settings.send_lease_seconds):
        return None
    message = _wait_for_outcome(services, message.id)
    response.status_code = 200 if message.delivery == "sent" else 202
    if message.delivery == "failed":
        raise HTTPException(409, f"Not delivered to the shopper on {handoff.channel}: "
                                 f"{message.delivery_error}")
    return message_view(message)


def record_delivery(session: Any, handoff: Handoff, agent: Any, message: Message, result: Any,
                    **event_data: Any) -> Message:
    """The channel's answer on the message (sent with the channel's id, so delivery statuses find
    it, or failed with the reason), the audit events, the first response time; the message as
    stored."""
    now = now_utc()
    values: dict[str, Any]
    if result.ok:
        values = {"delivery": "sent", "delivery_error": None,
                  "external_id": result.external_id or None}
        record_event(session, handoff.id, "agent_message", agent_id=agent.id,
                     data={"message_id": message.id, **event_data})
        if handoff.first_response_at is None:
            session.execute(update(Handoff).where(Handoff.id == handoff.id,
                                                  Handoff.first_response_at.is_(None))
                            .values(first_response_at=now))
            record_event(session, handoff.id, "first_agent_reply", agent_id=agent.id, at=now)
    else:
        values = {"delivery": "failed", "delivery_error": result.reason}
        record_event(session, handoff.id, "delivery_failed", agent_id=agent.id,
                     data={"message_id": message.id, "reason": result.reason, **event_data})
    session.execute(update(Message).where(Message.id == message.id).values(**values))
    session.commit()
    message = session.scalar(select(Message).where(Message.id == message.id)
                             .execution_options(populate_existing=True))
    session.commit()
    return message


@router.post("/{handoff_id}/messages", status_code=201,
             responses={**errors(401, 404, 409, 413),
                        200: {"description": "already sent (same client_id)"},
                        202: {"description": "the same client_id is being sent by another "
                                             "request; its outcome will show in the console"}})
def post_agent_message(handoff_id: HandoffId, body: AgentMessageIn, agent: CurrentAgent,
                       session: WriteSessionDep, services: ServicesDep,
                       response: Response) -> dict:
    """Store the reply, then relay it to the shopper's channel, exactly once per ``client_id``:
    the send is claimed in the database before the channel is called, so concurrent retries of
    the same reply never reach the shopper twice. A refused delivery (e.g. WhatsApp's 24-hour
    window) answers 409 with the channel's reason; the message stays marked ``failed``."""
    check_size(body.text, services.settings.max_message_bytes)
    handoff = get_handoff(session, handoff_id)
    if handoff.status != "assigned":
        raise Conflict(f"Handoff {handoff_id} is {handoff.status}; "
                       "replies need an assigned handoff")
    _check_holder(handoff, agent)
    message = store_agent_message(session, handoff, body.client_id, lambda message_id: Message(
        handoff_id=handoff.id, conversation_id=handoff.conversation_id,
        message_id=message_id, role="agent", text=body.text, channel=handoff.channel,
        agent_id=agent.id, ts=now_utc(), created_at=now_utc(), delivery="stored"))
    settled = settled_or_claimed(session, services, handoff, message, response)
    if settled is not None:
        return settled

    target = RelayTarget(conversation_id=handoff.conversation_id, channel=handoff.channel,
                         language=handoff.language,
                         last_shopper_message_at=_last_shopper_ts(session, handoff),
                         metadata={"message_id": message.id, "ts": iso(message.ts),
                                   "agent_name": agent.name})
    session.commit()  # end the read transaction: no database lock is held while the channel answers
    result = anyio.from_thread.run(services.relays.send_text, target, message.text)
    message = record_delivery(session, handoff, agent, message, result)
    view = message_view(message)
    services.broker.publish(CONSOLE_TOPIC, "message", {"handoff_id": handoff.id,
                                                        "agent_id": handoff.agent_id,
                                                        "message": view})
    if not result.ok:
        raise HTTPException(409,
                            f"Not delivered to the shopper on {handoff.channel}: {result.reason}")
    return view


@router.post("/{handoff_id}/notes", status_code=201, responses=errors(401, 403, 404))
def post_note(handoff_id: HandoffId, body: NoteIn, agent: CurrentAgent, session: WriteSessionDep,
              services: ServicesDep) -> dict:
    """Internal note, never shown to the shopper (403 on a handoff another agent holds)."""
    handoff = get_handoff(session, handoff_id)
    _require_visible(session, handoff, agent)
    note = Note(handoff_id=handoff.id, agent_id=agent.id, text=body.text, created_at=now_utc())
    session.add(note)
    session.flush()
    record_event(session, handoff.id, "note", agent_id=agent.id, data={"note_id": note.id})
    session.commit()
    services.broker.publish(CONSOLE_TOPIC, "note",
                            {"handoff_id": handoff.id, "agent_id": handoff.agent_id,
                             "status": handoff.status, "note": note_view(note)})
    return note_view(note)


@router.post("/{handoff_id}/transfer", responses=errors(401, 404, 409))
def post_transfer(handoff_id: HandoffId, body: TransferIn, agent: CurrentAgent,
                  session: WriteSessionDep,
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
        # shopper messages the agent had not seen (or answered) when closing go to the bot
        pending = pending_for_bot(session, handoff, body.seen_message_id if body else None)
        enqueue_handback(session, handoff_id=handoff.id, conversation_id=handoff.conversation_id,
                         outcome=outcome, handoff=handoff, messages=pending)
        if pending:
            session.execute(update(Message).where(
                Message.handoff_id == handoff.id,
                Message.message_id.in_([m["message_id"] for m in pending]))
                .values(delivery="to_bot"))
    session.commit()
    if changed:
        services.broker.publish(CONSOLE_TOPIC, "handoff_closed", handoff_summary(handoff))
        services.broker.publish(widget_topic(handoff.conversation_id), "agent_left",
                                {"outcome": outcome, "handoff_id": handoff.id})
        services.handback.wake()
    return handoff_summary(handoff)


@router.post("/{handoff_id}/resolve", responses=errors(401, 404, 409))
def post_resolve(handoff_id: HandoffId, agent: CurrentAgent, session: WriteSessionDep,
                 services: ServicesDep,
                 body: CloseIn | None = None) -> dict:
    """Solved: the bot takes the conversation back and asks the shopper for a rating."""
    return _close(handoff_id, "resolved", body, agent, session, services)


@router.post("/{handoff_id}/hand-back", responses=errors(401, 404, 409))
def post_hand_back(handoff_id: HandoffId, agent: CurrentAgent, session: WriteSessionDep,
                   services: ServicesDep,
                   body: CloseIn | None = None) -> dict:
    """Return the conversation to the bot without resolving it (the bot can handle the rest)."""
    return _close(handoff_id, "handed_back", body, agent, session, services)
