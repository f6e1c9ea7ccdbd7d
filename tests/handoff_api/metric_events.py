"""Hand-built event sequences for the metric tests (``test_metrics.py``,
``test_metric_conversations.py``).

Times are offsets from T0 (a Monday, 10:00 UTC); the window is that day unless a test says
otherwise, and "now" is late enough that every return window has closed unless a test moves it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from handoff_api.metric_conversations import Event
from handoff_api.metrics import compute

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
DAY_START = T0.replace(hour=0)
DAY_END = DAY_START + timedelta(days=1)
LATE = T0 + timedelta(days=10)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ev(minutes: float, type_: str, conv: str = "c1", **fields: Any) -> Event:
    return Event(at=at(minutes), type=type_, conversation=conv, **fields)


def bot_chat(conv: str, start: float, *, channel: str = "socketio", language: str = "es",
             customer: str | None = None, extra: list[Event] | None = None) -> list[Event]:
    """A bot-only conversation: started, one question, one answer (2 minutes)."""
    return [ev(start, "conversation_started", conv, channel=channel, language=language,
               customer=customer),
            ev(start + 1, "user_message", conv, channel=channel, language=language,
               customer=customer, intent="order_status"),
            ev(start + 2, "bot_message", conv, channel=channel, language=language,
               customer=customer), *(extra or [])]


def handoff(conv: str, hid: int, start: float, *, reason: str = "asked", claim: float | None = 1,
            reply: float | None = 1.5, close: float | None = 10, outcome: str = "resolved",
            agent: int = 7, channel: str = "socketio", customer: str | None = None,
            language: str = "es") -> list[Event]:
    """Handoff events, offsets in minutes after ``start``."""
    common = {"source": "handoff", "handoff_id": hid, "reason": reason, "channel": channel,
              "language": language, "customer": customer}
    out = [ev(start, "handoff_created", conv, **common)]
    if claim is not None:
        out.append(ev(start + claim, "handoff_claimed", conv, agent_id=agent, **common))
    if reply is not None:
        out.append(ev(start + reply, "agent_message", conv, agent_id=agent, **common))
    if close is not None:
        out.append(ev(start + close, f"handoff_{outcome}", conv, agent_id=agent, **common))
    return out


def run(events: list[Event], *, now: datetime = LATE, hours: float = 24, **kw: Any) -> dict:
    return compute(events, start=DAY_START, end=DAY_END, now=now, return_hours=hours, **kw)
