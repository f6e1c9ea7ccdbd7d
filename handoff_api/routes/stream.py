"""Live streams (SSE) for the console and the shopper's widget, and the widget's replay.

Console events (``GET /api/stream``, authenticated by the session cookie — EventSource sends it on
the same origin — or ``Authorization: Bearer``; never a token in the URL): ``handoff_created``,
``handoff_assigned``, ``handoff_transferred``, ``handoff_closed`` (data: handoff summary),
``message`` (``{handoff_id, agent_id, message}``), ``note``. Messages and notes reach only the
agents allowed to read that handoff (``routes.handoffs.may_see``); a revoked or expired session's
stream ends.

Widget routes (``/api/widget/stream``, ``/messages``, ``/queue``) name no conversation in the URL:
the ``X-Atiende-Conversation`` header carries the conversation token Rasa's socket.io channel
issued (``contracts.web_conversation``), so a conversation id read in a log, or guessed, opens
nothing, and access logs never hold one. The widget reads the stream with ``fetch`` (EventSource
cannot send headers). Widget events: ``agent_joined``, ``agent_message``, ``agent_left``,
``queue_joined``, ``queue_left`` and ``queue_changed`` (the queue moved: re-read ``/queue``).
The widget also tells the console when the shopper types (``POST /api/widget/typing``, the console
event ``typing``, private like messages).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sse_starlette.sse import EventSourceResponse

from contracts import web_conversation
from handoff_api.auth import agent_for_token
from handoff_api.broker import CONSOLE_TOPIC, QUEUE_TOPIC, widget_topic
from handoff_api.deps import ServicesDep, SessionDep, mark_present, session_token
from handoff_api.eta import queue_status
from handoff_api.models import Handoff, Message
from handoff_api.queue import open_handoff_for
from handoff_api.ratelimit import limit
from handoff_api.routes.common import errors
from handoff_api.routes.handoffs import may_see
from handoff_api.schemas import MAX_ID
from handoff_api.serialize import iso, message_view

PUBLIC = [Depends(limit("widget", lambda s: s.public_rate_limit))]

router = APIRouter(prefix="/api", tags=["stream"])
PING_SECONDS = 15


#: console events only some agents may see (they carry a conversation's text)
PRIVATE_EVENTS = frozenset({"message", "note", "typing"})


def _visible(agent: Any, item: dict[str, Any]) -> bool:
    if item["event"] not in PRIVATE_EVENTS:
        return True
    data = item["data"] or {}
    holder = data.get("agent_id")
    status = data.get("status") or ("queued" if holder is None else "assigned")
    return may_see({"agent_id": holder, "status": status}, agent)


def _still_valid(services: Any, token: str) -> bool:
    with services.sessions() as session:
        ok = agent_for_token(session, token) is not None
        session.commit()
    return ok


async def _events(request: Request, services: Any, topic: str,
                  agent: Any = None, *more: str,
                  token: str | None = None) -> AsyncIterator[dict[str, str]]:
    async with services.broker.subscribe(topic, *more) as queue:
        yield {"event": "ready", "data": json.dumps({"topic": topic})}
        while True:
            if await request.is_disconnected():
                break
            if agent is not None:  # an open console is a present agent
                await asyncio.to_thread(mark_present, services, agent)
            try:
                item = await asyncio.wait_for(queue.get(), PING_SECONDS)
            except TimeoutError:
                item = None  # sse-starlette sends its own pings; loop to notice disconnects
            if token is not None and (item is None or item["event"] == "sessions_revoked"):
                # a logged-out, revoked or expired session loses its stream
                if not await asyncio.to_thread(_still_valid, services, token):
                    yield {"event": "session_ended", "data": "{}"}
                    break
            if item is None or item["event"] == "sessions_revoked":
                continue
            if agent is not None and not _visible(agent, item):
                continue
            yield {"event": item["event"], "data": json.dumps(item["data"], default=str)}


@router.get("/stream", responses=errors(401))
def console_stream(request: Request, services: ServicesDep) -> EventSourceResponse:
    """The console's live events; authenticated by the session cookie (or a bearer header)."""
    presented, _cookie = session_token(request)
    # a short session of its own: a dependency session would stay open (and, on SQLite, hold the
    # write lock) for as long as the stream lasts
    with services.sessions() as session:
        agent = agent_for_token(session, presented) if presented else None
        session.commit()
    if agent is None:
        raise HTTPException(401, "Not logged in or session expired")
    return EventSourceResponse(_events(request, services, CONSOLE_TOPIC, agent,
                                       token=presented), ping=PING_SECONDS)


