"""Database tables of the handoff service (SQLAlchemy 2 declarative).

The ``handoff_events`` table records every transition and message with a timestamp, which is what
the metrics (first response time, handling time, first-contact resolution) are computed from.
Timestamps are stored as timezone-aware UTC. The tables are defined in ``handoff_api/tables/``, one
module per group; every one is imported here, so ``Base.metadata`` knows every table (Alembic's
``env.py`` reads it) and callers import them from this module.
"""

from __future__ import annotations

from handoff_api.tables.agents import Agent, AuthToken, LoginThrottle
from handoff_api.tables.base import ID, Base, UTCDateTime, utcnow
from handoff_api.tables.eventlog import EventLogEntry
from handoff_api.tables.handoffs import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    CancelledHandoffKey,
    DeadLetter,
    HandbackOutbox,
    Handoff,
    HandoffEvent,
    HandoffStatus,
    Message,
    MessageStatus,
    Note,
)
from handoff_api.tables.notices import MailOutbox, NotificationOptOut, OrderNotice, Withdrawal

__all__ = [
    "Agent",
    "AuthToken",
    "Base",
    "CLOSED_STATUSES",
    "CancelledHandoffKey",
    "DeadLetter",
    "EventLogEntry",
    "HandbackOutbox",
    "Handoff",
    "HandoffEvent",
    "HandoffStatus",
    "ID",
    "LoginThrottle",
    "MailOutbox",
    "Message",
    "MessageStatus",
    "Note",
    "NotificationOptOut",
    "OPEN_STATUSES",
    "OrderNotice",
    "UTCDateTime",
    "Withdrawal",
    "utcnow",
]
