"""In-process publish/subscribe for live events (console SSE, widget SSE).

Route handlers run in worker threads, the SSE streams in the event loop, so :meth:`Broker.publish`
is thread-safe: it hands each event to the loop with ``call_soon_threadsafe``. Events are not
durable; everything they announce is already committed in the database and can be re-read, so a
restart loses no data, only the live push.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

CONSOLE_TOPIC = "console"


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

    def publish(self, topic: str, event: str, data: dict[str, Any]) -> None:
        """Queue ``{"event", "data"}`` for every subscriber of ``topic``; never blocks."""
        message = {"event": event, "data": data}
        with self._lock:
            queues = list(self._subscribers.get(topic, ()))
        for queue in queues:
            self._deliver(queue, message)

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
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self._max_queue)
        with self._lock:
            self._subscribers.setdefault(topic, set()).add(queue)
        try:
            yield queue
        finally:
            with self._lock:
                subs = self._subscribers.get(topic)
                if subs is not None:
                    subs.discard(queue)
                    if not subs:
                        del self._subscribers[topic]
