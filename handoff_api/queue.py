"""The handoff queue: creation, atomic claims and the state machine.

Every function takes an open ``Session`` and leaves committing to the caller (routes commit before
answering, so an acknowledged change is durable). Each transition writes a ``handoff_events`` row in
the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff_api.claim_sql import claim_next_id
from handoff_api.errors import Conflict, Gone, NotFound
from handoff_api.eventlog import log_handoff_event
from handoff_api.models import (
    OPEN_STATUSES,
    Agent,
    CancelledHandoffKey,
    Handoff,
    HandoffEvent,
    HandoffStatus,
)

#: Reasons that jump ahead of a plain request; VIP shoppers jump further.
REASON_PRIORITY = {
    "legal_or_fraud": 30,
    "frustration": 20,
    "approval_required": 20,
    "verification_failed": 10,
    "backend_error": 10,
    "repeated_fallback": 5,
    "asked": 0,
}
VIP_PRIORITY = 100

#: legal transitions: from -> allowed targets
TRANSITIONS: dict[str, set[str]] = {
    "queued": {"assigned", "abandoned", "handed_back", "offline"},
    "assigned": {"assigned", "resolved", "handed_back", "abandoned"},
    "offline": {"resolved", "abandoned"},
    "resolved": set(),
    "handed_back": set(),
    "abandoned": set(),
}


def priority_for(reason: str, vip: bool) -> int:
    return REASON_PRIORITY.get(reason, 0) + (VIP_PRIORITY if vip else 0)


def now_utc() -> datetime:
    return datetime.now(UTC)


def record_event(
    session: Session,
    handoff_id: int,
    type_: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    agent_id: int | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    at = at or now_utc()
    session.execute(
        insert(HandoffEvent).values(
            handoff_id=handoff_id,
            type=type_,
            from_status=from_status,
            to_status=to_status,
            agent_id=agent_id,
            data=data,
            at=at,
        )
    )
    log_handoff_event(session, handoff_id, type_, agent_id=agent_id, data=data, at=at)


def open_handoff_for(session: Session, conversation_id: str) -> Handoff | None:
    return session.scalar(
        select(Handoff).where(
            Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN_STATUSES)
        )
    )


def get_handoff(session: Session, handoff_id: int, *, for_update: bool = False) -> Handoff:
    stmt = select(Handoff).where(Handoff.id == handoff_id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    handoff = session.scalar(stmt.execution_options(populate_existing=True))
    if handoff is None:
        raise NotFound(f"Handoff {handoff_id} not found")
    return handoff


def handoff_for_key(session: Session, key: str) -> Handoff | None:
    return session.scalar(select(Handoff).where(Handoff.idempotency_key == key)
                          .execution_options(populate_existing=True))


def create_handoff(session: Session, packet: dict[str, Any], *, key: str | None = None,
                   offline_due: datetime | None = None) -> tuple[Handoff, bool]:
    """Queue a handoff for ``packet``; returns ``(handoff, created)``.

    Idempotent twice over: the same ``key`` (the bot's client-generated ``Idempotency-Key``,
    repeated when it retries after a timeout) returns the handoff it created, whatever its status
    now; and a conversation has at most one open handoff, so asking again returns the open one.
    A key the bot cancelled (it gave up and told the shopper so) is refused with :class:`Gone`,
    so a late copy of the request can never queue a ghost handoff.

    ``offline_due`` set: nobody can take it now (out of hours, no agent present), so it is created
    directly as an offline case whose answer is due then.
    """
    if key is not None:
        if session.get(CancelledHandoffKey, key) is not None:
            raise Gone(f"Handoff request {key} was cancelled by the bot; send a new key")
        existing = handoff_for_key(session, key)
        if existing is not None:
            return existing, False
    existing = open_handoff_for(session, packet["conversation_id"])
    if existing is not None:
        return existing, False
    vip = bool((packet.get("customer") or {}).get("vip"))
    status = HandoffStatus.offline.value if offline_due else HandoffStatus.queued.value
    handoff = Handoff(
        conversation_id=packet["conversation_id"],
        channel=packet["channel"],
        language=packet["language"],
        reason=packet["reason"],
        vip=vip,
        priority=priority_for(packet["reason"], vip),
        status=status,
        packet=packet,
        created_at=now_utc(),
        idempotency_key=key,
        answer_due_at=offline_due,
    )
    session.add(handoff)
    try:
        session.flush()
    except IntegrityError:  # a concurrent request (same key or same conversation) won
        session.rollback()
        existing = (handoff_for_key(session, key) if key else None) or open_handoff_for(
            session, packet["conversation_id"])
        if existing is None:
            raise
        return existing, False
    record_event(
        session, handoff.id, "created", to_status=status, at=handoff.created_at,
        data={"reason": handoff.reason, "vip": vip, "channel": handoff.channel,
              **({"offline": True} if offline_due else {})},
    )
    return handoff, True


def cancel_request(session: Session, key: str) -> Handoff | None:
    """The bot gave up on creation ``key`` (it never got an answer and told the shopper it could
    not put them through): abandon the handoff if it was created and is still open, and remember
    the key so a late duplicate of the request is refused. Returns the handoff, if any."""
    if session.get(CancelledHandoffKey, key) is None:
        session.add(CancelledHandoffKey(key=key, at=now_utc()))
        session.flush()
    handoff = handoff_for_key(session, key)
    if handoff is not None and handoff.status in (*OPEN_STATUSES, HandoffStatus.offline.value):
        handoff, _ = transition(session, handoff.id, "abandoned", agent=None,
                                data={"why": "creation_unconfirmed"})
    return handoff


def expire_queued(session: Session, *, older_than: datetime, answer_due: datetime,
                  limit: int = 100) -> list[Handoff]:
    """Turn queued handoffs created before ``older_than`` into offline cases due by
    ``answer_due``; each with a conditional update, so a claim racing with the timeout wins or
    loses cleanly. Returns the handoffs changed (the caller enqueues their hand-backs)."""
    ids = session.scalars(select(Handoff.id).where(
        Handoff.status == HandoffStatus.queued.value, Handoff.created_at < older_than)
        .order_by(Handoff.created_at).limit(limit)).all()
    changed = []
    now = now_utc()
    for handoff_id in ids:
        result = session.execute(
            update(Handoff).where(Handoff.id == handoff_id,
                                  Handoff.status == HandoffStatus.queued.value)
            .values(status=HandoffStatus.offline.value, answer_due_at=answer_due))
        if result.rowcount == 1:
            record_event(session, handoff_id, "offline", from_status="queued",
                         to_status="offline", at=now,
                         data={"why": "queue_timeout", "answer_due_at": answer_due.isoformat()})
            changed.append(get_handoff(session, handoff_id))
    return changed


def answer_due_from(now: datetime, hours: float) -> datetime:
    return now + timedelta(hours=hours)


def queue_position(session: Session, handoff: Handoff) -> int:
    """1-based place in the queue (0 when no longer queued)."""
    if handoff.status != HandoffStatus.queued.value:
        return 0
    ahead = session.scalar(
        select(func.count()).select_from(Handoff).where(
            Handoff.status == HandoffStatus.queued.value,
            or_(
                Handoff.priority > handoff.priority,
                (Handoff.priority == handoff.priority) & (Handoff.created_at < handoff.created_at),
                (Handoff.priority == handoff.priority)
                & (Handoff.created_at == handoff.created_at)
                & (Handoff.id < handoff.id),
            ),
        )
    )
    return int(ahead or 0) + 1


def active_count(session: Session, agent_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Handoff).where(
                Handoff.agent_id == agent_id, Handoff.status == HandoffStatus.assigned.value
            )
        )
        or 0
    )


def _capacity(agent: Agent, default: int) -> int:
    return agent.capacity or default


def _lock_agent(session: Session, agent_id: int) -> None:
    """Serialise claims of one agent on PostgreSQL so capacity cannot be overrun concurrently."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Agent.id).where(Agent.id == agent_id).with_for_update())


