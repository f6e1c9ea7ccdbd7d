"""Per-client rate limits on the public routes (``limits``: in memory, or Redis when replicas
share the budget).

A flood from one client is answered ``429 Too Many Requests`` with ``Retry-After`` before it reaches
the database, so 50 clients hammering the widget replay cannot slow anyone else down. The client is
the connecting address (put the real client address there at the proxy: uvicorn's
``--forwarded-allow-ips``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from fastapi import HTTPException, Request


class RateLimiter:
    def __init__(self, storage_uri: str = "memory://") -> None:
        from limits import storage, strategies  # imported with the app, not at module import

        self._storage = storage.storage_from_string(storage_uri)
        self._limiter = strategies.MovingWindowRateLimiter(self._storage)
        self._parsed: dict[str, object] = {}

    def _item(self, rate: str) -> object:
        item = self._parsed.get(rate)
        if item is None:
            from limits import parse

            item = self._parsed[rate] = parse(rate)
        return item

    def hit(self, rate: str, *identifiers: str) -> float | None:
        """Count one request; ``None`` if allowed, else the seconds to wait."""
        item = self._item(rate)
        if self._limiter.hit(item, *identifiers):
            return None
        reset, _remaining = self._limiter.get_window_stats(item, *identifiers)
        return max(1.0, reset - time.time())


def client_address(scope: dict) -> str:
    """The client of a request (ASGI scope): the connecting address. One definition for the rate
    limits and the lanes' per-client share (handoff_api/lanes.py)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


def client_key(request: Request) -> str:
    return client_address(request.scope)


def limit(scope: str, rate_of: Callable[[object], str]) -> Callable[[Request], None]:
    """A dependency limiting each client on ``scope`` to ``rate_of(settings)``."""

    def check(request: Request) -> None:
        services = request.app.state.services
        wait = services.limiter.hit(rate_of(services.settings), scope, client_key(request))
        if wait is not None:
            raise HTTPException(429, f"Too many requests; retry in {math.ceil(wait)} s",
                                headers={"Retry-After": str(math.ceil(wait))})

    return check
