"""What the service tells shoppers outside a conversation, and the records behind it: the mail
outbox, order notices (issue #16) and opt-outs, and withdrawals from a purchase (issue #13)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from handoff_api.tables.base import ID, Base, UTCDateTime, utcnow


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
