"""Analytics records without personal data: redacted text, pseudonymous conversation ids.

Analytics files (``kb_gaps.jsonl``, ``kb_feedback.jsonl``) are for the store to learn what its
help centre misses, not to know who asked. So their free text is redacted and the conversation id
(on WhatsApp the shopper's phone number) is replaced by a keyed pseudonym: lines of one
conversation still group together, retention and erasure can still find them (erasure computes
the same pseudonym), and nobody holding the file alone can tell who it was.

The key comes from ``ATIENDE_PRIVACY_KEY`` (16+ characters), else from ``<data dir>/privacy.key``,
created once (mode 0600) so every process sharing the data directory uses the same key.

JSON-lines files are appended and rewritten under an exclusive ``flock`` on a sidecar lock file,
so a retention run that rewrites the file never loses a line the action server appends meanwhile.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from privacy.redact import redact

KEY_ENV = "ATIENDE_PRIVACY_KEY"
KEY_FILE = "privacy.key"
PSEUDONYM_PREFIX = "p_"


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    return Path((env if env is not None else os.environ).get("ATIENDE_DATA_DIR", "var"))


def privacy_key(env: Mapping[str, str] | None = None) -> bytes:
    """The pseudonymisation key (see module docstring)."""
    env = env if env is not None else os.environ
    configured = env.get(KEY_ENV, "").strip()
    if configured:
        if len(configured) < 16:
            raise ValueError(f"{KEY_ENV} must be at least 16 characters")
        return configured.encode()
    path = data_dir(env) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process created it first
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="utf-8").strip().encode()


def keyed_hash(value: str, key: bytes) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def pseudonym(value: str, key: bytes) -> str:
    """A stable, keyed pseudonym of ``value`` (e.g. a conversation id)."""
    return PSEUDONYM_PREFIX + keyed_hash(value, key)


def redact_value(value: Any) -> Any:
    """``value`` with every string inside it (dicts and lists included) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value


def analytics_record(record: Mapping[str, Any], key: bytes, *,
                     id_fields: tuple[str, ...] = ("conversation_id",)) -> dict[str, Any]:
    """An analytics line ready to write: ids pseudonymised, every other string redacted."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        if name in id_fields and isinstance(value, str) and value:
            out[name] = value if value.startswith(PSEUDONYM_PREFIX) else pseudonym(value, key)
        else:
            out[name] = redact_value(value)
    return out


# ----------------------------------------------------------------------------- JSON lines
@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock shared by every process that appends to or rewrites ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def append_jsonl(path: Path, record: Mapping[str, Any]) -> None:
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with locked(path), path.open("a", encoding="utf-8") as handle:
        handle.write(line)


def rewrite_jsonl(path: Path, keep: Callable[[dict[str, Any]], bool]) -> int:
    """Drop the lines ``keep`` refuses (and unparsable ones); returns how many were dropped."""
    if not path.exists():
        return 0
    with locked(path):
        kept, dropped = [], 0
        for raw in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                dropped += 1
                continue
            if isinstance(record, dict) and keep(record):
                kept.append(raw)
            else:
                dropped += 1
        if dropped:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
            os.replace(tmp, path)
    return dropped


# ----------------------------------------------------------------------------- event log keys
#: channels whose sender id is one person (a phone number, a page-scoped id), unlike a web session
PERSON_CHANNELS = ("whatsapp", "messenger")


def customer_key(channel: str | None, sender_id: str, key: bytes) -> str | None:
    """The event log's pseudonymous customer behind a channel id (``None`` on the web: a web
    session id is nobody). The bot's event broker and the handoff API compute it alike."""
    return pseudonym(f"{channel}:{sender_id}", key) if channel in PERSON_CHANNELS else None


def contact_key(contact: str, key: bytes) -> str:
    """The customer key of a verified e-mail (case and spaces ignored) or phone (digits only, so
    "+34 655 90 81 72" and the erasure form's "34655908172" agree)."""
    text = "".join(contact.split()).lower()
    if "@" not in text:
        text = "".join(c for c in text if c.isdigit()) or text
    return pseudonym("contact:" + text, key)
