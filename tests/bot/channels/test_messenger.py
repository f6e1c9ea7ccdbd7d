"""Messenger connector through HTTP with a local fake Graph API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.messenger import MessengerInput
from bot.channels.meta import MetaStateStore, sign
from bot.handoff_gate import HandoffGate
from tests.bot.channels.harness import FakeAgent, Recorder, SanicHarness, load_fixture

SECRET = "ms-app-secret"
VERIFY = "ms-verify"
HOOK = "/webhooks/messenger/webhook"
PSID = "6543210987654321"


@pytest.fixture
def channel(graph: Recorder, tmp_path: Path) -> MessengerInput:
    return MessengerInput(page_access_token="page-token", app_secret=SECRET,
                          verify_token=VERIFY, graph_url=graph.url,
                          state=MetaStateStore(tmp_path / "meta.db"))


@pytest.fixture
async def server(channel: MessengerInput, agent: FakeAgent,
                 gate: HandoffGate) -> AsyncIterator[SanicHarness]:
    harness = await SanicHarness([channel], agent, gate).start()
    yield harness
    await harness.stop()


async def post(server: SanicHarness, channel: MessengerInput, payload: dict) -> int:
    status, _ = await server.post_signed(HOOK, payload, SECRET)
    await channel.tasks.drain()
    return status


async def test_handshake(server: SanicHarness) -> None:
    ok = await server.request("GET", HOOK, params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "CHALLENGE_ACCEPTED"})
    bad = await server.request("GET", HOOK, params={
        "hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "x"})
    assert ok[:2] == (200, "CHALLENGE_ACCEPTED") and bad[0] == 403


async def test_signature_checks(server: SanicHarness, channel: MessengerInput,
                                agent: FakeAgent) -> None:
    raw = json.dumps(load_fixture("ms_text.json")).encode()
    tampered = raw.replace(b"hola", b"Hola")
    no_header = await server.request("POST", HOOK, data=raw)
    wrong = await server.post_signed(HOOK, None, SECRET, body=tampered,
                                     headers={"X-Hub-Signature-256": sign(raw, SECRET)})
    # the SHA-1 header alone (what Rasa's facebook connector checks) is not enough
    sha1_only = await server.request("POST", HOOK, data=raw,
                                     headers={"X-Hub-Signature": "sha1=" + "0" * 40})
    await channel.tasks.drain()
    assert (no_header[0], wrong[0], sha1_only[0]) == (401, 403, 401)
    assert agent.handled == []


async def test_text_goes_to_rasa_and_reply_to_send_api(server: SanicHarness,
                                                       channel: MessengerInput,
                                                       agent: FakeAgent,
                                                       graph: Recorder) -> None:
    assert await post(server, channel, load_fixture("ms_text.json")) == 200
    [m] = agent.handled
    assert (m.sender_id, m.input_channel, m.text) == (
        PSID, "messenger", "hola, quiero devolver unas zapatillas")
    [sent] = graph.requests
    assert sent["path"] == "/me/messages"
    assert sent["headers"]["Authorization"] == "Bearer page-token"
    assert sent["json"]["recipient"] == {"id": PSID}
    assert sent["json"]["message"]["text"] == "echo: hola, quiero devolver unas zapatillas"


async def test_retry_with_same_mid_is_answered_once(server: SanicHarness,
                                                    channel: MessengerInput,
                                                    agent: FakeAgent, graph: Recorder) -> None:
    payload = load_fixture("ms_text.json")
    await post(server, channel, payload)
    await post(server, channel, payload)
    assert len(agent.handled) == 1 and len(graph.requests) == 1


async def test_quick_reply_and_postback_send_payloads(server: SanicHarness,
                                                      channel: MessengerInput,
                                                      agent: FakeAgent) -> None:
    await post(server, channel, load_fixture("ms_quick_reply.json"))
    await post(server, channel, load_fixture("ms_postback.json"))
    assert [m.text for m in agent.handled] == ["/affirm", "/human_handoff"]


async def test_buttons_become_quick_replies(server: SanicHarness, channel: MessengerInput,
                                            agent: FakeAgent, graph: Recorder) -> None:
    agent.responder = lambda m: [{"text": "¿Cómo valoras la atención?", "buttons": [
        {"title": f"{n} estrellas de satisfacción", "payload": f'/rate{{"rating":"{n}"}}'}
        for n in range(1, 6)]}]
    await post(server, channel, load_fixture("ms_text.json"))
    message = graph.requests[0]["json"]["message"]
    assert message["text"] == "¿Cómo valoras la atención?"
    quick = message["quick_replies"]
    assert len(quick) == 5 and all(len(q["title"]) <= 20 for q in quick)
    assert quick[4]["payload"] == '/rate{"rating":"5"}'


async def test_attachment_gets_polite_reply(server: SanicHarness, channel: MessengerInput,
                                            agent: FakeAgent, graph: Recorder) -> None:
    # images, audio, video and files are downloaded and stored (test_media_in.py); a shared
    # link ("fallback") cannot be read
    payload = load_fixture("ms_attachment.json")
    payload["entry"][0]["messaging"][0]["message"]["attachments"] = [
        {"type": "fallback", "payload": {"url": "https://example.com/"}, "title": "link"}]
    await post(server, channel, payload)
    assert agent.handled == []
    assert "este tipo de mensaje" in graph.requests[0]["json"]["message"]["text"]


async def test_delivery_is_recorded_and_echo_ignored(server: SanicHarness,
                                                     channel: MessengerInput,
                                                     agent: FakeAgent, graph: Recorder) -> None:
    await post(server, channel, load_fixture("ms_delivery.json"))
    echo = load_fixture("ms_text.json")
    echo["entry"][0]["messaging"][0]["message"]["is_echo"] = True
    await post(server, channel, echo)
    assert agent.handled == [] and graph.requests == []
    assert await channel.state.statuses("messenger", "m_out_delivered_1") == [("delivery", None)]


async def test_paused_conversation_is_forwarded(server: SanicHarness, channel: MessengerInput,
                                                agent: FakeAgent, graph: Recorder,
                                                handoff_api: Recorder) -> None:
    await agent.pause(PSID)
    await post(server, channel, load_fixture("ms_text.json"))
    assert agent.handled == [] and graph.requests == []
    [req] = handoff_api.requests
    assert req["path"] == f"/api/conversations/{PSID}/messages"
    assert req["json"]["channel"] == "messenger"
    assert req["json"]["message_id"].startswith("m_")
