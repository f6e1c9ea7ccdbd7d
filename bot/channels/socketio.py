"""Socket.IO input channel (the web chat widget) routed through the hand-off gate.

Differences from Rasa's ``SocketIOInput``:

* each message goes through :mod:`bot.handoff_gate` (paused conversation → agent, not NLU);
* Rasa's socket.io channel is at-most-once: a message lost in a reconnect is never known.
  We acknowledge each message with a ``user_message_ack`` event carrying the client's
  ``message_id`` once it was handed to Rasa or stored by the gate, so the widget can resend
  un-acked messages; a resent id already handled is acknowledged again (``duplicate``) but
  not processed twice — the handled ids live in the shared ledger (``bot/ledger.py``), so this
  holds across a Rasa restart and between replicas;
* malformed, over-long (``ATIENDE_MAX_MESSAGE_CHARS``) or flooding messages are refused with a
  reply in the shopper's language and an ack status (``invalid``, ``too_long``, ``slow_down``)
  that tells the widget not to wait for the bot; so is a turn not admitted
  (``bot/channels/admission.py``: ``slow_down`` when this client has its share of turns in
  progress, ``busy`` when the bot is answering too many people; both with ``retry_after``) — it did
  not run, and the widget offers to resend it (same id: run once);
* the widget's metadata (``metadata`` or ``customData``: e.g. ``language``) is passed
  through, plus the ``message_id``, without the server's reserved ``atiende_*`` keys (a browser
  cannot claim a verified identity: ``bot/channels/identity.py``);
* **a conversation belongs to whoever holds its secret** (``contracts.web_conversation``): the
  server, not the client, issues conversation ids (``web-`` + 144 random bits) together with a
  signed conversation token, sent in an ``atiende_session {session_id, token}`` event before
  ``session_confirm``. ``session_request`` takes up an existing conversation only with its token;
  a guessed, logged or foreign id without it gets a fresh conversation. Each socket is bound to
  the one conversation its ``session_request`` confirmed: a ``user_uttered`` naming any other
  ``session_id`` is refused. Logs show a fingerprint of the id, never the id.

The JWT ``connect`` check is inherited unchanged.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from bot.channels import media_in
from bot.channels.admission import Refused, TurnAdmission, get_admission
from bot.channels.guard import (
    Busy,
    SenderGuard,
    max_chars,
    text_problem,
    too_long,
    too_long_reply,
)
from bot.channels.identity import client_metadata
from bot.channels.texts import t, tracker_language
from bot.conversation_pause import recorded_turn
from bot.handoff_gate import get_gate, register_gate_lifecycle
from contracts import web_conversation
from contracts.web_conversation import fingerprint

logger = logging.getLogger(__name__)

ACK_EVENT = "user_message_ack"
CONFIG_EVENT = "atiende_config"
SESSION_EVENT = "atiende_session"  # {session_id, token}: the widget keeps the token
_META_ID = re.compile(r"^\+?\d+$")


def is_meta_conversation_id(sender_id: str) -> bool:
    """True for ids shaped like WhatsApp numbers / Messenger PSIDs (digits only).

    Those conversations belong to the Meta channels. The web channels let the client choose
    its session id, so without this check anyone could send ``session_id: "<a phone>"``
    and continue a WhatsApp shopper's conversation, whose order identity is already verified.
    """
    return bool(_META_ID.match(str(sender_id)))


class RecentIds:
    """Bounded, time-limited memory of handled message ids (client retries come within minutes)."""

    def __init__(self, max_items: int = 10_000, ttl: float = 3600.0) -> None:
        self.max_items = max_items
        self.ttl = ttl
        self._items: OrderedDict[str, float] = OrderedDict()

    def _prune(self, now: float) -> None:
        while self._items and (len(self._items) > self.max_items
                               or next(iter(self._items.values())) < now - self.ttl):
            self._items.popitem(last=False)

    def add(self, key: str) -> bool:
        """Remember ``key``; False if it was already there."""
        now = time.monotonic()
        self._prune(now)
        if key in self._items:
            return False
        self._items[key] = now
        return True

    def discard(self, key: str) -> None:
        self._items.pop(key, None)


class HandoffAwareSocketIOInput(SocketIOInput):
    """``socketio`` channel whose messages pass the hand-off gate and are acknowledged."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    #: ``redis://…`` (credentials key ``client_manager_url``): emits to a conversation's room go
    #: through Redis to whichever Rasa process holds the socket (several replicas behind a
    #: balancer); empty: this process's sockets only
    client_manager_url: str = ""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        channel = super().from_credentials(credentials)
        channel.client_manager_url = str((credentials or {}).get("client_manager_url") or "")
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._app: Any = None
        self._done = RecentIds()       # fast path; the shared ledger is the authority
        self._in_flight: set[str] = set()
        self.guard = SenderGuard()
        # One message at a time per session: a message typed right after "quiero hablar con
        # una persona" must see the tracker paused by that turn, not race past the gate.
        self._locks: dict[str, asyncio.Lock] = {}
        self._bound: dict[str, str] = {}  # socket id -> the conversation it confirmed
        self._key = self._conversation_key()

    @staticmethod
    def _conversation_key() -> bytes:
        """Conversation tokens are signed with a key derived from ``HANDOFF_BOT_TOKEN``, which
        the handoff API shares, so it can check the widget's token too."""
        import os
        import secrets

        token = os.environ.get("HANDOFF_BOT_TOKEN", "")
        if not token:
            logger.warning("socketio.config HANDOFF_BOT_TOKEN is empty: web conversation tokens "
                           "are signed with a random key of this process only (the handoff API "
                           "will not accept them, and they do not survive a restart)")
            token = secrets.token_urlsafe(32)
        return web_conversation.signing_key(token)

    def conversation_for(self, data: dict[str, Any]) -> tuple[str, str, bool]:
        """``(session_id, token, resumed)`` for a ``session_request``: the requested conversation
        if its token proves it, else a new one."""
        requested = data.get("session_id")
        proven = web_conversation.conversation_of(self._key, data.get("token"))
        if proven is not None and (not requested or requested == proven):
            return proven, web_conversation.token_for(self._key, proven), True
        session_id = web_conversation.new_conversation_id()
        return session_id, web_conversation.token_for(self._key, session_id), False

    def _metadata(self, data: dict[str, Any]) -> dict[str, Any]:
        raw = data.get(self.metadata_key) or data.get("customData") or {}
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                logger.warning("socketio.bad_metadata: not JSON, ignored")
                raw = {}
        return client_metadata(raw)

    async def handle_user_message(self, sid: str, data: dict[str, Any] | None,
                                  on_new_message: Callable[[UserMessage], Awaitable[Any]]
                                  ) -> str | None:
        """Route one widget message; returns the ack status (None when nothing is acked)."""
        assert self.sio is not None
        data = data if isinstance(data, dict) else {}
        if self.session_persistence:
            sender_id = self._bound.get(sid)
            named = data.get("session_id")
            if not sender_id:
                logger.warning("socketio.message_ignored sid=%s: no confirmed session (send "
                               "session_request first)", sid)
                return None
            if named and named != sender_id:
                # a socket speaks only for the conversation whose token it presented
                logger.warning("socketio.message_refused sid=%s: session_id %s is not the "
                               "session this socket confirmed", sid, fingerprint(named))
                return None
        else:
            sender_id = sid
        if is_meta_conversation_id(sender_id):
            logger.warning("socketio.message_refused sid=%s: session id %s is reserved for "
                           "WhatsApp/Messenger conversations", sid, fingerprint(sender_id))
            return None
        raw_id = data.get("message_id")
        message_id = str(raw_id or uuid.uuid4().hex)[:200]
        key = f"{sender_id}:{message_id}"
        if key in self._in_flight:
            logger.info("socketio.duplicate_in_flight sender=%s message_id=%s",
                        fingerprint(sender_id), message_id)
            return None  # the first copy will be acked when done
        # one message at a time per session, in arrival order, from here on
        lock = self._locks.setdefault(sender_id, asyncio.Lock())
        self._in_flight.add(key)
        await lock.acquire()
        try:
            return await self._handle_locked(sid, data, sender_id, raw_id, message_id, key,
                                             on_new_message)
        finally:
            self._in_flight.discard(key)
            lock.release()
            if not lock.locked() and not getattr(lock, "_waiters", None):
                self._locks.pop(sender_id, None)

    async def _handle_locked(self, sid: str, data: dict[str, Any], sender_id: str, raw_id: Any,
                             message_id: str, key: str,
                             on_new_message: Callable[[UserMessage], Awaitable[Any]]
                             ) -> str | None:
        assert self.sio is not None
        text = data.get("message", "")
        metadata = self._metadata(data)
        app = self._app
        agent = getattr(app.ctx, "agent", None) if app is not None else None
        problem = text_problem(text)
        if problem or too_long(text):
            language = metadata.get("language") if metadata.get("language") in ("es", "en") \
                else (await tracker_language(agent, sender_id) or "es")
            status = "invalid" if problem else "too_long"
            if not problem:
                await self.sio.emit(self.bot_message_evt, {"text": too_long_reply(language)},
                                    room=sid, namespace=self.namespace)
            logger.warning("socketio.refused sender=%s message_id=%s: %s",
                           fingerprint(sender_id), message_id, problem or "too long")
            await self.sio.emit(ACK_EVENT, {"message_id": message_id, "status": status,
                                            "error": problem or "too long"},
                                room=sid, namespace=self.namespace)
            return status
        gate = get_gate(app) if app is not None else None
        if raw_id and gate is not None:
            claim = await asyncio.to_thread(gate.ledger.claim, "socketio", sender_id,
                                            message_id)
            if claim.state == "done":
                await self.sio.emit(ACK_EVENT, {"message_id": message_id, "status": "duplicate"},
                                    room=sid, namespace=self.namespace)
                return "duplicate"
            if claim.state == "processing":
                return None  # another replica or request has it; it will be acked
            if claim.answer == "taken_over" and \
                    await recorded_turn(agent, sender_id, message_id) is not None:
                # its first process died after the turn ran: acknowledge, do not run it again
                await asyncio.to_thread(gate.ledger.done, "socketio", sender_id, message_id)
                await self.sio.emit(ACK_EVENT, {"message_id": message_id, "status": "duplicate"},
                                    room=sid, namespace=self.namespace)
                return "duplicate"
        elif not self._done.add(key):
            await self.sio.emit(ACK_EVENT, {"message_id": message_id, "status": "duplicate"},
                                room=sid, namespace=self.namespace)
            return "duplicate"
        try:
            self.guard.check(sender_id)
        except Busy:
            return await self._refuse(sid, sender_id, message_id, metadata, "slow_down",
                                      claimed=bool(raw_id and gate is not None))
        self._done.discard(key)
        metadata.setdefault("message_id", message_id)
        output = SocketIOOutput(self.sio, self.bot_message_evt)
        answered = False
        if metadata.get("media") and gate is not None:  # a photo the widget uploaded
            language = metadata.get("language") if metadata.get("language") in ("es", "en") \
                else (await tracker_language(agent, sender_id) or "es")
            turn = await media_in.widget_turn(metadata.pop("media"), sender_id, language, agent,
                                              gate, output)
            answered = turn.text is None
            text = turn.text or text
            metadata.update(turn.metadata)
        message = UserMessage(text, output, sender_id,
                              input_channel=self.name(), message_id=message_id,
                              metadata=metadata)
        try:
            if answered:  # the channel answered it (photo received): no bot turn
                status = "media"
            elif app is None:
                logger.warning("socketio.no_app: gate skipped, message goes to Rasa")
                await on_new_message(message)
                status = "rasa"
            else:
                admission = get_admission(app)
                async with self.guard.turn(sender_id), \
                        admission.turn(self._client(sid, admission)):
                    route = await gate.route(agent, message, on_new_message,
                                             message_id=message_id)
                status = route.value
        except Refused as refused:  # not run: the widget may resend it
            logger.info("socketio.turn_refused sender=%s message_id=%s reason=%s",
                        fingerprint(sender_id), message_id, refused.reason)
            return await self._refuse(sid, sender_id, message_id, metadata, refused.text_key,
                                      claimed=bool(raw_id), retry_after=refused.retry_after)
        except Exception:
            logger.exception("socketio.message_failed sender=%s message_id=%s: not acked, "
                             "the widget may resend", fingerprint(sender_id), message_id)
            if raw_id and gate is not None:
                await asyncio.to_thread(gate.ledger.release, "socketio", sender_id, message_id)
            return None
        self._done.add(key)
        if raw_id and gate is not None:
            await asyncio.to_thread(gate.ledger.done, "socketio", sender_id, message_id)
        await self.sio.emit(ACK_EVENT, {"message_id": message_id, "status": status},
                            room=sid, namespace=self.namespace)
        return status

    def _client(self, sid: str, admission: TurnAdmission) -> str:
        """The client behind a socket: the address of its connecting request."""
        assert self.sio is not None
        environ = self.sio.get_environ(sid, namespace=self.namespace) or {}
        request = environ.get("sanic.request")
        return admission.client_of(request) if request is not None else f"sid:{sid}"

    async def _refuse(self, sid: str, sender_id: str, message_id: str, metadata: dict[str, Any],
                      status: str, *, claimed: bool, retry_after: int | None = None) -> str:
        """Tell the widget, in the shopper's language, that this message was not read (status
        ``slow_down`` or ``busy``, the catalogue key of the text too); free its id for a resend."""
        assert self.sio is not None
        app = self._app
        agent = getattr(app.ctx, "agent", None) if app is not None else None
        language = metadata.get("language") if metadata.get("language") in ("es", "en") \
            else (await tracker_language(agent, sender_id) or "es")
        if claimed and app is not None:
            await asyncio.to_thread(get_gate(app).ledger.release, "socketio", sender_id,
                                    message_id)
        await self.sio.emit(self.bot_message_evt, {"text": t(status, language)},
                            room=sid, namespace=self.namespace)
        ack: dict[str, Any] = {"message_id": message_id, "status": status}
        if retry_after is not None:
            ack["retry_after"] = retry_after
        await self.sio.emit(ACK_EVENT, ack, room=sid, namespace=self.namespace)
        return status

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None
        if self.client_manager_url:
            # before any connection: the server initialises its manager on the first connect
            from socketio import AsyncRedisManager

            manager = AsyncRedisManager(self.client_manager_url, channel="atiende-socketio")
            manager.set_server(sio)
            sio.manager = manager
            logger.info("socketio.cross_process: room emits shared through Redis")

        # Replaces the parent's handler for the same event (python-socketio keeps one
        # handler per event and namespace).
        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: dict) -> None:
            await self.handle_user_message(sid, data, on_new_message)

        # Rasa 3.6 calls ``sio.enter_room(...)`` without ``await``; in python-socketio >= 5.10
        # (this env has 5.18) it is a coroutine, so the room was never joined and, with
        # session_persistence, bot replies addressed to the session never reached the widget.
        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: dict | None) -> None:
            data = data if isinstance(data, dict) else {}
            session_id, token, resumed = self.conversation_for(data)
            if data.get("session_id") and not resumed:
                logger.info("socketio.session_refused sid=%s: no valid token for %s; a new "
                            "conversation was issued", sid, fingerprint(data["session_id"]))
            previous = self._bound.get(sid)
            if previous is not None and previous != session_id:
                left = sio.leave_room(sid, previous, namespace=self.namespace)
                if inspect.isawaitable(left):
                    await left
            self._bound[sid] = session_id
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(entered):
                    await entered
            # the token first: the widget needs it as soon as the session is confirmed
            await sio.emit(SESSION_EVENT, {"session_id": session_id, "token": token}, room=sid,
                           namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            # the widget shows the same length cap the guard enforces, while the shopper types
            await sio.emit(CONFIG_EVENT, {"max_message_chars": max_chars()}, room=sid,
                           namespace=self.namespace)
            logger.debug("socketio.session sid=%s session=%s resumed=%s", sid,
                         fingerprint(session_id), resumed)

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str, *_args: Any) -> None:
            self._bound.pop(sid, None)

        @bp.listener("before_server_start")
        async def _capture_app(app: Any, _loop: Any) -> None:
            self._app = app

        register_gate_lifecycle(bp, on_new_message)
        return bp
