"""Lanes: anonymous traffic can never take the whole server from the bot and the agents.

Measured (bench/public_flood.py, reports/reliability/): 50 clients reading the widget replay in a
loop, each within its own per-client rate limit, kept all 40 worker threads busy; a bot forward or
an agent's console call queued behind ~50 of them, p99 1.9–3.6 s. The per-client limit does not
help there (50 × 2 requests/s is more than one process serves on a busy core).

A lane is a small number of slots (an ``asyncio.Semaphore`` in the event loop) for one class of
anonymous request: at most ``HANDOFF_PUBLIC_CONCURRENCY`` (4) widget reads / ``/health`` /
opt-out page requests and ``HANDOFF_LOGIN_CONCURRENCY`` (2) logins (a bcrypt hash each) are served
at once; the others wait **in the event loop** (no thread, no database connection) for a slot, and
after ``HANDOFF_LANE_WAIT_SECONDS`` (5 s) get ``429`` with ``Retry-After: 1`` and a reason (a flood
is slowed politely, never a 5xx). Authenticated bot and agent requests are in no lane: they go
straight to the worker threads, so they wait behind at most a few anonymous requests. The widget's
live stream (``/api/widget/stream``) is not in a lane (it stays open for minutes).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

RETRY_AFTER_SECONDS = 1


@dataclass
class Lane:
    name: str
    prefixes: tuple[str, ...]
    slots: int
    excluded: tuple[str, ...] = ()
    waited_out: int = 0  # requests answered 429 after waiting (for tests and logs)
    _semaphores: dict[int, asyncio.Semaphore] = field(default_factory=dict, repr=False)

    def matches(self, path: str) -> bool:
        return path.startswith(self.prefixes) and not path.startswith(self.excluded)

    @property
    def semaphore(self) -> asyncio.Semaphore:
        # one per event loop (a semaphore belongs to the loop it first waited in; tests run one
        # app in several loops); a server has one loop
        loop = id(asyncio.get_running_loop())
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.slots)
        return semaphore


def default_lanes(public: int, login: int) -> list[Lane]:
    return [
        Lane("login", ("/api/auth/login",), login),
        Lane("public", ("/api/widget/", "/health", "/notifications/"), public,
             excluded=("/api/widget/stream",)),
    ]


class LanesMiddleware:
    """Pure ASGI middleware (no per-request task or body buffering)."""

    def __init__(self, app: Any, lanes: list[Lane], wait_seconds: float) -> None:
        self.app, self.lanes, self.wait_seconds = app, lanes, wait_seconds

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        lane = None
        if scope["type"] == "http":
            path = scope.get("path", "")
            lane = next((la for la in self.lanes if la.matches(path)), None)
        if lane is None:
            await self.app(scope, receive, send)
            return
        try:
            await asyncio.wait_for(lane.semaphore.acquire(), self.wait_seconds)
        except asyncio.TimeoutError:
            lane.waited_out += 1
            await self._busy(send, lane)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            lane.semaphore.release()

    @staticmethod
    async def _busy(send: Any, lane: Lane) -> None:
        body = json.dumps({"detail": f"Too many {lane.name} requests right now; retry in "
                                     f"{RETRY_AFTER_SECONDS} s"}).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode())]})
        await send({"type": "http.response.body", "body": body})
