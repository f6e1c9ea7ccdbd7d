"""Finding conversations for the agent console: search over closed handoffs, a customer's history,
and what the queue cards show (latest message, number of shopper messages).

Who the customer is: the **verified** identity only — the e-mail and phone of the order the bot
verified (``packet.order.customer``, present only after the identity check) — or the channel's
own id (``conversation_id``: a WhatsApp number, a Messenger PSID, a web session id). An e-mail
the shopper merely typed (``slots.customer_contact``) is not an identity.

Criteria: ``email``, ``phone`` and ``channel_id`` are identities of one customer and are OR-ed
(any of them finds the customer's conversations); ``q`` (text) is AND-ed with them and matches
the live messages of the handoff (shopper's and agents'), the customer's name, the order number
and the conversation id — case-insensitively, not the bot-side transcript before the handoff.

Visibility follows :func:`handoff_api.routes.handoffs.may_see` plus "took part": supervisors see
every result; an agent sees in full the conversations they held or took part in (and unheld
ones); an identity search also lists the customer's other conversations, without their content
(no name, text or snippet: ``readable: false``), so the agent knows the history exists. A text
search (``q``) never lists a conversation the agent may not read, since a match reveals text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from handoff_api.models import CLOSED_STATUSES, Agent, Handoff, HandoffEvent, Message
from handoff_api.serialize import handoff_summary, message_view

#: statuses everyone may read (must match ``routes.handoffs.VISIBLE_TO_ALL``)
UNHELD = ("queued", "offline")
SNIPPET_CHARS = 160


def digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _digits_sql(column: Any) -> Any:
    """The phone as digits only, in SQL (same on SQLite and PostgreSQL)."""
    for char in (" ", "+", "-", "(", ")", ".", "/"):
        column = func.replace(column, char, "")
    return column


def _identity(email: str | None, phone: str | None, channel_id: str | None) -> Any:
    conditions = []
    if email:
        conditions.append(func.lower(Handoff.packet[("order", "customer", "email")].as_string())
                          == email.strip().lower())
    if phone:
        wanted = digits(phone)
        conditions.append(_digits_sql(Handoff.packet[("order", "customer", "phone")].as_string())
                          == wanted)
        # a WhatsApp conversation's id is the shopper's number, verified by WhatsApp itself
        conditions.append(and_(Handoff.channel == "whatsapp",
                               _digits_sql(Handoff.conversation_id) == wanted))
    if channel_id:
        conditions.append(Handoff.conversation_id == channel_id)
    return or_(*conditions) if conditions else None


def _text(q: str) -> Any:
    pattern = _like(q.strip())
    in_messages = exists().where(Message.handoff_id == Handoff.id,
                                 Message.text.ilike(pattern, escape="\\"))
    return or_(in_messages,
               Handoff.conversation_id.ilike(pattern, escape="\\"),
               Handoff.packet[("customer", "name")].as_string().ilike(pattern, escape="\\"),
               Handoff.packet[("order", "id")].as_string().ilike(pattern, escape="\\"),
               Handoff.packet[("slots", "order_id")].as_string().ilike(pattern, escape="\\"))


def _readable_sql(agent: Agent) -> Any:
    took_part = exists().where(HandoffEvent.handoff_id == Handoff.id,
                               HandoffEvent.agent_id == agent.id)
    return or_(Handoff.agent_id == agent.id, Handoff.status.in_(UNHELD), took_part)


def _readable_ids(session: Session, agent: Agent, rows: Sequence[Handoff]) -> set[int]:
    if agent.role == "supervisor":
        return {h.id for h in rows}
    ids = [h.id for h in rows]
    if not ids:
        return set()
    took_part = set(session.scalars(select(HandoffEvent.handoff_id).where(
        HandoffEvent.handoff_id.in_(ids), HandoffEvent.agent_id == agent.id)).all())
    return {h.id for h in rows
            if h.agent_id == agent.id or h.status in UNHELD or h.id in took_part}


def _snippets(session: Session, ids: Iterable[int], q: str) -> dict[int, str]:
    ids = list(ids)
    if not ids:
        return {}
    found: dict[int, str] = {}
    rows = session.execute(select(Message.handoff_id, Message.text).where(
        Message.handoff_id.in_(ids), Message.text.ilike(_like(q.strip()), escape="\\"))
        .order_by(Message.id)).all()
    for handoff_id, text in rows:
        found.setdefault(handoff_id, _cut(text, q))
    return found


def _cut(text: str, q: str) -> str:
    at = text.lower().find(q.strip().lower())
    start = max(0, at - SNIPPET_CHARS // 3) if at >= 0 else 0
    piece = text[start:start + SNIPPET_CHARS]
    return ("…" if start else "") + piece + ("…" if start + SNIPPET_CHARS < len(text) else "")


def search_handoffs(session: Session, agent: Agent, *, q: str | None = None,
                    email: str | None = None, phone: str | None = None,
                    channel_id: str | None = None, status: str = "closed",
                    before_id: int | None = None, limit: int = 20) -> dict[str, Any]:
    """Newest first; ``next_before_id`` pages on (``None`` when this was the last page)."""
    stmt = select(Handoff)
    identity = _identity(email, phone, channel_id)
    if identity is not None:
        stmt = stmt.where(identity)
    if q:
        stmt = stmt.where(_text(q))
        if agent.role != "supervisor":
            stmt = stmt.where(_readable_sql(agent))
    if status == "closed":
        stmt = stmt.where(Handoff.status.in_(CLOSED_STATUSES))
    if before_id is not None:
        stmt = stmt.where(Handoff.id < before_id)
    rows = session.scalars(stmt.order_by(Handoff.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    names = dict(session.execute(select(Agent.id, Agent.name)).all())
    readable = _readable_ids(session, agent, rows)
    snippets = _snippets(session, [h.id for h in rows if h.id in readable], q) if q else {}
    results = []
    for h in rows:
        item = handoff_summary(h, names.get(h.agent_id))
        if h.id in readable:
            item.update(readable=True, snippet=snippets.get(h.id))
        else:  # the customer's history exists; its content is a colleague's
            item = {k: item[k] for k in ("id", "channel", "language", "reason", "status",
                                         "agent_id", "agent_name", "created_at", "closed_at",
                                         "rating")}
            item.update(readable=False, snippet=None)
        results.append(item)
    return {"results": results, "count": len(results),
            "next_before_id": rows[-1].id if more and rows else None}


def conversation_activity(session: Session, handoff_ids: Iterable[int]) -> dict[int, dict]:
    """Per handoff: how many shopper messages arrived during it (``shopper_messages``; the console
    counts unread ones against what the agent has seen) and the latest message (``last_message``,
    shopper's or agent's; ``None`` before any)."""
    ids = list(handoff_ids)
    if not ids:
        return {}
    counts = dict(session.execute(
        select(Message.handoff_id, func.count(Message.id))
        .where(Message.handoff_id.in_(ids), Message.role == "user")
        .group_by(Message.handoff_id)).all())
    latest = select(func.max(Message.id)).where(Message.handoff_id.in_(ids)) \
        .group_by(Message.handoff_id)
    last = {m.handoff_id: m for m in session.scalars(select(Message).where(Message.id.in_(latest)))}
    return {i: {"shopper_messages": int(counts.get(i, 0)),
                "last_message": message_view(last[i]) if i in last else None} for i in ids}


def with_activity(session: Session, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queue entries (handoff summaries) with :func:`conversation_activity` added."""
    activity = conversation_activity(session, [item["id"] for item in items])
    return [{**item, **activity.get(item["id"], {})} for item in items]