def claim_next(session: Session, agent: Agent, default_capacity: int) -> Handoff | None:
    """Give ``agent`` the most urgent, longest-waiting queued handoff, or ``None`` (empty queue or
    agent at capacity). Two agents never get the same conversation."""
    handoff_id = claim_next_id(session, agent.id, _capacity(agent, default_capacity))
    if handoff_id is None:
        return None
    handoff = get_handoff(session, handoff_id)
    # the claim's handoff_events row is written by the claim statement itself
    log_handoff_event(session, handoff_id, "assigned", agent_id=agent.id, data=None,
                      at=handoff.assigned_at or now_utc())
    return handoff


def claim(session: Session, handoff_id: int, agent: Agent, default_capacity: int) -> Handoff:
    """Claim one specific handoff. Claiming one you already hold is a no-op (idempotent)."""
    _lock_agent(session, agent.id)
    handoff = get_handoff(session, handoff_id)
    if handoff.status == "assigned" and handoff.agent_id == agent.id:
        return handoff
    if handoff.status != "queued":
        who = " by another agent" if handoff.status == "assigned" else ""
        raise Conflict(f"Handoff {handoff_id} is already {handoff.status}{who}; only queued "
                       "handoffs can be claimed")
    if active_count(session, agent.id) >= _capacity(agent, default_capacity):
        raise Conflict(f"Agent {agent.username} is at capacity "
                       f"({_capacity(agent, default_capacity)} open conversations)")
    now = now_utc()
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "queued")
        .values(status="assigned", agent_id=agent.id, assigned_at=now)
    )
    if result.rowcount != 1:
        raise Conflict(f"Handoff {handoff_id} was claimed by another agent a moment ago")
    record_event(session, handoff_id, "assigned", from_status="queued", to_status="assigned",
                 agent_id=agent.id, at=now)
    return get_handoff(session, handoff_id)


