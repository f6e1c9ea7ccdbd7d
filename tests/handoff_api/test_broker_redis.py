"""Live events across handoff API processes (``HANDOFF_BROKER_URL=redis://…``), against the real
Redis on 127.0.0.1:6379: what one process publishes reaches the subscribers of another, exactly
once each, and a Redis outage degrades to local delivery instead of losing the event here too."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from handoff_api.broker import (
    CONSOLE_TOPIC,
    QUEUE_TOPIC,
    Broker,
    RedisBroker,
    make_broker,
    widget_topic,
)

REDIS = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping())
    except Exception:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")


async def _drain(queue: asyncio.Queue, n: int) -> list[dict]:
    return [await asyncio.wait_for(queue.get(), 5) for _ in range(n)]


async def test_an_event_published_in_one_process_reaches_the_other_once() -> None:
    channel = f"atiende:test:{uuid.uuid4().hex}"  # not the live channel of a running system
    one, two = RedisBroker(REDIS, channel=channel), RedisBroker(REDIS, channel=channel)
    await one.start()
    await two.start()
    try:
        async with one.subscribe(widget_topic("w-1")) as here, \
                two.subscribe(widget_topic("w-1"), QUEUE_TOPIC) as there:
            # a worker thread publishes (route handlers are sync)
            await asyncio.to_thread(one.publish, widget_topic("w-1"), "agent_message",
                                    {"text": "Hola", "id": 7})
            await asyncio.to_thread(one.publish, CONSOLE_TOPIC, "handoff_assigned", {"id": 1})
            assert await _drain(here, 1) == [{"event": "agent_message",
                                              "data": {"text": "Hola", "id": 7}}]
            got = await _drain(there, 2)
            assert got == [{"event": "agent_message", "data": {"text": "Hola", "id": 7}},
                           {"event": "queue_changed", "data": {}}]
            await asyncio.sleep(0.3)
            assert here.empty() and there.empty()  # once each, no echo loop
    finally:
        await one.stop()
        await two.stop()


async def test_redis_down_delivers_locally_and_says_so(caplog) -> None:
    broker = RedisBroker("redis://127.0.0.1:1/0")  # nothing listens on port 1
    await broker.start()
    try:
        async with broker.subscribe(widget_topic("w-2")) as queue:
            await asyncio.to_thread(broker.publish, widget_topic("w-2"), "agent_message",
                                    {"text": "sigue aquí"})
            assert await _drain(queue, 1) == [{"event": "agent_message",
                                               "data": {"text": "sigue aquí"}}]
        assert "broker.redis_publish_failed" in caplog.text
    finally:
        await broker.stop()


def test_the_setting_picks_the_broker() -> None:
    assert type(make_broker("")) is Broker
    assert isinstance(make_broker(REDIS), RedisBroker)
    with pytest.raises(ValueError, match="redis://"):
        make_broker("amqp://127.0.0.1")
