"""Issue #17 in the agent console, in Chromium, against the real handoff API process and a local
Graph API stand-in: 30 hours after the shopper's last message the agent picks an approved
template, fills its parameters, sees the preview, sends it, and watches it turn "read"; Meta's
132001 is shown in words; a reply typed on the business phone shows as its own handoff."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, SCREENSHOTS, HandoffServer, start_handoff_server
from tests.handoff_api.relay.conftest import FakeGraph, GraphThread

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraph]:
    runner = GraphThread()
    yield runner.graph
    runner.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, graph: FakeGraph) -> Iterator[HandoffServer]:
    with start_handoff_server(tmp_path_factory.mktemp("wa2"), WHATSAPP_GRAPH_URL=graph.url,
                              WHATSAPP_PHONE_NUMBER_ID="106540352242922",
                              WHATSAPP_BUSINESS_ACCOUNT_ID="102290129340398") as running:
        yield running


def login(page, server: HandoffServer, username: str = "leo") -> None:
    page.goto(f"{server.url}/console/")
    page.fill("#login-username", username)
    page.fill("#login-password", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#live")).to_have_text(re.compile("En directo|Live"))


def test_template_after_30_hours_then_read(server: HandoffServer, graph: FakeGraph,
                                           new_page) -> None:
    phone = f"3465{uuid.uuid4().int % 10**7:07d}"
    created = server.create_handoff(phone, channel="whatsapp", customer={
        "vip": False, "name": "Carmen Navarro", "phone": f"+{phone}"}, transcript=[
        {"role": "user", "text": "Necesito ayuda con mi devolución",
         "ts": time.time() - 30 * 3600}])
    page = new_page()
    login(page, server)
    page.locator(f'#queue-list li[data-id="{created["id"]}"]').get_by_role(
        "button", name="Atender").click()
    tools = page.locator("#channel-tools")
    expect(tools.locator(".window-note")).to_contain_text("más de 24 horas")

    page.select_option("#template-select", label="atiende_seguimiento · es · UTILITY")
    fields = tools.locator("input[data-param]")
    expect(fields).to_have_count(3)
    expect(tools.get_by_role("button", name="Enviar plantilla")).to_be_disabled()
    fields.nth(0).fill("Carmen")
    fields.nth(1).fill("Atiende Moda")
    fields.nth(2).fill("la devolución de tus botas")
    expect(page.locator("#template-preview")).to_have_text(
        "Hola Carmen, te escribimos de Atiende Moda sobre tu consulta: la devolución de tus "
        "botas. Responde a este mensaje y seguimos por aquí.")
    expect(tools).to_contain_text("en español")
    page.screenshot(path=str(SCREENSHOTS / "console_whatsapp_template.png"))
    tools.get_by_role("button", name="Enviar plantilla").click()

    sent = page.locator("#conversation .msg.agent").filter(has_text="Hola Carmen")
    expect(sent.locator(".badge.template")).to_contain_text("atiende_seguimiento")
    expect(sent.locator(".ticks")).to_have_attribute("data-status", "sent")
    template_sends = [r for r in graph.requests if (r["json"] or {}).get("type") == "template"]
    assert len(template_sends) == 1 and template_sends[0]["json"]["to"] == phone
    external_id = server.agent("leo").get(f"/api/handoffs/{created['id']}").json()[
        "messages"][-1]["external_id"]

    # Meta reports delivered, then read: the ticks follow, live
    for status in ("delivered", "read"):
        res = server.bot("POST", "/api/channel-statuses", json={
            "channel": "whatsapp", "statuses": [{"external_id": external_id, "status": status,
                                                 "ts": time.time()}]})
        assert res.status_code == 200, res.text
        expect(sent.locator(".ticks")).to_have_attribute("data-status", status)
    page.screenshot(path=str(SCREENSHOTS / "console_whatsapp_read.png"))

    # a template Meta does not know: the agent reads why, in words
    graph.status = 404
    graph.reply = {"error": {"message": "(#132001) Template name does not exist in the "
                                        "translation", "type": "OAuthException", "code": 132001}}
    try:
        page.select_option("#template-select", label="atiende_caso_resuelto · es · UTILITY")
        for i, value in enumerate(("Carmen", "AT100234", "el reembolso está en camino")):
            tools.locator("input[data-param]").nth(i).fill(value)
        tools.get_by_role("button", name="Enviar plantilla").click()
        expect(page.locator("#toast")).to_contain_text("la plantilla no existe en ese idioma")
    finally:
        graph.status, graph.reply = 200, None

    # an English-speaking agent reads the same in English; the ticks keep their state
    page.select_option("#lang-select", "en")
    expect(tools.locator(".window-note")).to_contain_text("More than 24 hours since the "
                                                          "shopper's last message")
    expect(sent.locator(".ticks")).to_have_attribute("title", "Read")
    page.select_option("#template-select", label="atiende_follow_up · en · UTILITY")
    expect(tools.locator("label.tpl-param").first).to_contain_text("Shopper's name")
    expect(tools).to_contain_text("in English")
    assert page.errors == []


def test_a_phone_reply_shows_as_its_own_handoff(server: HandoffServer, new_page) -> None:
    page = new_page()
    login(page, server)
    phone = f"5215{uuid.uuid4().int % 10**9:09d}"
    res = server.bot("POST", f"/api/conversations/{phone}/echoes", json={
        "message_id": f"wamid.echo.{phone}", "channel": "whatsapp", "language": "es",
        "text": "Hola, soy Marta de la tienda: te lo cambio yo.", "ts": time.time()})
    assert res.status_code == 201, res.text
    item = page.locator(f'#queue-list li[data-id="{res.json()["handoff_id"]}"]')
    expect(item).to_contain_text("Respondido desde el teléfono")
    item.get_by_role("button", name="Atender").click()
    echo = page.locator("#conversation .msg.agent").filter(has_text="soy Marta de la tienda")
    expect(echo.locator(".badge.echo")).to_contain_text("Respondido desde el teléfono")
    assert page.errors == []


def test_a_supervisor_syncs_the_templates_from_meta(server: HandoffServer, graph: FakeGraph,
                                                    new_page) -> None:
    """(Runs last: the sync changes the registry the other tests use.)"""
    from tests.contracts.test_whatsapp_templates import GRAPH_LIST

    phone = f"3466{uuid.uuid4().int % 10**7:07d}"
    created = server.create_handoff(phone, channel="whatsapp", transcript=[
        {"role": "user", "text": "¿Hola?", "ts": time.time() - 26 * 3600}])
    page = new_page()
    login(page, server, "ana")
    page.locator(f'#queue-list li[data-id="{created["id"]}"]').get_by_role(
        "button", name="Atender").click()
    options = page.locator("#template-select option")
    expect(options.filter(has_text="atiende_caso_resuelto")).to_have_count(1)
    graph.reply = GRAPH_LIST
    try:
        page.get_by_role("button", name="Sincronizar plantillas con Meta").click()
        expect(page.locator("#toast")).to_contain_text("3 plantillas leídas de Meta")
    finally:
        graph.reply = None
    # Meta does not know atiende_caso_resuelto: it is no longer offered
    expect(options.filter(has_text="atiende_caso_resuelto")).to_have_count(0)
    expect(options.filter(has_text="atiende_seguimiento")).to_have_count(1)
    assert page.errors == []
