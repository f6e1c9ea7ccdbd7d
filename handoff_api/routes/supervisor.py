"""Supervisor controls over the API: the agents board, take over, reassign, return to queue.

Supervisors only (an agent gets 403 "Only supervisors can do this"); the rules are in
``handoff_api.supervisor``. Every move is announced on the console's live stream (so the agent
who lost a conversation sees it leave "Mis conversaciones" at once) and to the shopper's widget
(a new agent joined, or back in the queue).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

from handoff_api import supervisor as sup
from handoff_api.broker import CONSOLE_TOPIC, widget_topic
from handoff_api.deps import CurrentSupervisor, ServicesDep, SessionDep, WriteSessionDep
from handoff_api.models import OPEN_STATUSES, Agent, Handoff
from handoff_api.queue import now_utc
from handoff_api.routes.common import HandoffId, errors
from handoff_api.schemas import SafeStr
from handoff_api.serialize import agent_view, handoff_summary

router = APIRouter(prefix="/api/supervisor", tags=["supervisor"])


class ReassignIn(BaseModel):
    agent_username: Annotated[SafeStr, Field(min_length=1, max_length=64)]
    #: assign even when the agent already holds as many conversations as their capacity
    over_capacity: bool = False


def _names(session: SessionDep) -> dict[int, str]:
    return dict(session.execute(select(Agent.id, Agent.name)).all())


@router.get("/agents", responses=errors(401, 403))
def agents_board(_supervisor: CurrentSupervisor, session: SessionDep,
                 services: ServicesDep) -> dict:
    """Every active agent with presence (online | away | offline) and load (assigned
    conversations / capacity), and every open conversation (queued first, in claim order, then
    assigned, oldest first) with its holder: what the dashboard's agents panel shows."""
    s = services.settings
    now = now_utc()
    names = _names(session)
    rows = session.scalars(select(Handoff).where(Handoff.status.in_(OPEN_STATUSES))
                           .order_by(Handoff.status.desc(), Handoff.priority.desc(),
                                     Handoff.created_at, Handoff.id).limit(500)).all()
    return {
        "at": now.isoformat(),
        "presence_seconds": s.presence_seconds,
        "agents": sup.board(session, presence_seconds=s.presence_seconds,
                            default_capacity=s.agent_capacity, now=now),
        "conversations": [handoff_summary(h, names.get(h.agent_id)) for h in rows],
    }


def _answer(move: sup.Move, session: SessionDep, services: ServicesDep, kind: str,
            by: Agent) -> dict:
    handoff = move.handoff
    holder = session.get(Agent, handoff.agent_id) if handoff.agent_id else None
    summary = handoff_summary(handoff, holder.name if holder else None)
    if move.changed:
        detail = {"by": agent_view(by), "from_agent_id": move.from_agent_id, "action": kind}
        if holder is None:  # back in the queue: a waiting conversation for every console
            services.broker.publish(CONSOLE_TOPIC, "handoff_created",
                                    {**summary, "requeued": True, **detail})
            services.broker.publish(widget_topic(handoff.conversation_id), "queue_joined",
                                    {"handoff_id": handoff.id, "status": handoff.status})
        else:
            event = "handoff_assigned" if move.from_status == "queued" else "handoff_transferred"
            services.broker.publish(CONSOLE_TOPIC, event,
                                    {**summary, "to": agent_view(holder), **detail})
            services.broker.publish(widget_topic(handoff.conversation_id), "agent_joined",
                                    {"agent_name": holder.name, "handoff_id": handoff.id})
    return {**summary, "changed": move.changed}


@router.post("/handoffs/{handoff_id}/take-over", responses=errors(401, 403, 404, 409))
def take_over(handoff_id: HandoffId, supervisor: CurrentSupervisor, session: WriteSessionDep,
              services: ServicesDep) -> dict:
    """Take an open conversation (queued, or held by any agent) yourself. 409 when it is no
    longer open or changed meanwhile."""
    move = sup.take_over(session, handoff_id, supervisor)
    session.commit()
    return _answer(move, session, services, sup.TAKE_OVER, supervisor)


@router.post("/handoffs/{handoff_id}/reassign", responses=errors(401, 403, 404, 409))
def reassign(handoff_id: HandoffId, body: ReassignIn, supervisor: CurrentSupervisor,
             session: WriteSessionDep, services: ServicesDep) -> dict:
    """Give an open conversation to the named agent. 404 for an unknown agent; 409 when the
    agent is inactive, offline or at capacity (``over_capacity: true`` overrides capacity only),
    or the conversation is no longer open."""
    target = session.scalar(select(Agent).where(Agent.username == body.agent_username))
    if target is None:
        raise HTTPException(404, f"Agent {body.agent_username} not found")
    s = services.settings
    move = sup.reassign(session, handoff_id, by=supervisor, to=target,
                        default_capacity=s.agent_capacity, presence_seconds=s.presence_seconds,
                        over_capacity=body.over_capacity)
    session.commit()
    return _answer(move, session, services, sup.REASSIGN, supervisor)


@router.post("/handoffs/{handoff_id}/return-to-queue", responses=errors(401, 403, 404, 409))
def return_to_queue(handoff_id: HandoffId, supervisor: CurrentSupervisor,
                    session: WriteSessionDep, services: ServicesDep) -> dict:
    """Take an assigned conversation away from its agent and put it back in the queue, in its
    old place. A queued one stays as it is (``changed: false``); 409 when it is closed."""
    move = sup.return_to_queue(session, handoff_id, by=supervisor)
    session.commit()
    return _answer(move, session, services, sup.RETURN, supervisor)
