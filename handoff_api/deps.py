"""FastAPI dependencies: database session, the bot's token, the logged-in agent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from handoff_api.auth import COOKIE_NAME, CSRF_HEADER, agent_for_token, bot_token_ok, csrf_ok
from handoff_api.broker import Broker
from handoff_api.business_hours import BusinessHours
from handoff_api.handback import HandbackWorker
from handoff_api.models import Agent
from handoff_api.relay import RelayRegistry
from handoff_api.settings import Settings
from privacy.erasure import PrivacySettings


@dataclass
class Services:
    """Everything one app instance owns; stored on ``app.state.services``."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]  # reads: no SQLite lock (deferred transactions)
    broker: Broker
    relays: RelayRegistry
    hours: BusinessHours
    handback: HandbackWorker
    canned: dict[str, Any]
    writes: sessionmaker[Session] | None = None  # writes: BEGIN IMMEDIATE on SQLite
    limiter: Any = None  # handoff_api.ratelimit.RateLimiter
    mail: Any = None  # handoff_api.mail.outbox.MailWorker (durable e-mail with retries)
    followups: Any = None  # handoff_api.followup_worker.FollowUpWorker (reminders + mail pass)

    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    privacy_state: dict[str, Any] = field(default_factory=dict)  # last retention run

    def write_sessions(self) -> sessionmaker[Session]:
        return self.writes or self.sessions


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    session = services.sessions()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def get_write_session(services: ServicesDep) -> Iterator[Session]:
    """A session for routes that change data: on SQLite its transactions take the write lock as
    they begin, so the route never fails half-way with "database is locked"."""
    session = services.write_sessions()()
    try:
        yield session
    finally:
        session.close()


WriteSessionDep = Annotated[Session, Depends(get_write_session)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def require_bot(request: Request, services: ServicesDep) -> None:
    token = _bearer(request)
    if token is None or not bot_token_ok(token, services.settings.bot_token):
        raise HTTPException(401,
                            "Missing or wrong bot token (Authorization: Bearer $HANDOFF_BOT_TOKEN)",
                            headers={"WWW-Authenticate": "Bearer"})


BotDep = Depends(require_bot)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_token(request: Request) -> tuple[str | None, bool]:
    """The presented session token and whether it came from the cookie (never from the URL)."""
    bearer = _bearer(request)
    if bearer:
        return bearer, False
    cookie = request.cookies.get(COOKIE_NAME)
    return (cookie, True) if cookie else (None, False)


def current_agent(request: Request, services: ServicesDep) -> Agent:
    """The logged-in agent, looked up in a short read session of its own (closed before the route
    runs, so a route's write session is the only connection it holds).

    A state-changing request authenticated by the session cookie must carry the session's CSRF
    token in ``X-CSRF-Token`` (a browser attaches the cookie to a cross-site form post too; it
    never attaches this header). Bearer requests need none: no browser sends them by itself."""
    token, from_cookie = session_token(request)
    agent = None
    if token:
        with services.sessions() as session:
            agent = agent_for_token(session, token)
    if agent is None:
        raise HTTPException(401, "Not logged in or session expired",
                            headers={"WWW-Authenticate": "Bearer"})
    if from_cookie and request.method not in SAFE_METHODS and not csrf_ok(
            services.settings.secret_key, token or "", request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"Missing or wrong {CSRF_HEADER} header (cross-site request "
                                 "refused); reload the console")
    request.state.session_token = token
    mark_present(services, agent)
    return agent


PRESENCE_WRITE_SECONDS = 30


def mark_present(services: Services, agent: Agent) -> None:
    """Record that the agent's console is live (for the shopper's "who is there" answer); writes
    at most every 30 s per agent, so reads stay lock-free."""
    from handoff_api.eta import touch_presence
    from handoff_api.queue import now_utc

    seen = agent.last_seen_at
    if seen is not None and (now_utc() - seen).total_seconds() < PRESENCE_WRITE_SECONDS:
        return
    with services.write_sessions()() as session:
        touch_presence(session, agent.id, PRESENCE_WRITE_SECONDS)
        session.commit()


CurrentAgent = Annotated[Agent, Depends(current_agent)]


def current_supervisor(agent: CurrentAgent) -> Agent:
    if agent.role != "supervisor":
        raise HTTPException(403, "Only supervisors can do this")
    return agent


CurrentSupervisor = Annotated[Agent, Depends(current_supervisor)]
