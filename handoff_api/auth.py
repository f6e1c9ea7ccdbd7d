"""Agent accounts and sessions.

Passwords are hashed with bcrypt. Sessions are opaque random tokens; only their SHA-256 is stored,
so a leaked database does not leak live sessions, and sessions survive a restart. The same token
works as ``Authorization: Bearer`` or as the ``atiende_session`` cookie set at login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import bcrypt
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from handoff_api.models import Agent, AuthToken
from handoff_api.queue import now_utc

ROLES = ("agent", "supervisor")
BCRYPT_ROUNDS = 12  # tests lower this; 12 costs ~0.25 s per login on one core
COOKIE_NAME = "atiende_session"


def hash_password(password: str) -> str:
    # bcrypt only reads 72 bytes; hashing the SHA-256 first keeps long passphrases meaningful
    digest = hashlib.sha256(password.encode()).hexdigest().encode()
    return bcrypt.hashpw(digest, bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def verify_password(password: str, password_hash: str) -> bool:
    digest = hashlib.sha256(password.encode()).hexdigest().encode()
    try:
        return bcrypt.checkpw(digest, password_hash.encode())
    except ValueError:
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_agent(
    session: Session,
    *,
    username: str,
    password: str,
    role: str = "agent",
    name: str | None = None,
    languages: str = "es",
    capacity: int | None = None,
) -> Agent:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    if session.scalar(select(Agent).where(Agent.username == username)) is not None:
        raise ValueError(f"agent {username!r} already exists")
    agent = Agent(
        username=username,
        name=name or username,
        password_hash=hash_password(password),
        role=role,
        languages=",".join(lang.strip() for lang in languages.split(",") if lang.strip()) or "es",
        capacity=capacity,
        active=True,
        created_at=now_utc(),
    )
    session.add(agent)
    session.flush()
    return agent


def authenticate(session: Session, username: str, password: str) -> Agent | None:
    agent = session.scalar(select(Agent).where(Agent.username == username))
    if agent is None or not agent.active:
        hash_password("timing-equaliser")  # same cost whether the user exists or not
        return None
    return agent if verify_password(password, agent.password_hash) else None


def issue_token(session: Session, agent: Agent, hours: int) -> str:
    token = secrets.token_urlsafe(32)
    now = now_utc()
    session.add(AuthToken(token_hash=_token_hash(token), agent_id=agent.id, created_at=now,
                          expires_at=now + timedelta(hours=hours)))
    return token


def agent_for_token(session: Session, token: str) -> Agent | None:
    row = session.get(AuthToken, _token_hash(token))
    if row is None or row.expires_at <= now_utc():
        return None
    agent = session.get(Agent, row.agent_id)
    return agent if agent is not None and agent.active else None


def revoke_token(session: Session, token: str) -> None:
    session.execute(delete(AuthToken).where(AuthToken.token_hash == _token_hash(token)))


def bot_token_ok(presented: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())
