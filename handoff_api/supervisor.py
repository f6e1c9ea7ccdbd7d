"""Supervisor controls: who is there (presence and load) and moving open conversations.

**Presence** of an agent, derived at read time from two things the database keeps:

* ``last_seen_at``: the agent's console was seen — any API call, or the open live stream, which
  marks the agent every 15 s (``handoff_api.deps.mark_present``). Logging out clears it.
* ``status``: what the agent set in the console (``online`` or ``away``; migration 0010).

``offline`` when the console was not seen for ``HANDOFF_PRESENCE_SECONDS`` (90 s: the tab was
closed, the laptop slept, the agent logged out); otherwise ``away`` if the agent said so, else
``online``. Away agents keep their conversations but do not count as present for the shopper's
estimated wait (``handoff_api.eta.agents_present``).

**Load**: the conversations assigned to the agent now, against their capacity
(``agents.capacity`` or ``HANDOFF_AGENT_CAPACITY``).

**Moves** (supervisors only), each on an *open* conversation (queued or assigned), each one
conditional update plus its audit rows in the same transaction — the ``handoff_events`` row the
console shows in the conversation and the ``event_log`` row (``supervisor_*``, docs/metrics.md):

* take over: the supervisor becomes the holder (no capacity check: a supervisor stepping in);
* reassign: a named agent becomes the holder; refused (409) when that agent is inactive, offline
  or at capacity (``over_capacity`` overrides the last);
* return to queue: nobody holds it; it goes back in its old place (priority, then original
  creation time), so the shopper does not start waiting again from the end.

A move from the queue is also a claim (an ``assigned`` event), so waiting time and claims count it
like any other claim. Repeating a move that already happened changes nothing (``changed: false``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from handoff_api.errors import Conflict
from handoff_api.models import OPEN_STATUSES, Agent, Handoff
from handoff_api.queue import _lock_agent, get_handoff, now_utc, record_event

SETTABLE_STATUSES = ("online", "away")
PRESENCES = ("online", "away", "offline")

#: handoff_events types of the moves (event_log types in handoff_api.eventlog.HANDOFF_TYPES)
TAKE_OVER, REASSIGN, RETURN = "taken_over", "reassigned", "returned_to_queue"


def presence_of(agent: Agent, now: datetime, presence_seconds: int) -> str:
    seen = agent.last_seen_at
    if not agent.active or seen is None or seen < now - timedelta(seconds=presence_seconds):
        return "offline"
    return "away" if agent.status == "away" else "online"


def capacity_of(agent: Agent, default: int) -> int:
    return agent.capacity or default


def set_status(session: Session, agent: Agent, status: str) -> None:
    """The agent's own choice (``online`` | ``away``); the caller commits."""
    if status not in SETTABLE_STATUSES:
        raise ValueError(f"status must be one of {SETTABLE_STATUSES}")
    now = now_utc()
    session.execute(update(Agent).where(Agent.id == agent.id)
                    .values(status=status, status_at=now, last_seen_at=now))


def loads(session: Session) -> dict[int, int]:
    """Assigned conversations per agent id, now."""
    rows = session.execute(select(Handoff.agent_id, func.count()).where(
        Handoff.status == "assigned", Handoff.agent_id.is_not(None))
        .group_by(Handoff.agent_id)).all()
    return {int(agent_id): int(n) for agent_id, n in rows}


def agent_row(agent: Agent, *, now: datetime, presence_seconds: int, load: int,
              default_capacity: int) -> dict[str, Any]:
    return {"id": agent.id, "username": agent.username, "name": agent.name, "role": agent.role,
            "languages": agent.languages.split(","),
            "presence": presence_of(agent, now, presence_seconds),
            "status": agent.status or "online",
            "last_seen_at": agent.last_seen_at.isoformat() if agent.last_seen_at else None,
            "load": load, "capacity": capacity_of(agent, default_capacity)}


