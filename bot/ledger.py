"""The shared, durable record of what the bot side has received: exactly-once at every hop.

Three tables, in one database that every Rasa replica can use — SQLite by default
(``$ATIENDE_DATA_DIR/ledger.db``: replicas on one machine share the file), PostgreSQL by
configuration (``ATIENDE_LEDGER_URL=postgresql://…``); never process memory, which a restart or a
second replica does not see:

* ``inbound_messages`` — one row per (channel, conversation, message id) a client sent: claimed
  (``processing``, with a lease) before the message is handled and marked ``done`` after, with the
  answer for channels that return one (REST). A resend of a handled id is answered from here, not
  processed again; a claim whose process died (lease expired) can be taken over.
* ``meta_inbox`` — the raw Meta webhook deliveries: stored BEFORE the 200 goes back to Meta,
  processed after, marked done at the end; rows left pending by a crash are processed on restart.
* ``once`` — keys of one-off actions (hand-backs applied, a conversation resumed locally), so a
  retried hand-back never makes the bot speak twice;
* ``identity_failures`` — failed order-identity checks per order and per sender (keyed pseudonyms,
  never the order number or phone itself), counted in a window that a new conversation session, a
  restart or another replica does not reset (``actions/attempts.py``);
* ``owners`` — a heartbeat per running process (:meth:`Ledger.beat`, every
  ``ATIENDE_LEDGER_HEARTBEAT_SECONDS``): a claim or inbox row held by a process that stopped beating
  (killed, crashed) is taken over at once instead of after its whole lease, so a shopper's resend
  after a kill -9 and restart is answered within seconds, not minutes;
* ``outgoing_replies`` — every reply a turn sent through the Graph API, so a turn run again after
  a crash does not send it twice (``bot/outgoing.py``, :attr:`Ledger.outgoing`).

Every call is a short blocking transaction: callers run them in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot import outgoing as outgoing_replies
from bot.sql_state import LazyEngine, add_missing_columns, create_tables, url_from_env

logger = logging.getLogger(__name__)

metadata = sa.MetaData()
inbound = sa.Table(
    "inbound_messages", metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("conversation_id", sa.String(200), primary_key=True),
    sa.Column("message_id", sa.String(200), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),  # processing | done
    sa.Column("owner", sa.String(40), nullable=False),
    sa.Column("claimed_at", sa.Float, nullable=False),
    sa.Column("done_at", sa.Float, nullable=True),
    sa.Column("answer", sa.Text, nullable=True),
)
inbox = sa.Table(
    "meta_inbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | done
    sa.Column("lease_until", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("owner", sa.String(40), nullable=True),  # the process holding the lease
    sa.Index("ix_meta_inbox_pending", "state", "id"),
)
once = sa.Table(
    "once", metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("at", sa.Float, nullable=False),
)
owners = sa.Table(
    "owners", metadata,
    sa.Column("owner", sa.String(40), primary_key=True),
    sa.Column("beat_at", sa.Float, nullable=False),
)

identity_failures = sa.Table(
    "identity_failures", metadata,
    sa.Column("subject", sa.String(80), primary_key=True),  # "<scope>:<keyed hash>"
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_start", sa.Float, nullable=False),
)

NEW, PROCESSING, DONE = "new", "processing", "done"


def default_url() -> str:
    return url_from_env("ATIENDE_LEDGER_URL", "ledger.db")


@dataclass(frozen=True)
class Claim:
    state: str  # new | processing | done
    answer: Any = None


@dataclass(frozen=True)
class InboxItem:
    id: int
    channel: str
    payload: dict[str, Any]
    attempts: int


def _set_up(engine: sa.engine.Engine) -> None:
    create_tables(engine, metadata, 731800911)
    create_tables(engine, outgoing_replies.metadata, 731800912)
    add_missing_columns(engine, "meta_inbox", {"owner": "VARCHAR(40)"})


class Ledger:
    """See the module docstring. ``lease_seconds``: how long a claim or an inbox row stays with
    the process that took it before another may take it over."""

    def __init__(self, url: str | None = None, *, lease_seconds: float | None = None,
                 heartbeat_seconds: float | None = None) -> None:
        self.url = url or default_url()
        self.lease_seconds = lease_seconds if lease_seconds is not None else float(
            os.environ.get("ATIENDE_LEDGER_LEASE_SECONDS", "120"))
        self.heartbeat_seconds = heartbeat_seconds if heartbeat_seconds is not None else float(
            os.environ.get("ATIENDE_LEDGER_HEARTBEAT_SECONDS", "5"))
        self.owner = uuid.uuid4().hex
        self._db = LazyEngine(self.url, _set_up)
        self.outgoing = outgoing_replies.OutgoingLedger(self._db.get)

    # --- set-up -------------------------------------------------------------------------------
    @property
    def engine(self) -> sa.engine.Engine:
        return self._db.get()

    def dispose(self) -> None:
        self._db.dispose()

    # --- inbound messages ------------------------------------------------------------------------
    def claim(self, channel: str, conversation_id: str, message_id: str) -> Claim:
        """Take ``message_id`` for processing: ``new`` (yours now), ``processing`` (another
        request has it, within its lease) or ``done`` (handled; ``answer`` is what it answered)."""
        now = time.time()
        key = {"channel": channel, "conversation_id": conversation_id, "message_id": message_id}
        with self.engine.begin() as conn:
            try:
                conn.execute(inbound.insert().values(**key, state=PROCESSING, owner=self.owner,
                                                     claimed_at=now))
                return Claim(NEW)
            except IntegrityError:
                pass
        with self.engine.begin() as conn:
            where = sa.and_(*(inbound.c[k] == v for k, v in key.items()))
            row = conn.execute(sa.select(inbound.c.state, inbound.c.claimed_at, inbound.c.answer,
                                         inbound.c.owner).where(where)).first()
            if row is None:  # released in between
                conn.execute(inbound.insert().values(**key, state=PROCESSING, owner=self.owner,
                                                     claimed_at=now))
                return Claim(NEW)
            if row.state == DONE:
                return Claim(DONE, json.loads(row.answer) if row.answer else None)
            if row.claimed_at < now - self.lease_seconds or (  # its process died mid-way
                    row.owner != self.owner and self._is_dead(conn, row.owner, now)):
                taken = conn.execute(inbound.update().where(
                    where, inbound.c.state == PROCESSING, inbound.c.claimed_at == row.claimed_at)
                    .values(owner=self.owner, claimed_at=now))
                if taken.rowcount == 1:
                    return Claim(NEW, "taken_over")
            return Claim(PROCESSING)

    def done(self, channel: str, conversation_id: str, message_id: str,
             answer: Any = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(inbound.update().where(
                inbound.c.channel == channel, inbound.c.conversation_id == conversation_id,
                inbound.c.message_id == message_id).values(
                state=DONE, done_at=time.time(),
                answer=json.dumps(answer) if answer is not None else None))

    def release(self, channel: str, conversation_id: str, message_id: str) -> None:
        """Processing failed before anything happened: let a resend process it."""
        with self.engine.begin() as conn:
            conn.execute(inbound.delete().where(
                inbound.c.channel == channel, inbound.c.conversation_id == conversation_id,
                inbound.c.message_id == message_id, inbound.c.state == PROCESSING))

    def prune(self, older_than_seconds: float = 7 * 24 * 3600) -> int:
        with self.engine.begin() as conn:
            cutoff = time.time() - older_than_seconds
            n = conn.execute(inbound.delete().where(inbound.c.state == DONE,
                                                    inbound.c.done_at < cutoff)).rowcount
            n += conn.execute(inbox.delete().where(inbox.c.state == DONE,
                                                   inbox.c.received_at < cutoff)).rowcount
        return n + self.outgoing.prune(older_than_seconds)

    # --- Meta webhook inbox ----------------------------------------------------------------------
    def inbox_add(self, channel: str, payload: dict[str, Any]) -> int:
        """Store one webhook delivery (before Meta gets its 200); returns its id, which the caller
        processes right away (``inbox_take``) — or a restart does."""
        with self.engine.begin() as conn:
            result = conn.execute(inbox.insert().values(
                channel=channel, payload=json.dumps(payload), received_at=time.time(),
                state="pending", lease_until=time.time() + self.lease_seconds, attempts=0,
                owner=self.owner))
            return int(result.inserted_primary_key[0])

    def inbox_take(self, item_id: int | None = None, limit: int = 20,
                   channel: str | None = None) -> list[InboxItem]:
        """Lease pending deliveries: the one just stored (``item_id``), or those of ``channel``
        whose lease ran out or whose process stopped beating (it died before finishing them)."""
        now = time.time()
        with self.engine.begin() as conn:
            query = sa.select(inbox).where(inbox.c.state == "pending")
            if channel is not None:
                query = query.where(inbox.c.channel == channel)
            if item_id is not None:
                query = query.where(inbox.c.id == item_id)
            else:
                dead = self._dead_owners(conn, now)
                query = query.where(sa.or_(inbox.c.lease_until < now, inbox.c.owner.in_(dead)))
            rows = conn.execute(query.order_by(inbox.c.id).limit(limit)).all()
            taken = []
            for row in rows:
                ok = conn.execute(inbox.update().where(
                    inbox.c.id == row.id, inbox.c.state == "pending",
                    inbox.c.lease_until == row.lease_until).values(
                    lease_until=now + self.lease_seconds, attempts=row.attempts + 1,
                    owner=self.owner)).rowcount
                if ok == 1 or item_id is not None:
                    taken.append(InboxItem(row.id, row.channel, json.loads(row.payload),
                                           row.attempts))
            return taken

    def inbox_done(self, item_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(inbox.update().where(inbox.c.id == item_id).values(state="done"))

    def inbox_failed(self, item_id: int, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(inbox.update().where(inbox.c.id == item_id).values(
                last_error=error[:500], lease_until=time.time() + 5))

    def inbox_counts(self) -> dict[str, int]:
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(inbox.c.state, sa.func.count())
                                .group_by(inbox.c.state)).all()
        return {r[0]: int(r[1]) for r in rows}

    # --- liveness ------------------------------------------------------------------------------
    def beat(self) -> None:
        """This process is alive (called every ``heartbeat_seconds`` by the gate's retrier).
        Only processes that beat can be judged dead; one that never beat keeps its full lease."""
        now = time.time()
        with self.engine.begin() as conn:
            if conn.execute(owners.update().where(owners.c.owner == self.owner)
                            .values(beat_at=now)).rowcount == 0:
                conn.execute(owners.insert().values(owner=self.owner, beat_at=now))
            conn.execute(owners.delete().where(owners.c.beat_at < now - 86400))

    def _stale_before(self, now: float) -> float:
        return now - max(4 * self.heartbeat_seconds, 10.0)

    def _dead_owners(self, conn: Any, now: float) -> list[str]:
        return [r[0] for r in conn.execute(sa.select(owners.c.owner).where(
            owners.c.beat_at < self._stale_before(now), owners.c.owner != self.owner))]

    def _is_dead(self, conn: Any, owner: str | None, now: float) -> bool:
        if not owner:
            return False
        beat = conn.execute(sa.select(owners.c.beat_at).where(owners.c.owner == owner)).first()
        return beat is not None and beat[0] < self._stale_before(now)

    # --- one-off actions -----------------------------------------------------------------------
    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen (by any replica), False ever after."""
        with self.engine.begin() as conn:
            try:
                conn.execute(once.insert().values(key=key, at=time.time()))
                return True
            except IntegrityError:
                return False

    def seen(self, key: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(sa.select(once.c.key).where(once.c.key == key)).first() is not None

    # --- failed identity checks ------------------------------------------------------------------
    def failures(self, subjects: list[str], window_seconds: float) -> dict[str, int]:
        """Failed checks of each subject within its current window (0 when none or expired)."""
        cutoff = time.time() - window_seconds
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(identity_failures.c.subject,
                                          identity_failures.c.failures).where(
                identity_failures.c.subject.in_(subjects),
                identity_failures.c.window_start >= cutoff)).all()
        found = {r[0]: int(r[1]) for r in rows}
        return {subject: found.get(subject, 0) for subject in subjects}

    def add_failure(self, subjects: list[str], window_seconds: float) -> dict[str, int]:
        """Count one failed check against each subject; returns the new counts. A window starts
        at a subject's first failure and ends ``window_seconds`` later (then counting restarts).
        Atomic per subject: concurrent failures from two replicas are both counted."""
        now = time.time()
        cutoff = now - window_seconds
        counts: dict[str, int] = {}
        for subject in subjects:
            for _ in range(3):  # an insert racing another replica's insert: update instead
                with self.engine.begin() as conn:
                    expired = identity_failures.c.window_start < cutoff
                    updated = conn.execute(identity_failures.update().where(
                        identity_failures.c.subject == subject).values(
                        failures=sa.case((expired, 1), else_=identity_failures.c.failures + 1),
                        window_start=sa.case((expired, now),
                                             else_=identity_failures.c.window_start)))
                    if updated.rowcount == 1:
                        counts[subject] = int(conn.execute(
                            sa.select(identity_failures.c.failures).where(
                                identity_failures.c.subject == subject)).scalar_one())
                        break
                try:
                    with self.engine.begin() as conn:
                        conn.execute(identity_failures.insert().values(
                            subject=subject, failures=1, window_start=now))
                    counts[subject] = 1
                    break
                except IntegrityError:
                    continue
        return counts

    def prune_failures(self, window_seconds: float) -> int:
        """Forget windows that ended (nothing to count any more)."""
        with self.engine.begin() as conn:
            return conn.execute(identity_failures.delete().where(
                identity_failures.c.window_start < time.time() - window_seconds)).rowcount
