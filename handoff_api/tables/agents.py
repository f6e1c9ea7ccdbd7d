"""The people at the console: agents and supervisors, their session tokens and the failed-login
counters that slow an attacker down."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from handoff_api.tables.base import ID, Base, UTCDateTime, utcnow


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


class LoginThrottle(Base):
    """Failed console logins, per account (``account:<username>``) and per client address
    (``address:<ip>``): shared by every replica and kept across restarts, so neither a restart
    nor a second API process resets an attacker's count (migration 0005)."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