def transition(
    session: Session,
    handoff_id: int,
    target: str,
    *,
    agent: Agent | None,
    data: dict[str, Any] | None = None,
) -> tuple[Handoff, bool]:
    """Move to ``target`` (resolved/handed_back/abandoned); returns ``(handoff, changed)``.
    Repeating a transition that already happened is a no-op; any other illegal one is a Conflict."""
    handoff = get_handoff(session, handoff_id, for_update=True)
    if handoff.status == target:
        return handoff, False
    if target not in TRANSITIONS[handoff.status]:
        raise Conflict(f"Handoff {handoff_id} is {handoff.status}; it cannot become {target}")
    _check_holder(handoff, agent)
    now = now_utc()
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == handoff.status)
        .values(status=target, closed_at=now)
    )
    if result.rowcount != 1:
        raise Conflict(f"Handoff {handoff_id} changed while you acted; reload it")
    record_event(session, handoff_id, target, from_status=handoff.status, to_status=target,
                 agent_id=agent.id if agent else None, data=data, at=now)
    return get_handoff(session, handoff_id), True


def transfer(
    session: Session, handoff_id: int, *, by: Agent, to: Agent, default_capacity: int
) -> Handoff:
    handoff = get_handoff(session, handoff_id, for_update=True)
    if handoff.status != "assigned":
        raise Conflict(f"Handoff {handoff_id} is {handoff.status}; only assigned handoffs can be "
                       "transferred")
    _check_holder(handoff, by)
    if handoff.agent_id == to.id:
        return handoff
    if not to.active:
        raise Conflict(f"Agent {to.username} is not active")
    _lock_agent(session, to.id)
    if active_count(session, to.id) >= _capacity(to, default_capacity):
        raise Conflict(f"Agent {to.username} is at capacity")
    session.execute(update(Handoff).where(Handoff.id == handoff_id).values(agent_id=to.id))
    record_event(session, handoff_id, "transferred", from_status="assigned", to_status="assigned",
                 agent_id=by.id, data={"from_agent_id": handoff.agent_id, "to_agent_id": to.id,
                                       "to_username": to.username})
    return get_handoff(session, handoff_id)


def _check_holder(handoff: Handoff, agent: Agent | None) -> None:
    """Only the agent holding the conversation (or a supervisor, or the bot: ``None``) may act."""
    if agent is None or agent.role == "supervisor":
        return
    if handoff.status == "assigned" and handoff.agent_id != agent.id:
        raise Conflict(f"Handoff {handoff.id} is assigned to another agent")
    if handoff.status == "queued":
        raise Conflict(f"Handoff {handoff.id} is queued; claim it first")
