"""Agent accounts, the queue view, canned replies and supervisor metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import select, update

from handoff_api.auth import (
    COOKIE_NAME,
    Throttled,
    authenticate,
    count_login_attempt,
    csrf_token,
    issue_token,
    login_succeeded,
    revoke_agent_sessions,
    revoke_token,
)
from handoff_api.broker import CONSOLE_TOPIC
from handoff_api.deps import (
    CurrentAgent,
    CurrentSupervisor,
    ServicesDep,
    SessionDep,
    WriteSessionDep,
)
from handoff_api.eta import touch_presence
from handoff_api.metrics import compute_metrics
from handoff_api.models import Agent, DeadLetter, Handoff
from handoff_api.queue import active_count, now_utc
from handoff_api.ratelimit import client_key, limit
from handoff_api.routes.common import ItemId, errors
from handoff_api.schemas import LoginIn
from handoff_api.search import with_activity
from handoff_api.serialize import agent_view, handoff_summary, iso
from handoff_api.supervisor import presence_of, set_status

router = APIRouter(prefix="/api", tags=["agents"])


def secure_cookies(services: ServicesDep) -> bool:
    """Cookies are Secure in production whatever ``HANDOFF_COOKIE_SECURE`` says."""
    s = services.settings
    return bool(s.cookie_secure) or s.environment == "production"


@router.post("/auth/login", responses=errors(401),
             dependencies=[Depends(limit("login", lambda s: s.login_rate_limit))])
def login(body: LoginIn, request: Request, response: Response, session: SessionDep,
          services: ServicesDep) -> dict:
    """Log in; the answer sets the session cookie and carries the session's ``csrf_token`` (for
    ``X-CSRF-Token``). Failed attempts are throttled per account and per client address: 429
    with ``Retry-After`` and "try again in N s"."""
    address = client_key(request)
    try:
        with services.write_sessions()() as write:  # a short write: count before bcrypt runs
            count_login_attempt(write, body.username, address, now_utc())
    except Throttled as exc:
        raise HTTPException(429, f"Too many failed logins for this account or from this "
                                 f"address; try again in {exc.seconds} s",
                            headers={"Retry-After": str(exc.seconds)}) from None
    # bcrypt (~0.25 s) runs in a read session: on SQLite it holds no lock, so logins never stall
    # the writers; only the writes around it take the write lock, each for a moment
    agent = authenticate(session, body.username, body.password)
    session.commit()
    if agent is None:
        raise HTTPException(401, "Wrong username or password")
    with services.write_sessions()() as write:
        login_succeeded(write, body.username, address)
        token = issue_token(write, agent, services.settings.session_hours)
        touch_presence(write, agent.id, every_seconds=0)  # a fresh login is a present agent
        if agent.status == "away":  # ... and one back at work: online, whatever it said before
            set_status(write, agent, "online")
        write.commit()
    response.set_cookie(COOKIE_NAME, token, httponly=True, samesite="strict", path="/",
                        secure=secure_cookies(services),
                        max_age=services.settings.session_hours * 3600)
    return {"token": token, "token_type": "bearer", "agent": agent_view(agent),
            "csrf_token": csrf_token(services.settings.secret_key, token)}


@router.post("/auth/logout", responses=errors(401))
def logout(request: Request, response: Response, agent: CurrentAgent,
           session: WriteSessionDep, services: ServicesDep) -> dict:
    """Revoke this session (its cookie and bearer token stop working, its live stream closes)."""
    token = getattr(request.state, "session_token", None)
    if token:
        revoke_token(session, token)
    # logging out is leaving: offline at once (another open console of the same agent marks
    # them present again with its next heartbeat)
    session.execute(update(Agent).where(Agent.id == agent.id).values(last_seen_at=None))
    session.commit()
    services.broker.publish(CONSOLE_TOPIC, "sessions_revoked", {"agent_id": agent.id})
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict",
                           secure=secure_cookies(services))
    return {"ok": True}


@router.post("/agents/{item_id}/sessions/revoke", responses=errors(401, 403, 404))
def revoke_sessions(item_id: ItemId, supervisor: CurrentSupervisor, session: WriteSessionDep,
                    services: ServicesDep) -> dict:
    """Supervisor: log an agent out everywhere (a lost laptop, a leaver); open consoles of that
    agent lose their live stream at once."""
    target = session.get(Agent, item_id)
    if target is None:
        raise HTTPException(404, f"Agent {item_id} not found")
    revoked = revoke_agent_sessions(session, target.id)
    session.commit()
    services.broker.publish(CONSOLE_TOPIC, "sessions_revoked", {"agent_id": target.id})
    return {"agent": agent_view(target), "revoked_sessions": revoked}


@router.get("/me", responses=errors(401))
def me(request: Request, agent: CurrentAgent, session: SessionDep,
       services: ServicesDep) -> dict:
    """The logged-in agent, and the session's ``csrf_token`` (a reloaded console reads it here)."""
    token = getattr(request.state, "session_token", None) or ""
    fresh = session.get(Agent, agent.id) or agent  # presence as just marked by this request
    return {**agent_view(agent), "active_conversations": active_count(session, agent.id),
            "capacity": agent.capacity or services.settings.agent_capacity,
            "status": fresh.status or "online",
            "presence": presence_of(fresh, now_utc(), services.settings.presence_seconds),
            "csrf_token": csrf_token(services.settings.secret_key, token)}


