"""Lanes: anonymous traffic can never take the whole server from the bot and the agents, and one
anonymous client can never take a lane from the other clients.

Measured (bench/public_flood.py, reports/reliability/): 50 clients reading the widget replay in a
loop, each within its own per-client rate limit, kept all 40 worker threads busy; a bot forward or
an agent's console call queued behind ~50 of them, p99 1.9–3.6 s. The per-client limit does not
help there (50 × 2 requests/s is more than one process serves on a busy core).

A lane is a small number of slots (an ``asyncio.Semaphore`` in the event loop) for one class of
anonymous request: at most ``HANDOFF_PUBLIC_CONCURRENCY`` (4) widget reads / opt-out page requests,
``HANDOFF_LOGIN_CONCURRENCY`` (2) logins (a bcrypt hash each) and ``HANDOFF_HEALTH_CONCURRENCY`` (2)
health checks are served at once; the others wait **in the event loop** (no thread, no database
connection) for a slot, and after ``HANDOFF_LANE_WAIT_SECONDS`` (5 s) get ``429`` with
``Retry-After: 1`` and a reason (a flood is slowed politely, never a 5xx).

``/health`` has a lane of its own: a load balancer's health check must not be told 429 because
shoppers (or a flood) fill the widget's lane. And the balancer's own checks can have a lane that
nobody else can enter (``HANDOFF_PROBE_NETWORKS``, the balancer's / kubelet's addresses or
networks): measured before it, 50 addresses flooding ``/health`` kept the balancer's check waiting
in the health lane with them (p99 5.5 s, reports/reliability/README.md), enough for a balancer to
take a healthy replica out.

**Per client** (``HANDOFF_LANE_PER_CLIENT``, 3): one client (the connecting address, the same
``client_address`` as the rate limits) may have at most that many requests in a lane, served or
waiting; one more is answered ``429`` with ``Retry-After`` at once. So a single flooder — however
many connections it opens — holds at most 3 of the 4 public slots and never queues ahead of anyone:
a bystander shopper's widget read waits at most for a slot to free, not behind the flood. (Many
clients flooding at once share the lane in arrival order: each gets its turn.) Behind a proxy the
address must be the real client's (uvicorn ``--forwarded-allow-ips``), else every shopper is one
client.

Authenticated bot and agent requests are in no lane: they go straight to the worker threads, so
they wait behind at most a few anonymous requests. The widget's live stream
(``/api/widget/stream``) is not in a lane (it stays open for minutes).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from handoff_api.ratelimit import client_address

RETRY_AFTER_SECONDS = 1


@dataclass
class Lane:
    name: str
    prefixes: tuple[str, ...]
    slots: int
    excluded: tuple[str, ...] = ()
    per_client: int = 0  # requests of one client in the lane (served or waiting); 0: no cap
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()  # only these clients
    waited_out: int = 0  # requests answered 429 after waiting (for tests and logs)
    over_share: int = 0  # requests answered 429 at once: their client had per_client in the lane
    _semaphores: dict[int, asyncio.Semaphore] = field(default_factory=dict, repr=False)
    _clients: Counter = field(default_factory=Counter, repr=False)

    def matches(self, path: str, client: str = "") -> bool:
        if not path.startswith(self.prefixes) or path.startswith(self.excluded):
            return False
        return not self.networks or _within(client, self.networks)

    @property
    def semaphore(self) -> asyncio.Semaphore:
        # one per event loop (a semaphore belongs to the loop it first waited in; tests run one
        # app in several loops); a server has one loop
        loop = id(asyncio.get_running_loop())
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.slots)
        return semaphore

    def enter(self, client: str) -> bool:
        """Count ``client`` in; ``False`` (not counted) when it already has its share."""
        if self.per_client and self._clients[client] >= self.per_client:
            self.over_share += 1
            return False
        self._clients[client] += 1
        return True

    def leave(self, client: str) -> None:
        self._clients[client] -= 1
        if self._clients[client] <= 0:
            del self._clients[client]


def parse_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``"10.0.0.5, 10.1.0.0/16"`` -> networks; a bad entry raises ``ValueError`` naming it."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError as exc:
                raise ValueError(f"not an IP address or network: {item!r}") from exc
    return tuple(networks)


def _within(client: str, networks: tuple) -> bool:
    try:
        address = ipaddress.ip_address(client)
    except ValueError:  # "unknown" (no client in the scope)
        return False
    return any(address in network for network in networks)


def default_lanes(public: int, login: int, health: int = 2, per_client: int = 3,
                  probe_networks: str = "") -> list[Lane]:
    networks = parse_networks(probe_networks)
    # the balancer's checks first: from its addresses /health takes this lane, nobody else can
    probe = [Lane("probe", ("/health",), health, networks=networks)] if networks else []
    return probe + [
        Lane("login", ("/api/auth/login",), login, per_client=per_client),
        Lane("health", ("/health",), health, per_client=per_client),
        Lane("public", ("/api/widget/", "/notifications/"), public,
             excluded=("/api/widget/stream",), per_client=per_client),
    ]


class LanesMiddleware:
    """Pure ASGI middleware (no per-request task or body buffering)."""

    def __init__(self, app: Any, lanes: list[Lane], wait_seconds: float) -> None:
        self.app, self.lanes, self.wait_seconds = app, lanes, wait_seconds

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        lane = None
        client = client_address(scope) if scope["type"] == "http" else ""
        if scope["type"] == "http":
            path = scope.get("path", "")
            lane = next((la for la in self.lanes if la.matches(path, client)), None)
        if lane is None:
            await self.app(scope, receive, send)
            return
        if not lane.enter(client):
            await self._busy(send, lane)
            return
        try:
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
        finally:
            lane.leave(client)

    @staticmethod
    async def _busy(send: Any, lane: Lane) -> None:
        body = json.dumps({"detail": f"Too many {lane.name} requests right now; retry in "
                                     f"{RETRY_AFTER_SECONDS} s"}).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_SECONDS).encode())]})
        await send({"type": "http.response.body", "body": body})
