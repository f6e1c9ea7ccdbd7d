"""The store's calendar: which day it is for the store, and on which of its days a moment fell.

Whole-day rules count days in one calendar, the store's (``BUSINESS_TZ``, default
``Europe/Madrid``; the handoff API reads the same variable for its opening hours and dashboard):
the return window ("30 days from delivery, last day included"), the claim and withdrawal periods,
a late delivery, a refund's expected day, the holiday extension's purchase dates, the dates the
shopper reads. Both ends of a comparison come from here. Taking "today" from UTC made the return
window of a store in Mexico close at 18:00 (UTC's midnight) and left a Madrid store's previous
day open until 01:00; taking the delivery day from UTC moved a parcel delivered in the evening in
Mexico to the next day. Stored moments are aware UTC; a naive one is read as UTC (the stores'
own convention, :func:`actions.store.mapping.parse_datetime`).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TZ = "Europe/Madrid"


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"BUSINESS_TZ={name!r} is not a time zone name (such as Europe/Madrid "
                         "or America/Mexico_City)") from None


def store_zone() -> ZoneInfo:
    """The store's time zone, read from ``BUSINESS_TZ`` on each call (tests and deployments set
    it; a wrong name raises ``ValueError`` naming the variable)."""
    return _zone(os.environ.get("BUSINESS_TZ", "").strip() or DEFAULT_TZ)


def store_day(moment: datetime | date) -> date:
    """The store's calendar day of ``moment`` (a ``date`` is already one)."""
    if not isinstance(moment, datetime):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(store_zone()).date()


def today(now: datetime | None = None) -> date:
    """The store's current day (``now`` pins the clock)."""
    return store_day(now or datetime.now(UTC))


def at_store_time(day: date, clock: time) -> datetime:
    """``day`` at ``clock`` on the store's wall clock, as aware UTC (the seed places its demo
    orders' events like this, so "delivered 6 days ago" is 6 of the store's days)."""
    return datetime.combine(day, clock, tzinfo=store_zone()).astimezone(UTC)
