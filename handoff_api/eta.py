"""What the shopper is told when queued: position, estimated wait, who is there to answer.

Availability comes from the agents actually present (their console called the API or held its live
stream within ``presence_seconds``), not from unexpired login tokens — a token lives 12 hours, so
the old rule counted agents who had gone home and promised waits nobody would meet, and said "our
team isn't available" while an agent was logged in. Business hours decide what happens when nobody
is present: inside hours the shopper waits (someone may log in) until the queue timeout; outside
hours the request becomes an offline case at once, with the answer promised by ``answer_due_at``.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from handoff_api.business_hours import BusinessHours
from handoff_api.models import CLOSED_STATUSES, Agent, Handoff
from handoff_api.queue import now_utc, queue_position


def average_handling_seconds(session: Session, default: int) -> float:
    """Mean handling time of the last 50 closed handoffs a person took (default if none yet)."""
    rows = session.execute(
        select(Handoff.assigned_at, Handoff.closed_at)
        .where(Handoff.status.in_(CLOSED_STATUSES), Handoff.assigned_at.is_not(None),
               Handoff.closed_at.is_not(None))
        .order_by(Handoff.closed_at.desc()).limit(50)
    ).all()
    spans = [(c - a).total_seconds() for a, c in rows if c >= a]
    return sum(spans) / len(spans) if spans else float(default)


def agents_present(session: Session, presence_seconds: int, now: datetime | None = None) -> int:
    """Active agents whose console was seen in the last ``presence_seconds`` and who have not
    set themselves away (``handoff_api.supervisor``): the people who can take a conversation."""
    since = (now or now_utc()) - timedelta(seconds=presence_seconds)
    return int(session.scalar(select(func.count()).select_from(Agent).where(
        Agent.active, Agent.last_seen_at.is_not(None), Agent.last_seen_at >= since,
        or_(Agent.status.is_(None), Agent.status != "away"))) or 0)




def touch_presence(session: Session, agent_id: int, every_seconds: int = 30) -> bool:
    """Mark the agent present now; writes at most once per ``every_seconds`` (the caller commits a
    write session). Returns True when it wrote."""
    now = now_utc()
    result = session.execute(update(Agent).where(
        Agent.id == agent_id,
        (Agent.last_seen_at.is_(None)) | (Agent.last_seen_at < now - timedelta(
            seconds=every_seconds))).values(last_seen_at=now))
    return result.rowcount == 1


def queue_status(session: Session, handoff: Handoff, hours: BusinessHours, default_handling: int,
                 capacity: int, now: datetime | None = None, *,
                 presence_seconds: int = 90) -> dict[str, Any]:
    """The ticket the bot shows the shopper (and the widget refreshes while they wait).

    ``estimated_wait_seconds`` is ``None`` when nobody is present to answer: no made-up figure.
    """
    now = now or now_utc()
    position = queue_position(session, handoff)
    within = hours.is_open(now)
    present = agents_present(session, presence_seconds, now)
    next_open = None if within else hours.next_open(now)
    wait: int | None = 0
    if position:
        if present:
            slots = present * capacity
            wait = math.ceil(math.ceil(position / slots)
                             * average_handling_seconds(session, default_handling))
        else:
            wait = None
    return {"id": handoff.id, "status": handoff.status, "position": position,
            "estimated_wait_seconds": wait, "within_business_hours": within,
            "next_open_at": next_open, "agents_present": present,
            "answer_due_at": handoff.answer_due_at}
