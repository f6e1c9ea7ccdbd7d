"""The event log every service metric is computed from (``docs/metrics.md``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Float,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from handoff_api.tables.base import ID, Base, UTCDateTime, utcnow


class EventLogEntry(Base):
    """One thing that happened in a conversation, bot side or human side (``docs/metrics.md``).

    Written by the handoff service (every queue transition, agent message, rating: in the same
    transaction as the change, ``handoff_api.eventlog``) and by the bot's event broker
    (``bot/event_log.py``: conversation started, intent, action, bot answered, KB answer or gap,
    rating). Every metric of the dashboard is computed from this table alone
    (``handoff_api.metrics``). No personal data: ``conversation`` and ``customer`` are keyed
    pseudonyms (``privacy.records.pseudonym``) and ``text`` is redacted (``privacy.redact``).
    """

    __tablename__ = "event_log"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(8))  # bot | handoff
    type: Mapped[str] = mapped_column(String(32))
    conversation: Mapped[str] = mapped_column(String(64))
    customer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    market: Mapped[str | None] = mapped_column(String(8), nullable=True)
    handoff_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    intent: Mapped[str | None] = mapped_column(String(100), nullable=True)
    action: Mapped[str | None] = mapped_column(String(100), nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (Index("ix_event_log_at", "at"),
                      Index("ix_event_log_conversation", "conversation", "at"))
