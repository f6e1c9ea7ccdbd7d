"""The widget never makes the bot answer twice when Rasa dies mid-turn (socket.io; the WhatsApp and
Messenger side is bot/outgoing.py). On socket.io a turn runs again only if the widget resends the
message, and the widget resends only a message nothing answered: a bot reply proves the server
had it. So when Rasa is killed after emitting its reply and before the ack (the scripted socket
below answers and never acks), the widget does not resend — not on its timers, not after a reload —
and the shopper sees the reply once. When Rasa dies before replying, the widget does resend the
same id and gets one answer (tests/e2e/test_widget.py, test_unacknowledged_message_is_resent…).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import HandoffServer
from tests.e2e.fake_socketio import FakeRasaSocket

pytestmark = pytest.mark.e2e
DEAD_RASA = "http://127.0.0.1:9"  # never contacted: the fake answers inside the browser


def send_gracias(handoff_server: HandoffServer, new_page, fake: FakeRasaSocket):
    """A page on a clock the test moves, the scripted socket in place, "gracias" sent."""
    page = new_page()
    page.clock.install()  # the resend timers run on a clock the test moves
    fake.install(page)
    page.goto(f"{handoff_server.url}/?rasa={DEAD_RASA}")
    widget = page.locator("#atiende-widget")
    page.get_by_role("button", name="Abrir el chat de ayuda").click()
    expect(widget.locator(".status")).to_have_text("Conectado")
    box = widget.get_by_role("textbox", name="Escribe tu mensaje…")
    box.fill("gracias")
    box.press("Enter")
    return page, widget


def test_a_reply_without_an_ack_is_not_asked_for_again(handoff_server: HandoffServer,
                                                       new_page) -> None:
    fake = FakeRasaSocket()
    fake.ack = False  # Rasa died after the reply, before the ack
    fake.on_utterance = lambda data: [{"text": "¡De nada! ¿Te ayudo con algo más?"}]
    page, widget = send_gracias(handoff_server, new_page, fake)
    replies = widget.locator(".msg.bot .bubble", has_text="¡De nada!")
    expect(replies).to_have_count(1)
    expect(widget.locator(".msg.user .delivery")).to_have_text("")  # the reply counts as the ack
    page.clock.run_for(10 * 60 * 1000)  # every resend timer would have fired by now
    assert len(fake.utterances) == 1, fake.utterances

    page.reload()  # a reload resends what is still "sending": not this message
    page.get_by_role("button", name="Abrir el chat de ayuda").click()
    expect(widget.locator(".status")).to_have_text("Conectado")
    page.clock.run_for(10 * 60 * 1000)
    expect(replies).to_have_count(1)
    assert len(fake.utterances) == 1, fake.utterances
    assert page.errors == []


def test_without_a_reply_the_same_id_is_resent(handoff_server: HandoffServer, new_page) -> None:
    """The other side (so the one above cannot pass by never resending): Rasa died before
    answering; the widget resends the same id until it is answered."""
    fake = FakeRasaSocket()
    fake.ack = False
    fake.on_utterance = lambda data: []
    page, _ = send_gracias(handoff_server, new_page, fake)
    page.clock.run_for(60 * 1000)
    ids = {u["message_id"] for u in fake.utterances}
    assert len(fake.utterances) > 1 and len(ids) == 1, fake.utterances
    assert page.errors == []
