"""Delivery statuses on agent messages (issue #17): Meta reports ``sent``, ``delivered``,
``read`` and ``failed`` for each message id it gave us (``messages.external_id``; a long reply
sent in parts has one id per part). The console shows the furthest state reached by every part;
``failed`` (with Meta's error) wins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from handoff_api.models import MessageStatus

STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}


def with_statuses(session: Any, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Message views with ``status`` (the furthest Meta reported over all parts; ``failed``
    wins) and ``status_error``."""
    ids = {i for v in views for i in (v.get("external_id") or "").split(",") if i}
    if not ids:
        return views
    rows = session.execute(select(MessageStatus.external_id, MessageStatus.status,
                                  MessageStatus.error).where(
        MessageStatus.external_id.in_(ids))).all()
    best: dict[str, tuple[str, str | None]] = {}
    for external_id, status, error in rows:
        if STATUS_RANK.get(status, 0) > STATUS_RANK.get(best.get(external_id, ("", None))[0], 0):
            best[external_id] = (status, error)
    for v in views:
        parts = [best.get(i) for i in (v.get("external_id") or "").split(",") if i]
        known = [p for p in parts if p]
        if not known:
            continue
        failed = next((p for p in known if p[0] == "failed"), None)
        if failed:
            v["status"], v["status_error"] = failed
        elif len(known) == len(parts):
            v["status"] = min(known, key=lambda p: STATUS_RANK[p[0]])[0]
        else:
            v["status"] = "sent"
    return views

