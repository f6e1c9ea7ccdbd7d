"""Bot answers rendered as safe Markdown in the widget, in real Chromium: the English shipping
table is a table (not "| Destination | Standard |…"), links open in a new tab, tracking URLs are
clickable, masked data stays literal — and XSS attempts in a bot message stay text."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, SCREENSHOTS, HandoffServer
from tests.e2e.fake_socketio import FakeRasaSocket

pytestmark = pytest.mark.e2e
DEAD_RASA = "http://127.0.0.1:9"

# The English shipping answer as the KB action sends it (the WhatsApp/Messenger tests use it too).
SHIPPING_EN = (ROOT / "tests" / "data" / "kb_answer_shipping_en.md").read_text(
    encoding="utf-8").strip()

ATTACKS = [
    "<img src=x onerror=\"window.__xss=1\">",
    "<script>window.__xss=2</script>",
    "[click](javascript:window.__xss=3)",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<a href=\"javascript:window.__xss=4\">x</a>",
    "**<svg onload=window.__xss=5>**",
    "| a | b |\n|---|---|\n| <iframe src=javascript:window.__xss=6> | `x` |",
    "[x](JaVaScRiPt:window.__xss=7) and <javascript:window.__xss=8>",
    "![img](https://x.example/a.png\" onerror=\"window.__xss=9)",
    "[x](https://ok.example\" onclick=\"window.__xss=10)",
]


def chat(page, server: HandoffServer, replies: list[str]):
    fake = FakeRasaSocket()
    fake.on_utterance = lambda d: [{"text": r} for r in replies]
    fake.install(page)
    page.goto(f"{server.url}/?rasa={DEAD_RASA}")
    widget = page.locator("#atiende-widget")
    page.get_by_role("button", name="Abrir el chat de ayuda").click()
    box = widget.get_by_role("textbox", name="Escribe tu mensaje…")
    box.fill("hola")
    box.press("Enter")
    expect(widget.locator(".msg.bot")).to_have_count(1 + len(replies))
    return widget


def test_a_markdown_answer_is_a_table_with_links_opening_in_a_new_tab(
        handoff_server: HandoffServer, new_page) -> None:
    page = new_page()
    tracking = "Tu pedido AT100234 está en camino. Seguimiento: https://track.example/AT100234"
    masked = "Código enviado a l***n@example.com; dirección ***, 280** Madrid."
    widget = chat(page, handoff_server, [SHIPPING_EN, tracking, masked])
    answer = widget.locator(".msg.bot").nth(1).locator(".bubble")
    expect(answer.locator("table")).to_have_count(1)
    expect(answer.locator("th")).to_have_text(["Destination", "Standard", "Express 24 h",
                                               "Free from"])
    expect(answer.locator("tr").nth(2).locator("td")).to_have_text(
        ["Balearic Islands", "€5.95", "—", "€50"])
    expect(answer.locator("strong")).to_have_text("Spain (EU)")
    assert "|" not in answer.inner_text()
    link = answer.get_by_role("link", name="Shipping costs")
    expect(link).to_have_attribute("href", "https://tienda.example/en/help/shipping-costs")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    track = widget.locator(".msg.bot").nth(2).get_by_role("link")
    expect(track).to_have_attribute("href", "https://track.example/AT100234")
    expect(widget.locator(".msg.bot").nth(3).locator(".bubble")).to_have_text(masked)
    page.screenshot(path=str(SCREENSHOTS / "widget_markdown.png"))
    assert page.errors == []


def test_xss_attempts_in_a_bot_message_stay_text(handoff_server: HandoffServer, new_page) -> None:
    page = new_page()
    widget = chat(page, handoff_server, ATTACKS)
    page.wait_for_timeout(300)  # let any injected handler fire
    assert page.evaluate("() => window.__xss") is None
    bubbles = widget.locator(".msg.bot .bubble.md")
    allowed = {"P", "BR", "STRONG", "EM", "UL", "OL", "LI", "TABLE", "THEAD", "TBODY", "TR",
               "TH", "TD", "A"}
    found = widget.evaluate("""(host) => [...host.shadowRoot.querySelectorAll('.bubble.md *')]
        .map((e) => ({tag: e.tagName, attrs: [...e.attributes].map((a) => [a.name, a.value])}))""")
    for element in found:
        assert element["tag"] in allowed, element
        for name, value in element["attrs"]:
            assert not name.lower().startswith("on"), element
            if name in ("href", "src"):
                assert value.startswith(("https://", "http://", "mailto:", "tel:")), element
    # the markup is shown as the text it is
    expect(bubbles.nth(1)).to_contain_text('<img src=x onerror="window.__xss=1">')
    expect(bubbles.nth(2)).to_contain_text("<script>window.__xss=2</script>")
    expect(bubbles.nth(3)).to_contain_text("javascript:window.__xss=3")
    assert bubbles.nth(3).locator("a").count() == 0
    assert page.errors == []