class StatusIn(BaseModel):
    status: Literal["online", "away"]


@router.post("/me/status", responses=errors(401))
def post_status(body: StatusIn, agent: CurrentAgent, session: WriteSessionDep,
                services: ServicesDep) -> dict:
    """Set your own status: ``online`` (taking conversations) or ``away`` (on a break: you keep
    your conversations, supervisors see you away, and you do not count as present in the wait
    shoppers are told). Offline needs no setting: it is closing the console or logging out."""
    set_status(session, agent, body.status)
    session.commit()
    fresh = session.get(Agent, agent.id)
    assert fresh is not None
    services.broker.publish(CONSOLE_TOPIC, "agent_status",
                            {"agent_id": agent.id, "status": body.status})
    return {"status": body.status,
            "presence": presence_of(fresh, now_utc(), services.settings.presence_seconds)}


@router.get("/agents", responses=errors(401))
def list_agents(agent: CurrentAgent, session: SessionDep) -> list[dict]:
    """Colleagues one can transfer to."""
    agents = session.scalars(select(Agent).where(Agent.active).order_by(Agent.name))
    return [agent_view(a) for a in agents]


@router.get("/queue", responses=errors(401))
def queue(agent: CurrentAgent, session: SessionDep) -> dict:
    """Queued handoffs in claim order, the conversations this agent holds ("Mis conversaciones":
    one's own only, supervisors included; supervisors see everyone's on the dashboard's agents
    panel, ``GET /api/supervisor/agents``), offline cases awaiting a written answer (soonest due
    first) and the shopper messages the bot side could not deliver (dead letters)."""
    names = dict(session.execute(select(Agent.id, Agent.name)).all())
    queued = session.scalars(select(Handoff).where(Handoff.status == "queued")
                             .order_by(Handoff.priority.desc(), Handoff.created_at,
                                       Handoff.id)).all()
    mine = select(Handoff).where(Handoff.status == "assigned", Handoff.agent_id == agent.id)\
        .order_by(Handoff.assigned_at)
    assigned = session.scalars(mine).all()
    offline = session.scalars(select(Handoff).where(Handoff.status == "offline")
                              .order_by(Handoff.answer_due_at, Handoff.id).limit(200)).all()
    dead = session.scalars(select(DeadLetter).where(DeadLetter.dismissed_at.is_(None))
                           .order_by(DeadLetter.id).limit(200)).all()
    return {
        "queued": with_activity(session, [{**handoff_summary(h), "position": i + 1}
                                          for i, h in enumerate(queued)]),
        "assigned": with_activity(session, [handoff_summary(h, names.get(h.agent_id))
                                            for h in assigned]),
        "offline": [{**handoff_summary(h), "answer_due_at": iso(h.answer_due_at)}
                    for h in offline],
        "dead_letters": [dead_letter_view(d) for d in dead],
    }


def dead_letter_view(d: DeadLetter) -> dict:
    return {"id": d.id, "conversation_id": d.conversation_id, "message_id": d.message_id,
            "channel": d.channel, "text": d.text, "reason": d.reason,
            "created_at": iso(d.created_at)}


@router.post("/dead-letters/{item_id}/dismiss", responses=errors(401, 404))
def dismiss_dead_letter(item_id: ItemId, agent: CurrentAgent, session: WriteSessionDep) -> dict:
    """An agent dealt with an undeliverable shopper message (e.g. wrote to the shopper)."""
    item = session.get(DeadLetter, item_id)
    if item is None:
        raise HTTPException(404, f"Dead letter {item_id} not found")
    if item.dismissed_at is None:
        item.dismissed_at, item.dismissed_by = now_utc(), agent.id
    session.commit()
    return dead_letter_view(item)


@router.get("/canned-replies", responses=errors(401))
def canned_replies(agent: CurrentAgent, services: ServicesDep,
                   lang: Literal["es", "en"] = "es") -> list[dict]:
    return [{**r, "text": r["text"].replace("{agent}", agent.name)} for r in services.canned[lang]]


@router.get("/metrics", responses=errors(401, 403))
def metrics(supervisor: CurrentSupervisor, session: SessionDep, services: ServicesDep,
            days: int = Query(default=30, ge=1, le=365)) -> dict:
    """The last ``days`` x 24 hours; buckets and heat map on the store's clock (BUSINESS_TZ)."""
    return compute_metrics(session, since=now_utc() - timedelta(days=days),
                           tz=services.settings.business_tz)
