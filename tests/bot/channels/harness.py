"""Test doubles shared by the channel and gate tests (bot env).

* :class:`Recorder` — an aiohttp server on an ephemeral port standing in for the Graph API
  or the handoff API; it records every request and answers with a configurable status.
* :class:`FakeAgent` — what Rasa's ``app.ctx.agent`` offers the channels: a real
  ``InMemoryTrackerStore`` (so ``tracker.is_paused()`` is Rasa's own logic) and a
  ``handle_message`` that records the message and sends scripted bot responses through the
  message's output channel, like Rasa's ``MessageProcessor`` would.
* :class:`SanicHarness` — a Sanic app with the channels registered exactly as ``rasa run``
  does (``rasa.core.channels.channel.register`` with route ``/webhooks/``), served on an
  ephemeral port.
"""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from rasa.core.channels.channel import InputChannel, UserMessage, register
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ConversationPaused, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from bot.channels.meta import sign

FIXTURES = Path(__file__).parent / "fixtures"

# Several Sanic apps start in one process; test mode keeps Sanic's start-up code rewriting
# ("touchup") re-entrant and allows many app names.
Sanic.test_mode = True


def load_fixture(name: str, ts: float | None = None) -> dict[str, Any]:
    """A recorded Meta payload with its message timestamps moved to ``ts`` (default now)."""
    payload = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    ts = time.time() if ts is None else ts
    for entry in payload.get("entry", []):
        for change in entry.get("changes", []):
            for message in change.get("value", {}).get("messages", []):
                message["timestamp"] = str(int(ts))
        for event in entry.get("messaging", []):
            event["timestamp"] = int(ts * 1000)
    return payload


class Recorder:
    """Local HTTP server that records requests (Graph API / handoff API stand-in)."""

    def __init__(self, status: int = 200,
                 answer: Callable[[web.Request, Any], Any] | None = None) -> None:
        self.status = status
        self.answer = answer
        self.requests: list[dict[str, Any]] = []
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._counter = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.requests.append({"method": request.method, "path": request.path,
                              "headers": dict(request.headers), "json": body})
        self._counter += 1
        data = (self.answer(request, body) if self.answer
                else {"messages": [{"id": f"wamid.out.{self._counter}"}],
                      "message_id": f"m_out_{self._counter}"})
        return web.json_response(data, status=self.status)

    async def start(self, port: int = 0) -> Recorder:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def bodies(self, path_suffix: str = "") -> list[Any]:
        return [r["json"] for r in self.requests if r["path"].endswith(path_suffix)]


class FakeAgent:
    """The part of ``rasa.core.agent.Agent`` the channels and the gate use."""

    def __init__(self) -> None:
        with warnings.catch_warnings():  # Rasa warns about slot auto-fill on every domain
            warnings.simplefilter("ignore", UserWarning)
            self.domain = Domain.from_dict({"slots": {"language": {
                "type": "categorical", "values": ["es", "en"], "initial_value": "es",
                "influence_conversation": False, "mappings": [{"type": "custom"}]}}})
        self.tracker_store = InMemoryTrackerStore(self.domain)
        self.handled: list[UserMessage] = []
        self.responder: Callable[[UserMessage], list[dict[str, Any]]] = lambda m: [
            {"text": f"echo: {m.text}"}]
        self.delay = 0.0
        self.delays: dict[str, float] = {}  # per message text

    async def handle_message(self, message: UserMessage) -> None:
        self.handled.append(message)
        delay = self.delays.get(message.text or "", self.delay)
        if delay:
            await asyncio.sleep(delay)
        for response in self.responder(message):
            await message.output_channel.send_response(message.sender_id,
                                                       copy.deepcopy(response))

    async def set_language(self, sender_id: str, language: str) -> None:
        """Store a conversation whose ``language`` slot is ``language``."""
        tracker = DialogueStateTracker.from_events(sender_id, [
            UserUttered("hello"), SlotSet("language", language)], slots=self.domain.slots)
        await self.tracker_store.save(tracker)

    async def pause(self, sender_id: str) -> None:
        """Store a tracker as ``action_handoff`` leaves it: paused."""
        tracker = DialogueStateTracker.from_events(sender_id, [
            ActionExecuted("action_listen"), UserUttered("quiero hablar con una persona"),
            ConversationPaused()], slots=self.domain.slots)
        await self.tracker_store.save(tracker)


def web_channels() -> list[InputChannel]:
    """The widget's two channels as credentials.yml configures them: REST and socket.io."""
    from bot.channels.rest import HandoffAwareRestInput
    from bot.channels.socketio import HandoffAwareSocketIOInput

    return [HandoffAwareRestInput(),
            HandoffAwareSocketIOInput.from_credentials({
                "user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered",
                "session_persistence": True})]


class SanicHarness:
    """Serve input channels like ``rasa run`` does, on an ephemeral port."""

    def __init__(self, channels: list[InputChannel], agent: Any,
                 gate: Any = None, port: int | None = None) -> None:
        self.app = Sanic(f"atiende_test_{uuid.uuid4().hex[:8]}")
        self.app.ctx.agent = agent
        self.app.ctx.input_channels = channels  # as rasa's server does (output channels by name)
        self.wanted_port = port
        if gate is not None:
            self.app.ctx.atiende_gate = gate
        register(channels, self.app, route="/webhooks/")
        self._server: Any = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> SanicHarness:
        # Sanic reads port=0 as "use the default", 8000 (the handoff API's port): pick a free one
        port = self.wanted_port
        if port is None:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        self._server = await self.app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False)
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()
        self.port = self._server.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.before_stop()
            self._server.close()
            await self._server.wait_closed()
            await self._server.after_stop()
            self._server = None

    async def post_signed(self, path: str, payload: Any, secret: str,
                          body: bytes | None = None,
                          headers: dict[str, str] | None = None) -> tuple[int, str]:
        raw = body if body is not None else json.dumps(payload).encode()
        hdrs = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, secret)}
        hdrs.update(headers or {})
        async with aiohttp.ClientSession() as s:
            async with s.post(self.url + path, data=raw, headers=hdrs) as resp:
                return resp.status, await resp.text()

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, str, Any]:
        async with aiohttp.ClientSession() as s:
            async with s.request(method, self.url + path, **kwargs) as resp:
                return resp.status, await resp.text(), dict(resp.headers)
