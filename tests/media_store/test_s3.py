"""The S3 backend against a real S3-compatible HTTP server (moto's, started on a free port)."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from media_store import (
    InvalidMediaKey,
    MediaNotFound,
    MediaRejected,
    MediaStore,
    MediaUnavailable,
    open_store,
    settings_from_env,
)
from media_store.s3 import S3Store
from media_store.settings import S3Settings
from tests.media_store.conftest import HTML, fixture, jpeg_with_exif, pdf
from tests.media_store.conftest import put as _put
from tests.media_store.test_local import TRAVERSALS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("moto's S3 server did not start")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(10)


@pytest.fixture()
def s3_settings(s3_endpoint, request):
    import boto3

    bucket = "media-" + hashlib.sha1(request.node.name.encode()).hexdigest()[:12]
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                 aws_access_key_id="test", aws_secret_access_key="test").create_bucket(
                     Bucket=bucket)
    return S3Settings(bucket=bucket, endpoint_url=s3_endpoint, prefix="atiende/media/",
                      access_key_id="test", secret_access_key="test", addressing_style="path")


@pytest.fixture()
async def s3_store(s3_settings):
    store = S3Store(s3_settings)
    yield store
    await store.aclose()


def _objects(store: S3Store) -> list[str]:
    return sorted(e["Key"] for e in store._list_prefix(""))


async def test_round_trip_through_configuration(s3_settings, monkeypatch):
    env = {"MEDIA_BACKEND": "s3", "MEDIA_S3_BUCKET": s3_settings.bucket,
           "MEDIA_S3_ENDPOINT": s3_settings.endpoint_url, "MEDIA_S3_PREFIX": "atiende/media",
           "MEDIA_S3_ACCESS_KEY_ID": "test", "MEDIA_S3_SECRET_ACCESS_KEY": "test",
           "MEDIA_S3_ADDRESSING_STYLE": "path"}
    store = open_store(settings_from_env(env))
    assert isinstance(store, S3Store) and isinstance(store, MediaStore)
    media = await _put(store, jpeg_with_exif(), declared_type="image/jpeg",
                       filename="zapatilla rota ñ.jpg", source="widget", conversation="+34 600")
    record, data = await store.get(media.key)
    assert record == media
    assert media.filename == "zapatilla rota ñ.jpg" and media.conversation_id == "+34 600"
    assert hashlib.sha256(data).hexdigest() == media.sha256 and len(data) == media.size
    assert b"PhoneMakerSerial123" not in data
    assert await store.head(media.key) == media
    await store.aclose()


async def test_object_layout_and_headers(s3_store):
    media = await _put(s3_store, pdf(), filename="../../factura.pdf", conversation="c-9")
    names = _objects(s3_store)
    assert f"atiende/media/objects/{media.key}" in names
    assert len(names) == 2
    assert all("factura" not in n and "c-9" not in n for n in names)
    head = s3_store._client.head_object(Bucket=s3_store.bucket,
                                        Key=f"atiende/media/objects/{media.key}")
    assert head["ContentType"] == "application/pdf"
    assert head["ContentDisposition"] == "attachment"


@pytest.mark.parametrize("key", TRAVERSALS)
async def test_traversal_keys_are_refused(s3_store, key):
    for call in (s3_store.get, s3_store.head, s3_store.delete):
        with pytest.raises(InvalidMediaKey):
            await call(key)


async def test_rejected_and_unknown(s3_store):
    with pytest.raises(MediaRejected):
        await _put(s3_store, HTML, source="widget")
    assert _objects(s3_store) == []
    with pytest.raises(MediaNotFound):
        await s3_store.get("B" * 32)
    assert await s3_store.delete("B" * 32) is False


async def test_list_and_delete(s3_store):
    a = await _put(s3_store, fixture("voice_note.ogg"), declared_type="audio/ogg")
    b = await _put(s3_store, fixture("clip.mp4"))
    await _put(s3_store, conversation="c-2")
    assert await s3_store.list_conversation("conv-1") == [a, b]
    assert await s3_store.delete(a.key) is True
    assert await s3_store.list_conversation("conv-1") == [b]
    assert len(_objects(s3_store)) == 4  # two files, two markers


async def test_delete_conversation(s3_store):
    for _ in range(3):
        await _put(s3_store, conversation="+34600111222")
    other = await _put(s3_store, conversation="c-2")
    assert await s3_store.delete_conversation("+34600111222") == 3
    assert await s3_store.list_conversation("+34600111222") == []
    remaining = _objects(s3_store)
    assert len(remaining) == 2 and all(other.key in n for n in remaining)


async def test_delete_older_than(s3_store):
    old = [await _put(s3_store, conversation=c) for c in ("c-1", "c-2")]
    # S3 keeps upload times to the second: cut at the next whole second, then store a fresh one
    now = datetime.now(timezone.utc)
    cutoff = now.replace(microsecond=0) + timedelta(seconds=1)
    await asyncio.sleep((cutoff - now).total_seconds() + 0.05)
    fresh = await _put(s3_store, conversation="c-1")

    assert await s3_store.delete_older_than(cutoff) == 2
    assert await s3_store.list_conversation("c-1") == [fresh]
    assert await s3_store.list_conversation("c-2") == []
    for media in old:
        with pytest.raises(MediaNotFound):
            await s3_store.head(media.key)
    assert len(_objects(s3_store)) == 2


async def test_dangling_markers_are_swept(s3_store):
    await _put(s3_store)
    # a crash after the marker and before the bytes
    s3_store._client.put_object(Bucket=s3_store.bucket,
                                Key=s3_store._markers("0" * 32) + "C" * 32, Body=b"")
    s3_store.orphan_grace = timedelta(0)
    assert await s3_store.delete_older_than(datetime.now(timezone.utc) + timedelta(minutes=1)) == 1
    assert _objects(s3_store) == []


async def test_unreachable_server_is_media_unavailable():
    store = S3Store(S3Settings(bucket="b", endpoint_url=f"http://127.0.0.1:{_free_port()}",
                               access_key_id="k", secret_access_key="s",
                               addressing_style="path"))
    with pytest.raises(MediaUnavailable):
        await _put(store)
    with pytest.raises(MediaUnavailable):
        await store.head("D" * 32)


async def test_missing_bucket_is_media_unavailable(s3_endpoint):
    store = S3Store(S3Settings(bucket="no-such-bucket", endpoint_url=s3_endpoint,
                               access_key_id="test", secret_access_key="test",
                               addressing_style="path"))
    with pytest.raises(MediaUnavailable):
        await _put(store)
