"""A local Graph API stand-in that serves media the way Meta documents it, and records sends.

WhatsApp media download is two steps (developers.facebook.com/docs/whatsapp/cloud-api/reference/
media): ``GET /{media-id}`` with the access token answers ``{"messaging_product": "whatsapp",
"url", "mime_type", "sha256", "file_size", "id"}``; ``GET <url>`` with the same token answers the
bytes (401 without it). Messenger attachments are plain CDN URLs (``/cdn/{id}``). Sends
(``POST /{phone-number-id}/messages``, ``POST /me/messages``) are recorded like
:class:`tests.bot.channels.harness.Recorder` does. Faults on demand: answer 500 for the first
``fail[id]`` downloads, serve other bytes than the announced hash, or announce a size.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from aiohttp import web

TOKEN = "wa-access"


def jpeg(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 30, 30),
         gps: bool = True) -> bytes:
    """A real JPEG, with an EXIF GPS position (as a phone photo has) unless ``gps`` is False."""
    from PIL import Image

    image = Image.new("RGB", (width, height), colour)
    buffer = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif.get_ifd(0x8825)[2] = (40.0, 25.0, 1.0)  # GPSLatitude
        image.save(buffer, "JPEG", exif=exif)
    else:
        image.save(buffer, "JPEG")
    return buffer.getvalue()


PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]"
       b"/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


class GraphStandIn:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.media: dict[str, tuple[bytes, str]] = {}
        self.fail: dict[str, int] = {}  # media id -> downloads still to answer with 500
        self.corrupt: set[str] = set()  # served bytes differ from the announced sha256
        self.announced_size: dict[str, int] = {}
        self.requests: list[dict[str, Any]] = []
        self.downloads: list[str] = []
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._counter = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, media_id: str, data: bytes, mime: str) -> None:
        self.media[media_id] = (data, mime)

    async def _object(self, request: web.Request) -> web.Response:
        media_id = request.match_info["media_id"]
        self.requests.append({"method": "GET", "path": request.path, "json": None})
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"error": {"code": 190, "message": "bad token"}}, status=401)
        if media_id not in self.media:
            return web.json_response({"error": {"code": 100, "message": "no media"}}, status=404)
        data, mime = self.media[media_id]
        return web.json_response({
            "messaging_product": "whatsapp", "id": media_id, "mime_type": mime,
            "sha256": hashlib.sha256(data).hexdigest(),
            "file_size": str(self.announced_size.get(media_id, len(data))),
            "url": f"{self.url}/whatsapp_business/attachments/?mid={media_id}&ext=1&hash=x"})

    async def _bytes(self, request: web.Request, need_token: bool) -> web.StreamResponse:
        media_id = request.query.get("mid") or request.match_info.get("media_id", "")
        self.downloads.append(media_id)
        if need_token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.Response(status=401)
        if self.fail.get(media_id, 0) > 0:
            self.fail[media_id] -= 1
            return web.Response(status=500, text="try again")
        if media_id not in self.media:
            return web.Response(status=404)
        data, mime = self.media[media_id]
        if media_id in self.corrupt:
            data = data[:-1] + bytes([data[-1] ^ 1])
        return web.Response(body=data, content_type=mime.split(";")[0])

    async def _send(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.requests.append({"method": "POST", "path": request.path, "json": body})
        self._counter += 1
        return web.json_response({"messages": [{"id": f"wamid.out.{self._counter}"}],
                                  "message_id": f"m_out_{self._counter}"})

    def sends(self) -> list[Any]:
        return [r["json"] for r in self.requests if r["method"] == "POST"]

    def texts(self) -> list[str]:
        found = []
        for body in self.sends():
            if (body.get("text") or {}).get("body"):
                found.append(body["text"]["body"])
            elif isinstance((body.get("message") or {}).get("text"), str):
                found.append(body["message"]["text"])
        return found

    async def start(self) -> GraphStandIn:
        app = web.Application()
        app.router.add_get("/whatsapp_business/attachments/",
                           lambda r: self._bytes(r, need_token=True))
        app.router.add_get("/cdn/{media_id}", lambda r: self._bytes(r, need_token=False))
        app.router.add_post("/{tail:.*}", self._send)
        app.router.add_get("/{media_id}", self._object)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
