"""The agent console's quality list (issue #14) in a real browser against the real handoff API:
a readable context panel (money and dates in the agent's locale, translated labels, no JSON);
button titles instead of payloads; queue cards with the latest message and an unread count;
sound, tab-title count and desktop notification (asserted through the page's Audio and
Notification, stubbed in the page), each can be turned off and stays off after a reload; the
shopper's typing shown live from the real widget; confirmation before resolve / hand back;
search over closed conversations and a customer's history; keyboard shortcuts and their help."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS, HandoffServer
from tests.e2e.fake_socketio import FakeRasaSocket
from tests.e2e.test_console import login
from tests.e2e.test_widget_queue import open_widget

pytestmark = pytest.mark.e2e

# Audio and Notification as the page sees them, recording what the console asks of them; the
# window's focus is the test's to set (document.hasFocus()).
ALERT_STUBS = """
window.__alerts = { sounds: [], notes: [] };
window.__focus = true;
document.hasFocus = () => window.__focus;
window.Audio = class {
  constructor(src) { this.src = src; }
  play() { window.__alerts.sounds.push(this.src); return Promise.resolve(); }
};
window.Notification = class {
  constructor(title, options) {
    window.__alerts.notes.push({ title, body: options.body, tag: options.tag });
  }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""

BUTTONS = [{"title": "Hablar con una persona", "payload": "/human_handoff"},
           {"title": "No, gracias", "payload": "/deny"}]


def order_snapshot(email: str = "lucia.garcia@example.com",
                   phone: str = "+34 600 111 222") -> dict:
    """What ``actions.handoff_packet.order_snapshot`` sends: the store's Order dataclass as JSON."""
    return {
        "id": "AT100234", "status": "shipped", "currency": "EUR", "total_cents": 13890,
        "payment_method": "card", "placed_at": "2026-12-05T10:30:00+00:00",
        "shipping_address": "Calle Mayor 1, 28013 Madrid",
        "customer": {"id": 7, "name": "Lucía García", "email": email, "phone": phone,
                     "language": "es", "market": "ES", "vip": True},
        "items": [{"id": 1, "sku": "URB-42", "name": "Zapatilla Urban Runner",
                   "category": "footwear", "size": "42", "quantity": 2,
                   "unit_price_cents": 5995, "final_sale": False}],
        "carrier": "SEUR", "tracking_number": "SEUR123",
        "tracking_url": "https://seur.example/SEUR123",
        "shipped_at": "2026-12-06T08:00:00+00:00", "estimated_delivery": "2026-12-09",
        "delivered_at": None, "cancelled_at": None,
        "returns": [{"rma": "RMA-9", "order_id": "AT100234", "item_ids": [1], "reason": "size",
                     "kind": "exchange", "status": "label_sent", "refund_cents": 0,
                     "created_at": "2026-12-06T09:00:00+00:00", "label_url": None}],
        "refunds": [{"id": 3, "order_id": "AT100234", "amount_cents": 1900, "currency": "EUR",
                     "method": "card", "status": "completed",
                     "created_at": "2026-12-06T09:00:00+00:00",
                     "completed_at": "2026-12-06T12:00:00+00:00", "rma": None}],
    }


def tapped_transcript() -> list[dict]:
    now = time.time()
    return [
        {"role": "user", "text": "¿Eres un robot?", "ts": now - 60},
        {"role": "bot", "text": "Soy un asistente virtual. ¿Te paso con una persona?",
         "ts": now - 59, "buttons": BUTTONS},
        {"role": "user", "text": "/human_handoff", "ts": now - 58},
    ]


def shopper_says(server: HandoffServer, cid: str, text: str) -> None:
    res = server.bot("POST", f"/api/conversations/{cid}/messages",
                     json={"message_id": uuid.uuid4().hex, "text": text, "channel": "socketio"})
    assert res.status_code == 201, res.text


def test_context_panel_is_readable_and_buttons_show_their_titles(
        handoff_server: HandoffServer, browser) -> None:
    context = browser.new_context(locale="es-ES", timezone_id="Europe/Madrid",
                                  viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login(page, handoff_server)
        created = handoff_server.create_handoff(
            f"e2e-{uuid.uuid4().hex}", order=order_snapshot(), transcript=tapped_transcript(),
            slots={"order_id": "AT100234", "verified_order_id": "AT100234",
                   "return_item": "Zapatilla", "claim_photo_asks": 1.0, "cancel_confirm": False,
                   "store_request": {"kind": "address_change", "new_address": "Calle Luna 3",
                                     "requested_at": "2026-12-06T09:15:00+00:00"}},
            customer={"vip": True, "name": "Lucía García", "email": "lucia.garcia@example.com"})
        card = page.locator(f'#queue-list li[data-id="{created["id"]}"]')
        expect(card.locator(".line3")).to_have_text("Hablar con una persona")
        expect(card.locator(".badge.channel")).to_have_text("Chat web")  # not "socketio"
        card.get_by_role("button", name="Atender").click()

        conv = page.locator("#conversation")
        tapped = conv.locator(".transcript .msg.user").last
        expect(tapped).to_contain_text("Hablar con una persona")
        expect(tapped.locator(".badge.tap")).to_have_text("botón")
        assert "/human_handoff" not in conv.locator(".transcript").inner_text()

        panel = conv.locator(".packet")
        expect(panel.locator(".order-head")).to_have_text("AT100234 · Enviado")
        order = panel.locator(".order-section")
        expect(order).to_contain_text("138,90\u00a0€")           # total_cents 13890, EUR, es-ES
        expect(order).to_contain_text("2 × Zapatilla Urban Runner · talla 42 — 119,90\u00a0€")
        expect(order).to_contain_text("Tarjeta")
        expect(order).to_contain_text("5 dic 2026, 11:30")       # 10:30 UTC in Madrid
        expect(order).to_contain_text("9 dic 2026")               # a calendar day stays that day
        expect(order).to_contain_text("RMA-9 · Cambio · Etiqueta enviada")
        expect(order).to_contain_text("19,00\u00a0€ · Completado · Tarjeta")
        expect(order.get_by_role("link", name="Abrir")).to_have_attribute(
            "href", "https://seur.example/SEUR123")
        customer = panel.locator(".customer")
        expect(customer).to_contain_text("España")
        expect(customer).to_contain_text("lucia.garcia@example.com")
        slots = panel.locator(".slots")
        expect(slots).to_contain_text("Pedido verificado")
        expect(slots).to_contain_text("Confirma la cancelación")
        nested = slots.locator("dd dl.kv")  # an object slot is a nested list, not JSON
        expect(nested.locator("dd").filter(has_text="Calle Luna 3")).to_have_count(1)
        expect(nested).to_contain_text("6 dic 2026, 10:15")
        text = panel.inner_text()
        for raw in ("total_cents", "_cents", "{", "\"", "2026-12-0", "T10:30", "payment_method",
                    "verified_order_id", "store_request", "label_sent", "in_transit", "card"):
            assert raw not in text, f"{raw!r} shown raw in the context panel:\n{text}"
        page.screenshot(path=str(SCREENSHOTS / "console_context_es.png"), full_page=True)

        # every string in Spanish and English (same keys in both tables)
        missing = page.evaluate("""async () => {
          const { STRINGS } = await import("/static/console/i18n.js");
          const keys = (o, p = "") => Object.entries(o).flatMap(([k, v]) =>
            v && typeof v === "object" ? keys(v, `${p}${k}.`) : [`${p}${k}`]);
          const es = keys(STRINGS.es), en = keys(STRINGS.en);
          return { en: es.filter((k) => !en.includes(k)), es: en.filter((k) => !es.includes(k)) };
        }""")
        assert missing == {"en": [], "es": []}

        # English console, same browser: English labels, en-GB money and dates
        page.select_option("#lang-select", "en")
        expect(panel.locator(".order-head")).to_have_text("AT100234 · Shipped")
        expect(order).to_contain_text("€138.90")
        expect(order).to_contain_text("5 Dec 2026")
        expect(panel).to_contain_text("Verified order")
        expect(tapped.locator(".badge.tap")).to_have_text("button")
        assert errors == []
    finally:
        context.close()


def alerts_of(page) -> dict:
    return page.evaluate("JSON.parse(JSON.stringify(window.__alerts))")


def test_latest_message_unread_count_and_alerts_that_can_be_turned_off(
        handoff_server: HandoffServer, new_page) -> None:
    page = new_page()
    page.add_init_script(ALERT_STUBS)
    login(page, handoff_server)
    page.evaluate("window.__focus = false")  # the agent is in another window
    cid = f"e2e-{uuid.uuid4().hex}"
    created = handoff_server.create_handoff(cid, transcript=tapped_transcript(),
                                            customer={"vip": False, "name": "Marta Ruiz"})
    hid = created["id"]
    card = page.locator(f'#queue-list li[data-id="{hid}"]')
    expect(card).to_be_visible()
    expect(page).to_have_title(re.compile(r"^\((\d+)\) Atiende · Consola de agentes$"))
    waiting = int(re.match(r"\((\d+)\)", page.title()).group(1))
    assert waiting == page.locator("#queue-list li.item").count()
    page.wait_for_function("window.__alerts.notes.length >= 1")
    note = alerts_of(page)["notes"][-1]
    assert note == {"title": "Nueva conversación en espera",
                    "body": "Marta Ruiz — Pidió una persona", "tag": f"handoff-{hid}"}
    assert alerts_of(page)["sounds"] == ["/static/console/sounds/alert.wav"]

    # she writes twice while waiting: the card shows the latest message and 2 unread
    shopper_says(handoff_server, cid, "¿Hola?")
    shopper_says(handoff_server, cid, "¿Hay alguien?")
    expect(card.locator(".badge.unread")).to_have_text("2")
    expect(card.locator(".line3")).to_have_text("¿Hay alguien?")
    page.wait_for_function("window.__alerts.notes.length >= 3")
    assert alerts_of(page)["notes"][-1]["body"] == "¿Hay alguien?"
    assert alerts_of(page)["notes"][-1]["title"] == "Mensaje de Marta Ruiz"
    page.screenshot(path=str(SCREENSHOTS / "console_unread.png"))

    # the unread count survives a reload (it is kept per agent in localStorage)...
    page.reload()
    expect(card.locator(".badge.unread")).to_have_text("2")
    expect(card.locator(".line3")).to_have_text("¿Hay alguien?")
    # ...and opening the conversation reads it
    card.get_by_role("button", name="Atender").click()
    mine = page.locator(f'#mine-list li[data-id="{hid}"]')
    expect(mine).to_be_visible()
    expect(mine.locator(".badge.unread")).to_have_count(0)

    # looking at it: a new message is just read, no alert
    page.evaluate("window.__focus = true; window.__alerts = { sounds: [], notes: [] }")
    shopper_says(handoff_server, cid, "Es por la talla")
    expect(page.locator("#conversation .transcript")).to_contain_text("Es por la talla")
    expect(mine.locator(".line3")).to_have_text("Es por la talla")
    expect(mine.locator(".badge.unread")).to_have_count(0)
    assert alerts_of(page) == {"sounds": [], "notes": []}

    # in another window: sound, notification, unread and the title count (waiting + unread mine)
    page.evaluate("window.__focus = false")
    queue_now = page.locator("#queue-list li.item").count()
    shopper_says(handoff_server, cid, "¿Sigues ahí?")
    expect(mine.locator(".badge.unread")).to_have_text("1")
    expect(page).to_have_title(f"({queue_now + 1}) Atiende · Consola de agentes")
    page.wait_for_function("window.__alerts.notes.length === 1")
    assert len(alerts_of(page)["sounds"]) == 1

    # turn the sound and the title count off: the choice is kept across a reload
    page.get_by_role("button", name="Avisos").click()
    page.locator("#alert-sound").uncheck()
    page.locator("#alert-title").uncheck()
    page.locator("#alerts-close").click()
    expect(page).to_have_title("Atiende · Consola de agentes")
    page.reload()
    expect(page.locator("#live")).to_have_text("En directo")
    page.get_by_role("button", name="Avisos").click()
    expect(page.locator("#alert-sound")).not_to_be_checked()
    expect(page.locator("#alert-title")).not_to_be_checked()
    expect(page.locator("#alert-desktop")).to_be_checked()
    page.locator("#alert-desktop").uncheck()  # and the notifications too
    page.locator("#alerts-close").click()
    page.evaluate("window.__focus = false")
    shopper_says(handoff_server, cid, "Te espero")
    expect(mine.locator(".badge.unread")).to_have_text("2")
    time.sleep(0.5)  # give a wrongly fired alert the time to show up
    assert alerts_of(page) == {"sounds": [], "notes": []}
    assert page.title() == "Atiende · Consola de agentes"
    assert page.evaluate("localStorage.getItem('atiende-console:alerts')") == \
        '{"sound":false,"title":false,"desktop":false}'
    assert page.errors == []


def test_typing_from_the_real_widget_shows_in_the_console(
        handoff_server: HandoffServer, new_page) -> None:
    fake = FakeRasaSocket()
    fake.ack_status = lambda _d: "forwarded"
    shopper = new_page()
    widget = open_widget(shopper, handoff_server, fake)
    created = handoff_server.create_handoff(fake.session_id,
                                            customer={"vip": False, "name": "Iker Sanz"})
    expect(widget.locator(".queue")).to_be_visible()  # the widget knows a person is coming

    agent = new_page()
    login(agent, handoff_server)
    agent.locator(f'#queue-list li[data-id="{created["id"]}"]').get_by_role(
        "button", name="Atender").click()
    typing = agent.locator("#typing")
    expect(agent.locator("#conversation .state")).to_have_text("Atendida por ti")
    expect(typing).to_be_hidden()
    box = widget.locator("textarea.input")
    box.press_sequentially("Quería pregun", delay=40)
    expect(typing).to_be_visible()
    expect(typing).to_have_text("El cliente está escribiendo…")
    box.fill("")  # emptied: the widget says it stopped
    expect(typing).to_be_hidden()
    box.press_sequentially("Hola", delay=40)
    expect(typing).to_be_visible()
    box.press("Enter")  # sent (to Rasa's channel): the indicator stops at once
    expect(typing).to_be_hidden()
    assert shopper.errors == [] and agent.errors == []


def test_confirm_search_history_and_shortcuts(handoff_server: HandoffServer, new_page) -> None:
    email = f"nora.{uuid.uuid4().hex[:8]}@example.com"
    phone = f"+34 7{uuid.uuid4().int % 10**8:08d}"  # hers alone: any verified identity matches
    # the other tests' conversations Leo holds are closed: he needs room under his capacity
    with handoff_server.agent("leo") as leo:
        for h in leo.get("/api/queue").json()["assigned"]:
            leo.post(f"/api/handoffs/{h['id']}/resolve", json={})
    earlier = []
    with handoff_server.agent("leo") as leo:
        for words in ("La talla 42 no me vale", "Quiero cambiar la dirección"):
            cid = f"e2e-{uuid.uuid4().hex}"
            h = handoff_server.create_handoff(cid, order=order_snapshot(email, phone),
                                              customer={"vip": False, "name": "Nora Vidal"})
            assert leo.post(f"/api/handoffs/{h['id']}/claim").status_code == 200
            shopper_says(handoff_server, cid, words)
            assert leo.post(f"/api/handoffs/{h['id']}/resolve", json={}).status_code == 200
            earlier.append(h["id"])

    page = new_page()
    login(page, handoff_server)
    # other tests' queued conversations go, so Alt+N takes ours
    with handoff_server.agent("ana") as ana:
        for h in ana.get("/api/queue").json()["queued"]:
            ana.post(f"/api/handoffs/{h['id']}/claim")
            ana.post(f"/api/handoffs/{h['id']}/resolve", json={})
    now = handoff_server.create_handoff(f"e2e-{uuid.uuid4().hex}",
                                        order=order_snapshot(email, phone),
                                        customer={"vip": False, "name": "Nora Vidal"})
    expect(page.locator(f'#queue-list li[data-id="{now["id"]}"]')).to_be_visible()
    page.keyboard.press("Alt+KeyN")
    expect(page.locator("#conversation .state")).to_have_text("Atendida por ti")
    expect(page.locator("#conversation h2").first).to_contain_text("Nora Vidal")

    # the customer's earlier conversations, by the verified e-mail, newest first
    history = page.locator("#customer-history li.item")
    expect(history).to_have_count(2)
    shown = history.evaluate_all("els => els.map(e => Number(e.dataset.id))")
    assert shown == earlier[::-1]
    expect(history.first).to_contain_text("Resuelta")

    # Alt+1 inserts the first canned reply, Ctrl+Enter sends
    page.locator("#reply-text").focus()
    page.keyboard.press("Alt+Digit1")
    expect(page.locator("#reply-text")).to_have_value(re.compile("Soy Leo"))
    page.keyboard.press("Control+Enter")
    expect(page.locator("#conversation .transcript .msg.agent")).to_contain_text("Soy Leo")

    # the help lists the shortcuts
    page.locator("#conversation h2").first.click()  # out of the reply box
    page.keyboard.press("?")
    help_dialog = page.locator("#help-dialog")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Atender la siguiente conversación")
    expect(help_dialog.locator("dt").first).to_have_text("Alt + N")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    # resolve asks first; cancelling changes nothing
    page.get_by_role("button", name="Resolver").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("¿Resolver la conversación?")
    page.locator("#confirm-cancel").click()
    expect(dialog).to_be_hidden()
    with handoff_server.agent("leo") as leo:
        assert leo.get(f"/api/handoffs/{now['id']}").json()["status"] == "assigned"
    page.get_by_role("button", name="Resolver").click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")  # Esc is "no" too
    expect(dialog).to_be_hidden()
    with handoff_server.agent("leo") as leo:
        assert leo.get(f"/api/handoffs/{now['id']}").json()["status"] == "assigned"
    page.get_by_role("button", name="Resolver").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#conversation .state")).to_have_text("Cerrada (Resuelta)")

    # search: "/" focuses the box; text finds the closed conversation, the e-mail all three
    page.keyboard.press("/")
    expect(page.locator("#search-q")).to_be_focused()
    page.keyboard.type("talla 42 no me")
    page.keyboard.press("Enter")
    results = page.locator("#search-results li.item")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("La talla 42 no me vale")
    results.first.get_by_role("button").click()
    expect(page.locator("#conversation .transcript")).to_contain_text("La talla 42 no me vale")
    page.fill("#search-q", email.upper())
    page.locator("#search-form button[type=submit]").click()
    expect(results).to_have_count(3)
    page.screenshot(path=str(SCREENSHOTS / "console_search.png"))
    page.fill("#search-q", "zzz-nada-de-esto")
    page.locator("#search-form button[type=submit]").click()
    expect(page.locator("#search-results")).to_have_text("Sin resultados.")
    assert page.errors == []
