"""Socket.IO input channel (the web chat widget) routed through the hand-off gate.

Differences from Rasa's ``SocketIOInput``:

* each message goes through :mod:`bot.handoff_gate` (paused conversation → agent, not NLU);
* Rasa's socket.io channel is at-most-once: a message lost in a reconnect is never known.
  We acknowledge each message with a ``user_message_ack`` event carrying the client's
  ``message_id`` once it was handed to Rasa or stored by the gate, so the widget can resend
  un-acked messages; a resent id already handled is acknowledged again (``duplicate``) but
  not processed twice;
* the widget's metadata (``metadata`` or ``customData``: e.g. ``language``) is passed
  through, plus the ``message_id``.

Connect/session handling (``session_persistence``, JWT) is inherited unchanged.
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

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from bot.handoff_gate import get_gate, register_gate_lifecycle

logger = logging.getLogger(__name__)

ACK_EVENT = "user_message_ack"
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._app: Any = None
        self._done = RecentIds()       # handled: a resend is re-acked, not re-processed
        self._in_flight: set[str] = set()
        # One message at a time per session: a message typed right after "quiero hablar con
        # una persona" must see the tracker paused by that turn, not race past the gate.
        self._locks: dict[str, asyncio.Lock] = {}

    def _metadata(self, data: dict[str, Any]) -> dict[str, Any]:
        raw = data.get(self.metadata_key) or data.get("customData") or {}
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                logger.warning("socketio.bad_metadata: not JSON, ignored")
                raw = {}
        return dict(raw) if isinstance(raw, dict) else {}

    async def handle_user_message(self, sid: str, data: dict[str, Any] | None,
                                  on_new_message: Callable[[UserMessage], Awaitable[Any]]
                                  ) -> str | None:
        """Route one widget message; returns the ack status (None when nothing is acked)."""
        assert self.sio is not None
        data = data if isinstance(data, dict) else {}
        if self.session_persistence:
            sender_id = data.get("session_id")
            if not sender_id:
                logger.warning("socketio.message_ignored sid=%s: no session_id (send "
                               "session_request first)", sid)
                return None
        else:
            sender_id = sid
        if is_meta_conversation_id(sender_id):
            logger.warning("socketio.message_refused sid=%s: session id %r is reserved for "
                           "WhatsApp/Messenger conversations", sid, sender_id)
            return None
        message_id = str(data.get("message_id") or uuid.uuid4().hex)
        key = f"{sender_id}:{message_id}"
        if key in self._in_flight:
            logger.info("socketio.duplicate_in_flight sender=%s message_id=%s", sender_id,
                        message_id)
            return None  # the first copy will be acked when done
        if not self._done.add(key):
            await self.sio.emit(ACK_EVENT, {"message_id": message_id, "status": "duplicate"},
                                room=sid, namespace=self.namespace)
            return "duplicate"
        self._done.discard(key)
        self._in_flight.add(key)
        metadata = self._metadata(data)
        metadata.setdefault("message_id", message_id)
        message = UserMessage(data.get("message", ""),
                              SocketIOOutput(self.sio, self.bot_message_evt), sender_id,
                              input_channel=self.name(), metadata=metadata)
        lock = self._locks.setdefault(sender_id, asyncio.Lock())
        try:
            await lock.acquire()
            app = self._app
            agent = getattr(app.ctx, "agent", None) if app is not None else None
            if app is None:
                logger.warning("socketio.no_app: gate skipped, message goes to Rasa")
                await on_new_message(message)
                status = "rasa"
            else:
                route = await get_gate(app).route(agent, message, on_new_message,
                                                  message_id=message_id)
                status = route.value
        except Exception:
            logger.exception("socketio.message_failed sender=%s message_id=%s: not acked, "
                             "the widget may resend", sender_id, message_id)
            return None
        finally:
            self._in_flight.discard(key)
            if lock.locked():
                lock.release()
            if not lock.locked() and not getattr(lock, "_waiters", None):
                self._locks.pop(sender_id, None)
        self._done.add(key)
        await self.sio.emit(ACK_EVENT, {"message_id": message_id, "status": status},
                            room=sid, namespace=self.namespace)
        return status

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None

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
            if not data.get("session_id") or is_meta_conversation_id(data["session_id"]):
                data["session_id"] = uuid.uuid4().hex  # a fresh, unguessable web session
            if self.session_persistence:
                entered = sio.enter_room(sid, data["session_id"], namespace=self.namespace)
                if inspect.isawaitable(entered):
                    await entered
            await sio.emit("session_confirm", data["session_id"], room=sid,
                           namespace=self.namespace)
            logger.debug("socketio.session sid=%s session=%s", sid, data["session_id"])

        @bp.listener("before_server_start")
        async def _capture_app(app: Any, _loop: Any) -> None:
            self._app = app

        register_gate_lifecycle(bp)
        return bp
