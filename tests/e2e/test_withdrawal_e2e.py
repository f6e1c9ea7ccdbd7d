"""The right of withdrawal in a real browser, on the whole system (Rasa with the trained model,
action server on the seeded demo store, handoff API, the local mail catcher), started by
`scripts.run.running_system` on free ports with a temporary data directory.

A Spanish shopper presses the store page's "Desistir del contrato aquí" button (labelled from the
ES policy file), the chat opens on the withdrawal form, asks only the order number, the name and
the e-mail, shows the separate confirmation step with its "Confirmar el desistimiento" button;
the shopper confirms and gets the date, time and code; the acknowledgement e-mail lands in the
mail catcher and the agents see the withdrawal with its case.
"""

from __future__ import annotations

import email
from email import policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, SCREENSHOTS
from tests.e2e.test_handoff_e2e import BOT_REPLY_TIMEOUT, log_tails, poll

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_store_button_to_confirmation_and_acknowledgement(system: Any, new_page) -> None:
    try:
        run_scenario(system, new_page)
    except (AssertionError, pytest.fail.Exception) as exc:
        raise AssertionError(f"{exc}\n\n{log_tails(system)}") from exc


def answer(widget: Any, box: Any, text: str, expected: str) -> None:
    """Send ``text`` and wait for the bot's next message to contain ``expected``."""
    before = widget.locator(".msg.bot").count()
    box.fill(text)
    box.press("Enter")
    expect(widget.locator(".msg.bot").nth(before)).to_be_visible(timeout=BOT_REPLY_TIMEOUT)
    expect(widget.locator(".msg.bot").last).to_contain_text(expected, timeout=BOT_REPLY_TIMEOUT)


def run_scenario(system: Any, new_page: Any) -> None:
    s = system.settings
    shopper = new_page(locale="es-ES")
    shopper.goto(f"{s.handoff_url}/?rasa={s.rasa_url}&market=ES")
    widget = shopper.locator("#atiende-widget")

    # 1. The clearly labelled button on the store page (label from data/policies/es.yml)
    button = shopper.get_by_role("button", name="Desistir del contrato aquí")
    expect(button).to_be_visible()
    button.click()
    expect(widget.locator(".status")).to_have_text("Conectado", timeout=30_000)
    # the chat opens with the request sent and the form's first question
    expect(widget.locator(".msg.user").last).to_contain_text("Desistir del contrato aquí")
    expect(widget.locator(".msg.bot").last).to_contain_text("número de pedido",
                                                             timeout=BOT_REPLY_TIMEOUT)
    expect(widget.locator(".msg.bot").last).to_contain_text("sin cuenta ni contraseña")
    # the same function is in the widget's menu
    widget.get_by_role("button", name="Más opciones").click()
    expect(widget.get_by_role("menuitem", name="Desistir del contrato aquí")).to_be_visible()
    widget.get_by_role("button", name="Más opciones").click()

    # 2. Only what identifies the contract: order number, name, e-mail
    box = widget.get_by_role("textbox", name="Escribe tu mensaje…")
    answer(widget, box, "AT101005", "nombre")
    answer(widget, box, "Carmen Navarro Gil", "correo")
    answer(widget, box, "carmen.navarro@example.com", "Vas a desistir")

    # 3. The separate confirmation step
    confirm = widget.get_by_role("button", name="Confirmar el desistimiento")
    expect(confirm).to_be_visible()
    expect(widget.locator(".msg.bot").last).to_contain_text("AT101005")
    shopper.screenshot(path=str(SCREENSHOTS / "e2e_withdrawal_confirm.png"))
    confirm.click()
    done = widget.locator(".msg.bot").last
    expect(done).to_contain_text("Código de desistimiento: DES-101005",
                                 timeout=BOT_REPLY_TIMEOUT)
    expect(done).to_contain_text("acuse de recibo")
    shopper.screenshot(path=str(SCREENSHOTS / "e2e_withdrawal_done.png"))

    # 4. The acknowledgement e-mail (durable medium) in the local mail catcher
    mail_dir = Path(s.data_dir) / "mail"
    def to_carmen() -> list[Any]:  # the system is shared: only this shopper's mail counts
        mails = [email.message_from_bytes(p.read_bytes(), policy=policy.default)
                 for p in sorted(mail_dir.glob("*.eml"))] if mail_dir.is_dir() else []
        return [m for m in mails if m["To"] == "carmen.navarro@example.com"]

    [mail] = poll(to_carmen, 60, "the acknowledgement e-mail in the mail catcher")
    assert "desistimiento del pedido AT101005" in mail["Subject"]
    body = mail.get_content()
    assert "Fecha y hora del desistimiento:" in body and "DES-101005" in body

    # 5. The agents see the withdrawal and its case
    with httpx.Client(base_url=s.handoff_url, timeout=10) as api:
        token = api.post("/api/auth/login",
                         json={"username": "leo", "password": DEMO_PASSWORD}).json()["token"]
        api.headers["Authorization"] = f"Bearer {token}"
        [row] = api.get("/api/withdrawals").json()
        assert row["code"] == "DES-101005" and row["within_period"] and row["store_recorded"]
        cases = api.get("/api/offline-cases").json()["cases"]
        assert any(c["id"] == row["case_id"] and c["reason"] == "withdrawal" for c in cases)
    assert shopper.errors == []
