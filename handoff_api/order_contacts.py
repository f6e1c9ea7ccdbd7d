"""Steps 5 and 6 of an order event (:mod:`handoff_api.store_events`): who said stop (the opt-out
list of contact hashes, and the signed one-click link that puts a contact on it) and which
channel reaches the shopper (a WhatsApp contact the store has talked to, else e-mail)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import create_engine, select
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from handoff_api.models import Handoff, NotificationOptOut
from handoff_api.queue import now_utc

if TYPE_CHECKING:  # pragma: no cover - typing only
    from actions.store.base import Order

logger = logging.getLogger("handoff_api.store_events")  # the order notices' one log


# -- 5. opt-out -----------------------------------------------------------------------------------
def _digits(value: str | None) -> str:
    return re.sub(r"\D", "", value or "")


def contact_hash(kind: str, value: str | None) -> str | None:
    """SHA-256 of a normalised contact: ``email`` lower-cased, ``phone`` its last 9 digits (the
    identity check's rule, so ``+52 55 1234 5678`` and WhatsApp's ``5215512345678`` are one
    shopper). Unkeyed on purpose: rotating a secret must never forget who said stop."""
    if kind == "email":
        norm = (value or "").strip().lower()
        if "@" not in norm:
            return None
    else:
        norm = _digits(value)[-9:]
        if len(norm) < 7:
            return None
    return hashlib.sha256(f"atiende-contact:{kind}:{norm}".encode()).hexdigest()


def order_hashes(order: Order) -> list[str]:
    return [h for h in (contact_hash("email", order.customer.email),
                        contact_hash("phone", order.customer.phone)) if h]


def is_opted_out(session: Session, hashes: list[str]) -> bool:
    return bool(hashes) and session.scalar(
        select(NotificationOptOut.contact_hash)
        .where(NotificationOptOut.contact_hash.in_(hashes)).limit(1)) is not None


def opt_out(sessions: sessionmaker[Session], hashes: list[str], source: str) -> int:
    """Put contacts on the list (idempotent, safe when two requests race); how many were new."""
    added = 0
    for h in hashes:
        with sessions() as s:
            if s.get(NotificationOptOut, h) is not None:
                continue
            s.add(NotificationOptOut(contact_hash=h, source=source, created_at=now_utc()))
            try:
                s.commit()
                added += 1
            except IntegrityError:
                s.rollback()
    return added


def stop_token(secret: str, contact: str) -> str:
    """``<contact hash>.<signature>``: the opt-out link cannot be made for someone else."""
    mac = hmac.new(secret.encode(), f"stop:{contact}".encode(), hashlib.sha256).hexdigest()
    return f"{contact}.{mac[:32]}"


def check_stop_token(secret: str, token: str) -> str | None:
    contact, _, _mac = (token or "").partition(".")
    if not re.fullmatch(r"[0-9a-f]{64}", contact):
        return None
    return contact if hmac.compare_digest(stop_token(secret, contact).encode(),
                                          token.encode("ascii", "replace")) else None


# -- 6. channel -----------------------------------------------------------------------------------
class WhatsAppContacts(Protocol):
    def wa_id_for(self, phone: str) -> str | None:
        """The WhatsApp id of a contact the store has talked to with this phone, or None."""
        ...


class KnownWhatsAppContacts:
    """WhatsApp contacts the store has talked to: conversations in the bot's Meta channel state
    (table ``last_inbound``, read-only: the SQLite file ``$ATIENDE_DATA_DIR/meta_channels.db``, or
    the database of ``ATIENDE_CHANNEL_STATE_URL`` when the bot's replicas share one) and WhatsApp
    handoffs in this database. Matched on the last 9 digits, like the identity check."""

    def __init__(self, sessions: sessionmaker[Session], meta_state: Path | str | None) -> None:
        self.sessions = sessions
        self.meta_state = meta_state
        self._engine: Any = None

    def _from_channel_state(self, tail: str) -> list[str]:
        query = ("SELECT conversation_id FROM last_inbound WHERE channel = 'whatsapp' "
                 "AND conversation_id LIKE :tail ORDER BY at DESC LIMIT 5")
        if isinstance(self.meta_state, str):  # a database URL
            if self._engine is None:
                self._engine = create_engine(self.meta_state, pool_pre_ping=True)
            try:
                with self._engine.connect() as conn:
                    return list(conn.execute(sql_text(query), {"tail": f"%{tail}"}).scalars())
            except SQLAlchemyError as exc:
                logger.warning("order notices: WhatsApp channel state unreadable (%s)",
                               type(exc).__name__)
                return []
        if self.meta_state is None or not self.meta_state.is_file():
            return []
        try:
            conn = sqlite3.connect(f"file:{self.meta_state}?mode=ro", uri=True, timeout=2)
            try:
                return [r[0] for r in conn.execute(query, {"tail": f"%{tail}"})]
            finally:
                conn.close()
        except sqlite3.Error as exc:
            logger.warning("order notices: WhatsApp channel state unreadable (%s)", exc)
            return []

    def _candidates(self, tail: str) -> list[str]:
        found = self._from_channel_state(tail)
        with self.sessions() as s:
            found += list(s.scalars(select(Handoff.conversation_id).where(
                Handoff.channel == "whatsapp", Handoff.conversation_id.like(f"%{tail}"))
                .order_by(Handoff.id.desc()).limit(5)))
        return found

    def wa_id_for(self, phone: str) -> str | None:
        tail = _digits(phone)[-9:]
        if len(tail) < 7:
            return None
        return next((c for c in self._candidates(tail)
                     if c.isdigit() and c.endswith(tail)), None)


def choose_channel(*, email: str | None, wa_id: str | None, whatsapp_ready: bool
                   ) -> str | None:
    """``whatsapp`` when it is configured for this event and the phone is a known WhatsApp
    contact; else ``email`` when the order has an address; else None (nobody to tell)."""
    if whatsapp_ready and wa_id:
        return "whatsapp"
    if email and "@" in email:
        return "email"
    return None
