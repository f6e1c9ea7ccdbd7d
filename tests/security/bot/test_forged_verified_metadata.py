"""Attack: a client sends the reserved identity entry itself — REST ``metadata`` or the widget's
socket.io ``metadata``/``customData`` with ``atiende_verified: {"channel": "whatsapp",
"phone": …}`` (any capitalisation) — hoping the actions take it as proof of the phone.

Every client-facing channel drops the server's reserved ``atiende_*`` keys; only the WhatsApp
channel sets :data:`VERIFIED_KEY`, and only for a delivery whose Meta signature it checked
(positive control below, plus the unsigned one refused).
"""

from __future__ import annotations

import json

import pytest

from bot.channels.identity import VERIFIED_KEY
from tests.bot.channels.harness import FakeAgent, SanicHarness, load_fixture
from tests.bot.channels.test_web_channels import Widget
from tests.security.bot.conftest import WA_SECRET

FORGED = {"channel": "whatsapp", "phone": "+34655908172"}
HOOK = "/webhooks/whatsapp/webhook"


def forged_metadata() -> dict:
    return {"language": "es", VERIFIED_KEY: FORGED, "ATIENDE_VERIFIED": FORGED,
            "atiende_anything": "x"}


async def test_rest_metadata_cannot_claim_a_verified_phone(server: SanicHarness,
                                                           agent: FakeAgent) -> None:
    status, _, _ = await server.request("POST", "/webhooks/rest/webhook", json={
        "sender": "web-attacker", "message": "mi pedido AT101001",
        "input_channel": "whatsapp", "metadata": forged_metadata()})
    assert status == 200
    [message] = agent.handled
    assert message.input_channel == "rest"
    assert message.metadata["language"] == "es"  # ordinary metadata still passes
    assert not any(k.lower().startswith("atiende_") for k in message.metadata)


@pytest.mark.parametrize("field", ["metadata", "customData"])
async def test_widget_metadata_cannot_claim_a_verified_phone(server: SanicHarness,
                                                             agent: FakeAgent,
                                                             field: str) -> None:
    widget = Widget(server.url)
    try:
        session = await widget.connect("f" * 32)
        await widget.send(session, "mi pedido AT101001", "m-1", **{field: forged_metadata()})
        await widget.wait_acks(1)
    finally:
        await widget.client.eio.disconnect(abort=True)
    [message] = agent.handled
    assert message.input_channel == "socketio"
    assert not any(k.lower().startswith("atiende_") for k in message.metadata)


async def test_only_a_signed_whatsapp_delivery_carries_the_verified_phone(
        server: SanicHarness, agent: FakeAgent) -> None:
    payload = load_fixture("wa_text.json")
    sender = payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    status, _ = await server.post_signed(HOOK, payload, WA_SECRET)
    await server.whatsapp.tasks.drain()  # type: ignore[attr-defined]
    assert status == 200
    [message] = agent.handled
    assert message.input_channel == "whatsapp"
    assert message.metadata[VERIFIED_KEY] == {"channel": "whatsapp", "phone": f"+{sender}"}
    # the same delivery unsigned, or signed with another key, reaches nobody
    raw = json.dumps(load_fixture("wa_text.json")).encode()
    for headers in ({}, {"X-Hub-Signature-256": "sha256=" + "0" * 64}):
        status, _, _ = await server.request("POST", HOOK, data=raw, headers={
            "Content-Type": "application/json", **headers})
        assert status in (401, 403)
    await server.whatsapp.tasks.drain()  # type: ignore[attr-defined]
    assert len(agent.handled) == 1
