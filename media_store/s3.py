"""Media in an S3-compatible bucket (AWS S3, MinIO, Ceph, Garage, R2 ...), through boto3.

Layout under the configured prefix, self-contained so that several replicas share one bucket and
no local index is needed:

* ``<prefix>objects/<key>``: the bytes, with ``Content-Type`` (the sniffed type),
  ``Content-Disposition: attachment`` and the record in user metadata;
* ``<prefix>conversations/<sha256(conversation id)[:32]>/<key>``: an empty marker, so a
  conversation's media can be listed and erased without scanning the bucket.

The marker is written before the bytes and deleted after them, so every object can always be found
from its conversation. boto3 is blocking; the base class runs every call in a worker thread.
Retention (``delete_older_than``) compares the objects' ``LastModified`` (upload time).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, unquote

from media_store.base import ThreadedStore
from media_store.model import MediaNotFound, MediaUnavailable, StoredMedia, new_key
from media_store.policy import MediaLimits, Prepared
from media_store.settings import S3Settings

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


class S3Store(ThreadedStore):
    #: Markers without an object younger than this are left alone (a ``put`` in flight).
    orphan_grace = timedelta(hours=1)

    def __init__(
        self, settings: S3Settings, limits: MediaLimits | None = None, *, client: Any = None
    ) -> None:
        super().__init__(limits or MediaLimits())
        self.bucket = settings.bucket
        self.prefix = settings.prefix
        self._client = client if client is not None else _make_client(settings)
        from botocore.exceptions import BotoCoreError, ClientError

        self._client_error = ClientError
        self.failures = (BotoCoreError, ClientError, OSError)

    # -- names -----------------------------------------------------------------------------------
    def _object(self, key: str) -> str:
        return f"{self.prefix}objects/{key}"

    def _markers(self, conversation_hash: str) -> str:
        return f"{self.prefix}conversations/{conversation_hash}/"

    # -- backend primitives ----------------------------------------------------------------------
    def _write(self, item: Prepared, created_at: datetime) -> StoredMedia:
        key = new_key()
        conv_hash = _conversation_hash(item.conversation_id)
        marker = self._markers(conv_hash) + key
        metadata = {
            "conversation": quote(item.conversation_id, safe=""),
            "conversation-hash": conv_hash,
            "source": item.source,
            "kind": item.kind,
            "sha256": item.sha256,
            "created-us": str((created_at - _EPOCH) // timedelta(microseconds=1)),
        }
        if item.filename:  # S3 allows 2 KB of metadata in all: the name gets what is left
            used = sum(len(k) + len(v) for k, v in metadata.items()) + len("filename")
            metadata["filename"] = _quoted_within(item.filename, max(0, 1900 - used))
        self._client.put_object(Bucket=self.bucket, Key=marker, Body=b"")
        try:
            self._client.put_object(
                Bucket=self.bucket,
                Key=self._object(key),
                Body=item.data,
                ContentType=item.mime_type,
                ContentDisposition="attachment",
                Metadata=metadata,
            )
        except BaseException:
            self._quietly_delete([marker])
            raise
        return self._record(key, item.mime_type, len(item.data), metadata)

    def _head(self, key: str) -> StoredMedia:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self._object(key))
        except self._client_error as exc:
            raise _translate(exc) from None
        return self._record(key, head["ContentType"], head["ContentLength"], head["Metadata"])

    def _read(self, key: str) -> tuple[StoredMedia, bytes]:
        try:
            got = self._client.get_object(Bucket=self.bucket, Key=self._object(key))
        except self._client_error as exc:
            raise _translate(exc) from None
        with got["Body"] as body:
            data = body.read()
        return self._record(key, got["ContentType"], len(data), got["Metadata"]), data

    def _list(self, conversation_id: str) -> list[StoredMedia]:
        found = []
        for entry in self._list_prefix(self._markers(_conversation_hash(conversation_id))):
            try:
                found.append(self._head(entry["Key"].rsplit("/", 1)[1]))
            except MediaNotFound:
                continue  # a marker whose object is being written or was just deleted
        return sorted(found, key=lambda m: (m.created_at, m.key))

    def _delete(self, key: str) -> bool:
        try:
            record = self._head(key)
        except MediaNotFound:
            return False
        self._delete_many([self._object(key)])
        self._delete_many([self._markers(_conversation_hash(record.conversation_id)) + key])
        return True

    def _delete_conversation(self, conversation_id: str) -> int:
        markers = [e["Key"] for e in self._list_prefix(
            self._markers(_conversation_hash(conversation_id)))]
        keys = [m.rsplit("/", 1)[1] for m in markers]
        self._delete_many([self._object(k) for k in keys])  # bytes first, markers after
        self._delete_many(markers)
        log.info("media: erased %d file(s) of one conversation", len(keys))
        return len(keys)

    def _delete_older_than(self, cutoff: datetime) -> int:
        objects_prefix = f"{self.prefix}objects/"
        existing: set[str] = set()
        old: list[str] = []
        for entry in self._list_prefix(objects_prefix):
            key = entry["Key"][len(objects_prefix):]
            existing.add(key)
            if entry["LastModified"] < cutoff:
                old.append(key)
        markers = []
        for key in old:
            try:
                conv_hash = self._client.head_object(
                    Bucket=self.bucket, Key=self._object(key))["Metadata"]["conversation-hash"]
            except (self._client_error, KeyError):
                conv_hash = None
            if conv_hash:
                markers.append(self._markers(conv_hash) + key)
        self._delete_many([self._object(k) for k in old])
        self._delete_many(markers)
        # Markers left by a crash between the two writes of a put, once old enough.
        limit = min(cutoff, datetime.now(timezone.utc) - self.orphan_grace)
        dangling = [
            e["Key"] for e in self._list_prefix(f"{self.prefix}conversations/")
            if e["LastModified"] < limit and e["Key"].rsplit("/", 1)[1] not in existing
        ]
        self._delete_many(dangling)
        log.info("media: retention removed %d file(s) and %d stale marker(s)",
                 len(old), len(dangling))
        return len(old)

    def _close(self) -> None:
        self._client.close()

    # -- helpers ---------------------------------------------------------------------------------
    def _list_prefix(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", ())

    def _delete_many(self, names: list[str]) -> None:
        for start in range(0, len(names), 1000):  # S3's DeleteObjects limit
            chunk = names[start:start + 1000]
            answer = self._client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": n} for n in chunk], "Quiet": True},
            )
            errors = answer.get("Errors") or []
            if errors:
                raise MediaUnavailable(
                    f"the bucket refused to delete {len(errors)} object(s): {errors[0].get('Code')}"
                )

    def _quietly_delete(self, names: list[str]) -> None:
        try:
            self._delete_many(names)
        except Exception:  # the original error matters more; the sweep removes the marker later
            log.warning("media: could not remove a marker after a failed upload")

    @staticmethod
    def _record(key: str, mime_type: str, size: int, meta: dict[str, str]) -> StoredMedia:
        filename = meta.get("filename") or None
        return StoredMedia(
            key=key,
            conversation_id=unquote(meta["conversation"]),
            source=meta["source"],
            kind=meta["kind"],  # type: ignore[arg-type]
            mime_type=mime_type,
            size=size,
            sha256=meta["sha256"],
            created_at=_EPOCH + timedelta(microseconds=int(meta["created-us"])),
            filename=unquote(filename) if filename else None,
        )


def _quoted_within(text: str, limit: int) -> str:
    """``text`` percent-encoded (S3 metadata is ASCII), shortened by whole characters to fit."""
    while len(quoted := quote(text, safe="")) > limit:
        text = text[:-1]
    return quoted


def _conversation_hash(conversation_id: str) -> str:
    return hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:32]


def _translate(exc: Any) -> Exception:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code in _NOT_FOUND:
        return MediaNotFound("no media under that key")
    return exc


def _make_client(settings: S3Settings) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        s3={"addressing_style": settings.addressing_style},
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=30,
        # Many S3-compatible servers reject the CRC checksums boto3 sends by default since 1.36.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.endpoint_url,
        region_name=settings.region,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        config=config,
    )