def board(session: Session, *, presence_seconds: int, default_capacity: int,
          now: datetime | None = None) -> list[dict[str, Any]]:
    """Every active agent with presence and load: online first, then away, then offline."""
    now = now or now_utc()
    counts = loads(session)
    agents = session.scalars(select(Agent).where(Agent.active).order_by(Agent.name, Agent.id))
    rows = [agent_row(a, now=now, presence_seconds=presence_seconds, load=counts.get(a.id, 0),
                      default_capacity=default_capacity) for a in agents]
    rows.sort(key=lambda r: PRESENCES.index(r["presence"]))  # stable: by name within each
    return rows


@dataclass
class Move:
    handoff: Handoff
    changed: bool
    from_status: str
    from_agent_id: int | None


def _move(session: Session, handoff_id: int, *, by: Agent, to: Agent | None, kind: str,
          checks: Any = None) -> Move:
    handoff = get_handoff(session, handoff_id, for_update=True)
    before, holder = handoff.status, handoff.agent_id
    if before not in OPEN_STATUSES:
        raise Conflict(f"Handoff {handoff_id} is {before}; only open conversations (queued or "
                       "assigned) can be taken over, reassigned or returned to the queue")
    if to is None and before == "queued":
        return Move(handoff, False, before, holder)
    if to is not None and before == "assigned" and holder == to.id:
        return Move(handoff, False, before, holder)
    if checks is not None:
        checks()
    now = now_utc()
    condition = [Handoff.id == handoff_id, Handoff.status == before]
    condition.append(Handoff.agent_id.is_(None) if holder is None else Handoff.agent_id == holder)
    if to is None:
        values: dict[str, Any] = {"status": "queued", "agent_id": None, "assigned_at": None}
        after = "queued"
    else:
        values = {"status": "assigned", "agent_id": to.id}
        if before == "queued":
            values["assigned_at"] = now
        after = "assigned"
    if session.execute(update(Handoff).where(*condition).values(**values)).rowcount != 1:
        raise Conflict(f"Handoff {handoff_id} changed while you acted (claimed, closed or "
                       "moved by someone else); reload it")
    if before == "queued" and to is not None:  # also a claim, for waiting time and claim counts
        record_event(session, handoff_id, "assigned", from_status="queued", to_status="assigned",
                     agent_id=to.id, at=now)
    record_event(session, handoff_id, kind, from_status=before, to_status=after, agent_id=by.id,
                 at=now, data={"by_agent_id": by.id, "by_username": by.username,
                               "from_agent_id": holder,
                               "to_agent_id": to.id if to else None,
                               "to_username": to.username if to else None})
    return Move(get_handoff(session, handoff_id), True, before, holder)


def take_over(session: Session, handoff_id: int, supervisor: Agent) -> Move:
    return _move(session, handoff_id, by=supervisor, to=supervisor, kind=TAKE_OVER)


def reassign(session: Session, handoff_id: int, *, by: Agent, to: Agent, default_capacity: int,
             presence_seconds: int, over_capacity: bool = False) -> Move:
    def checks() -> None:
        if not to.active:
            raise Conflict(f"Agent {to.username} is not active")
        if presence_of(to, now_utc(), presence_seconds) == "offline":
            raise Conflict(f"Agent {to.username} is offline (console not seen in the last "
                           f"{presence_seconds} s); choose someone online or return the "
                           "conversation to the queue")
        _lock_agent(session, to.id)
        load = loads(session).get(to.id, 0)
        if load >= capacity_of(to, default_capacity) and not over_capacity:
            raise Conflict(f"Agent {to.username} is at capacity ({load} of "
                           f"{capacity_of(to, default_capacity)} conversations); send "
                           "over_capacity: true to assign it anyway")

    return _move(session, handoff_id, by=by, to=to, kind=REASSIGN, checks=checks)


def return_to_queue(session: Session, handoff_id: int, *, by: Agent) -> Move:
    return _move(session, handoff_id, by=by, to=None, kind=RETURN)
