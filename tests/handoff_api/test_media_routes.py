"""Media routes of the handoff API: widget uploads (limits, type by content, polyglots), media
served to agents only, and agents sending files (web widget; WhatsApp and Messenger against the
local Graph API stand-in)."""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handoff_api.app import create_app
from tests.handoff_api.conftest import BOT, add_agent, login, make_settings, packet, widget_auth
from tests.handoff_api.relay.conftest import FakeGraph

WEB = "web-" + "A" * 24
OTHER_WEB = "web-" + "B" * 24
STATIC = Path(__file__).parents[2] / "handoff_api" / "static"


def jpeg(width: int = 40, height: int = 30, exif: bool = True) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.new("RGB", (width, height), (10, 120, 200))
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"
        data.get_ifd(0x8825)[2] = (40.0, 25.0, 1.0)
        image.save(buffer, "JPEG", exif=data)
    else:
        image.save(buffer, "JPEG")
    return buffer.getvalue()


def png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 0, 0, 0)).save(buffer, "PNG")
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def upload(client: TestClient, data: bytes, conversation: str = WEB,
           content_type: str = "image/jpeg", name: str = "caja%20rota.jpg") -> Any:
    return client.post("/api/widget/media", content=data, headers={
        **widget_auth(conversation), "Content-Type": content_type, "X-Filename": name})


@pytest.fixture
def media_app(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("MEDIA_DIR", raising=False)
    app = create_app(make_settings(database_url, data_dir=tmp_path))
    yield app
    app.state.services.engine.dispose()


@pytest.fixture
def api(media_app: Any) -> Any:
    with TestClient(media_app) as c:
        yield c


# --- widget uploads -------------------------------------------------------------------------

def test_a_photo_is_stored_clean_outside_the_web_root_under_a_random_name(
        api: TestClient, media_app: Any) -> None:
    r = upload(api, jpeg())
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["kind"], body["mime_type"], body["filename"]) == ("image", "image/jpeg",
                                                                   "caja rota.jpg")
    store = media_app.state.media_store
    files = [p for p in store.root.rglob("*") if p.is_file() and p.parent.name != "media"]
    [path] = [p for p in files if p.name == body["key"]]
    assert not path.resolve().is_relative_to(STATIC.resolve())
    assert "caja" not in str(path)
    from PIL import Image
    with Image.open(path) as image:
        assert not image.getexif()  # GPS position and camera make gone


