"""The agent console in a real browser against the real handoff API (no Rasa needed): login, the
queue pushed live over SSE, claim, the packet, canned replies, notes, hand back, language toggle,
readable errors."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, SCREENSHOTS, HandoffServer

pytestmark = pytest.mark.e2e


def login(page, server: HandoffServer, username: str = "leo") -> None:
    page.goto(f"{server.url}/console/")
    page.fill("#login-username", username)
    page.fill("#login-password", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#app-view")).to_be_visible()
    expect(page.locator("#live")).to_have_text(re.compile("En directo|Live"))


def test_wrong_password_shows_a_readable_error(handoff_server: HandoffServer, new_page) -> None:
    page = new_page()
    page.goto(f"{handoff_server.url}/console/")
    expect(page.get_by_role("heading", name="Entrar en la consola")).to_be_visible()
    page.fill("#login-username", "leo")
    page.fill("#login-password", "wrong-password")
    page.click("#login-form button[type=submit]")
    error = page.locator("#login-error")
    expect(error).to_have_text("Usuario o contraseña incorrectos.")
    assert "{" not in error.inner_text()  # never raw JSON
    page.screenshot(path=str(SCREENSHOTS / "console_login_error.png"))
    assert page.errors == []


def test_queue_claim_reply_note_hand_back(handoff_server: HandoffServer, new_page) -> None:
    page = new_page()
    login(page, handoff_server)
    expect(page.locator("#queue-list")).to_contain_text("No hay nadie esperando")

    # A handoff created by the bot appears without reloading: pushed over /api/stream.
    cid = f"e2e-{uuid.uuid4().hex}"
    created = handoff_server.create_handoff(cid)
    item = page.locator(f'#queue-list li[data-id="{created["id"]}"]')
    expect(item).to_be_visible()
    expect(item).to_contain_text("Lucía García")
    expect(item).to_contain_text("Pidió una persona")
    expect(item.locator(".badge.vip")).to_have_text("VIP")
    expect(item.locator(".badge.lang")).to_have_text("ES")
    first = item.locator(".wait").inner_text()
    assert first.startswith("esperando ")
    # the waiting time ticks (once a second); the suite's patience, not a deadline: under CI
    # load the page's timers may run late, and how fast it ticks is not what is tested
    expect(item.locator(".wait")).not_to_have_text(first)
    page.screenshot(path=str(SCREENSHOTS / "console_queue.png"))

    item.get_by_role("button", name="Atender").click()
    conv = page.locator("#conversation")
    expect(conv.locator(".transcript")).to_contain_text("¿Dónde está mi pedido AT100234?")
    expect(conv.locator(".packet")).to_contain_text("AT100234")
    expect(conv.locator(".packet")).to_contain_text("Zapatilla Urban Runner")
    expect(conv.locator(".packet")).to_contain_text("shipping-times")
    expect(conv.locator(".packet .intents")).to_contain_text("human_handoff")
    expect(page.locator("#queue-list")).to_contain_text("No hay nadie esperando")
    expect(page.locator("#mine-list")).to_contain_text("Lucía García")

    # The shopper writes while the agent is in the conversation: it appears live.
    res = handoff_server.bot(
        "POST",
        f"/api/conversations/{cid}/messages",
        json={"message_id": "m-1", "text": "¿Sigues ahí?", "channel": "socketio"},
    )
    assert res.status_code == 201, res.text
    expect(conv.locator(".transcript")).to_contain_text("¿Sigues ahí?")

    # Canned reply (Spanish, with the agent's name filled in), then send.
    page.locator("select.canned").select_option(label="Saludo")
    expect(page.locator("#reply-text")).to_have_value(re.compile("Soy Leo"))
    page.get_by_role("button", name="Enviar", exact=True).click()
    expect(conv.locator(".transcript .msg.agent")).to_contain_text("Soy Leo")
    expect(page.locator("#reply-text")).to_have_value("")

    page.fill("#note-text", "Cliente VIP, ofrecer envío exprés.")
    page.get_by_role("button", name="Guardar nota").click()
    expect(conv.locator(".notes")).to_contain_text("Cliente VIP, ofrecer envío exprés.")
    expect(conv.locator(".notes")).to_contain_text("Leo")
    page.screenshot(path=str(SCREENSHOTS / "console_conversation.png"), full_page=True)

    with handoff_server.agent("leo") as api:
        detail = api.get(f"/api/handoffs/{created['id']}").json()
    assert detail["status"] == "assigned"
    assert [m["text"][:12] for m in detail["messages"] if m["role"] == "agent"] == ["¡Hola! Soy L"]
    assert detail["messages"][-1]["delivery"] == "sent"
    assert detail["notes"][0]["text"] == "Cliente VIP, ofrecer envío exprés."

    page.get_by_role("button", name="Devolver al asistente").click()
    page.locator("#confirm-ok").click()  # the console asks first
    expect(conv.locator(".state")).to_have_text("Cerrada (Devuelta)")
    expect(page.locator("#mine-list")).to_contain_text("No tienes conversaciones abiertas")
    with handoff_server.agent("leo") as api:
        assert api.get(f"/api/handoffs/{created['id']}").json()["status"] == "handed_back"
    assert page.errors == []


def test_language_toggle_and_conflict_error(handoff_server: HandoffServer, new_page) -> None:
    page = new_page()
    login(page, handoff_server, "ana")
    cid = f"e2e-{uuid.uuid4().hex}"
    created = handoff_server.create_handoff(
        cid, language="en", reason="legal_or_fraud", customer={"vip": False, "name": "John Smith"}
    )
    item = page.locator(f'#queue-list li[data-id="{created["id"]}"]')
    expect(item).to_contain_text("Legal o fraude")

    page.select_option("#lang-select", "en")
    expect(page.locator("#queue-title")).to_contain_text("Waiting")
    expect(page.locator("#logout")).to_have_text("Sign out")
    expect(item).to_contain_text("Legal or fraud")
    expect(item.locator(".wait")).to_contain_text("waiting ")
    assert page.evaluate("document.documentElement.lang") == "en"

    # Someone else claims it while Ana is looking at it: the live event re-draws the view.
    item.locator("button.open").click()
    expect(page.locator("#conversation .state")).to_have_text("Queued")
    with handoff_server.agent("leo") as api:
        assert api.post(f"/api/handoffs/{created['id']}/claim").status_code == 200
    expect(page.locator("#conversation .state")).to_have_text("Handled by Leo")
    # "Mis conversaciones" is one's own only, supervisors too (colleagues' chats are on the
    # dashboard's agents panel, tests/e2e/test_supervisor.py)
    expect(page.locator("#mine-list")).not_to_contain_text("John Smith")

    # An API error is shown as a sentence in the console's language, never as JSON.
    second = handoff_server.create_handoff(
        f"e2e-{uuid.uuid4().hex}", language="en", customer={"vip": False, "name": "Mary Jones"}
    )
    page.locator(f'#queue-list li[data-id="{second["id"]}"]').get_by_role(
        "button", name="Claim"
    ).click()
    expect(page.locator("#conversation .state")).to_have_text("Handled by you")
    expect(page.locator("select.canned option").nth(1)).to_have_text(
        "Greeting"
    )  # English canned replies
    page.get_by_role("button", name="Transfer").click()
    page.fill("#transfer-agent", "nobody")
    page.locator("#transfer-dialog button[value=ok]").click()
    toast = page.locator("#toast")
    expect(toast).to_have_text("Not found: Agent nobody not found")
    expect(page.locator("#live")).to_have_text("Live")
    page.screenshot(path=str(SCREENSHOTS / "console_english.png"))

    page.get_by_role("button", name="Transfer").click()
    page.fill("#transfer-agent", "leo")
    page.locator("#transfer-dialog button[value=ok]").click()
    expect(toast).to_have_text("Conversation transferred.")
    expect(page.locator("#conversation .state")).to_have_text("Handled by Leo")

    # The choice is remembered on reload.
    page.reload()
    expect(page.locator("#queue-title")).to_contain_text("Waiting")
    assert page.errors == []


def test_whatsapp_24h_window_refusal_is_shown(handoff_server: HandoffServer, new_page) -> None:
    day_and_more = time.time() - 30 * 3600
    created = handoff_server.create_handoff(
        f"whatsapp:+3465{uuid.uuid4().int % 10**7:07d}",
        channel="whatsapp",
        customer={"vip": False, "name": "Carmen Navarro", "phone": "+34 655 908 172"},
        transcript=[
            {"role": "user", "text": "Necesito ayuda con mi devolución", "ts": day_and_more}
        ],
    )
    page = new_page()
    login(page, handoff_server)
    page.locator(f'#queue-list li[data-id="{created["id"]}"]').get_by_role(
        "button", name="Atender"
    ).click()
    page.fill("#reply-text", "Hola Carmen, ya estoy con tu devolución.")
    page.get_by_role("button", name="Enviar", exact=True).click()
    expect(page.locator("#toast")).to_contain_text("fuera de la ventana de 24 h de WhatsApp")
    failed = page.locator("#conversation .msg.agent.failed")
    expect(failed).to_contain_text("Hola Carmen, ya estoy con tu devolución.")
    expect(failed.locator(".delivery-failed")).to_contain_text("No se puede entregar")
    page.screenshot(path=str(SCREENSHOTS / "console_whatsapp_refused.png"))
    with handoff_server.agent("leo") as api:
        messages = api.get(f"/api/handoffs/{created['id']}").json()["messages"]
    assert messages[-1]["delivery"] == "failed"
    assert "whatsapp_window_closed" in messages[-1]["delivery_error"]

    page.get_by_role("button", name="Resolver").click()
    page.locator("#confirm-ok").click()  # the console asks first
    expect(page.locator("#conversation .state")).to_have_text("Cerrada (Resuelta)")
    with handoff_server.agent("leo") as api:
        assert api.get(f"/api/handoffs/{created['id']}").json()["status"] == "resolved"
    assert page.errors == []


def test_claim_next_takes_the_most_urgent(handoff_server: HandoffServer, new_page) -> None:
    page = new_page()
    login(page, handoff_server, "ana")
    handoff_server.create_handoff(
        f"e2e-{uuid.uuid4().hex}", customer={"vip": False, "name": "Rosa Pérez"}
    )
    urgent = handoff_server.create_handoff(
        f"e2e-{uuid.uuid4().hex}",
        reason="legal_or_fraud",
        language="en",
        customer={"vip": False, "name": "Pedro Gil"},
    )
    first = page.locator("#queue-list li.item").first
    expect(first).to_contain_text("Pedro Gil")  # legal/fraud jumps the queue
    expect(first.locator(".reason")).to_have_text("Legal o fraude")
    page.get_by_role("button", name="Atender la siguiente").click()
    expect(page.locator("#conversation h2").first).to_contain_text("Pedro Gil")
    expect(page.locator("#conversation .state")).to_have_text("Atendida por ti")
    # Spanish console, English-speaking shopper: the canned replies are the English ones.
    expect(page.locator("select.canned option").nth(1)).to_have_text("Greeting")
    expect(page.locator(f'#mine-list li[data-id="{urgent["id"]}"]')).to_be_visible()
    expect(page.locator("#queue-list")).to_contain_text("Rosa Pérez")
    assert page.errors == []
