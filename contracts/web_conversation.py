"""Web chat conversations belong to whoever holds their secret, not to whoever knows their id.

The Rasa socket.io channel issues each new web conversation an id (``web-`` + 144 random bits) and
a *conversation token*: ``<id>.<signature>``, the signature being an HMAC-SHA256 of the id under a
key derived from ``HANDOFF_BOT_TOKEN`` — the secret the Rasa process and the handoff API already
share, so no new secret has to be deployed, and nobody who lacks it (a shopper, a reader of the
logs) can make a token. The widget keeps the token in localStorage and presents it:

* to Rasa, in ``session_request``, to take up its conversation again after a reload;
* to the handoff API, in the ``X-Atiende-Conversation`` header of the widget's replay, queue and
  live-stream requests (never in a URL, so it cannot land in an access log).

Standard library only: imported by both environments (Rasa's Python 3.10 and the app's 3.11).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

HEADER = "X-Atiende-Conversation"
ID_PREFIX = "web-"
_ID = re.compile(r"^web-[A-Za-z0-9_-]{24}$")
_TOKEN = re.compile(r"^(\S{1,200})\.([A-Za-z0-9_-]{43})$")
_CONTEXT = b"atiende web conversation v1"


def signing_key(bot_token: str) -> bytes:
    """The key for conversation tokens, derived from the shared bot token (never used as is)."""
    return hmac.new(bot_token.encode(), _CONTEXT, hashlib.sha256).digest()


def new_conversation_id() -> str:
    """``web-`` + 18 random bytes (144 bits), URL-safe: cannot be guessed or enumerated."""
    return ID_PREFIX + secrets.token_urlsafe(18)


def is_web_conversation_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


def _signature(key: bytes, conversation_id: str) -> str:
    mac = hmac.new(key, conversation_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def token_for(key: bytes, conversation_id: str) -> str:
    """The token of a conversation (Rasa's channel only mints them for ids it issued)."""
    if not conversation_id or len(conversation_id) > 200 or re.search(r"\s", conversation_id):
        raise ValueError("a conversation id is 1-200 characters without spaces")
    return f"{conversation_id}.{_signature(key, conversation_id)}"


def conversation_of(key: bytes, token: object) -> str | None:
    """The conversation id a token proves, or ``None`` for a missing, malformed or forged one."""
    if not isinstance(token, str) or len(token) > 250:
        return None
    match = _TOKEN.match(token.strip())
    if match is None:
        return None
    conversation_id, signature = match.groups()
    if not hmac.compare_digest(signature, _signature(key, conversation_id)):
        return None
    return conversation_id


_ID_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_-])web-[A-Za-z0-9_-]{24}(?![A-Za-z0-9_-])")


def mask_ids(text: str) -> str:
    """Every server-issued web conversation id in ``text`` replaced by its fingerprint (the
    log filter of every process calls this: Rasa's, the gate's and uvicorn's lines included)."""
    if "web-" not in text:
        return text
    return _ID_IN_TEXT.sub(lambda m: fingerprint(m.group(0)), text)


def fingerprint(conversation_id: object) -> str:
    """What logs show instead of a conversation id: a short, stable, non-reversible tag
    (enough to follow one conversation through a log, useless to open it)."""
    digest = hashlib.sha256(str(conversation_id).encode()).hexdigest()[:12]
    return f"c#{digest}"
