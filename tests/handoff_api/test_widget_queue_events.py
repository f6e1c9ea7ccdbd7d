"""The widget learns about its place in the queue: ``queue_joined`` on its own stream when its
handoff is created, ``queue_changed`` (no data) for every widget whenever the queue moves."""

from __future__ import annotations

import asyncio

from handoff_api.broker import CONSOLE_TOPIC, QUEUE_TOPIC, Broker, widget_topic
from tests.handoff_api.conftest import BOT, add_agent, login, packet, widget_auth


async def test_console_queue_events_become_a_contentless_queue_changed() -> None:
    broker = Broker()
    async with broker.subscribe(widget_topic("w-1"), QUEUE_TOPIC) as queue:
        broker.publish(CONSOLE_TOPIC, "handoff_assigned", {"id": 1, "customer": {"name": "x"}})
        broker.publish(CONSOLE_TOPIC, "message", {"handoff_id": 1})  # not a queue move
        broker.publish(widget_topic("w-1"), "agent_joined", {"agent_name": "Leo"})
        got = [await asyncio.wait_for(queue.get(), 1) for _ in range(2)]
        assert got == [{"event": "queue_changed", "data": {}},
                       {"event": "agent_joined", "data": {"agent_name": "Leo"}}]
        assert queue.empty()
    assert broker.subscriber_count(QUEUE_TOPIC) == 0


def test_widget_queue_endpoint_gives_position_and_honest_wait(client, app):
    first = client.post("/api/handoffs", json=packet("web-a", channel="socketio"), headers=BOT)
    client.post("/api/handoffs", json=packet("web-b", channel="socketio"), headers=BOT)
    b = client.get("/api/widget/queue", headers=widget_auth("web-b")).json()
    assert b["status"] == "queued" and b["position"] == 2
    assert b["estimated_wait_seconds"] is None and b["agents_present"] == 0  # nobody connected
    assert b["queue_timeout_minutes"] == 20
    add_agent(app, "leo")
    leo = login(client, "leo")  # a logged-in console is a present agent
    assert client.get("/api/widget/queue",
                      headers=widget_auth("web-b")).json()["estimated_wait_seconds"] > 0
    client.post(f"/api/handoffs/{first.json()['id']}/claim", headers=leo)
    assert client.get("/api/widget/queue", headers=widget_auth("web-b")).json()["position"] == 1
    assert client.get("/api/widget/queue",
                      headers=widget_auth("web-a")).json()["status"] == "assigned"
    assert client.get("/api/widget/queue",
                      headers=widget_auth("nobody")).json() == {"status": "none"}
