"""Routes the bot side calls (``Authorization: Bearer $HANDOFF_BOT_TOKEN``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from handoff_api.broker import CONSOLE_TOPIC, widget_topic
from handoff_api.deps import BotDep, ServicesDep, SessionDep, WriteSessionDep
from handoff_api.eta import agents_present, queue_status
from handoff_api.handback import (
    enqueue_handback,
    message_payload,
    pending_for_bot,
    undelivered_handback,
)
from handoff_api.models import OPEN_STATUSES, DeadLetter, Handoff, Message
from handoff_api.queue import (
    answer_due_from,
    cancel_request,
    create_handoff,
    get_handoff,
    now_utc,
    open_handoff_for,
    record_event,
    transition,
)
from handoff_api.routes.common import ConversationId, HandoffId, errors
from handoff_api.schemas import (
    CancelRequestOut,
    DeadLetterIn,
    HandoffCreated,
    HandoffPacket,
    LeaveQueueIn,
    LeaveQueueOut,
    OpenHandoff,
    RatingIn,
    ShopperMessageIn,
    ShopperMessageStored,
)
from handoff_api.serialize import handoff_summary, message_view

router = APIRouter(prefix="/api", tags=["bot"], dependencies=[BotDep])
RequestKey = Annotated[str, Path(min_length=8, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=8, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$",
    description="client-generated; a retry with the same key returns the same handoff")]


def _ts(value: datetime | float | None) -> datetime:
    if value is None:
        return now_utc()
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise HTTPException(422, "ts is not a valid Unix timestamp") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def check_size(text: str, limit: int) -> None:
    size = len(text.encode("utf-8"))
    if size > limit:
        raise HTTPException(413, f"Message is {size} bytes; the limit is {limit} bytes")


def _ticket(session, handoff: Handoff, services) -> dict:  # noqa: ANN001
    return queue_status(session, handoff, services.hours,
                        services.settings.default_handling_seconds,
                        services.settings.agent_capacity,
                        presence_seconds=services.settings.presence_seconds)


@router.post("/handoffs", status_code=201, response_model=HandoffCreated,
             responses={**errors(401, 410),
                        200: {"model": HandoffCreated,
                              "description": "the same request again (same Idempotency-Key) or "
                                             "an open handoff of the conversation: that handoff"}})
def post_handoff(packet: HandoffPacket, response: Response, session: WriteSessionDep,
                 services: ServicesDep, idempotency_key: IdempotencyKey = None) -> dict:
    """Queue a conversation for a person.

    Retried by the bot with the same ``Idempotency-Key`` after a timeout: the same handoff comes
    back (200). An open handoff for the same conversation is returned with 200 too. Out of business
    hours with no agent present, the request becomes an offline case at once (``status:
    offline``, ``answer_due_at``): the bot keeps the conversation and tells the shopper when the
    written answer will come.
    """
    now = now_utc()
    s = services.settings
    offline_due = None
    if not services.hours.is_open(now) and agents_present(session, s.presence_seconds, now) == 0:
        offline_due = answer_due_from(now, s.answer_hours)
    handoff, created = create_handoff(session, packet.model_dump(mode="json"),
                                      key=idempotency_key, offline_due=offline_due)
    session.commit()
    if not created:
        response.status_code = 200
    else:
        services.broker.publish(CONSOLE_TOPIC, "handoff_created", handoff_summary(handoff))
        # the shopper's widget starts showing their place in the queue
        services.broker.publish(widget_topic(handoff.conversation_id), "queue_joined",
                                {"handoff_id": handoff.id, "status": handoff.status})
    return _ticket(session, handoff, services)


@router.post("/handoff-requests/{key}/cancel", response_model=CancelRequestOut,
             responses=errors(401))
def post_cancel_request(key: RequestKey, session: WriteSessionDep,
                        services: ServicesDep) -> dict:
    """The bot gave up creating a handoff (it never got an answer and told the shopper it could
    not put them through): abandon it if it exists, and refuse any late copy of the request."""
    handoff = cancel_request(session, key)
    session.commit()
    if handoff is not None:
        services.broker.publish(CONSOLE_TOPIC, "handoff_closed", handoff_summary(handoff))
    return {"key": key, "handoff_id": handoff.id if handoff else None,
            "status": handoff.status if handoff else None}


@router.get("/conversations/{conversation_id}/handoff", response_model=OpenHandoff,
            responses=errors(401, 404))
def get_open_handoff(conversation_id: ConversationId, session: SessionDep,
                     services: ServicesDep) -> dict:
    handoff = open_handoff_for(session, conversation_id)
    if handoff is None:
        raise HTTPException(404, f"No open handoff for conversation {conversation_id}")
    return {**handoff_summary(handoff), **_ticket(session, handoff, services)}


def _existing_message(session, conversation_id: str, message_id: str) -> Message | None:  # noqa: ANN001
    return session.scalar(select(Message).where(Message.conversation_id == conversation_id,
                                                Message.message_id == message_id))


def _stored_view(message: Message, duplicate: bool, handoff: Handoff | None = None) -> dict:
    return {**message_view(message), "handoff_id": message.handoff_id, "duplicate": duplicate,
            "handoff_status": handoff.status if handoff else None,
            "rerouted_to_bot": message.delivery == "to_bot"}


def _store_shopper_message(session, services, conversation_id: str, body: ShopperMessageIn,  # noqa: ANN001
                           response: Response) -> tuple[dict, Handoff | None]:
    """Store one shopper message for the agent, idempotently by ``message_id``; a message that
    arrives while the handoff is closing goes to the resumed bot instead (202)."""
    check_size(body.text, services.settings.max_message_bytes)
    existing = _existing_message(session, conversation_id, body.message_id)
    if existing is not None:
        response.status_code = 202 if existing.delivery == "to_bot" else 200
        return _stored_view(existing, True), None
    handoff = open_handoff_for(session, conversation_id)
    if handoff is not None and session.get_bind().dialect.name == "postgresql":
        # a resolve or hand-back takes this row lock too (queue.transition): either the close
        # comes after this message is committed and sends it back to the bot with the rest, or
        # it came first and the message rides along with the hand-back below. Without the lock
        # a message stored in the closing window was answered by nobody (tests/faults on
        # PostgreSQL); SQLite serialises writers by itself.
        handoff = get_handoff(session, handoff.id, for_update=True)
        if handoff.status not in OPEN_STATUSES:
            handoff = None
    delivery = "stored"
    if handoff is None:
        # the handoff just closed and Rasa has not taken the conversation back yet: nobody would
        # answer this message, so it rides along with the hand-back to the resumed bot
        pending = undelivered_handback(session, conversation_id)
        if pending is None:
            raise HTTPException(404, f"No open handoff for conversation {conversation_id}")
        handoff = get_handoff(session, pending.handoff_id)
        delivery = "to_bot"
    message = Message(handoff_id=handoff.id, conversation_id=conversation_id,
                      message_id=body.message_id, role="user", text=body.text,
                      channel=body.channel or handoff.channel, ts=_ts(body.ts),
                      created_at=now_utc(), delivery=delivery)
    session.add(message)
    try:
        session.flush()
        if delivery == "to_bot":
            enqueue_handback(session, handoff_id=handoff.id, conversation_id=conversation_id,
                             outcome="messages", messages=[message_payload(message)])
            record_event(session, handoff.id, "shopper_message_to_bot",
                         data={"message_id": body.message_id})
        else:
            record_event(session, handoff.id, "shopper_message",
                         data={"message_id": body.message_id})
        session.commit()
    except IntegrityError:  # the same message_id raced in from a retry
        session.rollback()
        existing = _existing_message(session, conversation_id, body.message_id)
        if existing is None:
            raise
        response.status_code = 200
        return _stored_view(existing, True), None
    if delivery == "to_bot":
        response.status_code = 202
        services.handback.wake()
        return _stored_view(message, False, handoff), None
    view = message_view(message)
    services.broker.publish(CONSOLE_TOPIC, "message", {"handoff_id": handoff.id,
                                                        "agent_id": handoff.agent_id,
                                                        "message": view})
    return _stored_view(message, False, handoff), handoff


@router.post("/conversations/{conversation_id}/messages", status_code=201,
             response_model=ShopperMessageStored,
             responses={**errors(401, 404, 413),
                        200: {"model": ShopperMessageStored,
                              "description": "already stored (same message_id)"},
                        202: {"model": ShopperMessageStored,
                              "description": "the handoff has just closed: the resumed bot "
                                             "answers this message"}})
def post_shopper_message(conversation_id: ConversationId, body: ShopperMessageIn,
                         response: Response, session: WriteSessionDep,
                         services: ServicesDep) -> dict:
    """Store a shopper message for the agent. Answered only after the commit; idempotent by
    ``message_id`` (the bot side retries from its outbox)."""
    view, _ = _store_shopper_message(session, services, conversation_id, body, response)
    return view


@router.post("/conversations/{conversation_id}/leave-queue", response_model=LeaveQueueOut,
             responses=errors(401, 404, 413))
def post_leave_queue(conversation_id: ConversationId, body: LeaveQueueIn, response: Response,
                     session: WriteSessionDep, services: ServicesDep) -> dict:
    """The shopper asked to leave the queue ("cancelar", "quiero seguir con el bot", "never
    mind"…). Still queued: the handoff is abandoned and the bot gets the conversation back (the
    gate resumes it at once; the hand-back row makes sure even if that fails). Already taken by an
    agent: the text is stored for the agent, who is the one answering now. Atomic, so a claim
    racing with the request either wins (the agent gets the text) or loses (the shopper is out)."""
    handoff = open_handoff_for(session, conversation_id)
    if handoff is None:
        raise HTTPException(404, f"No open handoff for conversation {conversation_id}")
    if handoff.status == "queued":
        handoff, changed = transition(session, handoff.id, "abandoned", agent=None,
                                      data={"why": "shopper_left_queue"})
        if changed:
            enqueue_handback(session, handoff_id=handoff.id, conversation_id=conversation_id,
                             outcome="abandoned", handoff=handoff)
        session.commit()
        if changed:
            services.broker.publish(CONSOLE_TOPIC, "handoff_closed", handoff_summary(handoff))
            services.broker.publish(widget_topic(conversation_id), "queue_left",
                                    {"handoff_id": handoff.id})
            services.handback.wake()
        return {"left": True, "handoff_id": handoff.id, "status": handoff.status}
    _store_shopper_message(session, services, conversation_id, body, response)
    response.status_code = 200
    return {"left": False, "handoff_id": handoff.id, "status": handoff.status}


@router.post("/handoffs/{handoff_id}/rating", responses=errors(401, 404))
def post_rating(handoff_id: HandoffId, body: RatingIn, session: WriteSessionDep) -> dict:
    """Store the shopper's 1-5 rating; rating again replaces it (the shopper changed their mind)."""
    handoff: Handoff = get_handoff(session, handoff_id)
    handoff.rating = body.rating
    handoff.rating_comment = body.comment
    handoff.rated_at = now_utc()
    record_event(session, handoff_id, "rated", data={"rating": body.rating})
    session.commit()
    return {"id": handoff.id, "rating": handoff.rating, "comment": handoff.rating_comment}


