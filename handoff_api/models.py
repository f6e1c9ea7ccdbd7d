"""Database tables of the handoff service (SQLAlchemy 2 declarative).

The ``handoff_events`` table records every transition and message with a timestamp, which is what
the metrics (first response time, handling time, first-contact resolution) are computed from.
Timestamps are stored as timezone-aware UTC.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite would otherwise return naive values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


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

ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrement needs INTEGER


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # agent | supervisor
    languages: Mapped[str] = mapped_column(String(64), default="es")
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: last time the agent's console was seen (API call or live stream); "present" = recent
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: what the agent set in the console: online | away (None: online); presence is derived from
    #: this and ``last_seen_at`` (handoff_api.supervisor, migration 0010)
    status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuthToken(Base):
    __tablename__ = "auth_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


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


class MailOutbox(Base):
    """E-mails to send (offline-case answers and reminders today; any kind tomorrow).

    Written in the same transaction as what they announce, sent by ``handoff_api.mail.outbox``
    with retries, so an SMTP outage delays a mail but never loses it. ``key`` makes enqueueing
    idempotent (a retried request does not mail twice); ``kind`` picks what happens once sent.
    """

    __tablename__ = "mail_outbox"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_addr: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    handoff_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    #: the ``messages`` row this mail carries (its delivery state follows the mail's)
    message_row_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: pending | sent | dead (gave up: permanent refusal or too many attempts)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    smtp_message_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: extra headers (order notices: List-Unsubscribe), migration 0009
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)


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


class LoginThrottle(Base):
    """Failed console logins, per account (``account:<username>``) and per client address
    (``address:<ip>``): shared by every replica and kept across restarts, so neither a restart
    nor a second API process resets an attacker's count (migration 0005)."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OrderNotice(Base):
    """One proactive message about one order event (issue #16, "order events"): the row is the
    de-duplication. Its key names the *fact* (``platform:order:kind``), so a platform's retries of
    a delivery, concurrent replays and a second webhook announcing the same fact all find the same
    row, and the shopper is told once. Claimed with an insert (the primary key decides between
    concurrent requests on SQLite and PostgreSQL); a claim not finished within its lease (crash)
    or released after a failure (``retry``) may be claimed again by the platform's next retry.
    No contact data here: the channel, and the mail row when it went by e-mail.
    """

    __tablename__ = "order_notices"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    order_ref: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    #: processing | sent (WhatsApp template accepted) | mailed (in the mail outbox) | opted_out |
    #: no_contact | stale (the store says otherwise now) | not_found | retry (failed, retried on
    #: the platform's next delivery)
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(16), nullable=True)  # whatsapp | email
    delivery_key: Mapped[str] = mapped_column(String(200))  # the delivery that claimed it last
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    mail_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NotificationOptOut(Base):
    """A shopper who said stop to order notifications, keyed by a hash of the contact (see
    ``handoff_api.order_contacts.contact_hash``): kept through erasure and retention on purpose,
    and holding no address or number."""

    __tablename__ = "notification_opt_outs"
    contact_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # email_link | whatsapp | bot | agent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Withdrawal(Base):
    """A shopper's withdrawal from a purchase (right of withdrawal, issue #13), as confirmed in the
    chat: one per order (``code``), with the offline case opened for the agents and the
    acknowledgement mail. Name and e-mail are the contract's identification the law lets the
    store ask for."""

    __tablename__ = "withdrawals"
    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    order_ref: Mapped[str] = mapped_column(String(64), index=True)
    market: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    within_period: Mapped[bool] = mapped_column(Boolean)
    deadline: Mapped[str | None] = mapped_column(String(10), nullable=True)  # ISO date
    store_recorded: Mapped[bool] = mapped_column(Boolean)
    conversation_id: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(32))
    handoff_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mail_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
