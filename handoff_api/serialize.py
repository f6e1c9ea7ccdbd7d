"""Plain-dict views of rows for JSON answers and live events."""

from __future__ import annotations

from typing import Any

from handoff_api.delivery_status import failure_reason
from handoff_api.models import Agent, Handoff, Message, Note


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def agent_view(agent: Agent) -> dict[str, Any]:
    return {"id": agent.id, "username": agent.username, "name": agent.name, "role": agent.role,
            "languages": agent.languages.split(","), "capacity": agent.capacity}


def button_titles(packet: dict[str, Any]) -> dict[str, str]:
    """Payload -> title of every button the bot offered in the transcript (the later offer wins):
    a tapped button arrives as its payload ("/human_handoff"); the console shows its title."""
    titles: dict[str, str] = {}
    for entry in packet.get("transcript") or []:
        for button in (entry.get("buttons") or []) if entry.get("role") == "bot" else []:
            if isinstance(button, dict) and button.get("payload") and button.get("title"):
                titles[str(button["payload"])] = str(button["title"])
    return titles


def handoff_summary(h: Handoff, agent_name: str | None = None) -> dict[str, Any]:
    packet = h.packet or {}
    transcript = packet.get("transcript") or []
    last_user = next((e.get("text") for e in reversed(transcript) if e.get("role") == "user"), None)
    return {
        "id": h.id, "conversation_id": h.conversation_id, "channel": h.channel,
        "language": h.language, "reason": h.reason, "vip": h.vip, "priority": h.priority,
        "status": h.status, "agent_id": h.agent_id, "agent_name": agent_name,
        "created_at": iso(h.created_at), "assigned_at": iso(h.assigned_at),
        "first_response_at": iso(h.first_response_at), "closed_at": iso(h.closed_at),
        "customer": packet.get("customer") or {}, "last_user_text": last_user,
        "rating": h.rating,
        "answer_due_at": iso(h.answer_due_at),
        "button_titles": button_titles(packet),
    }


def message_view(m: Message) -> dict[str, Any]:
    return {"id": m.id, "message_id": m.message_id, "role": m.role, "text": m.text,
            "channel": m.channel, "agent_id": m.agent_id, "ts": iso(m.ts),
            "delivery": m.delivery, "delivery_error": m.delivery_error,
            # a code the console shows in the agent's language (delivery_status.FAILURE_REASONS)
            "delivery_reason": failure_reason(m.delivery_error) if m.delivery == "failed" else None,
            "kind": m.kind or "text", "external_id": m.external_id,
            "template": (m.details or {}).get("template")}


def note_view(n: Note) -> dict[str, Any]:
    return {"id": n.id, "agent_id": n.agent_id, "text": n.text, "created_at": iso(n.created_at)}
