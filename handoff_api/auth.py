"""Agent accounts, sessions, CSRF tokens and login throttling.

Passwords are hashed with bcrypt. Sessions are opaque random tokens; only their SHA-256 is stored,
so a leaked database does not leak live sessions, and sessions survive a restart. They expire
(``HANDOFF_SESSION_HOURS``) and are revoked by deleting their row (logout; a supervisor revoking
all of an agent's sessions). The same token works as ``Authorization: Bearer`` (API clients) or as
the ``atiende_session`` cookie set at login (the console: HttpOnly, SameSite=Strict, Secure in
production). A request authenticated by the cookie must also carry ``X-CSRF-Token``, an HMAC of its
session that only a page able to read the API's answers (same origin) can learn.

Failed logins are counted in the database (``login_throttle``), per account and per client
address; past a few failures the next attempts are refused with "try again in N s", the wait
doubling with each further failure (capped). Counting happens *before* bcrypt runs, in a short
write transaction, so a burst of parallel guesses is counted as it arrives; bcrypt itself runs
outside any transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import bcrypt
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff_api.models import Agent, AuthToken, LoginThrottle
from handoff_api.queue import now_utc

ROLES = ("agent", "supervisor")
BCRYPT_ROUNDS = 12  # tests lower this; 12 costs ~0.25 s per login on one core
COOKIE_NAME = "atiende_session"
CSRF_HEADER = "X-CSRF-Token"


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


def revoke_agent_sessions(session: Session, agent_id: int) -> int:
    """End every session of one agent (a lost laptop, a leaver); returns how many."""
    result = session.execute(delete(AuthToken).where(AuthToken.agent_id == agent_id))
    return int(result.rowcount or 0)


def csrf_token(secret_key: str, session_token: str) -> str:
    """The CSRF token of a session: an HMAC of the session token under the server's key. A
    cross-site page can make the browser send the cookie but can neither read this nor derive
    it."""
    return hmac.new(secret_key.encode(), b"csrf:" + _token_hash(session_token).encode(),
                    hashlib.sha256).hexdigest()


def csrf_ok(secret_key: str, session_token: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(
        presented.encode(), csrf_token(secret_key, session_token).encode())


# --- login throttling -------------------------------------------------------------------------

@dataclass(frozen=True)
class ThrottleRule:
    free_failures: int     # failures allowed before any wait
    base_seconds: int      # the first wait; doubles with each further failure
    max_seconds: int       # the longest wait
    forget_after: timedelta  # a count untouched this long starts again from zero


#: per account: 5 free guesses, then 30 s, 60 s, … up to 15 min — slows guessing to a few tries
#: an hour while a real agent who mistyped waits half a minute
ACCOUNT_RULE = ThrottleRule(5, 30, 900, timedelta(minutes=30))
#: per client address (one attacker, many accounts): an office behind one NAT mistypes a lot less
#: than 20 times in a quarter of an hour
ADDRESS_RULE = ThrottleRule(20, 60, 900, timedelta(minutes=15))


class Throttled(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"try again in {math.ceil(seconds)} s")
        self.seconds = max(1, math.ceil(seconds))


def throttle_keys(username: str, address: str) -> list[tuple[str, ThrottleRule]]:
    return [(f"account:{username.strip().lower()[:150]}", ACCOUNT_RULE),
            (f"address:{address[:150]}", ADDRESS_RULE)]


def _wait(row: LoginThrottle | None, now: datetime) -> float:
    if row is None or row.locked_until is None:
        return 0.0
    return max(0.0, (row.locked_until - now).total_seconds())


def count_login_attempt(session: Session, username: str, address: str, now: datetime) -> None:
    """Refuse (``Throttled``) if the account or the address must wait; otherwise count this
    attempt as a failure now (``login_succeeded`` takes it back). Commits."""
    keys = throttle_keys(username, address)
    for _attempt in range(3):
        try:
            rows = {key: session.get(LoginThrottle, key, with_for_update=True)
                    for key, _rule in keys}
            wait = max(_wait(rows[key], now) for key, _rule in keys)
            if wait > 0:
                session.rollback()
                raise Throttled(wait)
            for key, rule in keys:
                row = rows[key]
                if row is None:
                    row = LoginThrottle(key=key, failures=0, last_failure_at=now)
                    session.add(row)
                elif now - row.last_failure_at > rule.forget_after:
                    row.failures = 0
                row.failures += 1
                row.last_failure_at = now
                over = row.failures - rule.free_failures
                row.locked_until = (now + timedelta(seconds=min(
                    rule.max_seconds, rule.base_seconds * 2 ** min(over - 1, 20))))\
                    if over > 0 else None
            session.commit()
            return
        except IntegrityError:  # another attempt created the same row first: count again
            session.rollback()
    raise Throttled(1)


def login_succeeded(session: Session, username: str, address: str) -> None:
    """The right password: the account starts from zero, and this attempt no longer counts
    against the address. Commits."""
    (account, _), (addr, _) = throttle_keys(username, address)
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == account))
    row = session.get(LoginThrottle, addr, with_for_update=True)
    if row is not None and row.failures > 0:
        row.failures -= 1
        if row.failures <= ADDRESS_RULE.free_failures:
            row.locked_until = None
    session.commit()


def bot_token_ok(presented: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())
