"""The chat widget on the demo store page, in a real browser: Rasa's socket.io side is scripted
(tests/e2e/fake_socketio.py), the handoff API is the real process. Covers the session kept across
reloads, the local transcript, buttons, the agent stream (joined / message / left), resending
unacknowledged messages, and the English UI."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, SCREENSHOTS, SHOP_ORIGIN, SHOP_PORT, HandoffServer
from tests.e2e.fake_socketio import FakeRasaSocket

pytestmark = pytest.mark.e2e
DEAD_RASA = "http://127.0.0.1:9"  # never contacted: the fake answers inside the browser
RATING_BUTTONS = [
    {"content_type": "text", "title": f"{n} ★", "payload": f'/rate{{"rating":"{n}"}}'}
    for n in range(1, 6)
]


def open_store(page, server: HandoffServer, fake: FakeRasaSocket) -> object:
    fake.install(page)
    page.goto(f"{server.url}/?rasa={DEAD_RASA}")
    return page.locator("#atiende-widget")


def open_chat_and_send(page, server: HandoffServer, fake: FakeRasaSocket, text: str) -> object:
    """Open the store page's chat, wait for the connection and send ``text``; the widget."""
    widget = open_store(page, server, fake)
    page.get_by_role("button", name="Abrir el chat de ayuda").click()
    expect(widget.locator(".status")).to_have_text("Conectado")
    box = widget.get_by_role("textbox", name="Escribe tu mensaje…")
    box.fill(text)
    box.press("Enter")
    return widget


def test_store_page_and_widget_handoff(handoff_server: HandoffServer, new_page) -> None:
    fake = FakeRasaSocket()
    fake.on_utterance = lambda d: (
        [{"text": "Te paso con una persona del equipo. Eres el número 1 de la cola."}]
        if "persona" in d["message"]
        else []
    )
    page = new_page()
    widget = open_store(page, handoff_server, fake)
    expect(page.get_by_role("heading", level=1)).to_have_text("Camina ligero, vuelve a casa seco.")
    expect(page.locator("#demo-orders")).to_contain_text("AT101001")
    # The tester list must match the seeded demo store (docs/demo_orders.md).
    doc = (ROOT / "docs" / "demo_orders.md").read_text(encoding="utf-8")
    for row in page.locator("#demo-orders tr").all():
        order, email = row.locator("td").nth(0).inner_text(), row.locator("td").nth(1).inner_text()
        assert f"| {order} | {email} |" in doc, f"{order} / {email} not in docs/demo_orders.md"
    page.screenshot(path=str(SCREENSHOTS / "store_es.png"), full_page=True)

    page.get_by_role("button", name="Abrir el chat de ayuda").click()
    log = widget.get_by_role("log")
    expect(log).to_contain_text("¡Hola! Soy el asistente de la tienda.")
    expect(widget.locator(".status")).to_have_text("Conectado")
    box = widget.get_by_role("textbox", name="Escribe tu mensaje…")
    box.fill("Quiero hablar con una persona")
    box.press("Enter")
    expect(widget.locator(".msg.bot").last).to_contain_text("Eres el número 1 de la cola")
    sent = fake.received()[0]
    assert sent["message"] == "Quiero hablar con una persona"
    assert sent["session_id"] == fake.session_id
    assert sent["customData"]["language"] == "es"
    assert sent["message_id"] and sent["customData"]["message_id"] == sent["message_id"]
    expect(widget.locator(".msg.user .delivery")).to_have_text("")  # acknowledged: no "Enviando…"

    # The bot side opens the handoff; an agent claims and answers through the API.
    created = handoff_server.create_handoff(fake.session_id)
    with handoff_server.agent("leo") as api:
        assert api.post(f"/api/handoffs/{created['id']}/claim").status_code == 200
        expect(widget.locator(".notice").last).to_have_text("Leo se ha unido a la conversación.")
        assert (
            api.post(
                f"/api/handoffs/{created['id']}/messages",
                json={"text": "Hola, soy Leo. Miro tu pedido ahora mismo."},
            ).status_code
            == 201
        )
    agent_msg = widget.locator(".msg.agent")
    expect(agent_msg).to_contain_text("Hola, soy Leo. Miro tu pedido ahora mismo.")
    expect(agent_msg.locator(".who")).to_have_text("Leo")
    page.screenshot(path=str(SCREENSHOTS / "widget_agent_es.png"))

    # The shopper leaves the page; the agent writes meanwhile; on return the reply is replayed,
    # the same session id is requested and nothing is duplicated.
    page.goto("about:blank")
    with handoff_server.agent("leo") as api:
        assert (
            api.post(
                f"/api/handoffs/{created['id']}/messages", json={"text": "Tu pedido sale mañana."}
            ).status_code
            == 201
        )
    page.goto(f"{handoff_server.url}/?rasa={DEAD_RASA}")
    expect(widget.get_by_role("log")).to_contain_text("Tu pedido sale mañana.")
    expect(widget.locator(".status")).to_have_text("Conectado")
    # the same session id is asked for, proven by the conversation token the widget kept
    assert fake.session_requests[-1] == {"session_id": fake.session_id, "token": fake.token}
    page.reload()
    expect(widget.locator(".msg.agent").last).to_contain_text("Tu pedido sale mañana.")
    time.sleep(0.5)  # let the agent-stream catch-up run; it must not duplicate anything
    expect(widget.locator(".msg.agent")).to_have_count(2)
    expect(widget.locator(".msg.user")).to_have_count(1)

    with handoff_server.agent("leo") as api:
        assert api.post(f"/api/handoffs/{created['id']}/hand-back").status_code == 200
    expect(widget.locator(".notice").last).to_have_text("Leo ha salido de la conversación.")

    # The bot asks for the rating with buttons; a click sends the payload, shows the title.
    fake.bot_says(
        {"text": "¿Qué tal te hemos atendido? Del 1 al 5:", "quick_replies": RATING_BUTTONS}
    )
    widget.get_by_role("button", name="5 ★").click()
    expect(widget.locator(".msg.user .bubble").last).to_have_text("5 ★")
    for button in widget.locator(".buttons button").all():
        expect(button).to_be_disabled()
    assert fake.received()[-1]["message"] == '/rate{"rating":"5"}'
    page.screenshot(path=str(SCREENSHOTS / "widget_rating_es.png"))
    assert page.errors == []


