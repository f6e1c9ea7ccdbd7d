"""The withdrawal button on the demo store page and in the widget's menu, in a real browser: the
labels come from the market's policy file through the real handoff API; Rasa's socket.io side is
scripted (tests/e2e/fake_socketio.py) to see exactly what the button sends. The whole flow with
the real bot is tests/e2e/test_withdrawal_e2e.py."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import HandoffServer
from tests.e2e.fake_socketio import FakeRasaSocket

pytestmark = pytest.mark.e2e
DEAD_RASA = "http://127.0.0.1:9"  # never contacted: the fake answers inside the browser


def open_store(page, server: HandoffServer, fake: FakeRasaSocket, market: str):
    fake.install(page)
    page.goto(f"{server.url}/?rasa={DEAD_RASA}&market={market}")
    return page.locator("#atiende-widget")


def test_spain_button_sends_the_withdrawal_request(handoff_server: HandoffServer,
                                                   new_page) -> None:
    fake = FakeRasaSocket()
    fake.on_utterance = lambda d: [{"text": "¿Cuál es el número de pedido?"}] \
        if d["message"] == "/withdraw_contract" else []
    page = new_page(locale="es-ES")
    widget = open_store(page, handoff_server, fake, "ES")
    button = page.get_by_role("button", name="Desistir del contrato aquí")
    expect(button).to_be_visible()
    button.click()
    expect(widget.locator(".msg.user").last).to_contain_text("Desistir del contrato aquí")
    expect(widget.locator(".msg.bot").last).to_contain_text("número de pedido")
    assert fake.received()[-1]["message"] == "/withdraw_contract"
    # the widget's menu offers the same function
    widget.get_by_role("button", name="Más opciones").click()
    item = widget.get_by_role("menuitem", name="Desistir del contrato aquí")
    expect(item).to_be_visible()
    item.click()
    expect(widget.locator(".msg.user")).to_have_count(2)
    assert [m["message"] for m in fake.received()][-2:] == ["/withdraw_contract"] * 2
    assert page.errors == []


def test_argentina_and_english_labels(handoff_server: HandoffServer, new_page) -> None:
    page = new_page(locale="es-AR")
    open_store(page, handoff_server, FakeRasaSocket(), "AR")
    expect(page.get_by_role("button", name="Botón de arrepentimiento")).to_be_visible()
    english = new_page(locale="en-GB")
    open_store(english, handoff_server, FakeRasaSocket(), "ES")
    expect(english.get_by_role("button", name="Withdraw from the contract here")).to_be_visible()


def test_no_button_where_the_law_asks_for_none(handoff_server: HandoffServer, new_page) -> None:
    page = new_page(locale="en-US")
    widget = open_store(page, handoff_server, FakeRasaSocket(), "US")
    expect(page.locator("#products li")).to_have_count(6)  # the page has rendered
    # both the store page and the widget have had their answer from the API (available: false)
    asked = "() => performance.getEntriesByType('resource').filter(" \
            "e => e.name.includes('/api/withdrawal-function')).length"
    deadline = time.monotonic() + 30
    while page.evaluate(asked) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert page.evaluate(asked) >= 2
    expect(page.locator("#withdraw")).to_be_hidden()
    expect(widget.locator(".menu-button")).to_be_hidden()
