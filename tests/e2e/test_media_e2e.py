"""Photos in a real browser (issues #13, #17): the shopper attaches a photo in the widget, it is
uploaded to the real handoff API (stored privately, checked by content), the widget tells the
bot with the stored key, and the agent sees the photo in the console through the agents-only
route. Rasa's socket.io side is scripted (fake_socketio.py); the line the bot's gate forwards to
the agent is the one ``bot/channels/media_in.marker`` writes."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from playwright.sync_api import expect

from bot.channels.media_in import Incoming, Received, marker
from tests.e2e.conftest import SCREENSHOTS, HandoffServer
from tests.e2e.fake_socketio import FakeRasaSocket
from tests.e2e.test_console import login

pytestmark = pytest.mark.e2e
DEAD_RASA = "http://127.0.0.1:9"


def photo(path: Path, exif_gps: bool = True) -> Path:
    from PIL import Image

    image = Image.new("RGB", (320, 240), (220, 40, 40))
    exif = Image.Exif()
    if exif_gps:
        exif[0x010F] = "PhoneMaker"
        exif.get_ifd(0x8825)[2] = (40.0, 25.0, 1.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    path.write_bytes(buffer.getvalue())
    return path


def test_a_widget_photo_reaches_the_console(handoff_server: HandoffServer, new_page,
                                            tmp_path: Path) -> None:
    fake = FakeRasaSocket()
    fake.ack_status = lambda d: "forwarded"
    shopper = new_page()
    fake.install(shopper)
    shopper.goto(f"{handoff_server.url}/?rasa={DEAD_RASA}")
    widget = shopper.locator("#atiende-widget")
    shopper.get_by_role("button", name="Abrir el chat de ayuda").click()
    expect(widget.locator(".status")).to_have_text("Conectado")

    created = handoff_server.create_handoff(fake.session_id)
    agent = new_page()
    login(agent, handoff_server, "leo")
    with handoff_server.agent("leo") as api:
        assert api.post(f"/api/handoffs/{created['id']}/claim").status_code == 200

    # a wrong file is refused by the widget before upload, with a reason in Spanish
    (tmp_path / "nota.txt").write_text("hola")
    widget.locator("input.file").set_input_files(str(tmp_path / "nota.txt"))
    expect(widget.locator(".notice").last).to_have_text("Solo puedo recibir fotos JPG, PNG o WebP.")

    widget.locator("input.file").set_input_files(str(photo(tmp_path / "caja rota.jpg")))
    expect(widget.locator(".msg.user .media img.photo")).to_be_visible()
    assert widget.locator(".msg.user .media img.photo").evaluate("i => i.naturalWidth") == 320
    sent = fake.received()[-1]
    [key] = sent["customData"]["media"]
    assert sent["message"] == "[foto]"

    # the bot's gate forwards the shopper's message to the agent, as media_in writes it
    record = SimpleNamespace(key=key, filename="caja rota.jpg", kind="image")
    line = marker(Received(Incoming(kind="image"), stored=record))
    res = handoff_server.bot("POST", f"/api/conversations/{fake.session_id}/messages",
                             json={"message_id": sent["message_id"], "text": line,
                                   "channel": "socketio"})
    assert res.status_code == 201, res.text

    agent.locator(f'#mine-list li[data-id="{created["id"]}"]').click()
    conv = agent.locator("#conversation")
    thumb = conv.locator(f'.transcript a.media-thumb[data-media-key="{key}"] img')
    expect(thumb).to_be_visible()
    expect(conv.locator(".transcript")).not_to_contain_text("media:")
    agent.wait_for_function(
        "k => [...document.querySelectorAll(`a.media-thumb[data-media-key='${k}'] img`)]"
        ".every(i => i.complete && i.naturalWidth === 320)", arg=key)
    expect(conv.locator(f'.packet a.media-thumb[data-media-key="{key}"]')).to_be_visible()
    agent.screenshot(path=str(SCREENSHOTS / "console_photo.png"))

    # the agent answers with the size chart (a canned reply carrying an image): the widget
    # shows it live, and again from the replay after a reload
    agent.locator("select.canned").select_option(label="Guía de tallas (imagen)")
    chart = widget.locator(".msg.agent .media img.photo")
    expect(chart).to_be_visible()
    assert chart.evaluate("i => i.naturalWidth") == 560
    expect(widget.locator(".msg.agent").last).to_contain_text("Te envío nuestra guía de tallas")
    shopper.reload()  # the panel stays open (storage.js)
    expect(widget.locator(".msg.agent .media img.photo").last).to_be_visible()
    expect(widget.locator(".msg.agent").last).not_to_contain_text("media:")

    # served to agents only: no session, no photo; the shopper's own token reads it back
    assert httpx.get(f"{handoff_server.url}/api/media/{key}").status_code == 401
    assert httpx.get(f"{handoff_server.url}/widget/media/{key}").status_code == 404
    assert shopper.errors == [] and agent.errors == []
