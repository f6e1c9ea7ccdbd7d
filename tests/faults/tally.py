"""The book-keeping that counts what a fault did to each shopper message (see
:mod:`tests.faults.system`): answered by the bot, answered by the agent, lost or duplicated."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.faults.records import StoresOfRecord

_NOTE_LOCK = threading.Lock()


@dataclass
class Tally:
    """What happened to every shopper message of the conversations under test."""

    sent: dict[str, list[str]] = field(default_factory=dict)  # conversation -> message ids
    problems: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def note(self, conversation_id: str, message_id: str) -> str:
        with _NOTE_LOCK:
            self.sent.setdefault(conversation_id, []).append(message_id)
        return message_id

    def audit(self, seam: StoresOfRecord, patience: float = 60.0) -> Counter:
        """Count once every process is quiet; webhooks are processed after their 200, so a
        message still missing is looked at again until ``patience`` runs out."""
        deadline = time.monotonic() + patience
        while True:
            self.counts, self.problems = Counter(), []
            for cid, ids in self.sent.items():
                self._audit_one(seam, cid, ids)
            if not self.counts["lost"] or time.monotonic() > deadline:
                return self.counts
            time.sleep(1.0)

    def _audit_one(self, seam: StoresOfRecord, cid: str, ids: list[str]) -> None:
        events = seam.tracker_events(cid)
        turns: Counter = Counter()
        answered_by_bot: set[str] = set()
        current: str | None = None
        for event in events:
            if event.get("event") == "user":
                current = event.get("message_id")
                turns[current] += 1
            elif event.get("event") == "bot" and current is not None:
                answered_by_bot.add(current)
        rows = seam.api_rows(cid)
        agent_after: set[str] = set()
        for row in rows:
            if row["role"] == "user" and row["delivery"] == "stored" and any(
                    r["role"] == "agent" and r["handoff_id"] == row["handoff_id"]
                    and r["id"] > row["id"] for r in rows):
                agent_after.add(row["message_id"])
        for mid in ids:
            self.counts["sent"] += 1
            by_bot, by_agent = mid in answered_by_bot, mid in agent_after
            if turns[mid] > 1:
                self.counts["duplicated"] += 1
                self.problems.append(f"{cid}/{mid}: the bot ran {turns[mid]} turns for it")
            elif by_bot and by_agent:
                self.counts["duplicated"] += 1
                self.problems.append(f"{cid}/{mid}: answered by the agent AND the bot")
            if by_bot or by_agent:
                self.counts["answered"] += 1
                self.counts["answered_by_bot" if by_bot else "answered_by_agent"] += 1
            else:
                self.counts["lost"] += 1
                where = [r["delivery"] for r in rows if r["message_id"] == mid]
                self.problems.append(f"{cid}/{mid}: LOST (tracker turns {turns[mid]}, API rows "
                                     f"{where or 'none'})")

    def summary(self) -> dict[str, int]:
        keys = ("sent", "answered", "answered_by_bot", "answered_by_agent", "lost", "duplicated")
        return {k: int(self.counts.get(k, 0)) for k in keys}
