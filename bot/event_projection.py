"""Rasa tracker events -> rows of the event log (``event_log``; schema in docs/metrics.md).

Pure Python (no Rasa import), so the mapping is tested on its own and the app side can write the
bot's half of a scripted conversation exactly as the broker (``bot/event_log.py``) would.

Rasa publishes each tracker event on its own (``{"sender_id": ..., "event": "user", ...}``), so
what a row needs from earlier events (the channel, the language slot, whether this session was
handed to a person, whether a KB answer is pending) is kept per conversation in a bounded map.

What goes in, with no personal data: the conversation id and the customer key become keyed
pseudonyms (``privacy.records.pseudonym``, the same key the handoff API uses); the only free text,
the question a KB answer could not answer, is redacted (``privacy.redact``) and cut to 300
characters. Message texts are not logged.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from privacy.records import contact_key, customer_key, pseudonym
from privacy.redact import redact

UTC = timezone.utc  # Python 3.10 (the bot side) has no datetime.UTC

INTERNAL_CHANNELS = ("atiende", "cmdline", None, "")
SKIPPED_ACTIONS = ("action_listen", "action_session_start")
KB_ACTION = "action_answer_from_kb"
MAX_CONVERSATIONS = 10_000
MAX_TEXT = 300


@dataclass
class _State:
    channel: str | None = None
    language: str | None = None
    contact: str | None = None
    kb_question: str | None = None  # set while an action_answer_from_kb has not answered yet
    kb_article: str | None = None
    handed_off: bool = False
    verified: bool = False
    last_text: str = ""


class EventProjector:
    def __init__(self, key: bytes) -> None:
        self.key = key
        self.states: OrderedDict[str, _State] = OrderedDict()

    def _state(self, sender_id: str) -> _State:
        state = self.states.pop(sender_id, None) or _State()
        self.states[sender_id] = state
        while len(self.states) > MAX_CONVERSATIONS:
            self.states.popitem(last=False)
        return state

    def project(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The event-log rows for one published Rasa event (often none)."""
        sender = event.get("sender_id")
        kind = event.get("event")
        if not isinstance(sender, str) or not sender or not isinstance(kind, str):
            return []
        state = self._state(sender)
        stamp = event.get("timestamp")
        at = datetime.fromtimestamp(stamp, UTC) if isinstance(stamp, (int, float)) \
            else datetime.now(UTC)
        rows: list[dict[str, Any]] = []

        def row(type_: str, **fields: Any) -> None:
            rows.append({"at": at, "source": "bot", "type": type_,
                         "conversation": pseudonym(sender, self.key),
                         "customer": customer_key(state.channel, sender, self.key),
                         "channel": state.channel, "language": state.language, "market": None,
                         "handoff_id": None, "agent_id": None, "reason": None, "intent": None,
                         "action": None, "value": None, "text": None, **fields})

        if kind == "session_started":
            state.kb_question, state.handed_off, state.verified = None, False, False
            row("conversation_started")
        elif kind == "user":
            channel = event.get("input_channel")
            if channel not in INTERNAL_CHANNELS:
                state.channel = str(channel)[:32]
            self._flush_kb(row, state)
            parse = event.get("parse_data") or {}
            intent = (parse.get("intent") or {}).get("name")
            confidence = (parse.get("intent") or {}).get("confidence")
            if channel in INTERNAL_CHANNELS:
                return rows  # the handoff API resuming the bot, not the shopper writing
            row("user_message", intent=str(intent)[:100] if intent else None,
                value=float(confidence) if isinstance(confidence, (int, float)) else None)
            if intent == "kb_feedback":
                helpful = next((str(e.get("value", "")).lower() for e in
                                parse.get("entities") or [] if e.get("entity") == "helpful"), "")
                row("kb_feedback", value=1.0 if helpful in ("yes", "si", "sí", "true", "1")
                    else 0.0, text=state.kb_article)
            state.kb_question = None
            state.last_text = str(event.get("text") or "")
        elif kind == "action":
            name = event.get("name")
            if not isinstance(name, str) or name in SKIPPED_ACTIONS:
                if name == "action_listen":
                    self._flush_kb(row, state)
                return rows
            self._flush_kb(row, state)
            if name == "action_handoff":
                state.handed_off = True
            row("action", action=name[:100])
            if name == KB_ACTION:
                text = state.last_text
                state.kb_question = text if not text.startswith("/") else ""
        elif kind == "bot":
            row("bot_message")
        elif kind == "slot":
            self._slot(row, state, event.get("name"), event.get("value"))
        return rows

    def _flush_kb(self, row: Any, state: _State) -> None:
        """A KB answer action that set no article by the next action or message: a gap."""
        if state.kb_question is not None:
            question = redact(state.kb_question)[:MAX_TEXT] or None
            state.kb_question = None
            row("kb_gap", text=question)

    def _slot(self, row: Any, state: _State, name: Any, value: Any) -> None:
        if name == "language" and isinstance(value, str) and value:
            state.language = value[:8]
        elif name == "customer_contact" and isinstance(value, str) and value:
            state.contact = value
        elif name == "kb_last_article" and value:
            state.kb_article = str(value)[:100]
            if state.kb_question is not None:
                state.kb_question = None
                row("kb_answer", text=state.kb_article)
        elif name == "handoff_id" and value:
            state.handed_off = True
        elif name == "verified_order_id" and value and not state.verified:
            state.verified = True
            if state.contact:
                row("identity_verified", customer=contact_key(state.contact, self.key))
        elif name == "rating" and value is not None and not state.handed_off:
            try:
                rating = float(value)
            except (TypeError, ValueError):
                return
            if 1 <= rating <= 5:
                row("csat", value=rating)
        elif name == "ces" and value is not None:
            # the optional effort question after any rating, bot-only or after a person (the
            # handoff API logs nothing for it): '-' is a skip and logs nothing
            try:
                effort = float(value)
            except (TypeError, ValueError):
                return
            if 1 <= effort <= 5:
                row("ces", value=effort)
