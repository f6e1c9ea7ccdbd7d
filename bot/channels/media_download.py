"""Downloading a shopper's file from Meta (step 1 of :mod:`bot.channels.media_in`).

WhatsApp: Meta's documented two steps, ``GET /{media-id}`` with the access token for a
short-lived URL (plus ``mime_type``, ``file_size``, ``sha256``), then ``GET`` that URL with the
same token. Messenger: the attachment's ``payload.url`` (a CDN link). The download is capped at
the source's largest size: a declared size over it is refused before the bytes are fetched, a
body that grows past it is cut off. Network errors, 5xx and a wrong ``sha256`` are retried
(:data:`RETRY_DELAYS`); a refusal by size or type is not.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import re
from typing import Any

# media_in's log: its events are named ``media_in.*``
logger = logging.getLogger("bot.channels.media_in")

#: Waits between download attempts (three attempts in all).
RETRY_DELAYS: tuple[float, ...] = (0.5, 2.0)
DOWNLOAD_TIMEOUT = 30.0


class DownloadRefused(Exception):
    """The file may not be fetched or kept (too large, wrong type): not retried."""

    def __init__(self, reason: str, limit: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.limit = limit


class DownloadFailed(Exception):
    """Network error, 4xx/5xx or corrupted bytes: retried, then reported."""


async def _get_capped(session: Any, url: str, headers: dict[str, str],
                      max_bytes: int) -> tuple[bytes, str | None]:
    async with session.get(url, headers=headers) as resp:
        if resp.status != 200:
            raise DownloadFailed(f"HTTP {resp.status}")
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise DownloadRefused("too_large", max_bytes)
        chunks, size = [], 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise DownloadRefused("too_large", max_bytes)
            chunks.append(chunk)
        return b"".join(chunks), resp.headers.get("Content-Type")


def _sha256_matches(data: bytes, expected: str | None) -> bool:
    """Meta gives the file's SHA-256 (hex in the media object, base64 in some webhooks)."""
    if not expected:
        return True
    digest = hashlib.sha256(data).digest()
    if re.fullmatch(r"[0-9a-fA-F]{64}", expected):
        return digest.hex() == expected.lower()
    try:
        return base64.b64decode(expected, validate=True) == digest
    except (binascii.Error, ValueError):
        return True  # not a form we know: do not refuse a good file over it


async def download_whatsapp(graph_url: str, token: str, media_id: str,
                            max_bytes: int) -> tuple[bytes, str | None]:
    """Meta's two steps: the media object (URL, type, size, hash), then the bytes."""
    import aiohttp

    if not re.fullmatch(r"[0-9A-Za-z_.-]{1,128}", media_id):
        raise DownloadRefused("type_not_allowed")
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(f"{graph_url.rstrip('/')}/{media_id}",
                                   headers=headers) as resp:
                if resp.status != 200:
                    raise DownloadFailed(f"media object HTTP {resp.status}")
                info = await resp.json(content_type=None)
            url = str((info or {}).get("url") or "")
            if not url.startswith(("https://", "http://")):
                raise DownloadFailed("media object without a URL")
            size = str(info.get("file_size") or "")
            if size.isdigit() and int(size) > max_bytes:
                raise DownloadRefused("too_large", max_bytes)
            data, _ = await _get_capped(session, url, headers, max_bytes)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
        raise DownloadFailed(type(exc).__name__) from exc
    if not _sha256_matches(data, info.get("sha256")):
        raise DownloadFailed("sha256 mismatch")
    return data, info.get("mime_type")


async def download_url(url: str, max_bytes: int) -> tuple[bytes, str | None]:
    """A Messenger attachment (a CDN URL that needs no token)."""
    import aiohttp

    if not url.startswith(("https://", "http://")):
        raise DownloadRefused("type_not_allowed")
    timeout = aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            return await _get_capped(session, url, {}, max_bytes)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        raise DownloadFailed(type(exc).__name__) from exc


async def with_retries(fetch: Any) -> tuple[bytes, str | None]:
    """``await fetch()`` until it works: one try plus one per :data:`RETRY_DELAYS`."""
    last: Exception | None = None
    for delay in (0.0, *RETRY_DELAYS):
        if delay:
            await asyncio.sleep(delay)
        try:
            return await fetch()
        except DownloadFailed as exc:
            last = exc
            logger.warning("media_in.download_retry: %s", exc)
    raise DownloadFailed(str(last))
