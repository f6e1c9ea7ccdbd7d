"""Markdown answers written for WhatsApp and Messenger (bot.channels.formatting), and sent that way
through the real connectors to a local fake Graph API."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels.formatting import protect, to_plain, to_whatsapp
from bot.channels.messenger import MessengerInput
from bot.channels.meta import MetaStateStore
from bot.channels.whatsapp import WhatsAppInput
from bot.handoff_gate import HandoffGate
from tests.bot.channels.harness import FakeAgent, Recorder, SanicHarness, load_fixture

# The English shipping answer as the KB action sends it (section heading, table, source link);
# the widget test renders the same file in Chromium.
SHIPPING_EN = (Path(__file__).resolve().parents[3] / "tests" / "data" /
               "kb_answer_shipping_en.md").read_text(encoding="utf-8").strip()


def test_whatsapp_gets_tables_as_lines_bold_with_one_star_and_plain_links() -> None:
    text = to_whatsapp(SHIPPING_EN)
    assert "|" not in text and "---" not in text
    assert "*Spain (EU)*" in text and "**" not in text
    assert "*Balearic Islands* — Standard: €5.95 · Free from: €50" in text
    assert "More information: Shipping costs https://tienda.example/en/help/shipping-costs" in text


def test_messenger_gets_plain_text() -> None:
    text = to_plain(SHIPPING_EN)
    assert "*" not in text and "|" not in text and "[" not in text
    assert "Mainland — Standard: €3.95 · Express 24 h: €6.95 · Free from: €50 (standard)" in text


@pytest.mark.parametrize("text", [
    "Hemos enviado el código a l***n@example.com y a p***a@example.com.",
    "Lo enviaremos a ***, 280** Madrid.",
    "snake_case_name y 2*3*4",
])
def test_masked_data_and_stray_marks_stay_literal(text: str) -> None:
    assert to_whatsapp(text) == text
    assert to_plain(text) == text


def test_plain_bot_messages_keep_their_lines_and_lists() -> None:
    text = ("Tu pedido AT100234 está en camino.\nSeguimiento: https://t.example/AT100234\n\n"
            "1. Uno\n2. Dos")
    assert to_whatsapp(text) == text
    assert to_whatsapp("- uno\n- dos") == "• uno\n• dos"


def test_html_and_link_syntax_never_reach_the_shopper_as_markup() -> None:
    assert to_plain("<b>hola</b>") == "<b>hola</b>"  # shown as typed, never interpreted
    assert to_whatsapp("[pincha](javascript:alert(1))") == "[pincha](javascript:alert(1))"
    assert protect("**negrita** y l***n") == "**negrita** y l\\*\\*\\*n"


# --- through the connectors ------------------------------------------------------------------
@pytest.fixture
async def whatsapp(graph: Recorder, tmp_path: Path) -> WhatsAppInput:
    return WhatsAppInput(access_token="wa-access", app_secret="wa-secret", verify_token="v",
                         phone_number_id="1065", graph_url=graph.url,
                         state=MetaStateStore(tmp_path / "meta.db"))


@pytest.fixture
async def messenger(graph: Recorder, tmp_path: Path) -> MessengerInput:
    return MessengerInput(page_access_token="page-token", app_secret="m-secret",
                          verify_token="v", graph_url=graph.url,
                          state=MetaStateStore(tmp_path / "meta.db"))


async def test_a_markdown_answer_reaches_whatsapp_formatted_with_a_link_preview(
        whatsapp: WhatsAppInput, agent: FakeAgent, gate: HandoffGate, graph: Recorder) -> None:
    agent.responder = lambda m: [{"text": SHIPPING_EN}]
    server = await SanicHarness([whatsapp], agent, gate).start()
    try:
        await server.post_signed("/webhooks/whatsapp/webhook", load_fixture("wa_text.json"),
                                 "wa-secret")
        await whatsapp.tasks.drain()
    finally:
        await server.stop()
    [sent] = graph.requests
    body = sent["json"]["text"]
    assert body["preview_url"] is True
    assert "*Balearic Islands* — Standard: €5.95" in body["body"] and "|" not in body["body"]


async def test_a_markdown_answer_with_buttons_reaches_messenger_as_plain_text(
        messenger: MessengerInput, agent: FakeAgent, gate: HandoffGate,
        graph: Recorder) -> None:
    agent.responder = lambda m: [{"text": SHIPPING_EN, "buttons": [
        {"title": "Sí", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]}]
    server = await SanicHarness([messenger], agent, gate).start()
    try:
        await server.post_signed("/webhooks/messenger/webhook",
                                 load_fixture("ms_text.json"), "m-secret")
        await messenger.tasks.drain()
    finally:
        await server.stop()
    [sent] = graph.requests
    message = sent["json"]["message"]
    assert "**" not in message["text"] and "|" not in message["text"]
    assert "https://tienda.example/en/help/shipping-costs" in message["text"]
    assert [q["payload"] for q in message["quick_replies"]] == ["/affirm", "/deny"]
