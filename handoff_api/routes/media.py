"""Media on the handoff API (issues #13 and #17): widget photo uploads, media for agents only.

* ``POST /api/widget/media`` — the widget's attachment button. The raw file is the body (its
  ``Content-Type`` the browser's ``File.type``; the name, URL-encoded, in ``X-Filename``), the
  conversation is the one the ``X-Atiende-Conversation`` token proves. Images only; the body is
  cut off past the image limit (413), the type is decided by the content (``media_store``: 415
  for another type or a polyglot that does not decode, 422 for an empty file), and the file is
  stored outside the web root under a random key. The widget then sends the key to the bot in
  its socket.io message (``metadata.media``), and the bot's channel attaches it to the claim form
  (when it waits for a photo) or to the handoff (when an agent has the conversation).
* ``GET /api/widget/media/{key}`` — the widget reads back a file of its own conversation (agent
  images sent to the shopper).
* ``GET /api/media/{key}`` and ``GET /api/conversations/{id}/media`` — for logged-in agents who may
  read a handoff of that conversation (the rule of ``routes.handoffs.may_see``); served with
  ``media_store.response_headers`` (sniffed type, ``nosniff``, sandbox CSP). Never a public URL.
* ``POST /api/handoffs/{id}/media`` — an agent sends an image or a document (raw body, or
  ``?canned=<id>`` for a canned reply's image such as the size chart) to the shopper's channel.
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

import anyio.to_thread
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from sqlalchemy import select

from handoff_api.broker import CONSOLE_TOPIC
from handoff_api.deps import CurrentAgent, ServicesDep, WriteSessionDep
from handoff_api.models import Handoff, HandoffEvent, Message
from handoff_api.queue import _check_holder, get_handoff, now_utc
from handoff_api.ratelimit import limit
from handoff_api.relay import RelayTarget
from handoff_api.routes.common import HandoffId, errors, read_capped
from handoff_api.routes.handoffs import (
    _last_shopper_ts,
    may_see,
    record_delivery,
    settled_or_claimed,
    store_agent_message,
)
from handoff_api.routes.stream import WidgetConversation
from handoff_api.serialize import iso, message_view

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["media"])
PUBLIC = [Depends(limit("widget", lambda s: s.public_rate_limit))]
CANNED_MEDIA = Path(__file__).resolve().parents[1] / "data" / "canned_media"
_STATUS = {"empty": 422, "too_large": 413, "type_not_allowed": 415, "type_mismatch": 415,
           "unreadable": 415}
MediaKey = Annotated[str, Query(min_length=1, max_length=64)]


def media_store(request: Request) -> Any:
    """One store per app (``MEDIA_*`` settings, data under the app's data directory)."""
    state = request.app.state
    store = getattr(state, "media_store", None)
    if store is None:
        import os

        from media_store import open_store, settings_from_env

        settings = request.app.state.services.settings
        env = {**os.environ, "ATIENDE_DATA_DIR": str(settings.data_dir)}
        store = state.media_store = open_store(settings_from_env(env))
    return store


StoreDep = Annotated[Any, Depends(media_store)]


async def read_file(request: Request, max_bytes: int) -> bytes:
    return await read_capped(request, max_bytes,
                             f"The file is larger than {max_bytes // (1024 * 1024)} MB")


async def put_or_4xx(store: Any, data: bytes, *, declared: str | None, filename: str | None,
                     conversation_id: str, source: str) -> Any:
    from media_store import MediaRejected, MediaUnavailable

    try:
        return await store.put(data, declared_type=declared, filename=filename,
                               conversation_id=conversation_id, source=source)
    except MediaRejected as exc:
        raise HTTPException(_STATUS.get(exc.reason, 422),
                            f"{exc.reason}: {exc}") from None
    except MediaUnavailable:
        logger.error("media storage unavailable")
        raise HTTPException(503, "Media storage unavailable; try again") from None


def record_view(media: Any) -> dict[str, Any]:
    return {"key": media.key, "kind": media.kind, "mime_type": media.mime_type,
            "size": media.size, "filename": media.filename, "created_at": iso(media.created_at)}


async def _serve(store: Any, key: str, conversation_id: str | None = None) -> Response:
    from media_store import InvalidMediaKey, MediaNotFound, response_headers

    try:
        media, data = await store.get(key)
    except (InvalidMediaKey, MediaNotFound):
        raise HTTPException(404, "No such media") from None
    if conversation_id is not None and media.conversation_id != conversation_id:
        raise HTTPException(404, "No such media")
    return Response(data, headers=response_headers(media), media_type=media.mime_type)


# --- the widget ---------------------------------------------------------------------------------

@router.post("/widget/media", status_code=201, dependencies=PUBLIC,
             responses=errors(401, 404, 413))
async def widget_upload(request: Request, conversation_id: WidgetConversation,
                        store: StoreDep,
                        x_filename: Annotated[str | None, Header(max_length=600)] = None) -> dict:
    """A claim photo from the widget: images only, checked by content, stored privately."""
    data = await read_file(request, store.limits.largest_for("widget"))
    media = await put_or_4xx(store, data, declared=request.headers.get("content-type"),
                             filename=unquote(x_filename) if x_filename else None,
                             conversation_id=conversation_id, source="widget")
    logger.info("media.widget_upload kind=%s size=%d", media.kind, media.size)
    return record_view(media)


@router.get("/widget/media/{key}", dependencies=PUBLIC, responses=errors(401, 404))
async def widget_media(key: str, conversation_id: WidgetConversation,
                       store: StoreDep) -> Response:
    return await _serve(store, key, conversation_id)


# --- agents -------------------------------------------------------------------------------------

def _may_read_conversation(services: Any, agent: Any, conversation_id: str) -> bool:
    with services.sessions() as session:
        handoffs = session.scalars(select(Handoff).where(
            Handoff.conversation_id == conversation_id)).all()
        for handoff in handoffs:
            if may_see(handoff, agent):
                return True
            if session.scalar(select(HandoffEvent.id).where(
                    HandoffEvent.handoff_id == handoff.id,
                    HandoffEvent.agent_id == agent.id).limit(1)) is not None:
                return True
    return False


@router.get("/media/{key}", responses=errors(401, 403, 404))
async def agent_media(key: str, agent: CurrentAgent, services: ServicesDep,
                      store: StoreDep) -> Response:
    """A file, for an agent who may read a handoff of its conversation."""
    from media_store import InvalidMediaKey, MediaNotFound

    try:
        media = await store.head(key)
    except (InvalidMediaKey, MediaNotFound):
        raise HTTPException(404, "No such media") from None
    if not await anyio.to_thread.run_sync(_may_read_conversation, services, agent,
                                          media.conversation_id):
        raise HTTPException(403, "This conversation belongs to another agent")
    return await _serve(store, key)


@router.get("/conversations/{conversation_id}/media", responses=errors(401, 403))
async def conversation_media(conversation_id: str, agent: CurrentAgent, services: ServicesDep,
                             store: StoreDep) -> dict:
    """The media of a conversation (claim photos, files the shopper or agents sent)."""
    if len(conversation_id) > 128 or not await anyio.to_thread.run_sync(
            _may_read_conversation, services, agent, conversation_id):
        raise HTTPException(403, "Not a conversation you can read")
    return {"media": [record_view(m) for m in await store.list_conversation(conversation_id)]}


def _canned_media(services: Any, canned_id: str, language: str) -> tuple[bytes, str, str, str]:
    """(bytes, file name, mime, caption) of a canned reply that carries a file."""
    for lang in (language, "es"):
        for reply in services.canned.get(lang, []):
            if reply.get("id") == canned_id and reply.get("media"):
                name = Path(str(reply["media"])).name
                path = CANNED_MEDIA / name
                if path.is_file():
                    return path.read_bytes(), name, "", str(reply.get("text") or "")
    raise HTTPException(404, f"No canned reply {canned_id!r} with a file")


@router.post("/handoffs/{handoff_id}/media", status_code=201,
             responses={**errors(401, 403, 404, 409, 413),
                        200: {"description": "already sent (same client_id)"},
                        202: {"description": "the same client_id is being sent by another "
                                             "request; its outcome will show in the console"}})
async def agent_send_media(handoff_id: HandoffId, request: Request, response: Response,
                           agent: CurrentAgent, services: ServicesDep, session: WriteSessionDep,
                           store: StoreDep,
                           caption: Annotated[str, Query(max_length=1000)] = "",
                           canned: Annotated[str | None, Query(max_length=64)] = None,
                           x_filename: Annotated[str | None, Header(max_length=600)] = None,
                           client_id: Annotated[str | None, Query(
                               min_length=1, max_length=200, pattern=r"^[\w.:-]+$",
                               description="idempotency key: the same id reaches the shopper "
                                           "once")] = None,
                           ) -> dict:
    """Send an image or a document to the shopper on their channel (stored first, like text
    replies, and sent once per ``client_id``; a refused delivery answers 409 with the channel's
    reason)."""
    if not canned:  # read before any database work: a slow upload holds no lock
        data = await read_file(request, store.limits.largest_for("agent"))
        filename = unquote(x_filename) if x_filename else None
        declared = request.headers.get("content-type", "")
    handoff = get_handoff(session, handoff_id)
    if handoff.status != "assigned":
        raise HTTPException(409, f"Handoff {handoff_id} is {handoff.status}; "
                                 "files need an assigned handoff")
    _check_holder(handoff, agent)
    language = handoff.language
    session.commit()  # no transaction (nor SQLite write lock) while the file is checked
    if canned:
        data, filename, declared, canned_caption = _canned_media(services, canned, language)
        caption = caption or canned_caption
    media = await put_or_4xx(store, data, declared=declared or None, filename=filename,
                             conversation_id=handoff.conversation_id, source="agent")
    name = f" {media.filename}" if media.filename else ""
    text = f"[{media.kind}]{name} · media:{media.key}" + (f"\n{caption}" if caption else "")
    message = store_agent_message(session, handoff, client_id or f"agent-media-{uuid.uuid4().hex}",
                                  lambda message_id: Message(
        handoff_id=handoff.id, conversation_id=handoff.conversation_id, message_id=message_id,
        role="agent", text=text, channel=handoff.channel, agent_id=agent.id, ts=now_utc(),
        created_at=now_utc(), delivery="stored"))
    # (in a thread: waiting for a concurrent twin's outcome must not hold the event loop)
    settled = await anyio.to_thread.run_sync(settled_or_claimed, session, services, handoff,
                                              message, response)
    if settled is not None:  # a retry of a file already sent (or being sent)
        return json.loads(json.dumps(settled, default=str))
    target = RelayTarget(conversation_id=handoff.conversation_id, channel=handoff.channel,
                         language=handoff.language,
                         last_shopper_message_at=_last_shopper_ts(session, handoff),
                         metadata={"message_id": message.id, "ts": iso(message.ts),
                                   "agent_name": agent.name})
    session.commit()
    from handoff_api.relay.media_out import send_media

    result = await send_media(services.relays, target, media, data if media.kind != "image"
                              else (await store.get(media.key))[1], caption)
    # the channel's message id is kept, so delivered/read statuses reach this message too
    message = record_delivery(session, handoff, agent, message, result, media=media.key)
    view = {**message_view(message), "media": [record_view(media)]}
    session.commit()
    services.broker.publish(CONSOLE_TOPIC, "message", {"handoff_id": handoff.id,
                                                        "agent_id": handoff.agent_id,
                                                        "message": view})
    if not result.ok:
        raise HTTPException(409, f"Not delivered to the shopper on {handoff.channel}: "
                                 f"{result.reason}")
    return json.loads(json.dumps(view, default=str))
