"""Every service metric, computed from the event log alone (``event_log``; docs/metrics.md).

The definitions (numerators, denominators, what is left out and why) are written in
docs/metrics.md; this module is their only implementation, and ``tests/handoff_api/test_metrics.py``
checks each one on hand-built event sequences. :func:`compute` is pure (a list of events in, a
dict out) so the definitions are tested without a database; :func:`load_events` reads the rows a
window needs and :func:`compute_metrics` ties both together for the API. What a conversation,
a customer and a settled conversation are is written in :mod:`handoff_api.metric_conversations`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from statistics import mean, median
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff_api.metric_conversations import (
    EVENT_FIELDS,
    Conversation,
    Event,
    HandoffFacts,
    came_back,
    conversations,
    handoffs_of,
    same_shopper_index,
)
from handoff_api.models import EventLogEntry, Handoff

DEFAULT_RETURN_HOURS = 24
#: conversations older than this before the window are not looked for (their events are cut)
LOOKBACK = timedelta(hours=24)
DIMENSIONS = ("channel", "language", "market")


# ------------------------------------------------------------------------------ statistics
def duration_stats(values: list[float]) -> dict[str, Any]:
    """count, mean, median and 90th percentile (nearest rank) in seconds."""
    if not values:
        return {"count": 0, "mean": None, "median": None, "p90": None}
    ordered = sorted(values)
    rank = max(1, -(-9 * len(ordered) // 10))  # ceil(0.9 n)
    return {"count": len(ordered), "mean": round(mean(ordered), 1),
            "median": round(median(ordered), 1), "p90": round(ordered[rank - 1], 1)}


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def normalise_question(text: str) -> str:
    """The grouping key of unanswered questions: lower case, no accents, no punctuation."""
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\[\]]+", " ", folded).split())


# ------------------------------------------------------------------------------ the metrics
def _matches(unit: Conversation, filters: dict[str, str | None]) -> bool:
    return all(not wanted or unit.first(name) == wanted for name, wanted in filters.items())


def _core(units: list[Conversation], *, now: datetime, return_hours: float,
          index: dict[str, list[Conversation]]) -> dict[str, Any]:
    """The headline numbers for a set of (engaged, in-window) conversations."""
    n = len(units)
    handed = [u for u in units if u.handed_off]
    outcome = Counter(containment_outcome(u, now=now, return_hours=return_hours, index=index)
                      for u in units)
    reasons = Counter(u.of("handoff_created")[0].reason or "unknown" for u in handed)
    facts = [f for u in units for f in handoffs_of(u)]
    wait = [(f.claimed_at - f.created_at).total_seconds() for f in facts if f.claimed_at]
    frt = [(f.first_reply_at - f.created_at).total_seconds() for f in facts
           if f.first_reply_at and f.claimed_at]
    handling = [(f.closed_at - f.claimed_at).total_seconds() for f in facts
                if f.claimed_at and f.closed_at and f.outcome in ("resolved", "handed_back")]
    # first-contact resolution
    resolved = [f for f in facts if f.outcome == "resolved" and f.closed_at]
    returned, kept, undetermined = 0, 0, 0
    for f in resolved:
        assert f.closed_at is not None
        if came_back(f.unit, f.closed_at, return_hours, index):
            returned += 1
        elif f.unit.customer is None:
            undetermined += 1  # a web session id is no identity: cannot know if they came back
        elif f.closed_at + timedelta(hours=return_hours) <= now:
            kept += 1
        else:
            undetermined += 1  # window still open
    # CSAT: the last rating per conversation and handoff (rating again replaces)
    ratings: dict[tuple[int, int | None], tuple[float, bool]] = {}
    for i, u in enumerate(units):
        for e in u.of("csat"):
            if e.value is not None:
                ratings[(i, e.handoff_id)] = (e.value, u.handed_off)
    human = [v for v, h in ratings.values() if h]
    bot = [v for v, h in ratings.values() if not h]
    # CES: the last effort answer of each conversation (a skip logs nothing)
    efforts = [(e[-1].value, u.handed_off) for u in units
               if (e := [x for x in u.of("ces") if x.value is not None])]
    return {
        "conversations": n,
        "handoffs": len(handed),
        "handoff_rate": rate(len(handed), n),
        "handoff_rate_by_reason": {r: {"count": c, "rate": rate(c, n)}
                                   for r, c in reasons.most_common()},
        "containment": {"contained": outcome["contained"], "returned": outcome["returned"],
                        "handed_off": outcome["handed_off"], "pending": outcome["pending"],
                        "decided": n - outcome["pending"],
                        "rate": rate(outcome["contained"], n - outcome["pending"]),
                        "return_hours": return_hours},
        "first_response_seconds": duration_stats(frt),
        "wait_seconds": duration_stats(wait),
        "handling_seconds": duration_stats(handling),
        "handoff_outcomes": dict(Counter(f.outcome or "open" for f in facts)),
        "fcr": {"resolved": len(resolved), "returned": returned, "not_returned": kept,
                "undetermined": undetermined, "rate": rate(kept, kept + returned),
                "return_hours": return_hours},
        "csat": {"bot": _csat(bot), "human": _csat(human)},
        "ces": {"bot": _ces([v for v, h in efforts if not h]),
                "human": _ces([v for v, h in efforts if h])},
    }


def _csat(values: list[float]) -> dict[str, Any]:
    satisfied = sum(1 for v in values if v >= 4)
    return {"count": len(values), "mean": round(mean(values), 2) if values else None,
            "satisfied_rate": rate(satisfied, len(values))}


def _ces(values: list[float]) -> dict[str, Any]:
    easy = sum(1 for v in values if v >= 4)
    return {"count": len(values), "mean": round(mean(values), 2) if values else None,
            "easy_rate": rate(easy, len(values))}


def containment_outcome(unit: Conversation, *, now: datetime, return_hours: float,
                        index: dict[str, list[Conversation]]) -> str:
    """handed_off | returned (same shopper back within the window) | contained | pending."""
    memo = ("outcome", now, return_hours)
    if memo not in unit._memo:
        unit._memo[memo] = _containment_outcome(unit, now=now, return_hours=return_hours,
                                                index=index)
    return unit._memo[memo]


def _containment_outcome(unit: Conversation, *, now: datetime, return_hours: float,
                         index: dict[str, list[Conversation]]) -> str:
    if unit.handed_off:
        return "handed_off"
    if came_back(unit, unit.last_at, return_hours, index):
        return "returned"
    if unit.last_at + timedelta(hours=return_hours) <= now:
        return "contained"
    return "pending"


def compute(events: list[Event], *, start: datetime, end: datetime, now: datetime,
            return_hours: float = DEFAULT_RETURN_HOURS, channel: str | None = None,
            language: str | None = None, market: str | None = None, tz: str = "UTC",
            top_questions: int = 10) -> dict[str, Any]:
    """All metrics for engaged conversations started in ``[start, end)`` matching the filters.

    ``events`` must hold every event of those conversations plus the events up to
    ``end + return_hours`` (to see shoppers coming back); :func:`load_events` reads exactly that.
    """
    units = conversations(events)
    index = same_shopper_index(units)
    filters = {"channel": channel, "language": language, "market": market}
    chosen = [u for u in units if u.engaged and start <= u.started_at < end
              and _matches(u, filters)]
    summary = _core(chosen, now=now, return_hours=return_hours, index=index)
    zone = ZoneInfo(tz)
    hourly = (end - start) <= timedelta(days=2)
    series: dict[str, list[Conversation]] = defaultdict(list)
    heat = [[0] * 24 for _ in range(7)]
    for u in chosen:
        local = u.started_at.astimezone(zone)
        bucket = local.strftime("%Y-%m-%dT%H:00") if hourly else local.strftime("%Y-%m-%d")
        series[bucket].append(u)
        heat[local.weekday()][local.hour] += 1
    timeseries = []
    for bucket in _buckets(start, end, zone, hourly):
        block = _core(series.get(bucket, []), now=now, return_hours=return_hours, index=index)
        timeseries.append({"bucket": bucket, "conversations": block["conversations"],
                           "handoffs": block["handoffs"],
                           "contained": block["containment"]["contained"],
                           "containment_rate": block["containment"]["rate"]})
    breakdowns: dict[str, dict[str, Any]] = {}
    for dim in DIMENSIONS:
        groups: dict[str, list[Conversation]] = defaultdict(list)
        for u in chosen:
            groups[u.first(dim) or "unknown"].append(u)
        breakdowns[dim] = {}
        for name, group in sorted(groups.items()):
            block = _core(group, now=now, return_hours=return_hours, index=index)
            breakdowns[dim][name] = _brief(block)
    by_agent: dict[str, Any] = {}
    agent_groups: dict[int, list[HandoffFacts]] = defaultdict(list)
    for u in chosen:
        for f in handoffs_of(u):
            if f.agent_id is not None:
                agent_groups[f.agent_id].append(f)
    for agent_id, facts in sorted(agent_groups.items()):
        by_agent[str(agent_id)] = {
            "handoffs": len(facts),
            "resolved": sum(1 for f in facts if f.outcome == "resolved"),
            "handling_seconds": duration_stats(
                [(f.closed_at - f.claimed_at).total_seconds() for f in facts
                 if f.claimed_at and f.closed_at and f.outcome in ("resolved", "handed_back")]),
        }
    moves = Counter(e.type.removeprefix("supervisor_") for u in chosen
                    for e in u.of("supervisor_take_over", "supervisor_reassign",
                                  "supervisor_return"))
    summary.update({
        "supervisor_actions": {k: moves.get(k, 0) for k in ("take_over", "reassign", "return")},
        "window": {"start": start.isoformat(), "end": end.isoformat(), "tz": tz,
                   "bucket": "hour" if hourly else "day", **filters},
        "kb": _kb(chosen, top_questions),
        "timeseries": timeseries,
        "breakdowns": breakdowns,
        "by_agent": by_agent,
        "heatmap": heat,  # [weekday 0=Monday][hour] conversations started, local time
    })
    return summary


def _brief(block: dict[str, Any]) -> dict[str, Any]:
    return {"conversations": block["conversations"], "handoffs": block["handoffs"],
            "handoff_rate": block["handoff_rate"], "containment_rate":
            block["containment"]["rate"], "csat_bot": block["csat"]["bot"]["mean"],
            "csat_human": block["csat"]["human"]["mean"],
            "ces_bot": block["ces"]["bot"]["mean"], "ces_human": block["ces"]["human"]["mean"],
            "handling_median": block["handling_seconds"]["median"]}


def _buckets(start: datetime, end: datetime, zone: ZoneInfo, hourly: bool) -> list[str]:
    """The labels of ``[start, end)`` on the store's wall clock. Hours step through real time
    (in UTC: the 23-hour day has no 02:00 bucket, the 25-hour day's two 02:00 hours share one);
    days step through the calendar."""
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    fmt = "%Y-%m-%dT%H:00" if hourly else "%Y-%m-%d"
    out: list[str] = []
    at = start.astimezone(UTC) if hourly else start
    while at < end and len(out) < 1000:
        label = at.astimezone(zone).strftime(fmt)
        if label not in out:
            out.append(label)
        at += step
    last = (end - timedelta(microseconds=1)).astimezone(zone).strftime(fmt)
    if end > start and last not in out:
        out.append(last)
    return out


def _kb(units: list[Conversation], top: int) -> dict[str, Any]:
    answers = sum(len(u.of("kb_answer")) for u in units)
    gaps = [e for u in units for e in u.of("kb_gap")]
    feedback = [e.value for u in units for e in u.of("kb_feedback") if e.value is not None]
    groups: dict[str, list[Event]] = defaultdict(list)
    for e in gaps:
        if e.text:
            groups[normalise_question(e.text)].append(e)
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]
    return {
        "answered": answers,
        "unanswered": len(gaps),
        "answer_rate": rate(answers, answers + len(gaps)),
        "helpful": {"yes": sum(1 for v in feedback if v >= 1), "count": len(feedback),
                    "rate": rate(sum(1 for v in feedback if v >= 1), len(feedback))},
        "top_unanswered": [{"question": items[0].text, "count": len(items),
                            "languages": sorted({e.language or "?" for e in items})}
                           for _key, items in ranked],
    }


# ------------------------------------------------------------------------------ database
def load_events(session: Session, *, start: datetime, end: datetime,
                return_hours: float = DEFAULT_RETURN_HOURS) -> list[Event]:
    """Every event a window needs: from a day before ``start`` (conversations under way) to
    ``return_hours`` after ``end`` (shoppers coming back)."""
    # plain columns, not ORM objects: a busy week is ~100k rows
    columns = [getattr(EventLogEntry, name) for name in EVENT_FIELDS]
    rows = session.execute(select(*columns).where(
        EventLogEntry.at >= start - LOOKBACK,
        EventLogEntry.at < end + timedelta(hours=return_hours)).order_by(EventLogEntry.at,
                                                                          EventLogEntry.id))
    return [Event(**dict(zip(EVENT_FIELDS, row, strict=True))) for row in rows]


def compute_metrics(session: Session, *, since: datetime | None = None,
                    until: datetime | None = None, now: datetime | None = None,
                    fcr_window_hours: float = DEFAULT_RETURN_HOURS,
                    **options: Any) -> dict[str, Any]:
    """:func:`compute` over the event log for ``[since, until)`` (default: the last 30 days)."""
    now = now or datetime.now(UTC)
    until = until or now
    since = since or until - timedelta(days=30)
    events = load_events(session, start=since, end=until, return_hours=fcr_window_hours)
    result = compute(events, start=since, end=until, now=now, return_hours=fcr_window_hours,
                     **options)
    result["since"] = since.isoformat()
    result["status_counts"] = live_status_counts(session)
    return result


def live_status_counts(session: Session) -> dict[str, int]:
    """Handoffs per current status (a live count, not a metric of a window)."""
    counts = dict(session.execute(select(Handoff.status, func.count())
                                  .group_by(Handoff.status)).all())
    return {s: int(counts.get(s, 0)) for s in
            ("queued", "assigned", "resolved", "handed_back", "abandoned", "offline")}
