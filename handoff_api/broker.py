"""Publish/subscribe for live events (console SSE, widget SSE).

Route handlers run in worker threads, the SSE streams in the event loop, so :meth:`Broker.publish`
is thread-safe: it hands each event to the loop with ``call_soon_threadsafe``. Events are not
durable; everything they announce is already committed in the database and can be re-read, so a
restart loses no data, only the live push.

:class:`Broker` delivers within one process. With several handoff API processes behind a balancer
(``make cluster``), an agent's reply made through one process must reach a widget streaming from
another: :class:`RedisBroker` (``HANDOFF_BROKER_URL=redis://…``) publishes every event on one Redis
pub/sub channel, and every process — the publishing one included — delivers what it receives to its
own subscribers. If Redis is unreachable an event is delivered locally only (logged): the data is
in the database, the other processes' clients read it at their next poll or reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

logger = logging.getLogger(__name__)

CONSOLE_TOPIC = "console"
#: every open widget listens here for ``queue_changed`` (no data: each widget re-reads its own
#: place), derived from the console events that move the queue
QUEUE_TOPIC = "queue"
QUEUE_EVENTS = frozenset({"handoff_created", "handoff_assigned", "handoff_closed",
                          "handoff_offline"})


def widget_topic(conversation_id: str) -> str:
    return f"widget:{conversation_id}"


class Broker:
    def __init__(self, max_queue: int = 1000) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._max_queue = max_queue

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    async def start(self) -> None:
        """Bind to the running loop (the app's lifespan calls this)."""
        self.bind_loop(asyncio.get_running_loop())

    async def stop(self) -> None:
        return None

    def publish(self, topic: str, event: str, data: dict[str, Any]) -> None:
        """Queue ``{"event", "data"}`` for every subscriber of ``topic``; never blocks."""
        self.deliver_local(topic, event, data)

    def deliver_local(self, topic: str, event: str, data: dict[str, Any]) -> None:
        """Hand one event to this process's subscribers of ``topic``."""
        message = {"event": event, "data": data}
        with self._lock:
            queues = list(self._subscribers.get(topic, ()))
        for queue in queues:
            self._deliver(queue, message)
        if topic == CONSOLE_TOPIC and event in QUEUE_EVENTS:
            self.deliver_local(QUEUE_TOPIC, "queue_changed", {})

    def _deliver(self, queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
        def put() -> None:
            with contextlib.suppress(asyncio.QueueFull):  # a stuck client loses live events only
                queue.put_nowait(message)

        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            put()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(put)

    def subscriber_count(self, topic: str) -> int:
        with self._lock:
            return len(self._subscribers.get(topic, ()))

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str,
                        *more: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """One queue receiving the events of ``topic`` (and of every topic in ``more``)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._max_queue)
        topics = (topic, *more)
        with self._lock:
            for name in topics:
                self._subscribers.setdefault(name, set()).add(queue)
        try:
            yield queue
        finally:
            with self._lock:
                for name in topics:
                    subs = self._subscribers.get(name)
                    if subs is not None:
                        subs.discard(queue)
                        if not subs:
                            del self._subscribers[name]


class RedisBroker(Broker):
    """:class:`Broker` whose events reach the subscribers of every process sharing ``url``."""

    CHANNEL = "atiende:live"

    def __init__(self, url: str, *, channel: str = CHANNEL, max_queue: int = 1000) -> None:
        super().__init__(max_queue)
        import redis  # the client is imported with the app, not at module import

        self.url = url
        self.channel = channel
        # publish() runs in worker threads: the synchronous client's pool is thread-safe
        self._publisher = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        await super().start()
        self._listener = asyncio.create_task(self._listen(), name="broker-redis")
        # events published before the subscription is live would only reach other processes
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 5)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        self._publisher.close()

    def publish(self, topic: str, event: str, data: dict[str, Any]) -> None:
        body = json.dumps({"topic": topic, "event": event, "data": data}, default=str)
        try:
            self._publisher.publish(self.channel, body)
        except Exception as exc:  # redis down: this process's clients still get it
            logger.warning("broker.redis_publish_failed (%s): delivered locally only",
                           type(exc).__name__)
            self.deliver_local(topic, event, data)

    async def _listen(self) -> None:
        import redis.asyncio as aioredis

        delay = 0.5
        while True:
            client = aioredis.Redis.from_url(self.url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._subscribed.set()
                    delay = 0.5
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        try:
                            body = json.loads(message["data"])
                            self.deliver_local(body["topic"], body["event"], body["data"])
                        except (ValueError, KeyError, TypeError):
                            logger.warning("broker.redis_bad_message: ignored")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("broker.redis_listen_failed (%s): retrying in %.1f s",
                               type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()


def make_broker(url: str) -> Broker:
    """The broker ``HANDOFF_BROKER_URL`` asks for: in-process when empty, Redis for ``redis://``."""
    if not url:
        return Broker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBroker(url)
    scheme = url.split(":")[0]
    raise ValueError(f"HANDOFF_BROKER_URL must be empty or a redis:// URL, not {scheme}:")
