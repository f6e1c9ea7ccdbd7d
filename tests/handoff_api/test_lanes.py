"""Lanes (handoff_api/lanes.py): anonymous requests wait for a few slots of their own; the bot and
the agents never wait behind them; a request that waited too long gets a polite 429."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from handoff_api.lanes import Lane, LanesMiddleware, default_lanes
from tests.handoff_api.conftest import BOT, packet, widget_auth
from tests.handoff_api.live import live_server


def blocking_app(release: asyncio.Event, entered: list[str], holding: asyncio.Event) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        entered.append(scope["path"])
        if scope["path"].startswith("/api/widget/"):
            holding.set()
            await release.wait()  # a slow anonymous request holding its slot
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def test_a_full_lane_makes_anonymous_requests_wait_then_429_but_not_the_bot() -> None:
    async def scenario() -> None:
        release, holding, entered = asyncio.Event(), asyncio.Event(), []
        lanes = [Lane("public", ("/api/widget/",), 1, excluded=("/api/widget/stream",))]
        app = LanesMiddleware(blocking_app(release, entered, holding), lanes, wait_seconds=0.3)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            holder = asyncio.create_task(c.get("/api/widget/messages"))
            await asyncio.wait_for(holding.wait(), 10)
            # the lane's one slot is taken: the bot goes straight through
            bot = await c.post("/api/conversations/c/messages")
            assert bot.status_code == 200
            waited = await c.get("/api/widget/queue")
            assert waited.status_code == 429
            assert waited.headers["retry-after"] == "1"
            assert "retry in 1 s" in waited.json()["detail"]
            assert "/api/widget/queue" not in entered  # never reached the app
            assert lanes[0].waited_out == 1
            # a waiting request gets the slot as soon as it is free
            queued = asyncio.create_task(c.get("/api/widget/queue"))
            await asyncio.sleep(0.05)
            release.set()
            assert (await holder).status_code == 200
            assert (await queued).status_code == 200

    asyncio.run(scenario())


def test_the_widget_stream_and_authenticated_routes_are_in_no_lane() -> None:
    lanes = default_lanes(public=4, login=2)
    by_path = {p: next((la.name for la in lanes if la.matches(p)), None) for p in (
        "/api/widget/messages", "/api/widget/queue", "/health", "/api/auth/login",
        "/notifications/stop", "/api/widget/stream", "/api/conversations/x/messages",
        "/api/handoffs/1/claim", "/api/queue")}
    assert by_path == {"/api/widget/messages": "public", "/api/widget/queue": "public",
                       "/health": "public", "/api/auth/login": "login",
                       "/notifications/stop": "public", "/api/widget/stream": None,
                       "/api/conversations/x/messages": None, "/api/handoffs/1/claim": None,
                       "/api/queue": None}


def test_a_widget_flood_on_the_real_app_is_served_or_slowed_never_5xx(tmp_path: Any) -> None:
    """40 concurrent widget reads through a real uvicorn with one public slot: each is answered
    200 or 429 with Retry-After; a bot forward meanwhile is stored (201)."""
    with live_server(f"sqlite:///{tmp_path / 'h.db'}", public_concurrency=1,
                     lane_wait_seconds=0.5) as (url, app):
        with httpx.Client(base_url=url, timeout=30) as c:
            assert c.post("/api/handoffs", json=packet("web-lane"), headers=BOT).status_code \
                in (200, 201)
        auth = widget_auth("web-lane")

        def read(_: int) -> httpx.Response:
            with httpx.Client(base_url=url, timeout=30) as c:
                return c.get("/api/widget/messages", headers=auth)

        with ThreadPoolExecutor(max_workers=41) as pool:
            reads = [pool.submit(read, i) for i in range(40)]
            with httpx.Client(base_url=url, timeout=30) as c:
                forward = c.post("/api/conversations/web-lane/messages", headers=BOT, json={
                    "message_id": "lane-1", "text": "¿sigue ahí?", "channel": "rest"})
            answers = [f.result() for f in reads]
        assert forward.status_code == 201, forward.text
        codes = {a.status_code for a in answers}
        assert codes <= {200, 429}, codes
        assert 200 in codes
        for a in answers:
            if a.status_code == 429:
                assert a.headers["retry-after"] == "1"
        assert app.state.lanes[1].slots == 1
