"""What the shopper is told when queued: position, estimated wait, business hours."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from handoff_api.business_hours import BusinessHours
from handoff_api.models import CLOSED_STATUSES, AuthToken, Handoff
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


def agents_online(session: Session) -> int:
    return int(session.scalar(select(func.count(distinct(AuthToken.agent_id)))
                              .where(AuthToken.expires_at > now_utc())) or 0)


def queue_status(session: Session, handoff: Handoff, hours: BusinessHours, default_handling: int,
                 capacity: int, now: datetime | None = None) -> dict[str, Any]:
    now = now or now_utc()
    position = queue_position(session, handoff)
    within = hours.is_open(now)
    next_open = None if within else hours.next_open(now)
    wait: int | None = 0
    if position:
        slots = max(1, agents_online(session)) * capacity
        wait = math.ceil(math.ceil(position / slots) * average_handling_seconds(session,
                                                                                default_handling))
        if next_open is not None:
            wait += math.ceil((next_open - now).total_seconds())
    return {"id": handoff.id, "status": handoff.status, "position": position,
            "estimated_wait_seconds": wait, "within_business_hours": within,
            "next_open_at": next_open}
