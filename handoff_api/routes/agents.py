"""Agent accounts, the queue view, canned replies and supervisor metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import select

from handoff_api.auth import COOKIE_NAME, authenticate, issue_token, revoke_token
from handoff_api.deps import CurrentAgent, CurrentSupervisor, ServicesDep, SessionDep
from handoff_api.metrics import compute_metrics
from handoff_api.models import Agent, Handoff
from handoff_api.queue import active_count, now_utc
from handoff_api.schemas import LoginIn
from handoff_api.serialize import agent_view, handoff_summary

router = APIRouter(prefix="/api", tags=["agents"])


@router.post("/auth/login")
def login(body: LoginIn, response: Response, session: SessionDep, services: ServicesDep) -> dict:
    agent = authenticate(session, body.username, body.password)
    if agent is None:
        raise HTTPException(401, "Wrong username or password")
    token = issue_token(session, agent, services.settings.session_hours)
    session.commit()
    response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="lax",
                        secure=services.settings.cookie_secure,
                        max_age=services.settings.session_hours * 3600)
    return {"token": token, "token_type": "bearer", "agent": agent_view(agent)}


@router.post("/auth/logout")
def logout(request: Request, response: Response, agent: CurrentAgent, session: SessionDep) -> dict:
    header = request.headers.get("authorization", "")
    token = (header[7:].strip() if header.lower().startswith("bearer ")
             else request.cookies.get(COOKIE_NAME))
    if token:
        revoke_token(session, token)
        session.commit()
    response.delete_cookie(COOKIE_NAME)
    return {"ok": True}


@router.get("/me")
def me(agent: CurrentAgent, session: SessionDep, services: ServicesDep) -> dict:
    return {**agent_view(agent), "active_conversations": active_count(session, agent.id),
            "capacity": agent.capacity or services.settings.agent_capacity}


@router.get("/agents")
def list_agents(agent: CurrentAgent, session: SessionDep) -> list[dict]:
    """Colleagues one can transfer to."""
    agents = session.scalars(select(Agent).where(Agent.active).order_by(Agent.name))
    return [agent_view(a) for a in agents]


@router.get("/queue")
def queue(agent: CurrentAgent, session: SessionDep) -> dict:
    """Queued handoffs in claim order, plus the conversations this agent holds (all assigned ones
    for a supervisor)."""
    names = dict(session.execute(select(Agent.id, Agent.name)).all())
    queued = session.scalars(select(Handoff).where(Handoff.status == "queued")
                             .order_by(Handoff.priority.desc(), Handoff.created_at,
                                       Handoff.id)).all()
    mine = select(Handoff).where(Handoff.status == "assigned").order_by(Handoff.assigned_at)
    if agent.role != "supervisor":
        mine = mine.where(Handoff.agent_id == agent.id)
    assigned = session.scalars(mine).all()
    return {
        "queued": [{**handoff_summary(h), "position": i + 1} for i, h in enumerate(queued)],
        "assigned": [handoff_summary(h, names.get(h.agent_id)) for h in assigned],
    }


@router.get("/canned-replies")
def canned_replies(agent: CurrentAgent, services: ServicesDep,
                   lang: Literal["es", "en"] = "es") -> list[dict]:
    return [{**r, "text": r["text"].replace("{agent}", agent.name)} for r in services.canned[lang]]


@router.get("/metrics")
def metrics(supervisor: CurrentSupervisor, session: SessionDep, days: int = 30) -> dict:
    if not 1 <= days <= 365:
        raise HTTPException(422, "days must be between 1 and 365")
    return compute_metrics(session, since=now_utc() - timedelta(days=days))
