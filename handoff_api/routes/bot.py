"""Routes the bot side calls (``Authorization: Bearer $HANDOFF_BOT_TOKEN``)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from handoff_api.broker import CONSOLE_TOPIC
from handoff_api.deps import BotDep, ServicesDep, SessionDep
from handoff_api.eta import queue_status
from handoff_api.models import Handoff, Message
from handoff_api.queue import (
    create_handoff,
    get_handoff,
    now_utc,
    open_handoff_for,
    record_event,
    transition,
)
from handoff_api.schemas import HandoffCreated, HandoffPacket, RatingIn, ShopperMessageIn
from handoff_api.serialize import handoff_summary, message_view

router = APIRouter(prefix="/api", tags=["bot"], dependencies=[BotDep])


def _ts(value: datetime | float | None) -> datetime:
    if value is None:
        return now_utc()
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def check_size(text: str, limit: int) -> None:
    size = len(text.encode("utf-8"))
    if size > limit:
        raise HTTPException(413, f"Message is {size} bytes; the limit is {limit} bytes")
    if not text.strip():
        raise HTTPException(422, "Message text is empty")


@router.post("/handoffs", status_code=201, response_model=HandoffCreated)
def post_handoff(packet: HandoffPacket, response: Response, session: SessionDep,
                 services: ServicesDep) -> dict:
    """Queue a conversation for a person. An open handoff for the same conversation is returned
    with 200, so the bot can safely retry."""
    handoff, created = create_handoff(session, packet.model_dump(mode="json"))
    session.commit()
    if not created:
        response.status_code = 200
    else:
        services.broker.publish(CONSOLE_TOPIC, "handoff_created", handoff_summary(handoff))
    return queue_status(session, handoff, services.hours,
                        services.settings.default_handling_seconds,
                        services.settings.agent_capacity)


@router.get("/conversations/{conversation_id}/handoff")
def get_open_handoff(conversation_id: str, session: SessionDep, services: ServicesDep) -> dict:
    handoff = open_handoff_for(session, conversation_id)
    if handoff is None:
        raise HTTPException(404, f"No open handoff for conversation {conversation_id}")
    status = queue_status(session, handoff, services.hours,
                          services.settings.default_handling_seconds,
                          services.settings.agent_capacity)
    return {**handoff_summary(handoff), **status}


@router.post("/conversations/{conversation_id}/messages", status_code=201)
def post_shopper_message(conversation_id: str, body: ShopperMessageIn, response: Response,
                         session: SessionDep, services: ServicesDep) -> dict:
    """Store a shopper message for the agent. Answered only after the commit; idempotent by
    ``message_id`` (the bot side retries from its outbox)."""
    check_size(body.text, services.settings.max_message_bytes)
    existing = session.scalar(select(Message).where(Message.conversation_id == conversation_id,
                                                    Message.message_id == body.message_id))
    if existing is not None:
        response.status_code = 200
        return {**message_view(existing), "handoff_id": existing.handoff_id, "duplicate": True}
    handoff = open_handoff_for(session, conversation_id)
    if handoff is None:
        raise HTTPException(404, f"No open handoff for conversation {conversation_id}")
    message = Message(handoff_id=handoff.id, conversation_id=conversation_id,
                      message_id=body.message_id, role="user", text=body.text,
                      channel=body.channel or handoff.channel, ts=_ts(body.ts),
                      created_at=now_utc(), delivery="stored")
    session.add(message)
    try:
        session.flush()
        record_event(session, handoff.id, "shopper_message", data={"message_id": body.message_id})
        session.commit()
    except IntegrityError:  # the same message_id raced in from a retry
        session.rollback()
        existing = session.scalar(select(Message).where(Message.conversation_id == conversation_id,
                                                        Message.message_id == body.message_id))
        if existing is None:
            raise
        response.status_code = 200
        return {**message_view(existing), "handoff_id": existing.handoff_id, "duplicate": True}
    view = message_view(message)
    services.broker.publish(CONSOLE_TOPIC, "message", {"handoff_id": handoff.id,
                                                        "agent_id": handoff.agent_id,
                                                       "message": view})
    return {**view, "handoff_id": handoff.id, "duplicate": False}


@router.post("/handoffs/{handoff_id}/rating")
def post_rating(handoff_id: int, body: RatingIn, session: SessionDep) -> dict:
    """Store the shopper's 1-5 rating; rating again replaces it (the shopper changed their mind)."""
    handoff: Handoff = get_handoff(session, handoff_id)
    handoff.rating = body.rating
    handoff.rating_comment = body.comment
    handoff.rated_at = now_utc()
    record_event(session, handoff_id, "rated", data={"rating": body.rating})
    session.commit()
    return {"id": handoff.id, "rating": handoff.rating, "comment": handoff.rating_comment}


@router.post("/handoffs/{handoff_id}/abandon")
def post_abandon(handoff_id: int, session: SessionDep, services: ServicesDep) -> dict:
    """The shopper left before a person answered (or the bot cancelled the request)."""
    handoff, changed = transition(session, handoff_id, "abandoned", agent=None)
    session.commit()
    if changed:
        services.broker.publish(CONSOLE_TOPIC, "handoff_closed", handoff_summary(handoff))
    return handoff_summary(handoff)