def test_upload_needs_the_conversation_token(api: TestClient) -> None:
    r = api.post("/api/widget/media", content=jpeg(), headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 401
    forged = {"X-Atiende-Conversation": WEB + "." + "x" * 43, "Content-Type": "image/jpeg"}
    assert api.post("/api/widget/media", content=jpeg(), headers=forged).status_code == 401


def test_oversize_is_413_with_the_limit(database_url: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_MAX_IMAGE_MB", "0.01")  # 10 KB
    app = create_app(make_settings(database_url, data_dir=tmp_path))
    with TestClient(app) as c:
        r = upload(c, jpeg(exif=False) + b"\0" * 20_000)
        assert r.status_code == 413 and "MB" in r.json()["detail"]
        assert upload(c, jpeg(exif=False)).status_code == 201
    app.state.services.engine.dispose()


@pytest.mark.parametrize("data,declared,status,reason", [
    (PDF, "image/jpeg", 415, "type_not_allowed"),  # a PDF named .jpg: widget takes images only
    (b"<html><script>alert(1)</script></html>", "image/png", 415, "type_not_allowed"),
    (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/svg+xml", 415,
     "type_not_allowed"),
    (png(), "application/pdf", 415, "type_mismatch"),
    (b"\xff\xd8\xff\xe0" + b"<html>not really a jpeg</html>" * 10, "image/jpeg", 415,
     "unreadable"),  # starts like a JPEG (polyglot header) but does not decode
    (b"", "image/jpeg", 422, "empty"),
])
def test_wrong_content_is_refused_with_a_reason(api: TestClient, data: bytes, declared: str,
                                                status: int, reason: str) -> None:
    r = upload(api, data, content_type=declared)
    assert r.status_code == status, r.text
    assert r.json()["detail"].startswith(reason)


def test_a_polyglot_jpeg_with_html_after_it_keeps_only_the_pixels(
        api: TestClient, media_app: Any) -> None:
    payload = b"<html><script>alert(document.cookie)</script></html>"
    r = upload(api, jpeg() + payload)
    assert r.status_code == 201
    stored = next(p for p in media_app.state.media_store.root.rglob(r.json()["key"]))
    assert payload not in stored.read_bytes()


def test_the_widget_reads_only_its_own_conversations_media(api: TestClient) -> None:
    key = upload(api, jpeg()).json()["key"]
    mine = api.get(f"/api/widget/media/{key}", headers=widget_auth(WEB))
    assert mine.status_code == 200 and mine.headers["content-type"] == "image/jpeg"
    assert mine.headers["x-content-type-options"] == "nosniff"
    assert api.get(f"/api/widget/media/{key}", headers=widget_auth(OTHER_WEB)).status_code == 404
    assert api.get("/api/widget/media/..%2F..%2Fetc%2Fpasswd",
                   headers=widget_auth(WEB)).status_code == 404


# --- agents read ------------------------------------------------------------------------------

def test_media_is_served_to_agents_who_may_read_the_conversation_only(
        api: TestClient, media_app: Any) -> None:
    key = upload(api, jpeg()).json()["key"]
    assert api.get(f"/api/media/{key}").status_code == 401  # not logged in
    add_agent(media_app, "ana")
    add_agent(media_app, "leo")
    add_agent(media_app, "sup", role="supervisor")
    ana, leo, sup = login(api, "ana"), login(api, "leo"), login(api, "sup")
    api.cookies.clear()  # each request below says who it is by its bearer token
    assert api.get(f"/api/media/{key}", headers=ana).status_code == 403  # no handoff yet
    hid = api.post("/api/handoffs", json=packet(WEB, channel="socketio"), headers=BOT).json()["id"]
    r = api.get(f"/api/media/{key}", headers=leo)  # queued: every agent may look
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert api.post(f"/api/handoffs/{hid}/claim", headers=ana).status_code == 200
    assert api.get(f"/api/media/{key}", headers=leo).status_code == 403  # ana's now
    assert api.get(f"/api/media/{key}", headers=ana).status_code == 200
    assert api.get(f"/api/media/{key}", headers=sup).status_code == 200
    listed = api.get(f"/api/conversations/{WEB}/media", headers=ana).json()["media"]
    assert [m["key"] for m in listed] == [key]
    assert api.get(f"/api/conversations/{WEB}/media", headers=leo).status_code == 403
    assert api.get("/api/media/" + "Z" * 32, headers=ana).status_code == 404


# --- agents send ------------------------------------------------------------------------------

def _claimed(api: TestClient, app: Any, conversation: str, channel: str) -> tuple[int, dict]:
    add_agent(app, "ana")
    ana = login(api, "ana")
    hid = api.post("/api/handoffs", json=packet(conversation, channel=channel),
                   headers=BOT).json()["id"]
    assert api.post(f"/api/handoffs/{hid}/claim", headers=ana).status_code == 200
    return hid, ana


def test_an_agent_sends_an_image_to_the_web_widget(api: TestClient, media_app: Any) -> None:
    hid, ana = _claimed(api, media_app, WEB, "socketio")
    r = api.post(f"/api/handoffs/{hid}/media?caption=Nuestra%20gu%C3%ADa", content=png(),
                 headers={**ana, "Content-Type": "image/png", "X-Filename": "guia.png"})
    assert r.status_code == 201, r.text
    body = r.json()
    key = body["media"][0]["key"]
    assert body["delivery"] == "sent" and f"media:{key}" in body["text"]
    assert api.get(f"/api/widget/media/{key}", headers=widget_auth(WEB)).status_code == 200
    # an executable or an HTML page is never sent
    bad = api.post(f"/api/handoffs/{hid}/media", content=b"MZ\x90\x00" + b"\0" * 100,
                   headers={**ana, "Content-Type": "application/octet-stream"})
    assert bad.status_code == 415


def test_a_canned_reply_carries_the_size_chart(api: TestClient, media_app: Any) -> None:
    hid, ana = _claimed(api, media_app, WEB, "socketio")
    r = api.post(f"/api/handoffs/{hid}/media?canned=size_chart", headers=ana)
    assert r.status_code == 201, r.text
    assert r.json()["media"][0]["kind"] == "image" and "talla" in r.json()["text"].lower()
    assert api.post(f"/api/handoffs/{hid}/media?canned=greeting",
                    headers=ana).status_code == 404


class _Loop:
    """The Graph stand-in runs on its own event loop in a thread (TestClient has its own)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def meta() -> Any:
    loop = _Loop()
    graph = loop.run(FakeGraph().start())
    yield graph
    loop.run(graph.stop())
    loop.close()


@pytest.mark.parametrize("channel,conversation", [("whatsapp", "5215512345678"),
                                                  ("messenger", "6543210987654321")])
def test_an_agent_sends_a_document_through_meta(database_url: str, tmp_path: Path,
                                                meta: FakeGraph, channel: str,
                                                conversation: str) -> None:
    extra = {"whatsapp": {"access_token": "wa-token", "phone_number_id": "42",
                          "graph_url": meta.url},
             "messenger": {"page_access_token": "page-token", "graph_url": meta.url}}
    app = create_app(make_settings(database_url, data_dir=tmp_path), relay_extra=extra)
    with TestClient(app) as api:
        hid, ana = _claimed(api, app, conversation, channel)
        from datetime import UTC, datetime
        assert api.post(f"/api/conversations/{conversation}/messages", headers=BOT, json={
            "message_id": "u1", "text": "¿me mandas la factura?", "channel": channel,
            "ts": datetime.now(UTC).isoformat()}).status_code in (200, 201)  # window open
        r = api.post(f"/api/handoffs/{hid}/media", content=PDF,
                     headers={**ana, "Content-Type": "application/pdf",
                              "X-Filename": "factura.pdf"})
        assert r.status_code == 201, r.text
    app.state.services.engine.dispose()
    if channel == "whatsapp":
        upload_req, send = meta.requests
        assert upload_req["path"] == "/v19.0/42/media"
        assert b"%PDF-1.4" in upload_req["raw"] and b"messaging_product" in upload_req["raw"]
        assert send["json"]["type"] == "document"
        assert send["json"]["document"] == {"id": "media.1", "filename": "factura.pdf"}
    else:
        [send] = meta.requests
        assert send["path"] == "/v19.0/me/messages"
        assert b'"type": "file"' in send["raw"] and b"%PDF-1.4" in send["raw"]
        assert b"filedata" in send["raw"]


def test_a_retried_file_send_reaches_whatsapp_once_and_keeps_metas_id(
        database_url: str, tmp_path: Path, meta: FakeGraph) -> None:
    """The console retries a file send after a timeout (same ``client_id``): Meta gets it once,
    the retry answers 200 with the message already sent, and the message keeps Meta's id so the
    delivered/read statuses find it (the size chart turning "read")."""
    from datetime import UTC, datetime

    from handoff_api.models import Message

    conversation = "5215512345679"
    app = create_app(make_settings(database_url, data_dir=tmp_path), relay_extra={
        "whatsapp": {"access_token": "wa-token", "phone_number_id": "42",
                     "graph_url": meta.url}})
    with TestClient(app) as api:
        hid, ana = _claimed(api, app, conversation, "whatsapp")
        assert api.post(f"/api/conversations/{conversation}/messages", headers=BOT, json={
            "message_id": "u1", "text": "¿qué talla me pido?", "channel": "whatsapp",
            "ts": datetime.now(UTC).isoformat()}).status_code in (200, 201)
        first = api.post(f"/api/handoffs/{hid}/media?canned=size_chart&client_id=chart-1",
                         headers=ana)
        again = api.post(f"/api/handoffs/{hid}/media?canned=size_chart&client_id=chart-1",
                         headers=ana)
        assert (first.status_code, again.status_code) == (201, 200), again.text
        assert again.json()["id"] == first.json()["id"]
        with app.state.services.sessions() as s:
            sent = s.get(Message, first.json()["id"])
            assert sent.delivery == "sent" and sent.external_id == "wamid.out.2"
        assert api.get(f"/api/handoffs/{hid}", headers=ana).json()["first_response_at"]
    app.state.services.engine.dispose()
    assert [r["path"] for r in meta.requests] == ["/v19.0/42/media", "/v19.0/42/messages"]
