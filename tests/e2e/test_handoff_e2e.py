"""The whole system in a real browser: Rasa (trained model) + action server + handoff API,
the `system` of tests/e2e/conftest.py (`scripts.run.running_system`, free ports, temporary data).

A shopper asks for a person in Spanish in the demo store's widget; an agent logs in to the console,
sees the conversation arrive in the queue, claims it and replies; the shopper sees the reply and
answers (relayed by Rasa's handoff gate to the console); the agent hands back; the bot asks for a
rating; the shopper clicks one; the rating is stored in the handoff API.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import BOT_TOKEN, DEMO_PASSWORD, SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
BOT_REPLY_TIMEOUT = 90_000  # ms; the first message loads Rasa's pipeline on 2 busy cores


def poll(fn: Any, timeout: float, what: str) -> Any:
    """Call fn until it returns something truthy; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def log_tails(system: Any, lines: int = 40) -> str:
    """The end of each process's log, so a failure says what the bot / actions / API did."""
    return "\n".join(
        f"----- {svc.name} ({svc.log_path}) -----\n{svc.tail(lines)}" for svc in system.services
    )


def test_shopper_agent_handback_rating(system: Any, new_page) -> None:
    try:
        run_scenario(system, new_page)
    except (AssertionError, pytest.fail.Exception) as exc:
        raise AssertionError(f"{exc}\n\n{log_tails(system)}") from exc


def ask_for_a_person(system: Any, new_page: Any) -> tuple[Any, Any, Any]:
    """A Spanish shopper opens the demo store's widget and asks for a person."""
    s = system.settings
    shopper = new_page(locale="es-ES")
    shopper.goto(f"{s.handoff_url}/?rasa={s.rasa_url}")
    widget = shopper.locator("#atiende-widget")
    shopper.get_by_role("button", name="Abrir el chat de ayuda").click()
    expect(widget.locator(".status")).to_have_text("Conectado", timeout=30_000)
    box = widget.get_by_role("textbox", name="Escribe tu mensaje…")
    box.fill("Quiero hablar con una persona, por favor")
    box.press("Enter")
    return shopper, widget, box


