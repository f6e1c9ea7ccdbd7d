"""The widget while the shopper waits for a person, in a real browser against the real handoff
API (Rasa's socket.io side scripted by fake_socketio.py): the real place in the queue and the
honest wait, updated live; no typing dots on messages only a person will answer; the "back to the
assistant" control; the message length cap while typing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS, HandoffServer, start_handoff_server
from tests.e2e.fake_socketio import FakeRasaSocket
from tests.e2e.test_widget import DEAD_RASA

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def handoff_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HandoffServer]:
    """The team is on duty whatever the time of the run: handoffs are queued, not offline."""
    with start_handoff_server(tmp_path_factory.mktemp("handoff-queue"),
                              BUSINESS_HOURS="mon-sun 00:00-24:00") as server:
        yield server


def open_widget(page, server: HandoffServer, fake: FakeRasaSocket):
    fake.install(page)
    page.goto(f"{server.url}/?rasa={DEAD_RASA}")
    page.get_by_role("button", name="Open the help chat" if "en" in page.evaluate(
        "navigator.language") else "Abrir el chat de ayuda").click()
    widget = page.locator("#atiende-widget")
    expect(widget.locator(".status")).to_have_text(
        "Connected" if "en" in page.evaluate("navigator.language") else "Conectado")
    return widget


def assert_no_typing_for(widget, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        expect(widget.locator(".typing")).to_be_hidden()
        time.sleep(0.1)


def test_queue_position_live_no_fake_typing_and_back_to_the_assistant(
        handoff_server: HandoffServer, new_page) -> None:
    fake = FakeRasaSocket()
    queued = {"on": False}
    fake.ack_status = lambda d: "forwarded" if queued["on"] else "rasa"
    fake.on_utterance = lambda d: (
        [{"text": "Te paso con una persona del equipo."}] if "persona" in d["message"]
        else [{"text": "De acuerdo, he cancelado tu petición. ¿En qué te puedo ayudar?"}]
        if d["message"] == "/leave_queue" else [])
    page = new_page()
    page.clock.install()  # time flows as usual until paused below
    reads: list[float] = []  # when the widget read its place (GET /api/widget/queue)
    page.on("request", lambda r: reads.append(time.monotonic())
            if "/api/widget/queue" in r.url else None)
    widget = open_widget(page, handoff_server, fake)
    banner = widget.locator(".queue")
    expect(banner).to_be_hidden()

    ahead = handoff_server.create_handoff(f"web-ahead-{uuid.uuid4().hex[:8]}")
    box = widget.get_by_role("textbox", name="Escribe tu mensaje…")
    box.fill("Quiero hablar con una persona")
    box.press("Enter")
    expect(widget.locator(".msg.bot").last).to_contain_text("Te paso con una persona")
    handoff_server.create_handoff(fake.session_id)  # what action_handoff does
    queued["on"] = True

    # the real place, and no made-up wait: nobody from the team is connected yet
    expect(banner).to_be_visible()
    expect(banner.locator(".queue-place")).to_have_text(
        "Estás en la cola para hablar con una persona: eres el número 2.")
    expect(banner.locator(".queue-wait")).to_contain_text(
        "Ahora mismo no hay ninguna persona del equipo conectada")
    page.screenshot(path=str(SCREENSHOTS / "widget_queue_nobody_es.png"))

    # an agent connects and takes the shopper ahead: the banner follows from the live event, not
    # from the widget's 15 s poll. The page's clock is paused and moved by hand, 12 s at most,
    # so the poll cannot fire; the event itself may take as long as a loaded machine needs (a
    # 5 s wall-clock deadline here could fail under load and a late poll could pass it)
    polled = len(reads)
    while time.monotonic() - reads[-1] > 4:  # pause right after a read: the next poll is far
        page.wait_for_timeout(100)
        assert len(reads) < polled + 3, "the widget stopped reading its place"
    page.clock.pause_at(page.evaluate("Date.now()") + 50)
    budget_ms = 15_000 - (time.monotonic() - reads[-1]) * 1000 - 1_500  # before the poll is due
    before = len(reads)
    with handoff_server.agent("leo") as api:
        assert api.post(f"/api/handoffs/{ahead['id']}/claim").status_code == 200
    place = banner.locator(".queue-place")
    next_text = "Estás en la cola para hablar con una persona: eres el siguiente."
    moved_ms, deadline = 0, time.monotonic() + 60
    while place.text_content() != next_text and time.monotonic() < deadline:
        if moved_ms + 300 <= budget_ms:
            page.clock.run_for(300)  # the event's read waits a random 0-1.2 s (jitter)
            moved_ms += 300
        time.sleep(0.5)
    assert place.text_content() == next_text, f"no live update ({moved_ms} ms of page time)"
    assert len(reads) > before
    page.clock.resume()
    expect(banner.locator(".queue-wait")).to_contain_text("Espera estimada")
    page.screenshot(path=str(SCREENSHOTS / "widget_queue_next_es.png"))

    # a message while queued goes to the person who will take the chat: no typing dots
    box.fill("¿Sigue ahí alguien?")
    box.press("Enter")
    assert_no_typing_for(widget, 1.5)
    expect(widget.locator(".msg.user .delivery").last).to_have_text("")  # acknowledged

    # "back to the assistant": the gate's payload, shown in the shopper's words
    banner.get_by_role("button", name="Volver al asistente").click()
    expect(widget.locator(".msg.user .bubble").last).to_have_text(
        "Prefiero seguir con el asistente")
    assert fake.received()[-1]["message"] == "/leave_queue"
    queued["on"] = False
    # what Rasa's gate does with it: leave the queue in the handoff API
    r = handoff_server.bot("POST", f"/api/conversations/{fake.session_id}/leave-queue",
                           json={"message_id": fake.received()[-1]["message_id"],
                                 "text": "/leave_queue", "channel": "socketio"})
    assert r.status_code == 200 and r.json()["left"] is True
    expect(banner).to_be_hidden()
    expect(widget.locator(".msg.bot").last).to_contain_text("he cancelado tu petición")

    # back with the bot: the dots come back for messages the bot will answer
    box.fill("¿Cuánto tarda un envío?")
    box.press("Enter")
    expect(widget.locator(".typing")).to_be_visible()
    assert page.errors == []


def test_length_cap_counter_in_the_shoppers_language(handoff_server: HandoffServer,
                                                     new_page) -> None:
    fake = FakeRasaSocket()
    fake.config = {"max_message_chars": 120}  # the channel's limit, told after the session
    page = new_page(locale="en-GB")
    widget = open_widget(page, handoff_server, fake)
    box = widget.get_by_role("textbox", name="Type your message…")
    counter = widget.locator(".counter")
    send = widget.get_by_role("button", name="Send")
    box.fill("a" * 80)
    expect(counter).to_be_hidden()  # far from the limit: no clutter
    box.fill("ñ" * 100)
    expect(counter).to_have_text("100/120 characters")
    expect(send).to_be_enabled()
    box.fill("😀" * 130)  # counted like the server does: characters, not UTF-16 units
    expect(counter).to_have_text(
        "Message too long: 130/120 characters. Shorten it or send it in several parts.")
    expect(send).to_be_disabled()
    box.press("Enter")
    page.screenshot(path=str(SCREENSHOTS / "widget_too_long_en.png"))
    assert fake.received() == []  # nothing over the cap leaves the browser
    box.fill("b" * 120)
    expect(send).to_be_enabled()
    box.press("Enter")
    expect(widget.locator(".msg.user")).to_have_count(1)
    expect(counter).to_be_hidden()
    assert page.errors == []


def test_default_cap_is_the_guards_default_in_spanish(handoff_server: HandoffServer,
                                                      new_page) -> None:
    fake = FakeRasaSocket()  # a server that does not say its limit: the guard's default, 2000
    page = new_page()
    widget = open_widget(page, handoff_server, fake)
    widget.get_by_role("textbox", name="Escribe tu mensaje…").fill("x" * 2001)
    expect(widget.locator(".counter")).to_have_text(
        "Mensaje demasiado largo: 2001/2000 caracteres. Acórtalo o envíalo en varias partes.")
    assert page.errors == []
