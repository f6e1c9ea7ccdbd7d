"""One storage interface for shopper and agent media (photos, documents, voice notes, videos).

    from media_store import open_store, settings_from_env, MediaRejected

    store = open_store(settings_from_env())          # once, at start-up; inject it
    media = await store.put(data, declared_type="image/jpeg", filename="roto.jpg",
                            conversation_id=conversation_id, source="widget")
    record, data = await store.get(media.key)

Importing this package is cheap in both environments: Pillow, filetype and boto3 are imported
only when a file is checked or the S3 backend is opened. See docs/media.md.
"""

from __future__ import annotations

from urllib.parse import quote

from media_store.base import MediaStore
from media_store.model import (
    SOURCES,
    InvalidMediaKey,
    Kind,
    MediaNotFound,
    MediaRejected,
    MediaStoreError,
    MediaUnavailable,
    RejectReason,
    Source,
    StoredMedia,
)
from media_store.policy import ALLOWED_KINDS, TYPES, MediaLimits
from media_store.settings import MediaSettings, S3Settings, settings_from_env

__all__ = [
    "ALLOWED_KINDS",
    "SOURCES",
    "TYPES",
    "InvalidMediaKey",
    "Kind",
    "MediaLimits",
    "MediaNotFound",
    "MediaRejected",
    "MediaSettings",
    "MediaStore",
    "MediaStoreError",
    "MediaUnavailable",
    "RejectReason",
    "S3Settings",
    "Source",
    "StoredMedia",
    "open_store",
    "response_headers",
    "settings_from_env",
]


def open_store(settings: MediaSettings) -> MediaStore:
    """The backend the settings choose. Opening does no I/O for the local backend (the folder
    and index are created on first use); the S3 backend builds its boto3 client here."""
    if settings.backend == "s3":
        from media_store.s3 import S3Store

        assert settings.s3 is not None, "settings_from_env() fills s3 when backend is s3"
        return S3Store(settings.s3, settings.limits)
    from media_store.local import LocalDirectoryStore

    return LocalDirectoryStore(settings.directory, settings.limits)


def response_headers(media: StoredMedia) -> dict[str, str]:
    """HTTP headers for serving stored media to a browser (the agent console, the widget).

    The type is the sniffed one; ``nosniff`` stops browsers from guessing another; documents,
    audio and video are downloads, and a sandbox CSP keeps even a hostile PDF from running
    script in the console's origin.
    """
    disposition = "inline" if media.kind == "image" else "attachment"
    if media.filename:  # RFC 6266/5987: any name, safely quoted
        disposition += f"; filename*=UTF-8''{quote(media.filename, safe='')}"
    return {
        "Content-Type": media.mime_type,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": disposition,
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
        "ETag": f'"{media.sha256}"',
    }