def run_scenario(system: Any, new_page: Any) -> None:
    s = system.settings
    handoff_url = s.handoff_url
    bot_headers = {"Authorization": f"Bearer {BOT_TOKEN}"}

    # 1. The shopper asks for a person in Spanish.
    shopper, widget, box = ask_for_a_person(system, new_page)
    # the widget's own greeting, then at least one answer from Rasa
    expect(widget.locator(".msg.bot").nth(1)).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    session_id = shopper.evaluate("window.AtiendeWidget.sessionId")
    assert session_id

    handoff = poll(
        lambda: (
            (
                r := httpx.get(
                    f"{handoff_url}/api/conversations/{session_id}/handoff",
                    headers=bot_headers,
                    timeout=5,
                )
            ).is_success
            and r.json()
        ),
        60,
        "the bot to open a handoff for the conversation",
    )
    handoff_id = handoff["id"]
    assert handoff["language"] == "es" and handoff["reason"] == "asked"
    shopper.screenshot(path=str(SCREENSHOTS / "e2e_shopper_waiting.png"))

    # 2. An agent logs in, sees it in the queue, claims it and replies.
    agent = new_page(locale="es-ES")
    agent.goto(f"{handoff_url}/console/")
    agent.fill("#login-username", "leo")
    agent.fill("#login-password", DEMO_PASSWORD)
    agent.click("#login-form button[type=submit]")
    item = agent.locator(f'#queue-list li[data-id="{handoff_id}"]')
    expect(item).to_be_visible()
    item.get_by_role("button", name="Atender").click()
    expect(agent.locator("#conversation .transcript")).to_contain_text(
        "Quiero hablar con una persona"
    )
    agent.fill("#reply-text", "Hola, soy Leo. ¿En qué te puedo ayudar?")
    agent.get_by_role("button", name="Enviar", exact=True).click()

    # 3. The shopper sees the agent, answers; the answer reaches the console through Rasa's gate.
    expect(widget.locator(".notice").first).to_contain_text("Leo se ha unido")
    expect(widget.locator(".msg.agent")).to_contain_text("Hola, soy Leo. ¿En qué te puedo ayudar?")
    box.fill("Quería saber si hacéis envíos a Canarias")
    box.press("Enter")
    expect(agent.locator("#conversation .transcript")).to_contain_text(
        "envíos a Canarias", timeout=30_000
    )
    agent.screenshot(path=str(SCREENSHOTS / "e2e_console.png"))

    # 4. The agent hands back; the bot asks for a rating; the shopper gives 5.
    agent.get_by_role("button", name="Devolver al asistente").click()
    agent.locator("#confirm-ok").click()  # the console asks first
    expect(widget.locator(".notice").last).to_contain_text("ha salido", timeout=30_000)
    rating_buttons = widget.locator('.buttons button[data-payload^="/rate"]:not([disabled])')
    expect(rating_buttons).to_have_count(5, timeout=BOT_REPLY_TIMEOUT)
    shopper.screenshot(path=str(SCREENSHOTS / "e2e_shopper_rating.png"))
    rating_buttons.and_(widget.locator('button[data-payload*=\'"rating":"5"\']')).click()

    # 5. The rating is stored with the handoff.
    with httpx.Client(base_url=handoff_url, timeout=10) as api:
        token = api.post(
            "/api/auth/login", json={"username": "leo", "password": DEMO_PASSWORD}
        ).json()["token"]
        api.headers["Authorization"] = f"Bearer {token}"
        detail = poll(
            lambda: (d := api.get(f"/api/handoffs/{handoff_id}").json()).get("rating") and d,
            60,
            "the rating to be stored",
        )
    assert detail["rating"] == 5
    assert detail["status"] == "handed_back"
    assert shopper.errors == [] and agent.errors == []


def test_shopper_leaves_the_queue_and_the_bot_resumes(system: Any, new_page) -> None:
    try:
        leave_queue_scenario(system, new_page)
    except (AssertionError, pytest.fail.Exception) as exc:
        raise AssertionError(f"{exc}\n\n{log_tails(system)}") from exc


def leave_queue_scenario(system: Any, new_page: Any) -> None:
    """Issue #11: a queued shopper could not get back to the bot. With the real Rasa gate: the
    widget shows the real place in the queue, "Volver al asistente" leaves it, the bot confirms
    and answers the next message itself."""
    s = system.settings
    bot_headers = {"Authorization": f"Bearer {BOT_TOKEN}"}
    shopper, widget, box = ask_for_a_person(system, new_page)
    banner = widget.locator(".queue")
    expect(banner).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    expect(banner.locator(".queue-place")).to_contain_text("Estás en la cola")
    session_id = shopper.evaluate("window.AtiendeWidget.sessionId")
    handoff = httpx.get(f"{s.handoff_url}/api/conversations/{session_id}/handoff",
                        headers=bot_headers, timeout=5).json()
    assert handoff["status"] == "queued"
    shopper.screenshot(path=str(SCREENSHOTS / "e2e_shopper_queued.png"))

    bots_before = widget.locator(".msg.bot").count()
    banner.get_by_role("button", name="Volver al asistente").click()
    expect(banner).to_be_hidden(timeout=30_000)
    expect(widget.locator(".msg.bot").nth(bots_before)).to_contain_text(
        "he cancelado tu petición", timeout=BOT_REPLY_TIMEOUT)
    gone = httpx.get(f"{s.handoff_url}/api/conversations/{session_id}/handoff",
                     headers=bot_headers, timeout=5)
    assert gone.status_code == 404  # no open handoff any more

    # the bot has the conversation again: it answers, nothing is forwarded to a queue
    bots_before = widget.locator(".msg.bot").count()
    box.fill("¿Cuánto tarda el envío?")
    box.press("Enter")
    expect(widget.locator(".msg.bot").nth(bots_before)).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    assert shopper.errors == []
