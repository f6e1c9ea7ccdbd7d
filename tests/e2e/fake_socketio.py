"""A scripted stand-in for Rasa's socket.io channel, served inside the browser with Playwright's
`page.route_web_socket`, speaking Engine.IO 4 / Socket.IO 5 over a websocket (what
socket.io-client 4 opens first). It records what the widget sends and lets the test decide what
the "bot" answers, so the widget can be tested without a trained model.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from contracts import web_conversation
from tests.e2e.conftest import BOT_TOKEN

KEY = web_conversation.signing_key(BOT_TOKEN)  # what Rasa's channel derives from the bot token
SOCKET_URL = re.compile(r".*/socket\.io/.*transport=websocket.*")


class FakeRasaSocket:
    def __init__(self, session_id: str | None = None) -> None:
        # like the real channel: a server-issued id and its conversation token
        self.session_id = session_id or web_conversation.new_conversation_id()
        self.session_requests: list[Any] = []
        self.utterances: list[dict[str, Any]] = []
        self.sockets: list[Any] = []
        # Called for every user_uttered; returns the bot_uttered payloads to answer with.
        self.on_utterance: Callable[[dict[str, Any]], list[dict[str, Any]]] = lambda _d: []
        self.ack = True  # emit user_message_ack for each utterance
        self.drop_first = False  # ignore the first copy of each message (to test resending)
        # the ack's status, as Rasa's channel reports where the message went ("rasa",
        # "forwarded" to a person, ...)
        self.ack_status: Callable[[dict[str, Any]], str] = lambda _d: "received"
        self.config: dict[str, Any] | None = None  # sent as atiende_config after the session
        self._dropped: set[str] = set()

    def install(self, page: Any) -> None:
        page.route_web_socket(SOCKET_URL, self._handle)

    # -- protocol -------------------------------------------------------------------------------
    def _handle(self, ws: Any) -> None:
        self.sockets.append(ws)
        ws.on_message(lambda message: self._on_message(ws, message))
        # Engine.IO open packet; long ping interval so a test never has to answer pings.
        ws.send(
            "0"
            + json.dumps(
                {
                    "sid": uuid.uuid4().hex,
                    "upgrades": [],
                    "pingInterval": 300000,
                    "pingTimeout": 300000,
                    "maxPayload": 1000000,
                }
            )
        )

    def _on_message(self, ws: Any, message: str | bytes) -> None:
        text = message.decode() if isinstance(message, bytes) else message
        if text == "40" or text.startswith("40{"):  # connect to the default namespace
            ws.send("40" + json.dumps({"sid": uuid.uuid4().hex}))
            return
        if text == "3":  # pong
            return
        if not text.startswith("42"):
            return
        event, *args = json.loads(text[2:])
        data = args[0] if args else None
        if event == "session_request":
            self.session_requests.append(data)
            # the real channel's rule: a stored session is taken up only with its token
            proven = web_conversation.conversation_of(KEY, (data or {}).get("token"))
            if proven is not None:
                self.session_id = proven
            self.emit(ws, "atiende_session", {"session_id": self.session_id,
                                              "token": self.token})
            self.emit(ws, "session_confirm", self.session_id)
            if self.config is not None:
                self.emit(ws, "atiende_config", self.config)
        elif event == "user_uttered":
            mid = data.get("message_id")
            if self.drop_first and mid not in self._dropped:
                self._dropped.add(mid)
                self.utterances.append({**data, "_dropped": True})
                return
            self.utterances.append(data)
            if self.ack:
                self.emit(ws, "user_message_ack", {"message_id": mid,
                                                   "status": self.ack_status(data)})
            for reply in self.on_utterance(data):
                self.emit(ws, "bot_uttered", reply)

    @property
    def token(self) -> str:
        return web_conversation.token_for(KEY, self.session_id)

    @staticmethod
    def emit(ws: Any, event: str, data: Any) -> None:
        ws.send("42" + json.dumps([event, data]))

    def bot_says(self, payload: dict[str, Any]) -> None:
        """Push a bot message to the latest connected widget (like a trigger_intent reply)."""
        self.emit(self.sockets[-1], "bot_uttered", payload)

    def received(self) -> list[dict[str, Any]]:
        return [u for u in self.utterances if not u.get("_dropped")]
