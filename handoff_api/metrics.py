"""Supervisor metrics computed from handoff timestamps (mirrored in ``handoff_events``).

- first response: created -> first agent reply delivered
- wait: created -> assigned
- handling time (TMA, tiempo medio de atención): assigned -> closed
- FCR (first-contact resolution): share of resolved handoffs whose conversation did not come back
  to the queue within ``fcr_window_hours`` after closing
- CSAT: mean rating and count of ratings
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from statistics import mean, median
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff_api.models import Handoff
from handoff_api.queue import now_utc


def _stats(values: list[float]) -> dict[str, float | int | None]:
    return {"count": len(values), "mean": round(mean(values), 1) if values else None,
            "median": round(median(values), 1) if values else None}


def compute_metrics(session: Session, *, since: datetime | None = None,
                    fcr_window_hours: int = 72) -> dict[str, Any]:
    since = since or now_utc() - timedelta(days=30)
    by_status = dict(session.execute(
        select(Handoff.status, func.count()).group_by(Handoff.status)).all())
    rows = session.scalars(select(Handoff).where(Handoff.created_at >= since)
                           .order_by(Handoff.created_at)).all()
    first_response, wait, handling, ratings = [], [], [], []
    by_conversation: dict[str, list[Handoff]] = defaultdict(list)
    by_reason: dict[str, int] = defaultdict(int)
    for h in rows:
        by_conversation[h.conversation_id].append(h)
        by_reason[h.reason] += 1
        if h.first_response_at:
            first_response.append((h.first_response_at - h.created_at).total_seconds())
        if h.assigned_at:
            wait.append((h.assigned_at - h.created_at).total_seconds())
            if h.closed_at and h.status in ("resolved", "handed_back"):
                handling.append((h.closed_at - h.assigned_at).total_seconds())
        if h.rating:
            ratings.append(h.rating)
    resolved = [h for h in rows if h.status == "resolved" and h.closed_at]
    window = timedelta(hours=fcr_window_hours)
    reopened = sum(
        1 for h in resolved
        if any(o.id != h.id and h.closed_at <= o.created_at <= h.closed_at + window
               for o in by_conversation[h.conversation_id])
    )
    return {
        "since": since.isoformat(),
        "status_counts": {s: by_status.get(s, 0) for s in
                          ("queued", "assigned", "resolved", "handed_back", "abandoned")},
        "reasons": dict(by_reason),
        "first_response_seconds": _stats(first_response),
        "wait_seconds": _stats(wait),
        "handling_seconds": _stats(handling),
        "fcr": {"resolved": len(resolved), "reopened": reopened,
                "rate": round((len(resolved) - reopened) / len(resolved), 3) if resolved else None,
                "window_hours": fcr_window_hours},
        "csat": {"count": len(ratings), "mean": round(mean(ratings), 2) if ratings else None},
    }
