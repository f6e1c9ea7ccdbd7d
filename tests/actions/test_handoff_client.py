"""The handoff API client shares one HTTP client per event loop (actions/handoff_client.py)."""

from __future__ import annotations

import asyncio

import httpx

from actions.handoff_client import HandoffClient


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url.path, request.headers.get("Authorization", "")))
        return httpx.Response(404, json={"detail": "no open handoff"})


def test_clients_share_one_http_client_and_keep_their_own_token() -> None:
    transport = Recorder()

    async def calls() -> tuple[object, object]:
        first = HandoffClient("http://handoff.test", "token-a", transport=transport)
        second = HandoffClient("http://handoff.test", "token-b", transport=transport)
        assert await first.open_handoff("web-1") is None
        assert await second.open_handoff("web 2") is None
        return first._client(), second._client()

    one, other = asyncio.run(calls())
    assert one is other
    assert transport.seen == [("/api/conversations/web-1/handoff", "Bearer token-a"),
                              ("/api/conversations/web 2/handoff", "Bearer token-b")]
    # another event loop gets its own client (an httpx client cannot move between loops)
    again, _ = asyncio.run(calls())
    assert again is not one


def test_a_different_url_or_timeout_gets_a_different_client() -> None:
    async def clients() -> list[object]:
        return [HandoffClient("http://a.test", "t")._client(),
                HandoffClient("http://b.test", "t")._client(),
                HandoffClient("http://a.test", "t", timeout=1)._client(),
                HandoffClient("http://a.test", "other")._client()]

    a, b, a_fast, a_other_token = asyncio.run(clients())
    assert a is not b and a is not a_fast and a is a_other_token
