"""The local-folder backend against the real file system and SQLite."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import stat
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from media_store import (
    InvalidMediaKey,
    MediaNotFound,
    MediaRejected,
    MediaStore,
    MediaUnavailable,
)
from media_store.local import LocalDirectoryStore
from tests.media_store.conftest import HTML, fixture, jpeg_with_exif, pdf, png
from tests.media_store.conftest import put as _put

TRAVERSALS = ["../index.sqlite3", "../../etc/passwd", "/etc/passwd", "..", "", "a/b",
              "ab\\..\\..\\x", "A" * 31, "A" * 33, "A" * 31 + "\x00", "A" * 31 + "/", "%2e%2e"]


def _files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "objects").rglob("*") if p.is_file())


def _rows(root: Path) -> int:
    with closing(sqlite3.connect(root / "index.sqlite3")) as db:
        return db.execute("SELECT count(*) FROM media").fetchone()[0]


async def test_round_trip(local_store):
    assert isinstance(local_store, MediaStore)
    media = await _put(local_store, jpeg_with_exif(), declared_type="image/jpeg",
                       filename="caja rota.jpg", source="widget")
    assert media.kind == "image" and media.mime_type == "image/jpeg"
    assert media.source == "widget" and media.conversation_id == "conv-1"
    assert media.filename == "caja rota.jpg"
    assert media.created_at.tzinfo is not None
    record, data = await local_store.get(media.key)
    assert record == media
    assert len(data) == media.size and hashlib.sha256(data).hexdigest() == media.sha256
    assert b"PhoneMakerSerial123" not in data  # stored cleaned
    assert await local_store.head(media.key) == media


async def test_files_are_named_by_random_key_only(local_store):
    keys = set()
    for name in ("../../../tmp/evil.png", "foto.png"):
        media = await _put(local_store, filename=name, conversation="../../conv")
        keys.add(media.key)
        assert len(media.key) == 32  # 24 random bytes = 192 bits, URL-safe base64
        path = local_store.root / "objects" / media.key[:2] / media.key
        assert path.is_file()
    assert len(keys) == 2
    names = {p.name for p in _files(local_store.root)}
    assert names == keys  # nothing of the sender's name or the conversation id in any path


async def test_files_are_private(local_store):
    media = await _put(local_store)
    path = local_store.root / "objects" / media.key[:2] / media.key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("key", TRAVERSALS)
async def test_traversal_keys_are_refused(local_store, key):
    await _put(local_store)
    for call in (local_store.get, local_store.head, local_store.delete):
        with pytest.raises(InvalidMediaKey):
            await call(key)
    assert _rows(local_store.root) == 1


async def test_unknown_key_is_not_found(local_store):
    with pytest.raises(MediaNotFound):
        await local_store.get("A" * 32)
    assert await local_store.delete("A" * 32) is False


async def test_rejected_files_leave_nothing_behind(local_store):
    kept = await _put(local_store)
    with pytest.raises(MediaRejected):
        await _put(local_store, HTML, source="widget")
    with pytest.raises(MediaRejected):
        await _put(local_store, b"", source="widget")
    assert [p.name for p in _files(local_store.root)] == [kept.key]
    assert _rows(local_store.root) == 1


async def test_restart_keeps_the_index(tmp_path):
    first = LocalDirectoryStore(tmp_path / "media")
    a = await _put(first, pdf(), conversation="c-a", filename="factura.pdf")
    b = await _put(first, fixture("voice_note.ogg"), conversation="c-a")
    await first.aclose()

    again = LocalDirectoryStore(tmp_path / "media")
    assert await again.list_conversation("c-a") == [a, b]
    record, data = await again.get(b.key)
    assert record == b and data == fixture("voice_note.ogg")


async def test_list_conversation_is_per_conversation_and_oldest_first(local_store):
    mine = [await _put(local_store, conversation="c-1") for _ in range(3)]
    await _put(local_store, conversation="c-2")
    assert await local_store.list_conversation("c-1") == mine
    assert await local_store.list_conversation("nobody") == []


async def test_delete(local_store):
    media = await _put(local_store)
    assert await local_store.delete(media.key) is True
    assert await local_store.delete(media.key) is False
    with pytest.raises(MediaNotFound):
        await local_store.get(media.key)
    assert _files(local_store.root) == [] and _rows(local_store.root) == 0


async def test_delete_conversation_removes_files_and_rows(local_store):
    for _ in range(3):
        await _put(local_store, conversation="+34600111222")
    other = await _put(local_store, conversation="c-2")
    assert await local_store.delete_conversation("+34600111222") == 3
    assert await local_store.list_conversation("+34600111222") == []
    assert [p.name for p in _files(local_store.root)] == [other.key]
    assert _rows(local_store.root) == 1
    assert await local_store.delete_conversation("+34600111222") == 0


async def test_delete_older_than_removes_old_files_and_rows(local_store, monkeypatch):
    now = datetime.now(timezone.utc)
    old = []
    # store two files "40 days ago" by moving the clock the store reads
    monkeypatch.setattr("media_store.base.datetime", _FrozenClock(now - timedelta(days=40)))
    old = [await _put(local_store, conversation=c) for c in ("c-1", "c-2")]
    monkeypatch.undo()
    fresh = await _put(local_store, conversation="c-1")

    assert await local_store.delete_older_than(now - timedelta(days=30)) == 2
    assert [p.name for p in _files(local_store.root)] == [fresh.key]
    assert await local_store.list_conversation("c-1") == [fresh]
    for media in old:
        with pytest.raises(MediaNotFound):
            await local_store.head(media.key)


async def test_delete_older_than_needs_an_aware_cutoff(local_store):
    with pytest.raises(ValueError, match="timezone-aware"):
        await local_store.delete_older_than(datetime.now())


async def test_orphan_files_are_swept_after_the_grace_period(local_store):
    """A crash between writing a file and indexing it leaves a file nobody can reach; retention
    removes it once it is older than both the cutoff and an hour."""
    kept = await _put(local_store)
    folder = local_store.root / "objects" / "zz"
    folder.mkdir(mode=0o700)
    orphan, tmp, young, foreign = (folder / ("zz" + "Q" * 30), folder / (".tmp-" + "Q" * 32),
                                   folder / ("zz" + "Y" * 30), folder / "README")
    for path in (orphan, tmp, young, foreign):
        path.write_bytes(b"x")
    two_hours_ago = (datetime.now(timezone.utc) - timedelta(hours=2)).timestamp()
    for path in (orphan, tmp, foreign):
        os.utime(path, (two_hours_ago, two_hours_ago))

    assert await local_store.delete_older_than(datetime.now(timezone.utc)) == 1 + 2
    assert not orphan.exists() and not tmp.exists()
    assert young.exists() and foreign.exists()
    # the indexed file is younger than nothing but "now": it went with the cutoff
    with pytest.raises(MediaNotFound):
        await local_store.head(kept.key)


async def test_a_row_whose_file_vanished_reads_as_not_found_and_deletes(local_store):
    media = await _put(local_store)
    (local_store.root / "objects" / media.key[:2] / media.key).unlink()
    with pytest.raises(MediaNotFound):
        await local_store.get(media.key)
    assert await local_store.delete(media.key) is True
    assert _rows(local_store.root) == 0


async def test_concurrent_puts_from_two_store_objects(tmp_path):
    """Two processes (here: two store objects) sharing the folder and the SQLite index."""
    a, b = LocalDirectoryStore(tmp_path / "m"), LocalDirectoryStore(tmp_path / "m")
    results = await asyncio.gather(*[
        _put(a if i % 2 else b, png(size=(8 + i, 8)), conversation="c") for i in range(20)])
    assert len({m.key for m in results}) == 20
    assert len(await a.list_conversation("c")) == 20
    assert len(_files(tmp_path / "m")) == 20


async def test_storage_failure_is_media_unavailable(tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the media folder should be")
    store = LocalDirectoryStore(blocked / "media")
    with pytest.raises(MediaUnavailable):
        await _put(store)


class _FrozenClock:
    """Stands in for ``datetime`` in media_store.base so ``now()`` returns a fixed moment."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self, tz=None):
        return self.moment
