"""Media out: an agent's image or document to the shopper's channel (issue #17).

Kept apart from the text relays (``whatsapp.py``, ``messenger.py``, ``webchat.py``), which it uses
for their settings, HTTP client and window rules:

* web widget — an ``agent_message`` on the widget's stream with ``media`` (key, kind, type, name);
  the widget reads the file from ``GET /api/widget/media/{key}`` with its conversation token;
* WhatsApp — Meta's documented upload (``POST /{phone-number-id}/media``, multipart ``file``,
  ``type``, ``messaging_product``) then a message ``{"type": "image"|"document", ...: {"id"}}``;
  refused before calling Meta outside the 24-hour window, like text;
* Messenger — the Send API with the file attached (multipart ``filedata``), same window rules
  (``RESPONSE`` within 24 h, ``HUMAN_AGENT`` tag up to 7 days when enabled).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx

from handoff_api.broker import widget_topic
from handoff_api.relay.base import DeliveryResult, RelayTarget

logger = logging.getLogger(__name__)

WEB = ("socketio", "rest", "webchat")


def _media(media: Any) -> dict[str, Any]:
    return {"key": media.key, "kind": media.kind, "mime_type": media.mime_type,
            "filename": media.filename}


async def send_media(relays: Any, target: RelayTarget, media: Any, data: bytes,
                     caption: str = "") -> DeliveryResult:
    try:
        if target.channel in WEB:
            return _webchat(relays, target, media, caption)
        if target.channel == "whatsapp":
            return await _whatsapp(relays.get("whatsapp"), target, media, data, caption)
        if target.channel == "messenger":
            return await _messenger(relays.get("messenger"), target, media, data, caption)
    except httpx.HTTPError as exc:
        logger.warning("media out %s network error: %s", target.channel, type(exc).__name__)
        return DeliveryResult.refused(f"{target.channel}_unreachable: {type(exc).__name__}",
                                      retryable=True)
    return DeliveryResult.refused(f"Files cannot be sent on channel '{target.channel}'")


def _webchat(relays: Any, target: RelayTarget, media: Any, caption: str) -> DeliveryResult:
    relays.context.broker.publish(widget_topic(target.conversation_id), "agent_message", {
        "id": target.metadata.get("message_id"), "role": "agent", "text": caption,
        "media": _media(media),
        "ts": target.metadata.get("ts") or datetime.now(UTC).isoformat(),
        "agent_name": target.metadata.get("agent_name")})
    return DeliveryResult.delivered()


async def _whatsapp(relay: Any, target: RelayTarget, media: Any, data: bytes,
                    caption: str) -> DeliveryResult:
    from handoff_api.relay.whatsapp import WINDOW, WINDOW_CLOSED, WINDOW_ERROR_CODES, _aware

    if not relay.configured:
        return DeliveryResult.refused(
            "whatsapp_not_configured: set WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID")
    last = target.last_shopper_message_at
    if last is not None and relay.now() - _aware(last) >= WINDOW:
        return DeliveryResult.refused(
            f"{WINDOW_CLOSED}: the shopper's last message was more than 24 hours ago; "
            "WhatsApp only allows approved template messages now")
    headers = {"Authorization": f"Bearer {relay.access_token}"}
    base = f"{relay.graph_url}/{relay.phone_number_id}"
    upload = await relay._http().post(
        f"{base}/media", headers=headers,
        data={"messaging_product": "whatsapp", "type": media.mime_type},
        files={"file": (media.filename or f"file-{media.key[:8]}", data, media.mime_type)})
    if not upload.is_success:
        return relay.refusal(upload, "WhatsApp", WINDOW_ERROR_CODES, WINDOW_CLOSED)
    media_id = (upload.json() or {}).get("id")
    kind = "image" if media.kind == "image" else "document"
    body: dict[str, Any] = {"id": media_id}
    if caption:
        body["caption"] = caption[:1024]
    if kind == "document" and media.filename:
        body["filename"] = media.filename
    response = await relay._http().post(f"{base}/messages", headers=headers, json={
        "messaging_product": "whatsapp", "recipient_type": "individual",
        "to": target.conversation_id, "type": kind, kind: body})
    if not response.is_success:
        return relay.refusal(response, "WhatsApp", WINDOW_ERROR_CODES, WINDOW_CLOSED)
    ids = [m.get("id", "") for m in (response.json() or {}).get("messages") or []]
    return DeliveryResult.delivered(",".join(i for i in ids if i) or None)


async def _messenger(relay: Any, target: RelayTarget, media: Any, data: bytes,
                     caption: str) -> DeliveryResult:
    from handoff_api.relay.messenger import WINDOW_CLOSED, WINDOW_ERROR_CODES

    if not relay.token:
        return DeliveryResult.refused("messenger_not_configured: set MESSENGER_PAGE_ACCESS_TOKEN")
    messaging = relay._messaging(target.last_shopper_message_at)
    if messaging is None:
        return DeliveryResult.refused(
            f"{WINDOW_CLOSED}: the shopper's last message is outside Messenger's window")
    kind = "image" if media.kind == "image" else "file"
    form = {"recipient": json.dumps({"id": target.conversation_id}), **messaging,
            "message": json.dumps({"attachment": {"type": kind,
                                                  "payload": {"is_reusable": False}}})}
    response = await relay._http().post(
        f"{relay.graph_url}/me/messages", headers={"Authorization": f"Bearer {relay.token}"},
        data=form,
        files={"filedata": (media.filename or f"file-{media.key[:8]}", data, media.mime_type)})
    if not response.is_success:
        return relay.refusal(response, "Messenger", WINDOW_ERROR_CODES, WINDOW_CLOSED)
    ids = [str((response.json() or {}).get("message_id", ""))]
    if caption:
        more = await relay.send_text(target, caption)
        if not more.ok:
            return more
    return DeliveryResult.delivered(",".join(i for i in ids if i) or None)
