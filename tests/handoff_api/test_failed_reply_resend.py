"""An agent reply that did not reach the shopper: the console shows it failed, with a reason code
it translates (``delivery_reason``), and its "Resend" button posts the same ``client_id`` again,
which sends it once however many times it is pressed (real SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from handoff_api.app import create_app
from handoff_api.delivery_status import failure_reason
from handoff_api.followup_worker import INTERRUPTED
from handoff_api.models import Message
from handoff_api.relay import DeliveryResult, RelayRegistry, RelayTarget
from handoff_api.relay.messenger import WINDOW_CLOSED as MESSENGER_WINDOW
from handoff_api.relay.whatsapp import WINDOW_CLOSED as WHATSAPP_WINDOW
from handoff_api.relay.whatsapp import WhatsAppRelay
from tests.handoff_api.conftest import BOT, add_agent, login, make_settings, packet


class FlakyRelay:
    """Fails like an unreachable channel while ``down``; counts what it really sends."""

    def __init__(self) -> None:
        self.down = True
        self.sent: list[str] = []

    async def send_text(self, conversation: Any, text: str) -> DeliveryResult:
        await asyncio.sleep(0.2)  # long enough for concurrent resends to overlap
        if self.down:
            return DeliveryResult.refused("whatsapp_unreachable: ConnectError", retryable=True)
        self.sent.append(text)
        return DeliveryResult.delivered("wamid.1")


def _claimed(client: TestClient, app: Any, cid: str) -> tuple[int, dict]:
    add_agent(app, "leo")
    headers = login(client, "leo")
    hid = client.post("/api/handoffs", json=packet(cid), headers=BOT).json()["id"]
    assert client.post(f"/api/handoffs/{hid}/claim", headers=headers).status_code == 200
    return hid, headers


def _message(client: TestClient, hid: int, headers: dict, client_id: str) -> dict:
    found = [m for m in client.get(f"/api/handoffs/{hid}", headers=headers).json()["messages"]
             if m["message_id"] == client_id]
    assert len(found) == 1, found
    return found[0]


def test_a_failed_reply_shows_its_reason_and_resending_it_reaches_the_shopper_once(database_url):
    relay = FlakyRelay()
    app = create_app(make_settings(database_url), relay_overrides={"rest": relay})
    with TestClient(app) as client:
        hid, leo = _claimed(client, app, "resend-1")
        first = client.post(f"/api/handoffs/{hid}/messages", headers=leo,
                            json={"text": "Ya lo tengo", "client_id": "c-flaky"})
        assert first.status_code == 409 and "whatsapp_unreachable" in first.json()["detail"]
        failed = _message(client, hid, leo, "c-flaky")
        assert failed["delivery"] == "failed" and failed["delivery_reason"] == "unreachable"

        # the console's Resend while the channel is still down: refused again, still failed
        again = client.post(f"/api/handoffs/{hid}/messages", headers=leo,
                            json={"text": "Ya lo tengo", "client_id": "c-flaky"})
        assert again.status_code == 409
        assert _message(client, hid, leo, "c-flaky")["delivery_reason"] == "unreachable"
        assert relay.sent == []

        relay.down = False  # the channel is back: four clicks at once (two tabs, a double click)
        barrier = threading.Barrier(4)
        codes: list[int] = []

        def press_resend() -> None:
            barrier.wait(timeout=30)
            codes.append(client.post(f"/api/handoffs/{hid}/messages", headers=leo,
                                     json={"text": "Ya lo tengo", "client_id": "c-flaky"})
                         .status_code)

        threads = [threading.Thread(target=press_resend) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert relay.sent == ["Ya lo tengo"]
        assert sorted(codes) == [200, 200, 200, 201], codes
        sent = _message(client, hid, leo, "c-flaky")
        assert sent["delivery"] == "sent" and sent["delivery_reason"] is None
        assert sent["delivery_error"] is None
        # pressed once more later (a stale page): answered from the row, not sent again
        late = client.post(f"/api/handoffs/{hid}/messages", headers=leo,
                           json={"text": "Ya lo tengo", "client_id": "c-flaky"})
        assert late.status_code == 200 and relay.sent == ["Ya lo tengo"]


def test_an_interrupted_send_is_reported_with_its_reason_code(database_url):
    relay = FlakyRelay()
    relay.down = False
    app = create_app(make_settings(database_url), relay_overrides={"rest": relay})
    with TestClient(app) as client:
        hid, leo = _claimed(client, app, "resend-2")
        services = app.state.services
        old = datetime.now(UTC) - timedelta(seconds=services.settings.send_lease_seconds + 5)
        with services.write_sessions()() as s:  # what a process killed mid-send leaves
            s.add(Message(handoff_id=hid, conversation_id="resend-2", message_id="c-cut",
                          role="agent", text="Te escribo ahora", channel="rest", ts=old,
                          created_at=old, delivery="sending", send_claimed_at=old))
            s.commit()
        events: list[dict] = []
        services.broker.publish = lambda topic, kind, data: events.append(data)  # type: ignore
        asyncio.run(services.followups.pass_once())
        assert [e["message"]["delivery_reason"] for e in events] == ["interrupted"]
        assert _message(client, hid, leo, "c-cut")["delivery_reason"] == "interrupted"
        r = client.post(f"/api/handoffs/{hid}/messages", headers=leo,
                        json={"text": "Te escribo ahora", "client_id": "c-cut"})
        assert r.status_code == 201 and relay.sent == ["Te escribo ahora"]


def _whatsapp_reason(handler: Any, *, configured: bool = True, hours_ago: float = 1) -> str:
    """The reason the real WhatsApp relay gives, its Graph API answered by ``handler``."""
    relay = WhatsAppRelay(access_token="t" if configured else "", phone_number_id="1",
                          graph_url="http://graph.invalid")
    relay._client = httpx.AsyncClient(transport=httpx.MockTransport(handler))  # noqa: SLF001
    target = RelayTarget(conversation_id="34600000000", channel="whatsapp",
                         last_shopper_message_at=datetime.now(UTC) - timedelta(hours=hours_ago))
    result = asyncio.run(relay.send_text(target, "hola"))
    assert not result.ok and result.reason
    return result.reason


def _down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


@pytest.mark.parametrize("relay_says,code", [
    (lambda: _whatsapp_reason(_down), "unreachable"),
    (lambda: _whatsapp_reason(_down, hours_ago=30), "window_closed"),
    (lambda: _whatsapp_reason(_down, configured=False), "not_configured"),
    (lambda: _whatsapp_reason(lambda r: httpx.Response(
        400, json={"error": {"code": 131009, "message": "Parameter value is not valid"}})),
     "refused"),
    (lambda: _whatsapp_reason(lambda r: httpx.Response(
        400, json={"error": {"code": 131047, "message": "Re-engagement message"}})),
     "window_closed"),
    (lambda: asyncio.run(RelayRegistry(None, {}).send_text(  # type: ignore[arg-type]
        RelayTarget(conversation_id="x", channel="telegram"), "hola")).reason,
     "not_configured"),
])
def test_the_real_relays_reasons_get_their_code(relay_says, code):
    assert failure_reason(relay_says()) == code


@pytest.mark.parametrize("reason,code", [
    (INTERRUPTED, "interrupted"),
    (f"{WHATSAPP_WINDOW}: the shopper's last message was more than 24 hours ago", "window_closed"),
    (f"{MESSENGER_WINDOW}: the shopper's last message is outside Messenger's window",
     "window_closed"),
    ("whatsapp_unreachable: ConnectError", "unreachable"),
    ("messenger_unreachable: ReadTimeout", "unreachable"),
    ("whatsapp_not_configured: set WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID",
     "not_configured"),
    ("No relay is configured for channel 'telegram'", "not_configured"),
    ("Files cannot be sent on channel 'rest'", "unsupported"),
    ("whatsapp_error: HTTP 400 (131009: Parameter value is not valid)", "refused"),
    ("e-mail: SMTPServerDisconnected", "email"),
    ("Delivery through rest failed: boom", "other"),
    (None, "other"),
])
def test_reason_codes_of_the_channels_reasons(reason, code):
    assert failure_reason(reason) == code
