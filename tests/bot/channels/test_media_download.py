"""Downloading a shopper's file from Meta (bot/channels/media_download.py) against the Graph API
stand-in: the two WhatsApp steps with the token, the size cap before and during the body, Meta's
hash in both forms, and what is retried (failures) and what is not (refusals). What the shopper
and the agent then see: test_media_in.py."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator

import pytest

from bot.channels import media_download
from bot.channels.media_download import (
    DownloadFailed,
    DownloadRefused,
    download_url,
    download_whatsapp,
    with_retries,
)
from tests.bot.channels.graph_standin import TOKEN, GraphStandIn, jpeg

MEDIA_ID = "1003383421387256"


@pytest.fixture
async def meta() -> AsyncIterator[GraphStandIn]:
    standin = await GraphStandIn().start()
    yield standin
    await standin.stop()


async def test_whatsapp_media_comes_in_two_steps_with_its_type(meta: GraphStandIn) -> None:
    photo = jpeg()
    meta.add(MEDIA_ID, photo, "image/jpeg")
    data, mime = await download_whatsapp(meta.url, TOKEN, MEDIA_ID, 1024 * 1024)
    assert (data, mime) == (photo, "image/jpeg")
    assert [r["path"] for r in meta.requests] == [f"/{MEDIA_ID}"] and meta.downloads == [MEDIA_ID]


async def test_a_wrong_token_or_an_unknown_media_id_fails_and_a_strange_id_is_refused(
        meta: GraphStandIn) -> None:
    meta.add(MEDIA_ID, jpeg(), "image/jpeg")
    with pytest.raises(DownloadFailed, match="HTTP 401"):
        await download_whatsapp(meta.url, "wrong-token", MEDIA_ID, 1024 * 1024)
    with pytest.raises(DownloadFailed, match="HTTP 404"):
        await download_whatsapp(meta.url, TOKEN, "999", 1024 * 1024)
    with pytest.raises(DownloadRefused) as refused:
        await download_whatsapp(meta.url, TOKEN, "../../me", 1024 * 1024)
    assert refused.value.reason == "type_not_allowed" and meta.downloads == []


async def test_the_size_cap_holds_before_and_during_the_body(meta: GraphStandIn) -> None:
    meta.add(MEDIA_ID, jpeg(width=400, height=400) + b"\0" * 4096, "image/jpeg")
    meta.announced_size[MEDIA_ID] = 10 * 1024 * 1024
    with pytest.raises(DownloadRefused) as announced:
        await download_whatsapp(meta.url, TOKEN, MEDIA_ID, 1024 * 1024)
    assert announced.value.reason == "too_large" and announced.value.limit == 1024 * 1024
    assert meta.downloads == []  # refused on the announced size: no bytes fetched
    meta.announced_size[MEDIA_ID] = 10  # lies about its size: cut off while reading
    with pytest.raises(DownloadRefused, match="too_large"):
        await download_whatsapp(meta.url, TOKEN, MEDIA_ID, 1024)


def test_bytes_that_do_not_match_metas_hash_fail() -> None:
    data = b"a photo"
    digest = hashlib.sha256(data).digest()
    assert media_download._sha256_matches(data, digest.hex())
    assert media_download._sha256_matches(data, base64.b64encode(digest).decode())
    assert not media_download._sha256_matches(data + b"!", digest.hex())
    assert media_download._sha256_matches(data, None)  # Meta gave none: nothing to check


async def test_a_corrupted_download_fails(meta: GraphStandIn) -> None:
    meta.add(MEDIA_ID, jpeg(), "image/jpeg")
    meta.corrupt.add(MEDIA_ID)
    with pytest.raises(DownloadFailed, match="sha256"):
        await download_whatsapp(meta.url, TOKEN, MEDIA_ID, 1024 * 1024)


async def test_a_messenger_url_needs_no_token_and_must_be_http(meta: GraphStandIn) -> None:
    meta.add("m1", b"%PDF-1.4 factura", "application/pdf")
    assert await download_url(f"{meta.url}/cdn/m1", 1024) == (b"%PDF-1.4 factura",
                                                               "application/pdf")
    with pytest.raises(DownloadRefused, match="type_not_allowed"):
        await download_url("file:///etc/passwd", 1024)


async def test_failures_are_retried_refusals_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media_download, "RETRY_DELAYS", (0.01, 0.01))
    calls: list[str] = []

    async def flaky() -> tuple[bytes, str | None]:
        calls.append("try")
        if len(calls) < 3:
            raise DownloadFailed("HTTP 500")
        return b"ok", "image/jpeg"

    assert await with_retries(flaky) == (b"ok", "image/jpeg") and len(calls) == 3

    async def broken() -> tuple[bytes, str | None]:
        calls.append("broken")
        raise DownloadFailed("HTTP 500")

    with pytest.raises(DownloadFailed):
        await with_retries(broken)
    assert calls.count("broken") == 3  # one try plus one per delay

    async def too_big() -> tuple[bytes, str | None]:
        calls.append("too_big")
        raise DownloadRefused("too_large", 10)

    with pytest.raises(DownloadRefused):
        await with_retries(too_big)
    assert calls.count("too_big") == 1
