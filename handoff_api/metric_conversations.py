"""Conversations and handoffs rebuilt from the event log: the units every service metric
(:mod:`handoff_api.metrics`, docs/metrics.md) counts.

Vocabulary:

* a **conversation** is one Rasa session of one conversation id: the events of that id from one
  ``conversation_started`` to the next. The handoff service's events are attributed to the
  conversation in which their handoff was created. A conversation counts once it is *engaged*
  (the shopper wrote something, or it was handed off); a widget opened and never used is not one.
* the **customer** of a conversation is its verified identity (``identity_verified``) or, on
  channels whose sender id is a person (WhatsApp, Messenger), that channel id; a web session id
  is never taken for a person. Two conversations are the *same shopper* when they share the
  customer key or the conversation id.
* a conversation is **settled** once ``return_hours`` have passed since its last event: only then
  can "did not come back" be known.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

CLOSE_TYPES = ("handoff_resolved", "handoff_handed_back")


@dataclass(slots=True)
class Event:
    """One ``event_log`` row (the columns metrics read)."""

    at: datetime
    type: str
    conversation: str
    source: str = "bot"
    customer: str | None = None
    channel: str | None = None
    language: str | None = None
    market: str | None = None
    handoff_id: int | None = None
    agent_id: int | None = None
    reason: str | None = None
    intent: str | None = None
    action: str | None = None
    value: float | None = None
    text: str | None = None


EVENT_FIELDS = ("at", "type", "conversation", "source", "customer", "channel", "language",
                "market", "handoff_id", "agent_id", "reason", "intent", "action", "value", "text")


@dataclass
class Conversation:
    """Built by :func:`conversations`; read-only afterwards (the lookups below are cached)."""

    conversation: str
    events: list[Event] = field(default_factory=list)
    _types: dict[str, list[Event]] | None = field(default=None, repr=False, compare=False)
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def started_at(self) -> datetime:
        return self.events[0].at

    @property
    def last_at(self) -> datetime:
        return self.events[-1].at

    def first(self, attribute: str) -> Any:
        return next((getattr(e, attribute) for e in self.events
                     if getattr(e, attribute) is not None), None)

    @cached_property
    def customer(self) -> str | None:
        verified = next((e.customer for e in self.of("identity_verified") if e.customer), None)
        return verified or self.first("customer")

    def of(self, *types: str) -> list[Event]:
        if self._types is None:
            self._types = defaultdict(list)
            for e in self.events:
                self._types[e.type].append(e)
        if len(types) == 1:
            return self._types.get(types[0], [])
        return sorted((e for t in types for e in self._types.get(t, [])), key=lambda e: e.at)

    @cached_property
    def engaged(self) -> bool:
        return bool(self.of("user_message") or self.of("handoff_created"))

    @cached_property
    def handed_off(self) -> bool:
        return bool(self.of("handoff_created"))


# ------------------------------------------------------------------------------ grouping
def conversations(events: list[Event]) -> list[Conversation]:
    """Split events into conversations (see module docstring), oldest first."""
    by_id: dict[str, list[Event]] = defaultdict(list)
    for e in sorted(events, key=lambda e: (e.at, e.type != "conversation_started")):
        by_id[e.conversation].append(e)
    result: list[Conversation] = []
    for cid, items in by_id.items():
        units: list[Conversation] = []
        home: dict[int, Conversation] = {}  # handoff id -> conversation it was created in
        for e in items:
            if e.handoff_id is not None and e.handoff_id in home:
                home[e.handoff_id].events.append(e)
                continue
            if e.type == "conversation_started" or not units:
                units.append(Conversation(cid))
            units[-1].events.append(e)
            if e.handoff_id is not None:
                home[e.handoff_id] = units[-1]
        for unit in units:
            unit.events.sort(key=lambda e: e.at)
        result.extend(units)
    return sorted(result, key=lambda c: c.started_at)


def same_shopper_index(units: list[Conversation]) -> dict[str, list[Conversation]]:
    index: dict[str, list[Conversation]] = defaultdict(list)
    for unit in units:
        if not unit.engaged:
            continue
        index["c:" + unit.conversation].append(unit)
        if unit.customer:
            index["k:" + unit.customer].append(unit)
    return index


def came_back(unit: Conversation, after: datetime, hours: float,
               index: dict[str, list[Conversation]], *, by_conversation: bool = True) -> bool:
    """Did the same shopper start another engaged conversation, or get another handoff, in
    ``(after, after + hours]``?"""
    until = after + timedelta(hours=hours)
    keys = (["c:" + unit.conversation] if by_conversation else []) + (
        ["k:" + unit.customer] if unit.customer else [])
    for key in keys:
        for other in index.get(key, []):
            if other is not unit and after < other.started_at <= until:
                return True
    return any(after < e.at <= until for e in unit.of("handoff_created"))


# ------------------------------------------------------------------------------ handoffs
@dataclass
class HandoffFacts:
    handoff_id: int
    unit: Conversation
    created_at: datetime
    reason: str | None
    claimed_at: datetime | None
    first_reply_at: datetime | None
    closed_at: datetime | None
    outcome: str | None  # resolved | handed_back | abandoned | offline
    agent_id: int | None


def handoffs_of(unit: Conversation) -> list[HandoffFacts]:
    if "facts" not in unit._memo:
        unit._memo["facts"] = _handoffs_of(unit)
    return unit._memo["facts"]


def _handoffs_of(unit: Conversation) -> list[HandoffFacts]:
    facts = []
    for created in unit.of("handoff_created"):
        own = [e for e in unit.events if e.handoff_id == created.handoff_id]
        claimed = next((e for e in own if e.type == "handoff_claimed"), None)
        reply = next((e for e in own if e.type == "agent_message"), None)
        closed = next((e for e in own if e.type in
                       (*CLOSE_TYPES, "handoff_abandoned", "handoff_offline")), None)
        facts.append(HandoffFacts(
            handoff_id=created.handoff_id or 0, unit=unit, created_at=created.at,
            reason=created.reason, claimed_at=claimed.at if claimed else None,
            first_reply_at=reply.at if reply else None,
            closed_at=closed.at if closed else None,
            outcome=closed.type.removeprefix("handoff_") if closed else None,
            agent_id=closed.agent_id if closed and closed.agent_id else
            (claimed.agent_id if claimed else None)))
    return facts

