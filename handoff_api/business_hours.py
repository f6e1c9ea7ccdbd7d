"""Opening hours of the human team, e.g. ``mon-fri 09:00-20:00; sat 10:00-14:00`` in Europe/Madrid.

Inside hours the shopper hears their queue position and an estimated wait; outside hours the case
waits and the shopper is told when the team opens (we promise an answer within 48 hours).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_PART = re.compile(
    r"^\s*(?P<d1>[a-z]{3})(?:\s*-\s*(?P<d2>[a-z]{3}))?\s+"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*$"
)


@dataclass(frozen=True)
class BusinessHours:
    tz: ZoneInfo
    windows: dict[int, list[tuple[time, time]]]  # weekday (0 = Monday) -> [(open, close)]

    @classmethod
    def parse(cls, spec: str, tz_name: str) -> BusinessHours:
        """Parse ``spec``; raises ``ValueError`` saying which part is wrong."""
        windows: dict[int, list[tuple[time, time]]] = {}
        for raw in filter(None, (p.strip() for p in spec.lower().split(";"))):
            match = _PART.match(raw)
            if not match or match["d1"] not in DAYS or (match["d2"] and match["d2"] not in DAYS):
                raise ValueError(f"bad BUSINESS_HOURS part {raw!r}; expected like 'mon-fri "
                                 "09:00-20:00'")
            first = DAYS.index(match["d1"])
            last = DAYS.index(match["d2"]) if match["d2"] else first
            opens = time(int(match["h1"]), int(match["m1"]))
            if match["h2"] == "24" and match["m2"] != "00":
                raise ValueError(f"bad BUSINESS_HOURS part {raw!r}: 24:00 is the latest close")
            closes = time.max if match["h2"] == "24" else time(int(match["h2"]), int(match["m2"]))
            if closes <= opens:
                raise ValueError(f"bad BUSINESS_HOURS part {raw!r}: closes before it opens")
            day = first
            while True:
                windows.setdefault(day, []).append((opens, closes))
                if day == last:
                    break
                day = (day + 1) % 7
        return cls(ZoneInfo(tz_name), windows)

    def is_open(self, now: datetime | None = None) -> bool:
        local = (now or datetime.now(UTC)).astimezone(self.tz)
        at = local.time()
        # ``time.max`` is 24:00: open until the day's very end, its last second included
        return any(o <= at and (at < c or c == time.max)
                   for o, c in self.windows.get(local.weekday(), []))

    def next_open(self, now: datetime | None = None) -> datetime | None:
        """When the team is next open (``now`` if open now), in UTC; ``None`` if never."""
        now = now or datetime.now(UTC)
        if self.is_open(now):
            return now.astimezone(UTC)
        local = now.astimezone(self.tz)
        for offset in range(0, 8):
            day = local.date() + timedelta(days=offset)
            for opens, _closes in sorted(self.windows.get(day.weekday(), [])):
                # compared in UTC: the night summer time ends, 02:30 happens twice (fold 0, then
                # fold 1) and the second is still ahead after the first has passed; an opening
                # inside the hour skipped in spring has one reading that is not open (dropped)
                for fold in (0, 1):
                    candidate = datetime.combine(day, opens, tzinfo=self.tz).replace(fold=fold)
                    at = candidate.astimezone(UTC)
                    if at > now and self.is_open(at):
                        return at
        return None
