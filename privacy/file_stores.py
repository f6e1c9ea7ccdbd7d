"""The stores of :mod:`privacy.stores` that are files: the tracker store's outage journal, the
analytics JSON-lines files, and the shared media storage (``media_store``: a folder or S3)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from privacy.records import pseudonym, rewrite_jsonl
from privacy.subject import Subject


class JournalFiles:
    """The tracker store's outage journal (``bot/tracker_store.py``): one JSON file per
    conversation, named by a hash of its id."""

    name = "tracker_journal"

    def __init__(self, directory: Path) -> None:
        self.dir = directory

    def _files(self) -> Iterator[Path]:
        yield from (self.dir.glob("*.json") if self.dir.is_dir() else [])

    def _path(self, conversation_id: str) -> Path:
        return self.dir / f"{hashlib.sha256(conversation_id.encode()).hexdigest()[:32]}.json"

    def _matching(self, subject: Subject) -> set[Path]:
        ids = subject.conversation_ids | subject.phone_conversation_ids()
        wanted = {self._path(c) for c in ids}
        return {p for p in self._files() if p in wanted
                or subject.mentioned_in(p.read_text(encoding="utf-8", errors="replace"))}

    def find_conversations(self, subject: Subject) -> set[str]:
        ids = set()
        for path in self._matching(subject):
            with contextlib.suppress(ValueError, OSError):
                ids.add(json.loads(path.read_text(encoding="utf-8"))["sender_id"])
        return ids

    def erase(self, subject: Subject) -> int:
        paths = self._matching(subject)
        for path in paths:
            path.unlink(missing_ok=True)
        return len(paths)

    def purge(self, cutoff: float) -> int:
        old = [p for p in self._files() if p.stat().st_mtime < cutoff]
        for path in old:
            path.unlink(missing_ok=True)
        return len(old)

    def traces(self, subject: Subject) -> int:
        return len(self._matching(subject))


class AnalyticsFiles:
    """The analytics JSON-lines files (conversation ids pseudonymised, text redacted)."""

    name = "analytics"

    def __init__(self, paths: list[Path], key: bytes) -> None:
        self.paths, self.key = paths, key

    def _belongs(self, record: dict[str, Any], subject: Subject) -> bool:
        ids = subject.conversation_ids | subject.phone_conversation_ids()
        cid = str(record.get("conversation_id", ""))
        if cid and (cid in ids or cid in {pseudonym(i, self.key) for i in ids}):
            return True
        return subject.mentioned_in(json.dumps(record, ensure_ascii=False))

    def _lines(self) -> Iterator[dict[str, Any]]:
        for path in self.paths:
            if path.exists():
                for raw in path.read_text(encoding="utf-8").splitlines():
                    with contextlib.suppress(ValueError):
                        yield json.loads(raw)

    def find_conversations(self, subject: Subject) -> set[str]:
        return {str(r["conversation_id"]) for r in self._lines()
                if r.get("conversation_id") and not str(r["conversation_id"]).startswith("p_")
                and subject.mentioned_in(json.dumps(r, ensure_ascii=False))}

    def erase(self, subject: Subject) -> int:
        return sum(rewrite_jsonl(p, lambda r: not self._belongs(r, subject)) for p in self.paths)

    def purge(self, cutoff: float) -> int:
        return sum(rewrite_jsonl(p, lambda r: float(r.get("ts") or 0) >= cutoff)
                   for p in self.paths)

    def traces(self, subject: Subject) -> int:
        return sum(1 for r in self._lines() if self._belongs(r, subject))


class SharedMediaStore:
    """The shared media storage of ``media_store`` (local folder or S3: photos, documents, voice
    notes shoppers and agents send), through its own erasure and retention calls."""

    name = "media_store"

    def __init__(self, env: Mapping[str, str]) -> None:
        from media_store import open_store, settings_from_env

        self._open = lambda: open_store(settings_from_env(env))

    def _run(self, call: Callable[[Any], Any]) -> Any:
        import asyncio

        async def go() -> Any:
            store = self._open()
            try:
                return await call(store)
            finally:
                await store.aclose()

        return asyncio.run(go())  # stores are called from worker threads / the CLI

    def _ids(self, subject: Subject) -> list[str]:
        return sorted(subject.conversation_ids | subject.phone_conversation_ids())

    def find_conversations(self, subject: Subject) -> set[str]:
        return set()  # file contents are not searched; files are found by conversation

    def erase(self, subject: Subject) -> int:
        async def call(store: Any) -> int:
            total = 0
            for cid in self._ids(subject):
                with contextlib.suppress(ValueError):  # not a valid media conversation id
                    total += await store.delete_conversation(cid)
            return total

        return int(self._run(call))

    def purge(self, cutoff: float) -> int:
        from datetime import datetime, timezone

        when = datetime.fromtimestamp(cutoff, timezone.utc)
        return int(self._run(lambda store: store.delete_older_than(when)))

    def traces(self, subject: Subject) -> int:
        async def call(store: Any) -> int:
            total = 0
            for cid in self._ids(subject):
                with contextlib.suppress(ValueError):
                    total += len(await store.list_conversation(cid))
            return total

        return int(self._run(call))
