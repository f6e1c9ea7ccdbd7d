"""The handoff packet (docs/contracts.md): everything the assistant knew, so the shopper never
repeats themselves to the agent: transcript (with the buttons a tapped payload came from), intents,
slots, the verified order as the store returns it, KB articles shown and the customer's contact."""

from __future__ import annotations

import dataclasses
import enum
import logging
from datetime import date, datetime
from typing import Any

from rasa_sdk import Tracker

from actions.i18n import normalize_language

logger = logging.getLogger(__name__)
TRANSCRIPT_LIMIT = 200
SKIPPED_SLOTS = {"requested_slot", "handoff_active", "handoff_id"}


def _json_safe(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(v) for v in value]
    return value


async def order_snapshot(order_id: str | None) -> dict[str, Any] | None:
    """The verified order as the agent should see it, or None (no verified order, store down, or
    the store module missing)."""
    if not order_id:
        return None
    try:
        from actions.store import get_store
    except ImportError:
        return None
    try:
        order = await get_store().get_order(order_id)
    except Exception as exc:  # any store failure only costs the agent the snapshot
        logger.warning("handoff: no order snapshot for %s: %s", order_id, exc)
        return None
    return _json_safe(order)


def _buttons(event: dict[str, Any]) -> list[dict[str, str]]:
    """The buttons a bot message offered (title and payload): a tapped button comes back as its
    payload ("/human_handoff"), which the console shows as the title the shopper tapped."""
    buttons = (event.get("data") or {}).get("buttons") or []
    return [{"title": str(b["title"]), "payload": str(b["payload"])} for b in buttons
            if isinstance(b, dict) and b.get("title") and b.get("payload")]


def transcript(tracker: Tracker) -> list[dict[str, Any]]:
    entries = [
        {"role": "user" if e["event"] == "user" else "bot", "text": e["text"],
         "ts": e.get("timestamp"),
         **({"buttons": _buttons(e)} if e["event"] == "bot" and _buttons(e) else {})}
        for e in tracker.events
        if e.get("event") in ("user", "bot") and e.get("text")
        and not str(e.get("text")).startswith(("/handoff_ended", "EXTERNAL: "))
    ]
    return entries[-TRANSCRIPT_LIMIT:]


def intent_history(tracker: Tracker) -> list[str]:
    return [
        ((e.get("parse_data") or {}).get("intent") or {}).get("name") or "unknown"
        for e in tracker.events if e.get("event") == "user"
    ][-50:]


def latest_channel(tracker: Tracker) -> str:
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("input_channel"):
            return str(event["input_channel"])
    return "rest"


def customer_info(tracker: Tracker, order: dict[str, Any] | None) -> dict[str, Any]:
    info: dict[str, Any] = {"vip": bool(tracker.get_slot("customer_vip"))}
    if order and isinstance(order.get("customer"), dict):
        for key in ("name", "email", "phone"):
            if order["customer"].get(key):
                info[key] = order["customer"][key]
    contact = tracker.get_slot("customer_contact")
    if isinstance(contact, str) and contact and not (info.get("email") or info.get("phone")):
        info["email" if "@" in contact else "phone"] = contact
    return info


async def build_packet(tracker: Tracker, reason: str) -> dict[str, Any]:
    """The handoff packet of docs/contracts.md, from the tracker."""
    order = await order_snapshot(tracker.get_slot("verified_order_id"))
    slots = {k: v for k, v in tracker.current_slot_values().items()
             if v not in (None, [], "") and k not in SKIPPED_SLOTS}
    return {
        "conversation_id": tracker.sender_id,
        "channel": latest_channel(tracker),
        "language": normalize_language(tracker.get_slot("language")),
        "reason": reason,
        "intent_history": intent_history(tracker),
        "slots": _json_safe(slots),
        "order": order,
        "kb_articles": list(tracker.get_slot("kb_articles_shown") or []),
        "transcript": transcript(tracker),
        "customer": customer_info(tracker, order),
    }

