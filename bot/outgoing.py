"""The outgoing ledger: a reply that went out through the Graph API is never sent twice.

The inbound side is exactly-once (``bot/ledger.py``), but a turn is only *recorded* when Rasa
saves the tracker at its end and the inbox row is marked done. A process killed after a reply
went out to WhatsApp or Messenger and before that save has its stored message processed again
(by its restart or another replica), and the turn runs again. So every reply of a turn is
written down in the shared ledger database (same SQLite file or PostgreSQL database as
``inbound_messages``: every replica sees it), keyed by (channel, conversation, inbound message id,
response index — the n-th Graph call of that message's turn):

* ``sending`` is committed BEFORE the Graph call; ``sent`` right after Meta's 2xx;
* when the message is processed again, a reply already ``sent`` is skipped (logged
  ``outgoing.skipped``): Rasa still runs the whole turn, so the tracker records the bot's
  replies once (the first run's tracker was never saved), but the shopper does not get them again;
* a reply left ``sending`` is *in doubt*: the process died during the Graph call or in the
  microseconds between Meta's answer and the mark. Meta has no idempotency key, so nothing can
  tell whether it arrived. It is sent again (logged ``outgoing.in_doubt_resent``): we err towards
  a possible duplicate rather than a possible silence, because a shopper who asked and got
  nothing waits forever, while one who got the same bubble twice has their answer; and the
  window is one HTTP round trip at the moment of a ``kill -9``, not a whole turn;
* the key is the inbound message id, never the text: a new message that repeats a question gets
  its answer again.

Used by ``WhatsAppOutput`` and ``MessengerOutput`` for the turn of each inbound message
(``bot/channels/whatsapp.py``, ``messenger.py``) and of each message a hand-back gives the bot
(``HandoffGate.to_bot``, channel key ``to_bot``). The web channels need none: a REST answer is the
HTTP response, written after the message is marked done, and the widget resends only a message no
bot reply answered (reports/reliability, "A reply is sent once").

A Graph call that failed (Meta refused it, or was unreachable) stays ``sending`` and is tried again
if the turn runs again. Each mark is one short transaction run in a worker thread
(``asyncio.to_thread``), never on the event loop; ``bench/outgoing_replies.py`` measures the cost.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

logger = logging.getLogger(__name__)

metadata = sa.MetaData()
replies = sa.Table(
    "outgoing_replies", metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("conversation_id", sa.String(200), primary_key=True),
    sa.Column("message_id", sa.String(200), primary_key=True),  # the inbound message's id
    sa.Column("response_index", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("state", sa.String(16), nullable=False),  # sending | sent
    sa.Column("digest", sa.String(16), nullable=False),  # what was sent (a hash, not the text)
    sa.Column("at", sa.Float, nullable=False),
)

NEW, SENT, IN_DOUBT = "new", "sent", "in_doubt"
SENDING = "sending"
R = TypeVar("R")


def digest(body: dict[str, Any]) -> str:
    """A short fingerprint of a Graph body (to tell a re-run turn that said something else)."""
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


class OutgoingLedger:
    """The ``outgoing_replies`` table in the ledger's database (``engine()`` gives its engine,
    with the table created: :func:`bot.ledger._set_up`). Blocking calls: run them in a thread."""

    def __init__(self, engine: Callable[[], sa.engine.Engine]) -> None:
        self._engine = engine

    def begin(self, channel: str, conversation_id: str, message_id: str, index: int,
              body_digest: str) -> tuple[str, str | None]:
        """Record the intent to send reply ``index`` of this message's turn: ``(new, None)`` the
        first time; ``(sent, digest)`` when it went out before; ``(in_doubt, digest)`` when it
        was recorded but never confirmed (the digest is that of the first attempt)."""
        key = {"channel": channel, "conversation_id": conversation_id,
               "message_id": message_id, "response_index": index}
        with self._engine().begin() as conn:
            try:
                conn.execute(replies.insert().values(**key, state=SENDING, digest=body_digest,
                                                     at=time.time()))
                return NEW, None
            except IntegrityError:
                pass
        with self._engine().begin() as conn:
            where = sa.and_(*(replies.c[k] == v for k, v in key.items()))
            row = conn.execute(sa.select(replies.c.state, replies.c.digest).where(where)).first()
            if row is None:  # pruned in between: a first send after all
                conn.execute(replies.insert().values(**key, state=SENDING, digest=body_digest,
                                                     at=time.time()))
                return NEW, None
            if row.state == SENT:
                return SENT, row.digest
            conn.execute(replies.update().where(where).values(at=time.time()))
            return IN_DOUBT, row.digest

    def sent(self, channel: str, conversation_id: str, message_id: str, index: int) -> None:
        with self._engine().begin() as conn:
            conn.execute(replies.update().where(
                replies.c.channel == channel, replies.c.conversation_id == conversation_id,
                replies.c.message_id == message_id, replies.c.response_index == index)
                .values(state=SENT, at=time.time()))

    def states(self, channel: str, conversation_id: str, message_id: str) -> list[str]:
        """The states of this message's replies, in order (tests, diagnosis)."""
        with self._engine().begin() as conn:
            return [r[0] for r in conn.execute(sa.select(replies.c.state).where(
                replies.c.channel == channel, replies.c.conversation_id == conversation_id,
                replies.c.message_id == message_id).order_by(replies.c.response_index))]

    def prune(self, older_than_seconds: float) -> int:
        with self._engine().begin() as conn:
            return conn.execute(replies.delete().where(
                replies.c.at < time.time() - older_than_seconds)).rowcount


class TurnReplies:
    """The Graph calls of one inbound message's turn, numbered in order (0, 1, …): give each to
    :meth:`send`. One per processing of the message (a re-run starts at 0 again)."""

    def __init__(self, ledger: OutgoingLedger, channel: str, conversation_id: str,
                 message_id: str) -> None:
        self.ledger = ledger
        self.key = (channel, conversation_id, message_id)
        self._next = 0
        self.skipped = 0

    async def send(self, body: dict[str, Any], post: Callable[[], Awaitable[R]],
                   delivered: Callable[[R], bool], skipped: R) -> R:
        """``post()`` the body unless this reply already went out (then ``skipped`` is
        returned); mark it sent when ``delivered(answer)``."""
        index, self._next = self._next, self._next + 1
        mine = digest(body)
        try:
            state, before = await asyncio.to_thread(self.ledger.begin, *self.key, index, mine)
        except Exception:  # the ledger is down: the reply matters more than the dedup
            logger.exception("outgoing.ledger_failed %s/%s/%s #%d: sending unrecorded",
                             *self.key, index)
            return await post()
        channel, conversation_id, message_id = self.key
        if state == SENT:
            self.skipped += 1
            logger.info("outgoing.skipped channel=%s to=%s message_id=%s index=%d: sent before "
                        "this turn was interrupted%s", channel, conversation_id, message_id,
                        index, "" if before == mine else " (the re-run said something else)")
            return skipped
        if state == IN_DOUBT:
            logger.warning("outgoing.in_doubt_resent channel=%s to=%s message_id=%s index=%d: "
                           "its process died during the Graph call; sending it again",
                           channel, conversation_id, message_id, index)
        answer = await post()
        if delivered(answer):
            try:
                await asyncio.to_thread(self.ledger.sent, *self.key, index)
            except Exception:  # left in doubt: a re-run would send it again
                logger.exception("outgoing.mark_failed %s/%s/%s #%d", *self.key, index)
        return answer
