"""The HTTP client every platform adapter uses: timeouts, retries with backoff, rate limits.

One place decides what a platform answer means for a shopper who is waiting:

* each attempt has ``timeout`` seconds, the whole call ``deadline`` seconds, waits included;
* a 429 is retried after ``Retry-After`` (or the platform's own hint, e.g. Shopify's query cost)
  when that wait is short enough (``max_wait``); otherwise we give up at once and the shopper
  gets the polite "system unavailable" message instead of a long silence;
* 5xx answers and timeouts are retried with exponential backoff and jitter, but only for requests
  that are safe to repeat: a write that may have reached the platform is never sent twice (a
  connection that was refused before sending anything is always retried);
* 401/403 raise :class:`PlatformAuthError` (reads: the store is "unavailable"; writes: the key
  lacks the permission);
* an optional :class:`Throttle` slows us down *before* the platform has to (Tiendanube's leaky
  bucket headers, Shopify's cost bucket).

Logs name the platform, a route label chosen by the adapter, the status and timing. They never
contain URLs (order numbers and e-mails travel in query strings), bodies or headers (credentials).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from actions.store.base import StoreUnavailable

logger = logging.getLogger("actions.store.http")

RETRY_STATUSES = {500, 502, 503, 504}


class PlatformAuthError(StoreUnavailable):
    """The platform rejected the credentials or their permissions (HTTP 401/403)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    timeout: float = 3.0  # seconds per attempt
    retries: int = 2  # extra attempts after the first
    deadline: float = 8.0  # seconds for the whole call
    max_wait: float = 4.0  # longest single wait worth making
    backoff: float = 0.25  # first backoff in seconds, doubled per retry, with jitter


class Throttle(Protocol):
    """Client-side rate limiting: wait before a request, learn from each response."""

    async def before(self, deadline: float) -> None: ...

    def after(self, response: httpx.Response) -> None: ...


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), or None."""
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class HTTPClient:
    """An ``httpx.AsyncClient`` with the retry rules above, created lazily per event loop."""

    def __init__(self, platform: str, base_url: str, *, policy: RetryPolicy,
                 headers: Mapping[str, str] | None = None, auth: httpx.Auth | None = None,
                 throttle: Throttle | None = None,
                 retry_hint: Callable[[httpx.Response], float | None] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.platform = platform
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self._headers = dict(headers or {})
        self._auth = auth
        self.throttle = throttle
        # A response that is "rate limited" without being a 429 (Shopify: 200 + THROTTLED) returns
        # the seconds to wait; None means "not a retryable answer".
        self._retry_hint = retry_hint
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        _quiet_http_library_logs()

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            # A client's pooled connections belong to the loop that opened them.
            self._client = httpx.AsyncClient(
                base_url=self.base_url, headers=self._headers, auth=self._auth,
                timeout=httpx.Timeout(self.policy.timeout), transport=self._transport,
                follow_redirects=False)
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = None

    def _give_up(self, route: str, why: str) -> StoreUnavailable:
        logger.warning("%s %s: giving up (%s)", self.platform, route, why)
        return StoreUnavailable(f"{self.platform} {route}: {why}")

    async def request(self, method: str, path: str, *, route: str,
                      params: Mapping[str, Any] | None = None, json: Any = None,
                      idempotent: bool | None = None) -> httpx.Response:
        """Send a request; returns any answer below 500 except 401/403/429 (raised or retried).

        ``route`` is a short label for logs ("orders.get"); ``idempotent`` defaults to True for
        GET/HEAD and False otherwise (a GraphQL query says True explicitly).
        """
        safe = idempotent if idempotent is not None else method.upper() in {"GET", "HEAD"}
        policy = self.policy
        start = time.monotonic()
        deadline = start + policy.deadline
        attempt = 0
        while True:
            attempt += 1
            if self.throttle is not None:
                await self.throttle.before(deadline)
            sent_at = time.monotonic()
            try:
                response = await self._http().request(method, path, params=params, json=json)
            except httpx.ConnectError as exc:  # nothing reached the platform: always retryable
                failure, retryable = f"cannot connect ({exc.__class__.__name__})", True
            except httpx.TimeoutException as exc:
                failure, retryable = f"no answer within {policy.timeout:g} s " \
                                     f"({exc.__class__.__name__})", safe
            except httpx.HTTPError as exc:
                failure, retryable = f"transport error ({exc.__class__.__name__})", safe
            else:
                elapsed_ms = (time.monotonic() - sent_at) * 1000
                logger.debug("%s %s -> %s in %.0f ms (attempt %d)", self.platform, route,
                             response.status_code, elapsed_ms, attempt)
                if self.throttle is not None:
                    self.throttle.after(response)
                status = response.status_code
                if status in (401, 403):
                    raise PlatformAuthError(
                        f"{self.platform} {route}: HTTP {status}, the credentials or their "
                        "permissions were rejected", status)
                hint = self._retry_hint(response) if self._retry_hint else None
                if status == 429 or hint is not None:
                    wait = hint if hint is not None else retry_after_seconds(response)
                    wait = policy.backoff if wait is None else wait
                    if wait > policy.max_wait:
                        raise self._give_up(route, f"rate limited, retry after {wait:.1f} s")
                    if attempt > policy.retries + 1 or time.monotonic() + wait > deadline:
                        raise self._give_up(route, "rate limited, out of time")
                    logger.warning("%s %s: rate limited, retrying in %.2f s", self.platform,
                                   route, wait)
                    await asyncio.sleep(wait)
                    continue
                if status < 500:
                    return response
                failure, retryable = f"HTTP {status}", safe and status in RETRY_STATUSES
            if not retryable or attempt > policy.retries:
                raise self._give_up(route, failure)
            wait = policy.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())  # noqa: S311
            if time.monotonic() + wait + policy.timeout > deadline:
                raise self._give_up(route, f"{failure}, out of time")
            logger.warning("%s %s: %s, retry %d/%d in %.2f s", self.platform, route, failure,
                           attempt, policy.retries, wait)
            await asyncio.sleep(wait)


def json_body(response: httpx.Response, platform: str, route: str) -> Any:
    """The JSON body, or :class:`StoreUnavailable` when the platform answered garbage."""
    try:
        return response.json()
    except ValueError:
        raise StoreUnavailable(f"{platform} {route}: HTTP {response.status_code} with a body "
                               "that is not JSON") from None


def _quiet_http_library_logs() -> None:
    """httpx logs every request URL at INFO; our URLs carry e-mails and order numbers in query
    strings, so keep that logger at WARNING unless someone lowered it on purpose."""
    for name in ("httpx", "httpcore"):
        library_logger = logging.getLogger(name)
        if library_logger.level == logging.NOTSET:
            library_logger.setLevel(logging.WARNING)
