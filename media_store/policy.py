"""What may be stored, from whom, and how big: the one place for these policy facts.

``prepare()`` turns untrusted bytes into what a backend writes: the type is sniffed from the
content (``filetype``), checked against the source's allow-list and the kind's size limit, and
images are decoded and re-encoded without their metadata (``images.py``).
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field

from media_store.model import (
    Kind,
    MediaRejected,
    check_conversation_id,
    check_source,
    clean_filename,
)

MB = 1024 * 1024

#: Sniffed MIME type -> kind, for every type any source accepts. Anything else is refused.
#: Legacy Office (.doc/.xls/.ppt), plain text, GIF, HEIC, SVG and HTML are not accepted: SVG and
#: HTML can run script in a browser, the others cannot be recognised or cleaned reliably here.
TYPES: Mapping[str, Kind] = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/webp": "image",
    "application/pdf": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "document",
    "audio/ogg": "audio",
    "audio/mpeg": "audio",
    "audio/aac": "audio",
    "audio/mp4": "audio",
    "audio/amr": "audio",
    "video/mp4": "video",
    "video/3gpp": "video",
    "video/quicktime": "video",
}

#: Which kinds each source may store. Widget uploads are claim photos (issue #13); WhatsApp and
#: Messenger deliver all four kinds (issue #17); agents send images and documents.
ALLOWED_KINDS: Mapping[str, frozenset[Kind]] = {
    "widget": frozenset({"image"}),
    "whatsapp": frozenset({"image", "document", "audio", "video"}),
    "messenger": frozenset({"image", "document", "audio", "video"}),
    "agent": frozenset({"image", "document"}),
}

#: MP4/3GP containers carry audio-only clips too (Messenger voice clips): declared as audio they
#: are stored as ``audio/mp4``.
_MP4_FAMILY = {"video/mp4", "video/3gpp"}
_OOXML_PARTS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "word/",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xl/",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "ppt/",
}
_NO_CLAIM = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}


@dataclass(frozen=True)
class MediaLimits:
    """Largest accepted input per kind, in bytes, and the largest image in pixels (a 2 KB PNG
    can claim 100,000 x 100,000 pixels and would take gigabytes to decode)."""

    image: int = 10 * MB
    document: int = 25 * MB
    audio: int = 16 * MB
    video: int = 16 * MB
    image_pixels: int = 40_000_000

    def for_kind(self, kind: Kind) -> int:
        return int(getattr(self, kind))

    def largest_for(self, source: str) -> int:
        """The most bytes ``source`` may send: cap a download or a request body with it, so a
        huge file is cut off before it is held in memory."""
        return max(self.for_kind(kind) for kind in ALLOWED_KINDS[source])


@dataclass(frozen=True)
class Prepared:
    """Checked bytes, ready to be written by a backend."""

    data: bytes
    kind: Kind
    mime_type: str
    sha256: str
    conversation_id: str
    source: str
    filename: str | None = field(default=None)


def sniff(data: bytes) -> str | None:
    """The MIME type the content says it is, or ``None``."""
    import filetype  # small, pure Python; imported here to keep package import free

    found = filetype.guess(data)
    return found.mime if found else None


def claimed_kind(mime: str | None) -> str | None:
    """The kind a declared MIME type (or one guessed from a file name) claims; ``None`` when it
    claims nothing useful (``application/octet-stream``)."""
    mime = (mime or "").split(";", 1)[0].strip().lower()
    if mime in _NO_CLAIM:
        return None
    if mime in TYPES:
        return TYPES[mime]
    top = mime.split("/", 1)[0]
    if top in ("image", "audio", "video"):
        return top
    if mime in ("application/msword", "application/rtf") or mime.startswith(
        ("application/vnd.ms-", "application/vnd.openxmlformats", "application/vnd.oasis")
    ):
        return "document"
    return mime  # e.g. text/html: matches no kind, so any content under that claim is refused


def prepare(
    data: bytes,
    *,
    declared_type: str | None,
    filename: str | None,
    conversation_id: str,
    source: str,
    limits: MediaLimits,
) -> Prepared:
    """Validate untrusted bytes for ``source``; raise ``MediaRejected`` (or ``ValueError`` for a
    programming error such as an unknown source) instead of returning anything doubtful."""
    check_source(source)
    check_conversation_id(conversation_id)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("data must be bytes")
    data = bytes(data)
    allowed = ALLOWED_KINDS[source]
    if not data:
        raise MediaRejected("empty", "the file is empty")
    biggest = limits.largest_for(source)
    if len(data) > biggest:
        raise MediaRejected(
            "too_large", f"the file is larger than {_mb(biggest)} MB", limit=biggest
        )

    mime = sniff(data)
    kind = TYPES.get(mime) if mime else None
    if kind is None or kind not in allowed:
        what = mime or "an unrecognised type"
        kinds = ", ".join(sorted(allowed))
        raise MediaRejected(
            "type_not_allowed",
            f"the content is {what}; accepted here: {kinds}",
            detected_type=mime,
        )

    # The declared type (a browser's File.type, Meta's mime_type) only has to agree on the kind:
    # a PNG declared image/jpeg is stored as the PNG it is. The file name is never consulted.
    claim = claimed_kind(declared_type)
    assert mime is not None
    if kind == "video" and mime in _MP4_FAMILY and claim == "audio" and "audio" in allowed:
        mime, kind = "audio/mp4", "audio"
    if claim is not None and claim != kind:
        raise MediaRejected(
            "type_mismatch",
            f"the content is {mime}, but the file was declared as something else",
            detected_type=mime,
        )

    limit = limits.for_kind(kind)
    if len(data) > limit:
        raise MediaRejected(
            "too_large", f"{kind} files may be up to {_mb(limit)} MB", limit=limit,
            detected_type=mime,
        )

    if kind == "image":
        from media_store.images import clean_image

        data = clean_image(data, mime, max_pixels=limits.image_pixels)
    elif mime in _OOXML_PARTS:
        _check_ooxml(data, mime)

    return Prepared(
        data=data,
        kind=kind,
        mime_type=mime,
        sha256=hashlib.sha256(data).hexdigest(),
        conversation_id=conversation_id,
        source=source,
        filename=clean_filename(filename),
    )


def _check_ooxml(data: bytes, mime: str) -> None:
    """An Office file is a ZIP archive: its central directory must read and name the parts of
    that document kind (nothing is extracted, so archive bombs cost nothing)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except Exception:  # BadZipFile, NotImplementedError (odd versions), OSError, ValueError ...
        raise MediaRejected(
            "unreadable", "the document is not a readable Office file", detected_type=mime
        ) from None
    if "[Content_Types].xml" not in names or not any(
        n.startswith(_OOXML_PARTS[mime]) for n in names
    ):
        raise MediaRejected(
            "unreadable", "the document is not a readable Office file", detected_type=mime
        )


def _mb(n: int) -> str:
    return f"{n / MB:g}"
