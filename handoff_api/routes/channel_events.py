"""What the bot's Meta channels report besides shopper messages (``Authorization: Bearer
$HANDOFF_BOT_TOKEN``; issue #17):

* ``POST /api/conversations/{id}/echoes`` — someone at the store answered from the WhatsApp
  Business app (or the page's inbox): the reply is stored in the conversation as a person's
  message (``kind: echo``), in the open handoff or in a new one with reason
  ``answered_from_phone``, so it shows in the console and the bot stays quiet until the usual
  hand-back. Idempotent by the echo's message id.
* ``POST /api/channel-statuses`` — delivery statuses of our messages (sent, delivered, read,
  failed with Meta's error); each is stored once and the console sees the message's new state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from handoff_api.broker import CONSOLE_TOPIC, widget_topic
from handoff_api.delivery_status import with_statuses
from handoff_api.deps import BotDep, ServicesDep, WriteSessionDep
from handoff_api.models import Handoff, Message, MessageStatus
from handoff_api.queue import create_handoff, now_utc, open_handoff_for, record_event
from handoff_api.routes.bot import _ts, check_size
from handoff_api.routes.common import ConversationId, errors
from handoff_api.schemas import IdStr, MessageText, SafeStr, TranscriptEntry
from handoff_api.serialize import handoff_summary, message_view

router = APIRouter(prefix="/api", tags=["bot"], dependencies=[BotDep])

ECHO_REASON = "answered_from_phone"


class EchoIn(BaseModel):
    """A reply a person at the store sent from the business phone app / page inbox."""

    message_id: IdStr
    text: MessageText
    ts: datetime | float | None = None
    channel: Literal["whatsapp", "messenger"]
    language: Literal["es", "en"] = "es"
    transcript: list[TranscriptEntry] = Field(default_factory=list, max_length=200)


class EchoStored(BaseModel):
    handoff_id: int
    created: bool = Field(description="true: this echo opened the handoff")
    duplicate: bool
    message: dict[str, Any]


class StatusIn(BaseModel):
    external_id: Annotated[str, Field(min_length=1, max_length=200)]
    status: Literal["sent", "delivered", "read", "failed"]
    ts: float | None = Field(default=None, ge=0, le=1e11)
    error: Annotated[SafeStr, Field(max_length=300)] | None = None


class ReadWatermark(BaseModel):
    """Messenger's ``read``: every message sent to the conversation before ``ts`` was read."""

    conversation_id: IdStr
    ts: float = Field(ge=0, le=1e11)


class StatusesIn(BaseModel):
    channel: Literal["whatsapp", "messenger"]
    statuses: list[StatusIn] = Field(default_factory=list, max_length=500)
    read_watermark: ReadWatermark | None = None


class StatusesStored(BaseModel):
    stored: int
    messages: int = Field(description="agent messages whose state changed")


def _when(ts: float | None) -> datetime:
    return datetime.fromtimestamp(ts, UTC) if ts else now_utc()


@router.post("/conversations/{conversation_id}/echoes", status_code=201,
             response_model=EchoStored,
             responses={**errors(401, 413),
                        200: {"model": EchoStored, "description": "already stored (same "
                                                                  "message_id)"}})
def post_echo(conversation_id: ConversationId, body: EchoIn, response: Response,
              session: WriteSessionDep, services: ServicesDep) -> dict:
    check_size(body.text, services.settings.max_message_bytes)
    existing = session.scalar(select(Message).where(
        Message.conversation_id == conversation_id, Message.message_id == body.message_id))
    if existing is not None:
        response.status_code = 200
        return {"handoff_id": existing.handoff_id, "created": False, "duplicate": True,
                "message": message_view(existing)}
    handoff = open_handoff_for(session, conversation_id)
    created = False
    if handoff is None:
        packet = {"conversation_id": conversation_id, "channel": body.channel,
                  "language": body.language, "reason": ECHO_REASON,
                  "transcript": [t.model_dump(mode="json") for t in body.transcript],
                  "slots": {}, "intent_history": [], "kb_articles": [], "customer": {}}
        handoff, created = create_handoff(session, packet, key=f"echo:{body.message_id}"[:100])
    message = Message(handoff_id=handoff.id, conversation_id=conversation_id,
                      message_id=body.message_id, role="agent", text=body.text,
                      channel=body.channel, agent_id=None, ts=_ts(body.ts), created_at=now_utc(),
                      delivery="sent", kind="echo", external_id=body.message_id[:200])
    session.add(message)
    try:
        session.flush()
        record_event(session, handoff.id, "phone_reply", data={"message_id": body.message_id})
        session.commit()
    except IntegrityError:  # the same echo raced in from a retry
        session.rollback()
        existing = session.scalar(select(Message).where(
            Message.conversation_id == conversation_id, Message.message_id == body.message_id))
        if existing is None:
            raise
        response.status_code = 200
        return {"handoff_id": existing.handoff_id, "created": False, "duplicate": True,
                "message": message_view(existing)}
    view = message_view(message)
    if created:
        services.broker.publish(CONSOLE_TOPIC, "handoff_created", handoff_summary(handoff))
        services.broker.publish(widget_topic(conversation_id), "queue_joined",
                                {"handoff_id": handoff.id, "status": handoff.status})
    services.broker.publish(CONSOLE_TOPIC, "message", {"handoff_id": handoff.id,
                                                        "agent_id": handoff.agent_id,
                                                        "message": view})
    return {"handoff_id": handoff.id, "created": created, "duplicate": False, "message": view}


def _matching(session: Any, channel: str, external_id: str) -> list[Message]:
    """Agent messages that got ``external_id`` (a long reply split in parts has several)."""
    return list(session.scalars(select(Message).where(
        Message.channel == channel, Message.external_id.is_not(None),
        (Message.external_id == external_id)
        | Message.external_id.like(f"{external_id},%")
        | Message.external_id.like(f"%,{external_id}")
        | Message.external_id.like(f"%,{external_id},%"))))


@router.post("/channel-statuses", response_model=StatusesStored, responses=errors(401))
def post_statuses(body: StatusesIn, session: WriteSessionDep, services: ServicesDep) -> dict:
    stored, touched = 0, {}

    def add(external_id: str, status: str, at: datetime, error: str | None) -> bool:
        # one commit per status: a repeat Meta sent must not undo the others
        session.add(MessageStatus(channel=body.channel, external_id=external_id,
                                  status=status, at=at, error=error))
        try:
            session.commit()
            return True
        except IntegrityError:  # Meta sent this status again
            session.rollback()
            return False

    for item in body.statuses:
        if not add(item.external_id, item.status, _when(item.ts), item.error):
            continue
        stored += 1
        for message in _matching(session, body.channel, item.external_id):
            touched[message.id] = message
    if body.read_watermark is not None:
        mark = _when(body.read_watermark.ts)
        messages = list(session.scalars(select(Message).where(
            Message.conversation_id == body.read_watermark.conversation_id,
            Message.channel == body.channel, Message.role == "agent",
            Message.external_id.is_not(None), Message.ts <= mark)))
        for message in messages:
            for external_id in (message.external_id or "").split(","):
                if external_id and add(external_id, "read", mark, None):
                    stored += 1
                    touched[message.id] = message
    session.commit()
    for message in touched.values():
        handoff = session.get(Handoff, message.handoff_id)
        services.broker.publish(CONSOLE_TOPIC, "message", {
            "handoff_id": message.handoff_id, "agent_id": handoff.agent_id if handoff else None,
            "message": with_statuses(session, [message_view(message)])[0]})
    return {"stored": stored, "messages": len(touched)}