WEB_CHANNELS = ("socketio", "rest", "webchat")


ConversationToken = Annotated[str | None, Header(
    alias=web_conversation.HEADER, max_length=250,
    description="the conversation token Rasa's socket.io channel issued to the widget")]


def widget_conversation(request: Request, token: ConversationToken = None) -> str:
    """The web conversation the request's token proves; 401 without a valid one. Only web-chat
    conversations have tokens: WhatsApp and Messenger ids (phone numbers, page-scoped ids) can
    never be read here."""
    services = request.app.state.services
    key = web_conversation.signing_key(services.settings.bot_token)
    conversation_id = web_conversation.conversation_of(key, token)
    if conversation_id is None:
        raise HTTPException(401, f"Missing or invalid {web_conversation.HEADER} header: the "
                                 "widget's conversation token is required")
    if conversation_id.lstrip("+").isdigit():  # defence in depth: never a phone/PSID thread
        raise HTTPException(404, "Not a web chat conversation")
    return conversation_id


WidgetConversation = Annotated[str, Depends(widget_conversation)]


@router.get("/widget/stream", dependencies=PUBLIC, responses=errors(401, 404))
def widget_stream(conversation_id: WidgetConversation, request: Request,
                  services: ServicesDep) -> EventSourceResponse:
    # its own events, plus ``queue_changed`` (no data) whenever the queue moves, so a waiting
    # shopper's place and estimate are re-read at once
    return EventSourceResponse(_events(request, services, widget_topic(conversation_id), None,
                                       QUEUE_TOPIC), ping=PING_SECONDS)


@router.get("/widget/messages", dependencies=PUBLIC, responses=errors(401, 404))
def widget_messages(conversation_id: WidgetConversation, session: SessionDep,
                    after: int = Query(default=0, ge=0, le=MAX_ID),
                    limit: int = Query(default=100, ge=1, le=500)) -> dict:
    """Agent messages delivered to this conversation with id > ``after``.

    Used to replay after a reconnect.
    """
    rows = session.scalars(
        select(Message).join(Handoff, Handoff.id == Message.handoff_id)
        .where(Message.conversation_id == conversation_id, Message.role == "agent",
               Handoff.channel.in_(WEB_CHANNELS),
               Message.delivery == "sent", Message.id > after)
        .order_by(Message.id).limit(limit)
    ).all()
    return {"messages": [{k: v for k, v in message_view(m).items()
                          if k in ("id", "role", "text", "ts")} for m in rows]}


@router.get("/widget/queue", dependencies=PUBLIC, responses=errors(401, 404))
def widget_queue(conversation_id: WidgetConversation, session: SessionDep,
                 services: ServicesDep) -> dict:
    """The waiting shopper's real place in the queue and estimated wait (``null`` when no agent is
    present: the widget then says so instead of showing a made-up figure)."""
    handoff = open_handoff_for(session, conversation_id)
    if handoff is None or handoff.channel not in WEB_CHANNELS:
        return {"status": "none"}
    s = services.settings
    ticket = queue_status(session, handoff, services.hours, s.default_handling_seconds,
                          s.agent_capacity, presence_seconds=s.presence_seconds)
    return {"status": handoff.status, "position": ticket["position"],
            "estimated_wait_seconds": ticket["estimated_wait_seconds"],
            "agents_present": ticket["agents_present"],
            "within_business_hours": ticket["within_business_hours"],
            "next_open_at": iso(ticket["next_open_at"]),
            "queue_timeout_minutes": s.queue_timeout_minutes}


class TypingIn(BaseModel):
    typing: bool = Field(description="true while the shopper is typing; false when they stop")


@router.post("/widget/typing", dependencies=PUBLIC, status_code=204,
             responses=errors(401, 404))
def widget_typing(conversation_id: WidgetConversation, body: TypingIn, session: SessionDep,
                  services: ServicesDep) -> Response:
    """The shopper is (not) typing: a live ``typing`` event for the agents who may read the open
    handoff (``{handoff_id, agent_id, status, typing}``). Nothing is stored. 404 when the
    conversation has no open handoff (nobody to show it to)."""
    handoff = open_handoff_for(session, conversation_id)
    if handoff is None:
        raise HTTPException(404, "No open handoff for this conversation")
    services.broker.publish(CONSOLE_TOPIC, "typing", {
        "handoff_id": handoff.id, "agent_id": handoff.agent_id, "status": handoff.status,
        "typing": body.typing})
    return Response(status_code=204)
