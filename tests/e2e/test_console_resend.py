"""A reply that did not reach the shopper, in a real browser against the real handoff API: the
console shows it failed with the reason in the agent's language, and its "Resend" button sends it
once (a double click included) when the channel is back. WhatsApp's Graph API is a local HTTP
server the test starts only when the channel should come back (before that, nobody listens)."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from handoff_api.delivery_status import FAILURE_REASONS
from handoff_api.models import Message
from tests.e2e.conftest import SCREENSHOTS, HandoffServer, free_port, start_handoff_server
from tests.e2e.test_console import login

pytestmark = pytest.mark.e2e

GRAPH_PORT = free_port()


class FakeGraph(BaseHTTPRequestHandler):
    """WhatsApp's Graph API: accepts every message and remembers what it was sent."""

    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        FakeGraph.received.append(body)
        answer = json.dumps({"messages": [{"id": f"wamid.{uuid.uuid4().hex}"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def graph_back() -> Iterator[list[dict]]:
    FakeGraph.received = []
    server = ThreadingHTTPServer(("127.0.0.1", GRAPH_PORT), FakeGraph)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeGraph.received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HandoffServer]:
    data_dir = tmp_path_factory.mktemp("handoff-resend")
    with start_handoff_server(data_dir, WHATSAPP_GRAPH_URL=f"http://127.0.0.1:{GRAPH_PORT}",
                              HANDOFF_SEND_LEASE_SECONDS="5", HANDOFF_WATCH_INTERVAL="1") as srv:
        yield srv


def _whatsapp_handoff(server: HandoffServer) -> dict:
    cid = f"3465{uuid.uuid4().int % 10**7:07d}"
    return {"conversation_id": cid, **server.create_handoff(
        cid, channel="whatsapp",
        customer={"vip": False, "name": "Marta Ruiz", "phone": "+34 655 101 202"},
        transcript=[{"role": "user", "text": "¿Me ayudas con el cambio de talla?",
                     "ts": time.time() - 60}])}


def _claim(page, server: HandoffServer, created: dict) -> None:
    login(page, server)
    page.locator(f'#queue-list li[data-id="{created["id"]}"]').get_by_role(
        "button", name="Atender").click()
    expect(page.locator("#reply-text")).to_be_visible()


def test_failed_reply_is_shown_translated_and_resent_once(server: HandoffServer, new_page):
    created = _whatsapp_handoff(server)
    page = new_page()
    _claim(page, server, created)

    page.fill("#reply-text", "Hola Marta, te cambio la talla ahora mismo.")
    page.get_by_role("button", name="Enviar", exact=True).click()  # nobody answers for Graph
    expect(page.locator("#toast")).to_contain_text("Tu mensaje no llegó al cliente")
    failed = page.locator("#conversation .msg.agent.failed")
    expect(failed).to_contain_text("Hola Marta, te cambio la talla ahora mismo.")
    note = failed.locator(".delivery-failed")
    expect(note).to_contain_text("No se entregó: no se pudo conectar con WhatsApp")
    assert "whatsapp_unreachable" in note.get_attribute("title")  # the channel's words, for support
    expect(note.get_by_role("button", name="Reenviar")).to_be_visible()
    expect(page.locator("#reply-text")).to_have_value("")  # not left there to be sent twice

    page.select_option("#lang-select", "en")  # the agent's language, from the same catalogue
    expect(note).to_contain_text("Not delivered: could not connect to WhatsApp")
    resend = note.get_by_role("button", name="Resend")
    expect(resend).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "console_reply_failed_resend.png"))

    with graph_back() as received:
        resend.dblclick()  # a double click: one send
        expect(page.locator("#toast")).to_contain_text("Message resent.")
        expect(page.locator("#conversation .msg.agent.failed")).to_have_count(0)
        expect(page.locator("#conversation .msg.agent").last).to_contain_text("Hola Marta")
        with server.agent("leo") as api:
            messages = [m for m in api.get(f"/api/handoffs/{created['id']}").json()["messages"]
                        if m["role"] == "agent"]
            # a late second click posts the same client id: answered from the row, not sent
            again = api.post(f"/api/handoffs/{created['id']}/messages",
                             json={"text": messages[0]["text"],
                                   "client_id": messages[0]["message_id"]})
            assert again.status_code == 200, again.text
    assert len(messages) == 1 and messages[0]["delivery"] == "sent"
    assert [m["text"]["body"] for m in received] == ["Hola Marta, te cambio la talla ahora mismo."]
    assert page.errors == []


def test_an_interrupted_send_appears_live_with_a_resend_button(server: HandoffServer, new_page):
    """A process killed between claiming a send and the channel's answer leaves the row
    "sending"; after the lease the follow-up pass marks it failed and pushes it to the console,
    which shows it without a reload. The row is written as the killed process leaves it."""
    created = _whatsapp_handoff(server)
    page = new_page()
    _claim(page, server, created)
    expect(page.locator("#live")).to_have_text(re.compile("En directo"))

    engine = create_engine(f"sqlite:///{server.data_dir / 'handoff.db'}")
    cut = datetime.now(UTC) - timedelta(minutes=2)
    with Session(engine) as session:
        session.add(Message(handoff_id=created["id"], conversation_id=created["conversation_id"],
                            message_id=f"c-{uuid.uuid4().hex}", role="agent",
                            text="Te escribo en cuanto lo tenga.", channel="whatsapp", ts=cut,
                            created_at=cut, delivery="sending", send_claimed_at=cut))
        session.commit()
    engine.dispose()

    failed = page.locator("#conversation .msg.agent.failed")
    expect(failed).to_contain_text("Te escribo en cuanto lo tenga.")
    expect(failed.locator(".delivery-failed")).to_contain_text(
        "el envío se cortó (el servidor se detuvo)")
    with graph_back() as received:
        failed.get_by_role("button", name="Reenviar").click()
        expect(page.locator("#toast")).to_contain_text("Mensaje reenviado.")
        expect(page.locator("#conversation .msg.agent.failed")).to_have_count(0)
    assert [m["text"]["body"] for m in received] == ["Te escribo en cuanto lo tenga."]
    assert page.errors == []


def test_every_reason_code_has_es_and_en_text(server: HandoffServer, new_page):
    page = new_page()
    page.goto(f"{server.url}/console/")
    keys = page.evaluate("""async () => {
        const { STRINGS } = await import('/console/i18n.js');
        return [Object.keys(STRINGS.es.deliveryReasons), Object.keys(STRINGS.en.deliveryReasons)];
    }""")
    codes = sorted({code for code, _ in FAILURE_REASONS} | {"other"})
    assert [sorted(k) for k in keys] == [codes, codes]
