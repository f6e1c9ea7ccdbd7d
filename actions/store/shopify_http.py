"""Shopify's side of HTTP: the access token and the GraphQL cost bucket.

Rate limits are a cost bucket reported in ``extensions.cost.throttleStatus``; :class:`CostThrottle`
waits before a query would overdraw it and :func:`throttled_wait` tells the retry exactly what the
bucket needs to refill (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits).
:class:`ShopifyTokenAuth` puts the ``X-Shopify-Access-Token`` header on every request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

from actions.store.base import StoreUnavailable
from actions.store.http import PlatformAuthError, json_body
from actions.store.settings import StoreSettings

logger = logging.getLogger(__name__)


class CostThrottle:
    """Tracks Shopify's cost bucket from each answer and waits before overdrawing it."""

    def __init__(self, expected_cost: float = 60.0) -> None:
        self.expected_cost = expected_cost
        self.available: float | None = None
        self.maximum = 1000.0
        self.restore_rate = 50.0
        self.seen_at = 0.0

    def estimate(self) -> float | None:
        if self.available is None:
            return None
        refill = (time.monotonic() - self.seen_at) * self.restore_rate
        return min(self.maximum, self.available + refill)

    async def before(self, deadline: float) -> None:
        available = self.estimate()
        if available is None or available >= self.expected_cost:
            return
        wait = (self.expected_cost - available) / self.restore_rate
        if time.monotonic() + wait < deadline:
            logger.info("shopify: cost bucket at %.0f points, waiting %.2f s", available, wait)
            await asyncio.sleep(wait)

    def after(self, response: httpx.Response) -> None:
        cost = _cost(response)
        status = (cost or {}).get("throttleStatus") or {}
        if status:
            self.available = float(status.get("currentlyAvailable", 0))
            self.maximum = float(status.get("maximumAvailable", self.maximum))
            self.restore_rate = float(status.get("restoreRate", self.restore_rate)) or 1.0
            self.seen_at = time.monotonic()
            requested = cost.get("requestedQueryCost")  # type: ignore[union-attr]
            if requested:
                self.expected_cost = max(self.expected_cost * 0.5, float(requested))


def _cost(response: httpx.Response) -> Mapping[str, Any] | None:
    if b'"cost"' not in response.content:
        return None
    try:
        return (response.json().get("extensions") or {}).get("cost")
    except (ValueError, AttributeError):
        return None


def throttled_wait(response: httpx.Response) -> float | None:
    """Seconds until the bucket holds the throttled query's cost (200 + THROTTLED), else None."""
    if response.status_code != 200 or b"THROTTLED" not in response.content:
        return None
    cost = _cost(response) or {}
    status = cost.get("throttleStatus") or {}
    need = float(cost.get("requestedQueryCost") or 0) - float(status.get("currentlyAvailable") or 0)
    return max(need, 1.0) / float(status.get("restoreRate") or 50.0)


class ShopifyTokenAuth(httpx.Auth):
    """``X-Shopify-Access-Token`` on every request.

    An app created in the Shopify admin (legacy, before 2026) has a fixed ``shpat_`` token
    (``SHOPIFY_ACCESS_TOKEN``). A Dev Dashboard app exchanges its client ID and secret for a
    token that lasts 24 hours (client credentials grant, ``POST /admin/oauth/access_token``,
    https://shopify.dev/docs/apps/build/authentication-authorization/client-credentials-grant):
    it is fetched on first use, renewed a minute before it expires and once more if Shopify
    answers 401.
    """

    def __init__(self, settings: StoreSettings, timeout: float) -> None:
        self.static = settings.shopify_token
        self.shop_url = settings.shopify_url
        self.client_id = settings.shopify_client_id
        self.client_secret = settings.shopify_client_secret
        self.timeout = timeout
        self._token = ""
        self._expires = 0.0
        self._lock: asyncio.Lock | None = None

    async def token(self, *, renew: bool = False) -> str:
        if self.static:
            return self.static
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if renew or not self._token or time.monotonic() > self._expires - 60:
                self._token, self._expires = await self._fetch()
        return self._token

    async def _fetch(self) -> tuple[str, float]:
        try:
            async with httpx.AsyncClient(base_url=self.shop_url, timeout=self.timeout) as client:
                response = await client.post("/admin/oauth/access_token", data={
                    "grant_type": "client_credentials", "client_id": self.client_id,
                    "client_secret": self.client_secret})
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"shopify token: {exc.__class__.__name__}") from None
        if response.status_code in (400, 401, 403):
            raise PlatformAuthError(f"shopify token: HTTP {response.status_code}, the client "
                                    "credentials were rejected", response.status_code)
        body = json_body(response, "shopify", "token") if response.status_code < 500 else {}
        if response.status_code >= 400 or not isinstance(body, Mapping) or \
                not body.get("access_token"):
            raise StoreUnavailable(f"shopify token: HTTP {response.status_code}")
        lifetime = float(body.get("expires_in") or 86399)
        logger.info("shopify: access token obtained, valid %.0f s", lifetime)
        return str(body["access_token"]), time.monotonic() + lifetime

    async def async_auth_flow(self, request: httpx.Request) -> Any:
        request.headers["X-Shopify-Access-Token"] = await self.token()
        response = yield request
        if response.status_code == 401 and not self.static:
            request.headers["X-Shopify-Access-Token"] = await self.token(renew=True)
            yield request


class AccessDenied(PlatformAuthError):
    """ACCESS_DENIED in a GraphQL answer; ``fields`` names the fields the scopes do not cover."""

    fields: set[str] = set()

