"""The record a store hands back, the errors it raises, and the rules for keys and ids.

Shared by both backends and both Python environments (3.10 bot, 3.11 app): standard library only.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

#: Where a file came from. Each source has its own allow-list and limits (``policy.py``).
Source = Literal["widget", "whatsapp", "messenger", "agent"]
SOURCES: tuple[str, ...] = ("widget", "whatsapp", "messenger", "agent")

#: Coarse kind of a stored file, decided from its bytes (never from its name or declared type).
Kind = Literal["image", "document", "audio", "video"]

#: Why a file was refused. Stable strings: callers map them to replies and 4xx bodies.
RejectReason = Literal["empty", "too_large", "type_not_allowed", "type_mismatch", "unreadable"]

#: 24 random bytes, URL-safe base64 without padding: 32 characters, 192 bits.
KEY_BYTES = 24
_KEY_RE = re.compile(r"[A-Za-z0-9_-]{32}")
MAX_CONVERSATION_ID = 128
MAX_FILENAME = 120


@dataclass(frozen=True)
class StoredMedia:
    """What was stored. ``mime_type``, ``kind``, ``size`` and ``sha256`` describe the stored bytes
    (for images: after metadata stripping), never what the sender claimed."""

    key: str
    conversation_id: str
    source: str
    kind: Kind
    mime_type: str
    size: int
    sha256: str
    created_at: datetime
    #: The sender's file name, cleaned (no folders, no control characters), for display only.
    filename: str | None = None


class MediaStoreError(Exception):
    """Base class of everything this package raises on purpose."""


class MediaRejected(MediaStoreError):
    """The bytes were refused; ``reason`` says why in a stable word, ``str(exc)`` in a sentence.

    The message never contains the file name or content, so it is safe to log and to return in a
    4xx body.
    """

    def __init__(
        self,
        reason: RejectReason,
        message: str,
        *,
        detected_type: str | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason: RejectReason = reason
        self.detected_type = detected_type
        self.limit = limit


class MediaNotFound(MediaStoreError, LookupError):
    """No media under that key (never stored, deleted, or expired by retention)."""


class MediaUnavailable(MediaStoreError):
    """The storage itself failed (disk full, bucket unreachable, permissions): nothing was stored
    or deleted by the failing step. Callers tell the shopper to try again and log the cause."""


class InvalidMediaKey(MediaStoreError, ValueError):
    """The key is not one this package could have generated (e.g. ``../../etc/passwd``)."""


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def check_key(key: object) -> str:
    """Return ``key`` if it has the exact shape of a generated key, else raise ``InvalidMediaKey``.

    Every backend calls this before a key comes near a path or an object name, so traversal
    (``..``, ``/``, ``\\``, NUL, absolute paths) cannot reach the file system or the bucket.
    """
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise InvalidMediaKey("not a media key")
    return key


def check_conversation_id(conversation_id: object) -> str:
    if (
        not isinstance(conversation_id, str)
        or not conversation_id
        or len(conversation_id) > MAX_CONVERSATION_ID
        or not conversation_id.isprintable()
    ):
        raise ValueError(
            f"conversation_id must be 1-{MAX_CONVERSATION_ID} printable characters"
        )
    return conversation_id


def check_source(source: object) -> str:
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}")
    return str(source)


def clean_filename(filename: str | None) -> str | None:
    """The last path component of the sender's file name, printable, at most ``MAX_FILENAME``
    characters; ``None`` if nothing is left. Only ever shown to people, never used in a path."""
    if not filename:
        return None
    name = unicodedata.normalize("NFC", str(filename))
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().strip(".")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_FILENAME - len(ext) - 1] + "." + ext
        else:
            name = name[:MAX_FILENAME]
    return name or None
