"""What every platform adapter shares: a short-lived cache and the rules for changes.

A conversation reads the same order several times within a minute (the identity check, the action,
the handoff packet); :class:`TTLCache` keeps each answer ``STORE_CACHE_SECONDS`` so the platform is
asked once. Any change to an order drops its entry first, so the re-read after a change always goes
to the platform.

Changes go through :meth:`RemoteStore._change`: an operation the platform's API cannot do, or one
the store keeps for its agents (``STORE_ALLOW_WRITES`` off, the default for real stores), raises
:class:`~actions.store.base.OperationNotSupported` before any request is sent; a key without the
write permission (401/403 on the write) raises it too. The actions then hand the shopper to an
agent with the request filled in.
"""

from __future__ import annotations

import abc
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

import httpx

from actions.store.base import (
    InvalidOperation,
    OperationNotSupported,
    Order,
    OrderNotFound,
    Product,
    Refund,
    ReturnRecord,
    StoreBackend,
    StoreUnavailable,
)
from actions.store.http import HTTPClient, PlatformAuthError, RetryPolicy, json_body
from actions.store.search import platform_terms, query_variants
from actions.store.settings import StoreSettings

T = TypeVar("T")


class TTLCache:
    """A small LRU map whose entries expire after ``ttl`` seconds (0 disables caching)."""

    def __init__(self, ttl: float, max_entries: int = 512) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        entry = self._data.get(key)
        if entry is None or entry[0] < time.monotonic():
            self._data.pop(key, None)
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key: Hashable, value: Any) -> None:
        if self.ttl <= 0:
            return
        self._data[key] = (time.monotonic() + self.ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def drop(self, predicate: Callable[[Hashable], bool]) -> None:
        for key in [k for k in self._data if predicate(k)]:
            del self._data[key]

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        cached = self.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        value = await load()
        self.put(key, value)
        return value


def platform_client(platform: str, base_url: str, settings: StoreSettings,
                    **options: Any) -> HTTPClient:
    """The adapter's HTTP client with the retry rules of ``settings`` (``STORE_TIMEOUT``,
    ``STORE_RETRIES``, ``STORE_DEADLINE``, ``STORE_MAX_WAIT``); ``options``: headers, auth,
    throttle, retry hint, transport (tests)."""
    policy = RetryPolicy(timeout=settings.timeout, retries=settings.retries,
                         deadline=settings.deadline, max_wait=settings.max_wait)
    return HTTPClient(platform, base_url, policy=policy, **options)


async def first_hits(query: str, fetch: Callable[[str], Awaitable[list[Any]]],
                     key: Callable[[Any], Hashable]) -> dict[Hashable, Any]:
    """The platform's hits for the first of the query's variants that finds anything
    (:func:`~actions.store.search.query_variants`: all the words, then fewer), by ``key`` without
    repeats; ``{}`` when nothing is worth searching for or nothing was found. ``fetch(term)``
    asks the platform's search for one variant."""
    terms = platform_terms(query)
    found: dict[Hashable, Any] = {}
    for term in query_variants(terms) if terms else []:
        for item in await fetch(term):
            found.setdefault(key(item), item)
        if found:
            break
    return found


class RemoteStore(StoreBackend, abc.ABC):
    """Base of the WooCommerce, Tiendanube and Shopify adapters."""

    #: the changes the platform's API can make at all (whatever the key allows)
    native_operations: frozenset[str] = frozenset()

    def __init__(self, settings: StoreSettings, http: HTTPClient) -> None:
        self.settings = settings
        self.http = http
        self.cache = TTLCache(settings.cache_seconds)

    def supports(self, operation: str) -> bool:
        return self.settings.allow_writes and operation in self.native_operations

    # -- reads (cached) ---------------------------------------------------------------------
    async def get_order(self, order_id: str) -> Order:
        return await self.cache.get_or_load(("order", order_id),
                                            lambda: self._fetch_order(order_id))

    async def get_order_by_ref(self, ref: str) -> Order:
        """The order with the platform's own id ``ref`` (what webhooks name), never cached: an
        order event is news. :class:`OrderNotFound` if unknown."""
        if not ref.isdigit():
            raise OrderNotFound(ref)
        return await self._fetch_order_by_ref(ref)

    async def list_customer_orders(self, email: str) -> list[Order]:
        key = ("customer_orders", email.strip().lower())
        return await self.cache.get_or_load(key, lambda: self._fetch_customer_orders(email))

    async def get_refunds(self, order_id: str) -> list[Refund]:
        order = await self.get_order(order_id)
        return sorted(order.refunds, key=lambda r: r.created_at, reverse=True)

    async def search_products(self, query: str, *, lang: str = "es",
                              limit: int = 5) -> list[Product]:
        key = ("products", " ".join(query.lower().split()), lang, limit)
        return await self.cache.get_or_load(
            key, lambda: self._search_products(query, lang=lang, limit=limit))

    # -- changes ----------------------------------------------------------------------------
    async def _change(self, operation: str, order_id: str,
                      call: Callable[[], Awaitable[T]]) -> T:
        if operation not in self.native_operations:
            raise OperationNotSupported(operation, "unsupported")
        if not self.settings.allow_writes:
            raise OperationNotSupported(operation, "read_only")
        self.forget(order_id)
        try:
            return await call()
        except PlatformAuthError as exc:
            raise OperationNotSupported(operation, "permission") from exc
        finally:
            self.forget(order_id)

    def forget(self, order_id: str) -> None:
        """Drop every cached answer that may include this order."""
        self.cache.drop(lambda key: isinstance(key, tuple) and (
            key == ("order", order_id) or key[0] == "customer_orders"))

    async def cancel_order(self, order_id: str, *, reason: str = "customer_request") -> None:
        await self._change("cancel_order", order_id, lambda: self._cancel(order_id, reason))

    async def change_address(self, order_id: str, new_address: str) -> None:
        address = " ".join(new_address.split())
        if not 8 <= len(address) <= 300:
            raise InvalidOperation("address must be 8-300 characters")
        await self._change("change_address", order_id,
                           lambda: self._change_address(order_id, address))

    async def create_return(self, order_id: str, *, item_ids: list[int], reason: str,
                            kind: str = "refund", refund_cents: int = 0) -> ReturnRecord:
        if kind not in {"refund", "exchange"} or not item_ids:
            raise InvalidOperation("a return needs items and kind 'refund' or 'exchange'")
        return await self._change("create_return", order_id, lambda: self._create_return(
            order_id, item_ids=item_ids, reason=reason[:500], kind=kind,
            refund_cents=refund_cents))

    async def close(self) -> None:
        await self.http.aclose()

    async def get_json(self, path: str, route: str, **params: Any) -> tuple[Any, httpx.Response]:
        """GET a REST resource: (body, response); body None on 404, 4xx/5xx -> unavailable."""
        response = await self.http.request("GET", path, route=route, params=params or None)
        if response.status_code == 404:
            return None, response
        if response.status_code >= 400:
            raise StoreUnavailable(f"{self.platform} {route}: HTTP {response.status_code}")
        return json_body(response, self.platform, route), response

    # -- what each platform implements ------------------------------------------------------
    @abc.abstractmethod
    async def _fetch_order(self, order_id: str) -> Order: ...

    @abc.abstractmethod
    async def _fetch_customer_orders(self, email: str) -> list[Order]: ...

    async def _fetch_order_by_ref(self, ref: str) -> Order:
        raise OrderNotFound(ref)

    @abc.abstractmethod
    async def _search_products(self, query: str, *, lang: str, limit: int) -> list[Product]: ...

    async def _cancel(self, order_id: str, reason: str) -> None:
        raise OperationNotSupported("cancel_order", "unsupported")

    async def _change_address(self, order_id: str, address: str) -> None:
        raise OperationNotSupported("change_address", "unsupported")

    async def _create_return(self, order_id: str, *, item_ids: list[int], reason: str,
                             kind: str, refund_cents: int) -> ReturnRecord:
        raise OperationNotSupported("create_return", "unsupported")
