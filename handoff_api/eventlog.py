"""The handoff service's half of the event log (``event_log`` table, schema in docs/metrics.md).

``record_event`` (``handoff_api.queue``) calls :func:`log_handoff_event` for every transition it
records, in the same transaction, so the log and the queue can never disagree. Only the events a
metric needs are logged (:data:`HANDOFF_TYPES`); notes, delivery retries and follow-up reminders
stay in ``handoff_events`` only.

No personal data goes in: the conversation id (on WhatsApp the shopper's phone number) becomes a
keyed pseudonym with the privacy key (``privacy.records``), the same the bot's event broker uses,
so both halves of one conversation group together. The key is put on the session factories by
``create_app`` (``session.info["event_log_key"]``); a session without it (a maintenance script
working on the database directly) writes no event log rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from handoff_api.models import EventLogEntry, Handoff
from privacy.records import customer_key, pseudonym

KEY_INFO = "event_log_key"

#: handoff_events type -> event_log type
HANDOFF_TYPES = {
    "created": "handoff_created",
    "assigned": "handoff_claimed",
    "transferred": "handoff_transferred",
    "agent_message": "agent_message",
    "resolved": "handoff_resolved",
    "handed_back": "handoff_handed_back",
    "abandoned": "handoff_abandoned",
    "erased": "handoff_abandoned",
    "expired": "handoff_abandoned",
    "offline": "handoff_offline",
    "rated": "csat",
    # supervisor moves (handoff_api.supervisor): agent_id = the supervisor, value = the agent
    # holding the conversation afterwards (none when returned to the queue)
    "taken_over": "supervisor_take_over",
    "reassigned": "supervisor_reassign",
    "returned_to_queue": "supervisor_return",
}
SUPERVISOR_TYPES = ("supervisor_take_over", "supervisor_reassign", "supervisor_return")


def install_key(factories: list[sessionmaker[Session] | None], key: bytes) -> None:
    """Give every session of these factories the pseudonymisation key (see module docstring)."""
    for factory in factories:
        if factory is not None:
            factory.configure(info={KEY_INFO: key})


def _market(packet: dict[str, Any] | None) -> str | None:
    order = (packet or {}).get("order") or {}
    market = order.get("market") if isinstance(order, dict) else None
    return str(market)[:8] if isinstance(market, str) and market else None


def log_handoff_event(session: Session, handoff_id: int, handoff_type: str, *,
                      agent_id: int | None, data: dict[str, Any] | None, at: datetime) -> None:
    """Append the event-log row for one ``handoff_events`` row (if a metric needs it)."""
    kind = HANDOFF_TYPES.get(handoff_type)
    key = session.info.get(KEY_INFO)
    if kind is None or key is None:
        return
    row = session.execute(select(Handoff.conversation_id, Handoff.channel, Handoff.language,
                                 Handoff.reason, Handoff.packet, Handoff.agent_id)
                          .where(Handoff.id == handoff_id)).first()
    if row is None:
        return
    conversation_id, channel, language, reason, packet, holder = row
    if conversation_id.startswith("erased:"):
        return  # an erased shopper: the anonymised handoff logs nothing new
    value = None
    if kind == "csat" and data and isinstance(data.get("rating"), int):
        value = float(data["rating"])
    elif kind in SUPERVISOR_TYPES and data and isinstance(data.get("to_agent_id"), int):
        value = float(data["to_agent_id"])
    session.execute(insert(EventLogEntry).values(
        at=at, source="handoff", type=kind, conversation=pseudonym(conversation_id, key),
        customer=customer_key(channel, conversation_id, key),
        channel=channel, language=language, market=_market(packet), handoff_id=handoff_id,
        agent_id=agent_id if agent_id is not None else holder,
        reason=reason,
        value=value,
    ))


# ------------------------------------------------------------------------------ erasure
def _subject_pseudonyms(session: Session, key: bytes, conversation_ids: set[str],
                        contacts: set[str]) -> set[str]:
    from privacy.records import contact_key

    found = {pseudonym(c, key) for c in conversation_ids if c}
    keys = {contact_key(c, key) for c in contacts if c}
    if keys:
        found |= set(session.scalars(select(EventLogEntry.conversation)
                                     .where(EventLogEntry.customer.in_(sorted(keys)))))
    return found


def erase_subject(session: Session, *, conversation_ids: set[str], contacts: set[str]) -> int:
    """GDPR erasure in the event log: the subject's conversations keep their rows (the service
    metrics of the past do not change) but lose every link to the person: the conversation
    pseudonym becomes a random ``erased:`` token (one per conversation, so its rows still group),
    the customer key and the free text go. Returns the rows changed."""
    import uuid

    from sqlalchemy import update

    key = session.info.get(KEY_INFO)
    if key is None:
        return 0
    changed = 0
    for conversation in _subject_pseudonyms(session, key, conversation_ids, contacts):
        changed += session.execute(
            update(EventLogEntry).where(EventLogEntry.conversation == conversation)
            .values(conversation=f"erased:{uuid.uuid4().hex}", customer=None, text=None)
        ).rowcount or 0
    return changed


def subject_traces(session: Session, *, conversation_ids: set[str], contacts: set[str]) -> int:
    """Event-log rows still linked to the subject (0 after :func:`erase_subject`)."""
    from sqlalchemy import func

    key = session.info.get(KEY_INFO)
    if key is None:
        return 0
    found = _subject_pseudonyms(session, key, conversation_ids, contacts)
    if not found:
        return 0
    return int(session.scalar(select(func.count()).select_from(EventLogEntry)
                              .where(EventLogEntry.conversation.in_(sorted(found)))) or 0)