@router.post("/handoffs/{handoff_id}/abandon", responses=errors(401, 404, 409))
def post_abandon(handoff_id: HandoffId, session: WriteSessionDep, services: ServicesDep) -> dict:
    """The shopper left before a person answered (or the bot cancelled the request). The bot
    always gets the conversation back (an ``abandoned`` hand-back), so it never stays paused."""
    handoff, changed = transition(session, handoff_id, "abandoned", agent=None)
    if changed:
        enqueue_handback(session, handoff_id=handoff.id, conversation_id=handoff.conversation_id,
                         outcome="abandoned", handoff=handoff,
                         messages=pending_for_bot(session, handoff, None))
    session.commit()
    if changed:
        services.broker.publish(CONSOLE_TOPIC, "handoff_closed", handoff_summary(handoff))
        services.broker.publish(widget_topic(handoff.conversation_id), "queue_left",
                                {"handoff_id": handoff.id})
        services.handback.wake()
    return handoff_summary(handoff)


@router.post("/dead-letters", status_code=201,
             responses={**errors(401),
                        200: {"description": "already reported (same conversation and "
                                             "message id)"}})
def post_dead_letter(body: DeadLetterIn, response: Response, session: WriteSessionDep,
                     services: ServicesDep) -> dict:
    """The bot side reports a shopper message it could not deliver for good; agents see it in the
    console, operators on ``/health``. Idempotent by (conversation, message id)."""
    existing = session.scalar(select(DeadLetter).where(
        DeadLetter.conversation_id == body.conversation_id,
        DeadLetter.message_id == body.message_id))
    if existing is None:
        existing = DeadLetter(**body.model_dump(), created_at=now_utc())
        session.add(existing)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            response.status_code = 200
            return {"ok": True, "duplicate": True}
        services.broker.publish(CONSOLE_TOPIC, "dead_letter", {
            "id": existing.id, "conversation_id": existing.conversation_id,
            "channel": existing.channel})
        return {"ok": True, "duplicate": False, "id": existing.id}
    response.status_code = 200
    return {"ok": True, "duplicate": True, "id": existing.id}
