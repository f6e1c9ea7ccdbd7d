"""Offline cases and dead letters in the agent console, in a real browser against the real handoff
API, with a real local SMTP server: an undelivered shopper message is shown with what to do; an
offline case (out of hours) is listed with its promised time and answered by e-mail, which arrives;
hand-back sends the id of the last message the agent saw."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, SCREENSHOTS, HandoffServer, start_handoff_server
from tests.handoff_api.smtp_server import SmtpServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Iterator[HandoffServer]:
    day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][
        (datetime.now(UTC) + timedelta(days=3)).weekday()]
    with start_handoff_server(
            tmp_path_factory.mktemp("handoff-cases"),
            BUSINESS_HOURS=f"{day} 10:00-11:00", BUSINESS_TZ="UTC",  # the team is out now
            SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port),
            SMTP_FROM="Atiende Demo Store <ayuda@shop.example>") as running:
        yield running


def console(page, server: HandoffServer):
    page.goto(f"{server.url}/console/")
    page.fill("#login-username", "leo")
    page.fill("#login-password", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#live")).to_have_text("En directo")


def test_offline_case_answered_by_email_arrives(server: HandoffServer, smtp: SmtpServer,
                                                new_page) -> None:
    # first in this module: no agent has been seen yet, so out of hours this is an offline case
    created = server.create_handoff("web-offline-1")
    assert created["status"] == "offline" and created["answer_due_at"]
    page = new_page()
    console(page, server)
    case = page.locator(f'#offline-list li[data-id="{created["id"]}"]')
    expect(case).to_contain_text("Lucía García")
    expect(case.locator(".due")).to_contain_text("responder antes de")
    case.get_by_role("button").click()
    conv = page.locator("#conversation")
    expect(conv.locator(".state")).to_contain_text("Caso offline: respuesta prometida antes de")
    expect(conv.locator("#followup-via option")).to_have_count(3)
    conv.locator("#followup-text").fill("Hola Lucía: tu pedido AT100234 sale mañana por la mañana.")
    page.screenshot(path=str(SCREENSHOTS / "console_offline_case_es.png"), full_page=True)
    conv.get_by_role("button", name="Enviar respuesta").click()
    expect(page.locator("#toast")).to_contain_text("Respuesta entregada (por e-mail)")
    deadline = time.monotonic() + 10
    while not smtp.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    [mail] = [m for m in smtp.messages if m["To"] == "lucia.garcia@example.com"]
    assert mail["Subject"] == (f"Respuesta a tu consulta (caso #{created['id']}) · "
                               "Atiende Demo Store")
    assert "tu pedido AT100234 sale mañana por la mañana." in mail.get_content()
    expect(case).to_have_count(0)
    expect(conv.locator(".state")).to_contain_text("Resuelta")
    expect(conv.locator(".msg.agent .badge.email")).to_have_count(1)
    assert page.errors == []


def test_dead_letter_is_shown_with_what_to_do(server: HandoffServer, new_page) -> None:
    page = new_page()
    console(page, server)
    created = server.create_handoff("web-dead-1")
    r = server.bot("POST", "/api/dead-letters", json={
        "conversation_id": "web-dead-1", "message_id": "m-big", "channel": "socketio",
        "text": "Os pego aquí la factura entera…", "reason": "HTTP 413"})
    assert r.status_code == 201
    item = page.locator("#dead-list li.dead")
    expect(item).to_have_count(1)  # pushed live
    expect(page.locator("#dead-count")).to_have_text("1")
    expect(item).to_contain_text("Demasiado largo para la cola")
    expect(item.locator(".dead-text")).to_have_text("Os pego aquí la factura entera…")
    expect(page.locator(".dead-help")).to_contain_text("no llegaron ni a una persona")
    page.screenshot(path=str(SCREENSHOTS / "console_dead_letter_es.png"), full_page=True)
    item.get_by_role("button", name="Abrir conversación").click()
    expect(page.locator("#conversation .cid")).to_have_text("web-dead-1")
    item.get_by_role("button", name="Marcar como atendido").click()
    expect(page.locator("#dead-list li.dead")).to_have_count(0)
    assert server.bot("GET", "/health").json()["dead_letters"] == 0
    assert created["id"]
    assert page.errors == []


def test_hand_back_sends_the_last_message_the_agent_saw(server: HandoffServer,
                                                        new_page) -> None:
    page = new_page()
    console(page, server)  # an agent is present now: the next handoff is queued, not offline
    created = server.create_handoff("web-seen-1")
    assert created["status"] == "queued"
    stored = server.bot("POST", "/api/conversations/web-seen-1/messages",
                        json={"message_id": "s-1", "text": "¿Me ayudas con la talla?"}).json()
    page.locator(f'#queue-list li[data-id="{created["id"]}"]').get_by_role(
        "button", name="Atender").click()
    expect(page.locator("#conversation .transcript")).to_contain_text("¿Me ayudas con la talla?")
    page.get_by_role("button", name="Devolver al asistente").click()
    with page.expect_request(lambda r: r.url.endswith("/hand-back")) as request:
        page.locator("#confirm-ok").click()  # the console asks first (issue #14)
    assert json.loads(request.value.post_data) == {"seen_message_id": stored["id"]}
    assert page.errors == []