def test_unacknowledged_message_is_resent_with_the_same_id(
    handoff_server: HandoffServer, new_page
) -> None:
    fake = FakeRasaSocket()
    fake.drop_first = True  # the first copy is "lost"; only the resend is acknowledged
    page = new_page()
    widget = open_chat_and_send(page, handoff_server, fake, "¿Dónde está mi pedido AT100234?")
    expect(widget.locator(".msg.user .delivery")).to_have_text("Enviando…")
    expect(widget.locator(".msg.user .delivery")).to_have_text("", timeout=10_000)
    ids = [u["message_id"] for u in fake.utterances]
    assert len(ids) == 2 and ids[0] == ids[1], fake.utterances
    assert page.errors == []


def test_widget_in_english_on_a_phone(handoff_server: HandoffServer, new_page) -> None:
    fake = FakeRasaSocket()
    fake.on_utterance = lambda d: [
        {
            "text": "Here are some options:",
            "quick_replies": [
                {"title": "Track my order", "payload": "/order_status"},
                {"title": "Talk to a person", "payload": "/human_handoff"},
            ],
        }
    ]
    page = new_page(locale="en-US", width=390, height=780)
    widget = open_store(page, handoff_server, fake)
    expect(page.get_by_role("heading", level=1)).to_have_text("Walk light, get home dry.")
    page.get_by_role("button", name="Open the help chat").click()
    expect(widget.get_by_role("log")).to_contain_text("Hi! I'm the store assistant.")
    box = widget.get_by_role("textbox", name="Type your message…")
    box.fill("hello")
    box.press("Enter")
    widget.get_by_role("button", name="Talk to a person").click()
    assert fake.received()[-1]["message"] == "/human_handoff"
    assert fake.received()[0]["customData"]["language"] == "en"
    panel = widget.get_by_role("dialog")
    assert panel.bounding_box()["width"] == 390  # full screen on a phone
    page.screenshot(path=str(SCREENSHOTS / "widget_phone_en.png"))
    # Escape closes the panel and gives focus back to the launcher (keyboard users).
    box.press("Escape")
    expect(panel).to_be_hidden()
    expect(widget.get_by_role("button", name="Open the help chat")).to_be_focused()
    assert page.errors == []


def test_widget_embedded_on_another_origin(handoff_server: HandoffServer, new_page) -> None:
    """The one-tag snippet on a shop's own domain: modules, styles and the agent stream load
    cross-origin (HANDOFF_CORS_ORIGINS lists the shop)."""
    snippet = (
        f'<!doctype html><html lang="es"><head><meta charset="utf-8"><title>Mi tienda</title>'
        f"</head>"
        f"<body><h1>Zapatería Pepa</h1>"
        f'<script src="{handoff_server.url}/widget/atiende.js" data-rasa-url="{DEAD_RASA}" '
        f'data-handoff-url="{handoff_server.url}" data-open="true"></script></body></html>'
    )
    fake = FakeRasaSocket()
    page = new_page()
    fake.install(page)
    with serve_html(snippet):
        page.goto(f"{SHOP_ORIGIN}/producto/42")
        check_embedded_widget(page, handoff_server, fake)


