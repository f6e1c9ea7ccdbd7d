"""The bot's client of the handoff API (bot/handoff_client.py): one keep-alive connection for
the forwarded messages until the client closes."""

from __future__ import annotations

import time
from typing import Any

from bot.handoff_client import Delivery, HandoffApiClient

CID = "conv-7f3a9c"


async def test_forwarded_messages_reuse_one_connection_until_the_gate_closes() -> None:
    from aiohttp import web

    peers: list[Any] = []

    async def messages(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        assert request.headers["Authorization"] == "Bearer bot-token"
        body = await request.json()
        return web.json_response({"stored": body["message_id"]}, status=201)

    app = web.Application()
    app.router.add_post("/api/conversations/{cid}/messages", messages)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    client = HandoffApiClient(f"http://127.0.0.1:{port}", "bot-token", timeout=2)
    try:
        for i in range(3):
            outcome, _ = await client.post_message(conversation_id=CID, message_id=f"m{i}",
                                                   text="hola", ts=time.time(),
                                                   channel="socketio")
            assert outcome is Delivery.STORED
        assert len(peers) == 3 and len(set(peers)) == 1
        await client.close()
        outcome, _ = await client.post_message(conversation_id=CID, message_id="m3",
                                               text="hola", ts=time.time(), channel="socketio")
        assert outcome is Delivery.STORED and len(set(peers)) == 2  # a fresh session after close
    finally:
        await client.close()
        await runner.cleanup()
