"""A local HTTP server standing in for Meta's Graph API (app env has no aiohttp server, so a
minimal HTTP/1.1 server on asyncio streams, bound to an ephemeral port)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest


class FakeGraph:
    """Records each request; answers ``self.status`` with ``self.reply`` (or a default id)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.reply: dict[str, Any] | None = None
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v19.0"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, path, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = h.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                is_json = headers.get("content-type", "").startswith("application/json")
                self.requests.append({"method": method, "path": path, "headers": headers,
                                      "json": json.loads(body) if body and is_json else None,
                                      "raw": body})  # multipart uploads (media out) as bytes
                n = len(self.requests)
                data = self.reply or {"messages": [{"id": f"wamid.out.{n}"}], "id": f"media.{n}",
                                      "recipient_id": "x", "message_id": f"m_out_{n}"}
                raw = json.dumps(data).encode()
                writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(raw)}\r\n\r\n".encode() + raw)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def start(self) -> FakeGraph:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    server = await FakeGraph().start()
    yield server
    await server.stop()


class GraphThread:
    """The fake Graph API on its own event loop in a thread (the app runs in TestClient's)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.graph = asyncio.run_coroutine_threadsafe(FakeGraph().start(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.graph.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
