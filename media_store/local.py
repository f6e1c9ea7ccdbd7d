"""Media in a local folder: ``<root>/objects/<k[:2]>/<key>`` plus a SQLite index.

The default backend (``$ATIENDE_DATA_DIR/media``). File names are the random keys only, never
anything a sender chose; the index (``<root>/index.sqlite3``, WAL mode) holds the records, survives
restarts and is shared safely by several processes on one machine (Rasa, the action server and
the handoff API).

Crash safety: a file is written to a temporary name, fsynced and renamed, and only then indexed;
deletes remove the file first and the index row after. A crash in between leaves at worst an
unindexed file, which ``delete_older_than`` sweeps once it is an hour old, or a row without a
file, which reads as not found and is removed by any delete.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

from media_store.base import ThreadedStore
from media_store.model import MediaNotFound, StoredMedia, check_key, new_key
from media_store.policy import MediaLimits, Prepared

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS media (
    key TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    filename TEXT,
    created_us INTEGER NOT NULL  -- microseconds since the Unix epoch, UTC
);
CREATE INDEX IF NOT EXISTS media_by_conversation ON media (conversation_id, created_us);
CREATE INDEX IF NOT EXISTS media_by_age ON media (created_us);
"""
_COLUMNS = "key, conversation_id, source, kind, mime_type, size, sha256, filename, created_us"
_TMP = ".tmp-"


class LocalDirectoryStore(ThreadedStore):
    failures = (OSError, sqlite3.Error)
    #: Unindexed files younger than this are left alone by the sweep: a ``put`` may be between
    #: writing its file and indexing it.
    orphan_grace = timedelta(hours=1)

    def __init__(self, directory: Path | str, limits: MediaLimits | None = None) -> None:
        super().__init__(limits or MediaLimits())
        self.root = Path(directory).resolve()
        self._objects = self.root / "objects"
        self._index = self.root / "index.sqlite3"
        self._ready = False
        self._ready_lock = threading.Lock()

    # -- plumbing --------------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        """A connection per call: cheap for SQLite, safe across threads and processes."""
        if not self._ready:
            with self._ready_lock:
                if not self._ready:
                    self._objects.mkdir(mode=0o700, parents=True, exist_ok=True)
                    with closing(self._open()) as db:
                        db.execute("PRAGMA journal_mode=WAL")
                        db.executescript(_SCHEMA)
                    self._ready = True
        return self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._index, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 30000")
        return db

    def _path(self, key: str) -> Path:
        check_key(key)  # the only way a name reaches the file system
        path = self._objects / key[:2] / key
        if path.parent.parent != self._objects:  # belt and braces
            raise AssertionError("media path escaped its folder")
        return path

    @staticmethod
    def _record(row: tuple) -> StoredMedia:  # type: ignore[type-arg]
        key, conversation_id, source, kind, mime_type, size, sha256, filename, created_us = row
        return StoredMedia(
            key=key,
            conversation_id=conversation_id,
            source=source,
            kind=kind,
            mime_type=mime_type,
            size=size,
            sha256=sha256,
            created_at=_EPOCH + timedelta(microseconds=created_us),
            filename=filename,
        )

    # -- backend primitives ----------------------------------------------------------------------
    def _write(self, item: Prepared, created_at: datetime) -> StoredMedia:
        with closing(self._db()) as db:
            key = new_key()
            path = self._path(key)
            while path.exists():  # 192 random bits: never, but never overwrite either
                key = new_key()
                path = self._path(key)
            path.parent.mkdir(mode=0o700, exist_ok=True)
            tmp = path.with_name(_TMP + key)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(item.data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, path)
                _fsync_dir(path.parent)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            record = StoredMedia(
                key=key,
                conversation_id=item.conversation_id,
                source=item.source,
                kind=item.kind,
                mime_type=item.mime_type,
                size=len(item.data),
                sha256=item.sha256,
                created_at=created_at,
                filename=item.filename,
            )
            try:
                db.execute(
                    f"INSERT INTO media ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, record.conversation_id, record.source, record.kind, record.mime_type,
                     record.size, record.sha256, record.filename, _micros(created_at)),
                )
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        return record

    def _head(self, key: str) -> StoredMedia:
        with closing(self._db()) as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM media WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise MediaNotFound("no media under that key")
        return self._record(row)

    def _read(self, key: str) -> tuple[StoredMedia, bytes]:
        record = self._head(key)
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            raise MediaNotFound("the media file is gone") from None
        return record, data

    def _list(self, conversation_id: str) -> list[StoredMedia]:
        with closing(self._db()) as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM media WHERE conversation_id = ? "
                "ORDER BY created_us, key",
                (conversation_id,),
            ).fetchall()
        return [self._record(r) for r in rows]

    def _delete(self, key: str) -> bool:
        with closing(self._db()) as db:
            return self._remove(db, [key]) > 0

    def _delete_conversation(self, conversation_id: str) -> int:
        with closing(self._db()) as db:
            keys = [k for (k,) in db.execute(
                "SELECT key FROM media WHERE conversation_id = ?", (conversation_id,))]
            removed = self._remove(db, keys)
        log.info("media: erased %d file(s) of one conversation", removed)
        return removed

    def _delete_older_than(self, cutoff: datetime) -> int:
        with closing(self._db()) as db:
            keys = [k for (k,) in db.execute(
                "SELECT key FROM media WHERE created_us < ?", (_micros(cutoff),))]
            removed = self._remove(db, keys)
            orphans = self._sweep_orphans(db, cutoff)
        log.info("media: retention removed %d file(s) and %d orphan(s)", removed, orphans)
        return removed + orphans

    def _remove(self, db: sqlite3.Connection, keys: Iterable[str]) -> int:
        """Files first, then their rows: an interrupted erasure can always be finished by calling
        it again, and never leaves a file that no index row points to."""
        keys = list(keys)
        for key in keys:
            self._path(key).unlink(missing_ok=True)
        removed = 0
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            removed += db.execute(f"DELETE FROM media WHERE key IN ({marks})", chunk).rowcount
        return removed

    def _sweep_orphans(self, db: sqlite3.Connection, cutoff: datetime) -> int:
        """Remove files no row points to (a crash between writing and indexing), once they are
        older than both the cutoff and the grace period."""
        limit = min(cutoff, datetime.now(timezone.utc) - self.orphan_grace).timestamp()
        removed = 0
        for folder in self._objects.iterdir() if self._objects.exists() else ():
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                try:
                    if path.stat().st_mtime >= limit:
                        continue
                except FileNotFoundError:
                    continue
                name = path.name
                if not name.startswith(_TMP):
                    try:
                        check_key(name)
                    except ValueError:
                        continue  # not ours: leave it
                    if db.execute("SELECT 1 FROM media WHERE key = ?", (name,)).fetchone():
                        continue
                path.unlink(missing_ok=True)
                removed += 1
        return removed


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

