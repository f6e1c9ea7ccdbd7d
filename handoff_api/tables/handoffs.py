"""The handoff queue and its conversations: handoffs and their status, every transition
(``handoff_events``), messages and their delivery statuses, agents' notes, the hand-back outbox,
creations the bot gave up on and messages that could not be delivered for good."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from handoff_api.tables.base import ID, Base, UTCDateTime, utcnow


class HandoffStatus(str, enum.Enum):
    """Lifecycle of a handoff.

    queued      waiting for a person (created by the bot)
    assigned    a person has it (claim or transfer)
    resolved    the person solved it; the bot takes over to ask for a rating
    handed_back the person returned it to the bot (e.g. a question the bot can answer)
    abandoned   closed without a person (shopper left the queue, bot cancelled, creation never
                confirmed to the shopper)
    offline     nobody took it in time (queue timeout, or out of hours with no agent present): an
                offline case with a promised answer time (``answer_due_at``); the bot has the
                conversation meanwhile and an agent answers later by the shopper's channel or
                e-mail (``follow-up``), which resolves it
    """

    queued = "queued"
    assigned = "assigned"
    resolved = "resolved"
    handed_back = "handed_back"
    abandoned = "abandoned"
    offline = "offline"


OPEN_STATUSES = (HandoffStatus.queued.value, HandoffStatus.assigned.value)
CLOSED_STATUSES = ("resolved", "handed_back", "abandoned")


class Handoff(Base):
    __tablename__ = "handoffs"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(32))
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=HandoffStatus.queued.value)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    packet: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rating_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: the bot's client-generated key: a retried creation returns the same handoff
    idempotency_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: offline case: the answer promised to the shopper is due by then
    answer_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_handoffs_queue", "status", "priority", "created_at"),
        Index("uq_handoffs_idempotency_key", "idempotency_key", unique=True),
        Index("ix_handoffs_agent_status", "agent_id", "status"),
        Index(  # claim order (migration 0002): the next handoff is the first index entry
            "ix_handoffs_claim_order",
            text("priority DESC"),
            "created_at",
            "id",
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
        # at most one open handoff per conversation, even under concurrent creates
        Index(
            "uq_handoffs_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'assigned')"),
            postgresql_where=text("status IN ('queued', 'assigned')"),
        ),
    )


class HandoffEvent(Base):
    __tablename__ = "handoff_events"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"),
                                            index=True)
    type: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Message(Base):
    """A live message during the handoff: the shopper's (relayed by the bot side) or an agent's."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"),
                                            index=True)
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    message_id: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(8))  # user | agent
    text: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(32))
    agent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: stored | sending (a request has claimed the send) | sent | failed
    delivery: Mapped[str] = mapped_column(String(16), default="stored")
    delivery_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    send_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: (issue #17) text | template (an approved WhatsApp template) | echo (typed on the business
    #: phone app / page inbox); the Graph API id(s) the channel gave it (comma-separated when a
    #: long reply went in parts); what was sent (template name, language, parameters)
    kind: Mapped[str] = mapped_column(String(16), default="text", server_default="text")
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    __table_args__ = (UniqueConstraint("conversation_id", "message_id", name="uq_messages_cid_mid"),
                      )


class MessageStatus(Base):
    """A delivery status Meta reported for one of our messages (issue #17): sent, delivered,
    read, failed (with Meta's error code and title). One row per (message id, status)."""

    __tablename__ = "message_statuses"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    __table_args__ = (UniqueConstraint("channel", "external_id", "status",
                                       name="uq_message_status"),)


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"),
                                            index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HandbackOutbox(Base):
    """Hand-backs to deliver to Rasa.

    Kept until Rasa accepted them, so none is lost if Rasa is down.
    """

    __tablename__ = "handback_outbox"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"),
                                            index=True)
    conversation_id: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: what the bot needs to take over: channel, shopper messages that arrived while the handoff
    #: was closing (the bot answers them), the offline case's promised answer time
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),)


class CancelledHandoffKey(Base):
    """A creation the bot gave up on (it never got the answer): a late duplicate of that request
    must not queue a handoff the shopper was told would not happen."""

    __tablename__ = "cancelled_handoff_keys"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DeadLetter(Base):
    """A shopper message the bot side could not deliver for good: shown to agents in the console
    and counted on the health endpoint until someone deals with it."""

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    message_id: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    dismissed_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    __table_args__ = (UniqueConstraint("conversation_id", "message_id", name="uq_dead_cid_mid"),)
