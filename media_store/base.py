"""The storage interface every caller codes against, and the async facade both backends share.

Backends implement small synchronous methods (``_write``, ``_read`` ...); this base runs them, and
the CPU-bound validation (sniffing, image re-encoding), in a worker thread so the event loop of
Rasa, the action server or the handoff API never waits on a disk, a bucket or Pillow.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Protocol, TypeVar, runtime_checkable

from media_store.model import (
    MediaStoreError,
    MediaUnavailable,
    Source,
    StoredMedia,
    check_conversation_id,
    check_key,
)
from media_store.policy import MediaLimits, Prepared, prepare

T = TypeVar("T")


@runtime_checkable
class MediaStore(Protocol):
    """Shopper and agent media, stored by random key. Every method is safe to call concurrently."""

    #: The size limits ``put`` applies; ``limits.largest_for(source)`` caps downloads/uploads.
    limits: MediaLimits

    async def put(
        self,
        data: bytes,
        *,
        declared_type: str | None,
        filename: str | None,
        conversation_id: str,
        source: Source,
    ) -> StoredMedia:
        """Validate and store; ``MediaRejected`` (with ``.reason``) when the bytes are refused."""
        ...

    async def head(self, key: str) -> StoredMedia:
        """The record; ``MediaNotFound`` / ``InvalidMediaKey`` otherwise."""
        ...

    async def get(self, key: str) -> tuple[StoredMedia, bytes]:
        """The record and the stored bytes."""
        ...

    async def list_conversation(self, conversation_id: str) -> list[StoredMedia]:
        """A conversation's media, oldest first."""
        ...

    async def delete(self, key: str) -> bool:
        """``True`` if something was deleted; deleting twice is fine."""
        ...

    async def delete_conversation(self, conversation_id: str) -> int:
        """Erase every file of a conversation (GDPR erasure); returns how many."""
        ...

    async def delete_older_than(self, cutoff: datetime) -> int:
        """Erase everything stored before ``cutoff`` (retention); returns how many."""
        ...

    async def aclose(self) -> None: ...


class ThreadedStore(ABC):
    """Implements ``MediaStore`` on top of blocking backend primitives run in a thread."""

    #: Exceptions of the backend that mean "storage failed"; surfaced as ``MediaUnavailable``.
    failures: tuple[type[BaseException], ...] = (OSError,)

    def __init__(self, limits: MediaLimits) -> None:
        self.limits = limits

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        try:
            return await asyncio.to_thread(fn, *args)
        except MediaStoreError:
            raise
        except self.failures as exc:
            raise MediaUnavailable(f"media storage failed ({type(exc).__name__})") from exc

    # -- the async API -------------------------------------------------------------------------
    async def put(
        self,
        data: bytes,
        *,
        declared_type: str | None,
        filename: str | None,
        conversation_id: str,
        source: Source,
    ) -> StoredMedia:
        def work() -> StoredMedia:
            prepared = prepare(
                data,
                declared_type=declared_type,
                filename=filename,
                conversation_id=conversation_id,
                source=source,
                limits=self.limits,
            )
            return self._write(prepared, datetime.now(timezone.utc))

        return await self._run(work)

    async def head(self, key: str) -> StoredMedia:
        return await self._run(self._head, check_key(key))

    async def get(self, key: str) -> tuple[StoredMedia, bytes]:
        return await self._run(self._read, check_key(key))

    async def list_conversation(self, conversation_id: str) -> list[StoredMedia]:
        return await self._run(self._list, check_conversation_id(conversation_id))

    async def delete(self, key: str) -> bool:
        return await self._run(self._delete, check_key(key))

    async def delete_conversation(self, conversation_id: str) -> int:
        conversation_id = check_conversation_id(conversation_id)
        return await self._run(self._delete_conversation, conversation_id)

    async def delete_older_than(self, cutoff: datetime) -> int:
        if cutoff.tzinfo is None or cutoff.utcoffset() is None:
            raise ValueError("cutoff must be timezone-aware (e.g. datetime.now(timezone.utc))")
        return await self._run(self._delete_older_than, cutoff.astimezone(timezone.utc))

    async def aclose(self) -> None:
        await self._run(self._close)

    # -- what a backend provides (blocking; keys and ids already checked) ----------------------
    @abstractmethod
    def _write(self, item: Prepared, created_at: datetime) -> StoredMedia: ...

    @abstractmethod
    def _head(self, key: str) -> StoredMedia: ...

    @abstractmethod
    def _read(self, key: str) -> tuple[StoredMedia, bytes]: ...

    @abstractmethod
    def _list(self, conversation_id: str) -> list[StoredMedia]: ...

    @abstractmethod
    def _delete(self, key: str) -> bool: ...

    @abstractmethod
    def _delete_conversation(self, conversation_id: str) -> int: ...

    @abstractmethod
    def _delete_older_than(self, cutoff: datetime) -> int: ...

    def _close(self) -> None:
        return None
