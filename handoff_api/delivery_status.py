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



#: Why a reply was not delivered, as a code the console translates (``deliveryReasons`` in
#: static/console/i18n.js, es and en): the channels' reasons are English sentences for the log
#: and support, each opening with a stable prefix (``whatsapp_unreachable: ConnectError``). The
#: first matching pattern wins; anything else is ``other`` (the console shows the text as well).
FAILURE_REASONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("interrupted", ("interrupted:",)),
    ("window_closed", ("_window_closed",)),
    ("unreachable", ("_unreachable",)),
    ("not_configured", ("_not_configured", "No relay is configured", "is not installed")),
    ("unsupported", ("cannot be sent on channel",)),
    ("refused", ("_error:",)),
    ("email", ("e-mail:",)),
)


def failure_reason(error: str | None) -> str:
    """The code of a failed delivery's reason (see ``FAILURE_REASONS``)."""
    text = error or ""
    for code, patterns in FAILURE_REASONS:
        if any(p in text for p in patterns):
            return code
    return "other"