@contextlib.contextmanager
def serve_html(html: str) -> Iterator[None]:
    """The shop's own web server (another origin than the handoff API), for one test."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", SHOP_PORT), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def check_embedded_widget(page, handoff_server: HandoffServer, fake: FakeRasaSocket) -> None:
    widget = page.locator("#atiende-widget")
    expect(widget.locator(".status")).to_have_text("Conectado")
    # widget.css applied inside the shadow root (the launcher is a round, fixed button)
    assert widget.locator(".launcher").evaluate("b => getComputedStyle(b).position") == "fixed"
    created = handoff_server.create_handoff(fake.session_id)
    with handoff_server.agent("leo") as api:
        api.post(f"/api/handoffs/{created['id']}/claim").raise_for_status()
        api.post(
            f"/api/handoffs/{created['id']}/messages", json={"text": "Hola desde otro dominio"}
        ).raise_for_status()
    expect(widget.locator(".msg.agent")).to_contain_text("Hola desde otro dominio")
    assert page.errors == []


def test_message_never_acknowledged_shows_retry(handoff_server: HandoffServer, new_page) -> None:
    """After the last resend the shopper is told the message failed, and can retry it."""
    snippet = (
        f'<!doctype html><html lang="es"><head><meta charset="utf-8"><title>t</title></head><body>'
        f'<script src="{handoff_server.url}/widget/atiende.js" data-rasa-url="{DEAD_RASA}" '
        f'data-handoff-url="{handoff_server.url}" data-open="true" '
        f'data-ack-timeout-ms="150"></script>'
        f"</body></html>"
    )
    fake = FakeRasaSocket()
    fake.ack = False
    page = new_page()
    fake.install(page)
    with serve_html(snippet):
        page.goto(f"{SHOP_ORIGIN}/")
        widget = page.locator("#atiende-widget")
        expect(widget.locator(".status")).to_have_text("Conectado")
        box = widget.get_by_role("textbox", name="Escribe tu mensaje…")
        box.fill("¿Hacéis envíos a Canarias?")
        box.press("Enter")
        delivery = widget.locator(".msg.user .delivery")
        expect(delivery).to_contain_text("No se pudo enviar.", timeout=10_000)
        assert len(fake.utterances) == 5 and len({u["message_id"] for u in fake.utterances}) == 1
        page.screenshot(path=str(SCREENSHOTS / "widget_failed_es.png"))
        fake.ack = True
        delivery.get_by_role("button", name="Reintentar").click()
        expect(delivery).to_have_text("")
        assert fake.utterances[-1]["message_id"] == fake.utterances[0]["message_id"]
    assert page.errors == []


def test_a_message_the_bot_could_not_read_now_is_explained_and_can_be_retried(
        handoff_server: HandoffServer, new_page) -> None:
    """Rasa's turn admission refused the message (``busy``: too many people at once): the widget
    shows the bot's apology, no typing dots, the message as not sent with "Reintentar"; the retry
    resends the same id and is answered."""
    from bot.channels.texts import TEXTS

    fake = FakeRasaSocket()
    seen: set[str] = set()

    def status(data: dict) -> str:
        first = data["message_id"] not in seen
        seen.add(data["message_id"])
        return "busy" if first else "rasa"

    fake.ack_status = status
    fake.on_utterance = lambda data: [{"text": TEXTS["busy"]["es"]}] \
        if len(fake.received()) == 1 else [{"text": "Tarda 2-3 días."}]
    page = new_page()
    widget = open_chat_and_send(page, handoff_server, fake, "¿Cuánto tarda el envío a Canarias?")
    delivery = widget.locator(".msg.user .delivery")
    expect(delivery).to_contain_text("No se pudo enviar.", timeout=10_000)
    expect(widget.locator(".msg.bot").last).to_contain_text("atendiendo a muchas personas",
                                                            timeout=10_000)
    expect(widget.locator(".typing")).to_be_hidden()
    delivery.get_by_role("button", name="Reintentar").click()
    expect(delivery).to_have_text("", timeout=10_000)
    expect(widget.locator(".msg.bot").last).to_contain_text("Tarda 2-3 días.", timeout=10_000)
    ids = [u["message_id"] for u in fake.received()]
    assert len(ids) == 2 and ids[0] == ids[1], fake.utterances
    assert page.errors == []
