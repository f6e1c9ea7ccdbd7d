"""Media in from WhatsApp and Messenger (issues #13 and #17): download on arrival, store, answer.

Meta's media URLs expire within minutes, so a photo not saved when it arrives is gone. For each
image, document, audio or video the connector hands this module:

1. **download** — WhatsApp: Meta's documented two steps, ``GET /{media-id}`` with the access token
   for a short-lived URL (plus ``mime_type``, ``file_size``, ``sha256``), then ``GET`` that URL
   with the same token. Messenger: the attachment's ``payload.url`` (a CDN link). The download is
   capped at the source's largest size (``media_store`` limits): a declared ``file_size`` over it
   is refused before the bytes are fetched, a body that grows past it is cut off. Network errors,
   5xx and a wrong ``sha256`` are retried; a refusal by size or type is not
   (:mod:`bot.channels.media_download`).
2. **store** — through ``media_store`` (local folder or S3; content sniffed, images re-encoded
   without metadata), under the conversation id (the shopper's number / page-scoped id), which is
   where the claim flow (``actions/claims.py``) looks for photos.
3. **answer** — while an agent has the conversation the gate forwards a line such as
   ``[image] caja.jpg · media:<key>`` (the console shows the picture through its authenticated
   media route; the shopper gets no bot message over the human). Otherwise: an image that arrives
   while the claim form asks for a photo becomes the form's answer (``/inform`` with the stored
   keys in ``metadata.atiende_media``; the form says "Gracias, tengo 1 foto(s)"); any other file
   gets a reply saying what was received, and its caption, if any, goes to the bot as text; a
   voice note gets a polite text-only note (no transcription is promised). A file that could not
   be downloaded or was refused is answered politely and, with an agent, flagged to them.

Nothing is lost: the connector calls this inside the durable inbox turn (store, acknowledge,
process, mark done), and a failed download still ends in a reply and a log line (no personal
data: ids and reasons only).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.channels.media_download import (
    DownloadFailed,
    DownloadRefused,
    download_url,
    download_whatsapp,
    with_retries,
)
from bot.channels.texts import t

logger = logging.getLogger(__name__)

#: Metadata key (server-reserved ``atiende_`` namespace: no client can set it) listing the media
#: of a user message: ``[{"key", "kind", "mime_type", "filename"}]``.
MEDIA_KEY = "atiende_media"
#: WhatsApp message types downloaded and stored. Stickers are not evidence: they get the usual
#: "I can only read text" reply and are not stored.
WHATSAPP_KINDS = frozenset({"image", "document", "audio", "video"})
#: Messenger attachment types downloaded and stored (``file`` is a document).
MESSENGER_KINDS = frozenset({"image", "audio", "video", "file"})
#: ``media:<key>`` in a forwarded line: the console turns it into a thumbnail.
MARKER = re.compile(r"media:([A-Za-z0-9_-]{32})")
#: The answer that makes the claim form take the stored photos (Rasa parses ``/intent``).
FORM_ANSWER = "/inform"
CLAIM_FORM, PHOTO_SLOT = "claim_form", "claim_photo"


@dataclass(frozen=True)
class Incoming:
    """One file a shopper sent, as the webhook describes it."""

    kind: str  # image, document, audio, video (WhatsApp names; Messenger's file -> document)
    media_id: str | None = None  # WhatsApp: the Graph API media id
    url: str | None = None  # Messenger: the attachment URL
    mime_type: str | None = None
    filename: str | None = None
    caption: str | None = None
    sha256: str | None = None
    voice: bool = False


@dataclass
class Received:
    incoming: Incoming
    stored: Any = None  # media_store.StoredMedia
    problem: str | None = None  # too_large | type_not_allowed | ... | download_failed | storage
    limit: int | None = None

    @property
    def kind(self) -> str:
        return self.stored.kind if self.stored is not None else self.incoming.kind


@dataclass
class Turn:
    """What the connector does next: give ``text`` (with ``metadata``) to the gate, or nothing."""

    text: str | None
    metadata: dict[str, Any] = field(default_factory=dict)


# --- parsing the webhooks ------

def whatsapp_incoming(message: dict[str, Any]) -> Incoming | None:
    kind = str(message.get("type") or "")
    if kind not in WHATSAPP_KINDS:
        return None
    body = message.get(kind) or {}
    if not isinstance(body, dict) or not body.get("id"):
        return None
    return Incoming(kind=kind, media_id=str(body["id"]), mime_type=body.get("mime_type"),
                    filename=body.get("filename"), caption=body.get("caption"),
                    sha256=body.get("sha256"), voice=bool(body.get("voice")))


def messenger_incoming(event: dict[str, Any]) -> list[Incoming]:
    message = event.get("message") or {}
    found = []
    for attachment in message.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        kind = str(attachment.get("type") or "")
        url = (attachment.get("payload") or {}).get("url")
        if kind not in MESSENGER_KINDS or not url:
            continue
        found.append(Incoming(kind="document" if kind == "file" else kind, url=str(url),
                              mime_type=None, caption=None, voice=kind == "audio"))
    return found


# --- storage ------

@lru_cache(maxsize=8)
def _store_for(settings: Any) -> Any:
    from media_store import open_store

    return open_store(settings)


def media_store() -> Any:
    """The shared media storage (``MEDIA_*`` settings), one per configuration per process."""
    from media_store import settings_from_env

    return _store_for(settings_from_env())


async def receive(item: Incoming, *, conversation_id: str, source: str, fetch: Any,
                  store: Any = None) -> Received:
    """Download ``item`` (``fetch(max_bytes)``) and store it; never raises for a bad file."""
    from media_store import MediaRejected, MediaUnavailable

    store = store or media_store()
    max_bytes = store.limits.largest_for(source)
    try:
        data, served_type = await with_retries(lambda: fetch(max_bytes))
    except DownloadRefused as exc:
        logger.info("media_in.refused source=%s kind=%s reason=%s", source, item.kind, exc.reason)
        return Received(item, problem=exc.reason, limit=exc.limit)
    except DownloadFailed as exc:
        logger.error("media_in.download_failed source=%s kind=%s: %s", source, item.kind, exc)
        return Received(item, problem="download_failed")
    declared = item.mime_type or served_type
    if item.kind == "audio" and not item.mime_type:
        declared = "audio/mp4"  # Messenger voice clips are MP4 audio served as video/mp4
    try:
        stored = await store.put(data, declared_type=declared, filename=item.filename,
                                 conversation_id=conversation_id, source=source)
    except MediaRejected as exc:
        logger.info("media_in.rejected source=%s kind=%s reason=%s", source, item.kind,
                    exc.reason)
        return Received(item, problem=exc.reason, limit=exc.limit)
    except MediaUnavailable as exc:
        logger.error("media_in.storage_failed source=%s: %s", source, exc)
        return Received(item, problem="storage")
    logger.info("media_in.stored source=%s kind=%s type=%s size=%d", source, stored.kind,
                stored.mime_type, stored.size)
    return Received(item, stored=stored)


# --- the turn ------

def marker(received: Received) -> str:
    """The line an agent sees for one file (``media:<key>`` becomes a thumbnail or a link)."""
    kind = received.kind
    if received.stored is None:
        return f"[{kind} not received: {received.problem}]"
    name = f" {received.stored.filename}" if received.stored.filename else ""
    return f"[{kind}]{name} · media:{received.stored.key}"


def media_metadata(received: list[Received]) -> list[dict[str, Any]]:
    return [{"key": r.stored.key, "kind": r.stored.kind, "mime_type": r.stored.mime_type,
             "filename": r.stored.filename} for r in received if r.stored is not None]


async def claim_waits_for_photo(agent: Any, sender_id: str) -> bool:
    """True while the claim form of this conversation is asking for the photo."""
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return False
    try:
        tracker = await store.retrieve(sender_id)
    except Exception:
        logger.exception("media_in.tracker_read_failed")
        return False
    if tracker is None:
        return False
    if tracker.active_loop_name != CLAIM_FORM:
        return False
    for event in reversed(tracker.events):  # the last value the form set (read from events:
        if getattr(event, "type_name", "") == "slot" and event.key == "requested_slot":
            return event.value == PHOTO_SLOT  # it does not depend on the domain's slots)
    return False


def _mb(limit: int | None) -> str:
    return f"{(limit or 0) / (1024 * 1024):g}"


def problem_text(received: Received, lang: str) -> str:
    what = t(f"media_what_{received.incoming.kind}", lang)
    if received.problem == "too_large":
        return t("media_too_large", lang, what=what, mb=_mb(received.limit))
    if received.problem in ("download_failed", "storage"):
        return t("media_download_failed", lang, what=what)
    return t("media_not_accepted", lang, what=what)


async def media_turn(received: list[Received], *, caption: str | None, sender: str,
                     language: str, agent: Any, gate: Any, output: Any) -> Turn:
    """Decide what happens after the files of one message were downloaded (or not)."""
    stored = [r for r in received if r.stored is not None]
    failed = [r for r in received if r.stored is None]
    extra = {MEDIA_KEY: media_metadata(received)} if stored else {}
    if await gate.is_paused(agent, sender):
        lines = [marker(r) for r in received]
        if caption:
            lines.append(caption)
        for r in failed:  # the shopper learns it did not arrive; the agent sees the flag
            await output.send_text_message(sender, problem_text(r, language))
        return Turn("\n".join(lines), extra)
    for r in failed:
        await output.send_text_message(sender, problem_text(r, language))
    if not stored:
        return Turn(caption or None)  # what the shopper wrote with it still counts
    if any(r.kind == "image" for r in stored) and await claim_waits_for_photo(agent, sender):
        return Turn(FORM_ANSWER, extra)
    for r in stored:
        if r.kind == "audio":
            await output.send_text_message(sender, t("media_voice_note", language))
        else:
            name = f" «{r.stored.filename}»" if r.stored.filename else ""
            key = "media_received_caption" if caption else "media_received"
            await output.send_text_message(sender, t(key, language, name=name,
                                                     what=t(f"media_what_{r.kind}", language)))
    return Turn(caption or None, extra)


# --- the connectors' entry points ------

async def whatsapp_turn(connector: Any, incoming: Incoming, sender: str, language: str,
                        agent: Any, gate: Any, output: Any) -> Turn:
    """One WhatsApp image/document/audio/video message: download, store, decide the turn."""
    async def fetch(max_bytes: int) -> tuple[bytes, str | None]:
        assert incoming.media_id is not None
        return await download_whatsapp(connector.graph_url, connector.access_token,
                                       incoming.media_id, max_bytes)

    received = await receive(incoming, conversation_id=sender, source="whatsapp", fetch=fetch)
    return await media_turn([received], caption=incoming.caption, sender=sender,
                            language=language, agent=agent, gate=gate, output=output)


async def messenger_turn(items: list[Incoming], sender: str, language: str, agent: Any,
                         gate: Any, output: Any) -> Turn:
    """The attachments of one Messenger message (several images may come together)."""
    received = []
    for item in items:
        async def fetch(max_bytes: int, url: str = item.url or "") -> tuple[bytes, str | None]:
            return await download_url(url, max_bytes)

        received.append(await receive(item, conversation_id=sender, source="messenger",
                                      fetch=fetch))
    return await media_turn(received, caption=None, sender=sender, language=language,
                            agent=agent, gate=gate, output=output)


async def widget_turn(keys: Any, sender: str, language: str, agent: Any, gate: Any,
                      output: Any, store: Any = None) -> Turn:
    """Photos the widget uploaded (``POST /api/widget/media``) and named in its socket.io
    message (``metadata.media``: their keys). Only images of this very conversation count: a
    key of another conversation, or made up, is ignored."""
    from media_store import MediaStoreError

    store = store or media_store()
    received = []
    for key in (keys if isinstance(keys, list) else [keys])[:10]:
        try:
            media = await store.head(str(key))
        except MediaStoreError:
            continue
        if media.conversation_id == sender and media.kind == "image":
            received.append(Received(Incoming(kind="image"), stored=media))
    if not received:
        logger.warning("media_in.widget_keys_refused: none of this conversation")
        return Turn(None)
    return await media_turn(received, caption=None, sender=sender, language=language,
                            agent=agent, gate=gate, output=output)
