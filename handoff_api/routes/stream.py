"""Live streams (SSE) for the console and the shopper's widget, and the widget's replay.

Console events (``GET /api/stream``): ``handoff_created``, ``handoff_assigned``,
``handoff_transferred``, ``handoff_closed`` (data: handoff summary), ``message``
(``{handoff_id, agent_id, message}``), ``note``. Widget events
(``GET /api/widget/{cid}/stream``): ``agent_joined``, ``agent_message``, ``agent_left``.
EventSource cannot send headers, so the console stream also accepts ``?token=`` (or the cookie).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import select
from sse_starlette.sse import EventSourceResponse

from handoff_api.auth import COOKIE_NAME, agent_for_token
from handoff_api.broker import CONSOLE_TOPIC, widget_topic
from handoff_api.deps import ServicesDep, SessionDep
from handoff_api.models import Handoff, Message
from handoff_api.serialize import message_view

router = APIRouter(prefix="/api", tags=["stream"])
PING_SECONDS = 15


async def _events(request: Request, services: Any, topic: str) -> AsyncIterator[dict[str, str]]:
    async with services.broker.subscribe(topic) as queue:
        yield {"event": "ready", "data": json.dumps({"topic": topic})}
        while True:
            if await request.is_disconnected():
                break
            try:
                item = await asyncio.wait_for(queue.get(), PING_SECONDS)
            except TimeoutError:
                continue  # sse-starlette sends its own pings; loop to notice disconnects
            yield {"event": item["event"], "data": json.dumps(item["data"], default=str)}


@router.get("/stream")
def console_stream(request: Request, services: ServicesDep,
                   token: str | None = Query(default=None)) -> EventSourceResponse:
    header = request.headers.get("authorization", "")
    presented = token or (header[7:].strip() if header.lower().startswith("bearer ") else None) \
        or request.cookies.get(COOKIE_NAME)
    # a short session of its own: a dependency session would stay open (and, on SQLite, hold the
    # write lock) for as long as the stream lasts
    with services.sessions() as session:
        agent = agent_for_token(session, presented) if presented else None
        session.commit()
    if agent is None:
        raise HTTPException(401, "Not logged in or session expired")
    return EventSourceResponse(_events(request, services, CONSOLE_TOPIC), ping=PING_SECONDS)


WEB_CHANNELS = ("socketio", "rest", "webchat")


def _web_conversation(conversation_id: str) -> None:
    """The widget endpoints need no login, only the unguessable web session id. WhatsApp and
    Messenger conversation ids are phone numbers and page-scoped ids — guessable — so digit-only
    ids are refused here, and replays only ever include web-chat handoffs."""
    if conversation_id.lstrip("+").isdigit():
        raise HTTPException(404, "Not a web chat conversation")


@router.get("/widget/{conversation_id}/stream")
def widget_stream(conversation_id: str, request: Request,
                  services: ServicesDep) -> EventSourceResponse:
    _web_conversation(conversation_id)
    return EventSourceResponse(_events(request, services, widget_topic(conversation_id)),
                               ping=PING_SECONDS)


@router.get("/widget/{conversation_id}/messages")
def widget_messages(conversation_id: str, session: SessionDep,
                    after: int = Query(default=0, ge=0),
                    limit: int = Query(default=100, ge=1, le=500)) -> dict:
    """Agent messages delivered to this conversation with id > ``after``.

    Used to replay after a reconnect.
    """
    _web_conversation(conversation_id)
    rows = session.scalars(
        select(Message).join(Handoff, Handoff.id == Message.handoff_id)
        .where(Message.conversation_id == conversation_id, Message.role == "agent",
               Handoff.channel.in_(WEB_CHANNELS),
                              Message.delivery == "sent", Message.id > after)
        .order_by(Message.id).limit(limit)
    ).all()
    return {"messages": [{k: v for k, v in message_view(m).items()
                          if k in ("id", "role", "text", "ts")} for m in rows]}
