"""The hot claim path: one agent takes the most urgent, longest-waiting queued handoff, as
hand-written SQL for each dialect (:func:`handoff_api.queue.claim_next` wraps it with the ORM)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

# The claim path is hot (agents pressing "next" at once), so it runs hand-written SQL through the
# driver: SQLAlchemy statement construction cost more than the database work itself.
_PG_LOCK_AGENT = "SELECT id FROM agents WHERE id = %(agent_id)s FOR UPDATE"
_PG_CLAIM = """
    WITH picked AS (
        UPDATE handoffs SET status = 'assigned', agent_id = %(agent_id)s, assigned_at = %(now)s
        WHERE id = (
            SELECT id FROM handoffs WHERE status = 'queued'
            ORDER BY priority DESC, created_at ASC, id ASC
            LIMIT 1 FOR UPDATE SKIP LOCKED
        )
        AND (SELECT count(*) FROM handoffs
             WHERE agent_id = %(agent_id)s AND status = 'assigned') < %(capacity)s
        RETURNING id
    )
    INSERT INTO handoff_events (handoff_id, type, from_status, to_status, agent_id, at)
    SELECT id, 'assigned', 'queued', 'assigned', %(agent_id)s, %(now)s FROM picked
    RETURNING handoff_id
"""
_SQLITE_ACTIVE = "SELECT count(*) FROM handoffs WHERE agent_id = ? AND status = 'assigned'"
_SQLITE_NEXT = (
    "SELECT id FROM handoffs WHERE status = 'queued' "
    "ORDER BY priority DESC, created_at ASC, id ASC LIMIT 1"
)
_SQLITE_TAKE = (
    "UPDATE handoffs SET status = 'assigned', agent_id = ?, assigned_at = ? "
    "WHERE id = ? AND status = 'queued'"
)
_SQLITE_EVENT = (
    "INSERT INTO handoff_events (handoff_id, type, from_status, to_status, agent_id, at) "
    "VALUES (?, 'assigned', 'queued', 'assigned', ?, ?)"
)


def _sqlite_ts(value: datetime) -> str:
    """The text form SQLAlchemy's SQLite DateTime stores (naive UTC)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def claim_next_id(session: Session, agent_id: int, capacity: int) -> int | None:
    """Atomically assign the most urgent, longest-waiting queued handoff to ``agent_id``; returns
    its id, or ``None`` (queue empty or agent at ``capacity``). The caller commits."""
    conn = session.connection()
    now = datetime.now(UTC)
    if conn.dialect.name == "postgresql":
        params = {"agent_id": agent_id, "now": now, "capacity": capacity}
        # one claim at a time per agent, so the capacity count below cannot be overrun
        conn.exec_driver_sql(_PG_LOCK_AGENT, params)
        # one statement checks capacity, picks and takes the row and logs the event; SKIP LOCKED
        # makes concurrent claimers take different rows instead of waiting for the same one
        return conn.exec_driver_sql(_PG_CLAIM, params).scalar()
    # SQLite: the transaction began IMMEDIATE (one writer at a time); the status condition and
    # the rowcount check still make the claim safe should that ever change.
    if conn.exec_driver_sql(_SQLITE_ACTIVE, (agent_id,)).scalar() >= capacity:
        return None
    ts = _sqlite_ts(now)
    for _ in range(5):
        candidate = conn.exec_driver_sql(_SQLITE_NEXT).scalar()
        if candidate is None:
            return None
        if conn.exec_driver_sql(_SQLITE_TAKE, (agent_id, ts, candidate)).rowcount == 1:
            conn.exec_driver_sql(_SQLITE_EVENT, (candidate, agent_id, ts))
            return int(candidate)
    return None
