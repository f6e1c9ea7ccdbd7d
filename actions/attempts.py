"""How many times an order's identity check may fail, counted where a restart cannot reset it.

A conversation slot is not enough: a new session (or a new web session id, or a restart) starts
from zero. So failed checks are counted in the bot's shared ledger database (``bot/ledger.py``,
table ``identity_failures``): SQLite ``$ATIENDE_DATA_DIR/ledger.db`` by default — the file Rasa's
channels use — or PostgreSQL with ``ATIENDE_LEDGER_URL``, shared by every replica. Two counters per
failure:

* **per sender** (the conversation id): ``ATIENDE_VERIFY_MAX_PER_SENDER`` (3) failures;
* **per order number**, whoever tries it: ``ATIENDE_VERIFY_MAX_PER_ORDER`` (5) failures — the one
  that matters on the web, where a client can always start a new session id;

each within ``ATIENDE_VERIFY_WINDOW_HOURS`` (24) from the first failure. Either counter at its
limit locks identity checks for that sender / that order number (the shopper is offered a person).
Order numbers that do not exist are counted like any other, so the lock cannot tell them apart.
The ledger stores keyed pseudonyms (``privacy.records.keyed_hash``), not order numbers or phones.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from privacy.records import keyed_hash, privacy_key


class AttemptSettingsError(ValueError):
    """An attempts setting is malformed; the message names the variable."""


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise AttemptSettingsError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise AttemptSettingsError(f"{name} must be positive")
    return value


@dataclass(frozen=True)
class AttemptSettings:
    ledger_url: str
    key: bytes = field(repr=False)
    per_sender: int = 3
    per_order: int = 5
    window_seconds: float = 24 * 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AttemptSettings:
        url = env.get("ATIENDE_LEDGER_URL", "").strip() or \
            f"sqlite:///{Path(env.get('ATIENDE_DATA_DIR', 'var')) / 'ledger.db'}"
        return cls(ledger_url=url, key=privacy_key(env),
                   per_sender=int(_positive(env, "ATIENDE_VERIFY_MAX_PER_SENDER", 3)),
                   per_order=int(_positive(env, "ATIENDE_VERIFY_MAX_PER_ORDER", 5)),
                   window_seconds=_positive(env, "ATIENDE_VERIFY_WINDOW_HOURS", 24) * 3600)


class AttemptLimiter:
    """Failed identity checks per order number and per sender (see module docstring)."""

    def __init__(self, settings: AttemptSettings) -> None:
        from bot.ledger import Ledger  # SQLAlchemy; opened lazily on first use

        self.settings = settings
        self.ledger = Ledger(settings.ledger_url)

    def _subjects(self, order_id: str | None, sender: str) -> dict[str, str]:
        subjects = {"sender": "s:" + keyed_hash(f"sender:{sender}", self.settings.key)}
        if order_id:
            subjects["order"] = "o:" + keyed_hash(f"order:{order_id.upper()}", self.settings.key)
        return subjects

    def _left(self, counts: Mapping[str, int], subjects: Mapping[str, str]) -> int:
        left = self.settings.per_sender - counts.get(subjects["sender"], 0)
        if "order" in subjects:
            left = min(left, self.settings.per_order - counts.get(subjects["order"], 0))
        return max(0, left)

    async def attempts_left(self, order_id: str | None, sender: str) -> int:
        """Checks still allowed for ``sender`` on ``order_id`` (0: locked)."""
        subjects = self._subjects(order_id, sender)
        counts = await asyncio.to_thread(self.ledger.failures, list(subjects.values()),
                                         self.settings.window_seconds)
        return self._left(counts, subjects)

    async def failed(self, order_id: str | None, sender: str) -> int:
        """Count one failed check; returns the checks still allowed (0: now locked)."""
        subjects = self._subjects(order_id, sender)
        counts = await asyncio.to_thread(self.ledger.add_failure, list(subjects.values()),
                                         self.settings.window_seconds)
        return self._left(counts, subjects)

    async def sender_failures(self, sender: str) -> int:
        subject = self._subjects(None, sender)["sender"]
        counts = await asyncio.to_thread(self.ledger.failures, [subject],
                                         self.settings.window_seconds)
        return counts[subject]


@lru_cache(maxsize=1)
def get_attempts() -> AttemptLimiter:
    """The process-wide limiter (``get_attempts.cache_clear()`` in tests to reconfigure)."""
    return AttemptLimiter(AttemptSettings.from_env(os.environ))
