"""FastAPI dependencies: database session, the bot's token, the logged-in agent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from handoff_api.auth import COOKIE_NAME, agent_for_token, bot_token_ok
from handoff_api.broker import Broker
from handoff_api.business_hours import BusinessHours
from handoff_api.handback import HandbackWorker
from handoff_api.models import Agent
from handoff_api.relay import RelayRegistry
from handoff_api.settings import Settings


@dataclass
class Services:
    """Everything one app instance owns; stored on ``app.state.services``."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    broker: Broker
    relays: RelayRegistry
    hours: BusinessHours
    handback: HandbackWorker
    canned: dict[str, Any]


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


def current_agent(request: Request, session: SessionDep) -> Agent:
    token = _bearer(request) or request.cookies.get(COOKIE_NAME)
    agent = agent_for_token(session, token) if token else None
    if agent is None:
        raise HTTPException(401, "Not logged in or session expired",
                            headers={"WWW-Authenticate": "Bearer"})
    return agent


CurrentAgent = Annotated[Agent, Depends(current_agent)]


def current_supervisor(agent: CurrentAgent) -> Agent:
    if agent.role != "supervisor":
        raise HTTPException(403, "Only supervisors can do this")
    return agent


CurrentSupervisor = Annotated[Agent, Depends(current_supervisor)]
