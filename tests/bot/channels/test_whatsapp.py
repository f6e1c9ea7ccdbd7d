"""WhatsApp connector through HTTP: Sanic serving the channel, a local fake Graph API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.channels.meta import MetaStateStore
from bot.channels.whatsapp import WhatsAppInput
from bot.handoff_gate import HandoffGate
from tests.bot.channels.harness import FakeAgent, Recorder, SanicHarness, load_fixture

SECRET = "wa-app-secret"
VERIFY = "wa-verify-token"
HOOK = "/webhooks/whatsapp/webhook"
SHOPPER = "5215512345678"


@pytest.fixture
async def channel(graph: Recorder, tmp_path: Path) -> WhatsAppInput:
    return WhatsAppInput(access_token="wa-access", app_secret=SECRET, verify_token=VERIFY,
                         phone_number_id="106540352242922", graph_url=graph.url,
                         state=MetaStateStore(tmp_path / "meta.db"))


@pytest.fixture
async def server(channel: WhatsAppInput, agent: FakeAgent,
                 gate: HandoffGate) -> AsyncIterator[SanicHarness]:
    harness = await SanicHarness([channel], agent, gate).start()
    yield harness
    await harness.stop()


async def post(server: SanicHarness, channel: WhatsAppInput, payload: dict) -> int:
    status, _ = await server.post_signed(HOOK, payload, SECRET)
    await channel.tasks.drain()
    return status


# --- handshake and authentication ---------------------------------------------------------

async def test_handshake_echoes_challenge_with_right_token(server: SanicHarness) -> None:
    status, text, _ = await server.request("GET", HOOK, params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"})
    assert (status, text) == (200, "1158201444")


async def test_handshake_refused_with_wrong_token(server: SanicHarness) -> None:
    status, text, _ = await server.request("GET", HOOK, params={
        "hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1158201444"})
    assert status == 403 and "1158201444" not in text


async def test_valid_signature_is_accepted(server: SanicHarness, channel: WhatsAppInput,
                                           agent: FakeAgent) -> None:
    assert await post(server, channel, load_fixture("wa_text.json")) == 200
    assert [m.text for m in agent.handled] == ["Hola, ¿dónde está mi pedido AT100234?"]


async def test_missing_signature_is_401_and_nothing_processed(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent) -> None:
    raw = json.dumps(load_fixture("wa_text.json")).encode()
    status, _, _ = await server.request("POST", HOOK, data=raw,
                                        headers={"Content-Type": "application/json"})
    await channel.tasks.drain()
    assert status == 401 and agent.handled == []


async def test_one_byte_change_of_the_body_is_403(server: SanicHarness, channel: WhatsAppInput,
                                                  agent: FakeAgent) -> None:
    raw = json.dumps(load_fixture("wa_text.json")).encode()
    from bot.channels.meta import sign
    tampered = raw.replace(b"AT100234", b"AT100235")
    assert len(tampered) == len(raw) and tampered != raw
    status, _ = await server.post_signed(HOOK, None, SECRET, body=tampered,
                                         headers={"X-Hub-Signature-256": sign(raw, SECRET)})
    await channel.tasks.drain()
    assert status == 403 and agent.handled == []


async def test_signature_with_another_secret_is_403(server: SanicHarness,
                                                    agent: FakeAgent) -> None:
    status, _ = await server.post_signed(HOOK, load_fixture("wa_text.json"), "other-secret")
    assert status == 403 and agent.handled == []


async def test_malformed_json_is_400(server: SanicHarness) -> None:
    status, _ = await server.post_signed(HOOK, None, SECRET, body=b'{"object": "whats')
    assert status == 400


async def test_oversized_body_is_413(server: SanicHarness, agent: FakeAgent) -> None:
    payload = load_fixture("wa_text.json")
    payload["padding"] = "x" * (300 * 1024)
    status, _ = await server.post_signed(HOOK, payload, SECRET)
    assert status == 413 and agent.handled == []


async def test_unconfigured_channel_refuses_webhooks_with_503(agent: FakeAgent,
                                                               tmp_path: Path) -> None:
    channel = WhatsAppInput(state=MetaStateStore(tmp_path / "m.db"))  # nothing configured
    harness = await SanicHarness([channel], agent).start()
    try:
        status, text = await harness.post_signed(HOOK, load_fixture("wa_text.json"), "")
        assert status == 503 and "not configured" in text
        status, text, _ = await harness.request("GET", HOOK, params={
            "hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})
        assert status == 503
    finally:
        await harness.stop()


# --- messages -----------------------------------------------------------------------------

async def test_text_reaches_rasa_with_phone_and_reply_goes_to_graph(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent,
        graph: Recorder) -> None:
    await post(server, channel, load_fixture("wa_text.json"))
    [message] = agent.handled
    assert message.sender_id == SHOPPER and message.input_channel == "whatsapp"
    assert message.metadata["phone"] == "+5215512345678"
    assert message.metadata["whatsapp_name"] == "Lucía Pérez"
    [sent] = graph.requests
    assert sent["path"] == "/106540352242922/messages"
    assert sent["headers"]["Authorization"] == "Bearer wa-access"
    assert sent["json"]["to"] == SHOPPER
    assert sent["json"]["text"]["body"] == "echo: Hola, ¿dónde está mi pedido AT100234?"


async def test_meta_retry_of_the_same_message_is_answered_once(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent,
        graph: Recorder) -> None:
    payload = load_fixture("wa_text.json")
    assert await post(server, channel, payload) == 200
    assert await post(server, channel, payload) == 200  # Meta retries with the same wamid
    assert len(agent.handled) == 1 and len(graph.requests) == 1


async def test_dedup_survives_a_restart(graph: Recorder, agent: FakeAgent, gate: HandoffGate,
                                        tmp_path: Path) -> None:
    payload = load_fixture("wa_text.json")
    for _ in range(2):  # two server lifetimes sharing the same state file
        channel = WhatsAppInput(access_token="a", app_secret=SECRET, verify_token=VERIFY,
                                phone_number_id="1", graph_url=graph.url,
                                state=MetaStateStore(tmp_path / "shared.db"))
        harness = await SanicHarness([channel], agent, gate).start()
        try:
            await post(harness, channel, payload)
        finally:
            await harness.stop()
    assert len(agent.handled) == 1


async def test_button_and_list_replies_send_the_payload(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent) -> None:
    await post(server, channel, load_fixture("wa_button_reply.json"))
    await post(server, channel, load_fixture("wa_list_reply.json"))
    assert [m.text for m in agent.handled] == [
        '/rate{"rating":"4"}', '/faq{"kb_article":"return-policy"}']


async def test_acknowledges_before_a_slow_model_turn(server: SanicHarness,
                                                     channel: WhatsAppInput,
                                                     agent: FakeAgent, graph: Recorder) -> None:
    """The 200 comes while the turn is still running: the turn is held until the webhook has
    been answered, so a channel that answered only after the turn would never answer."""
    release = asyncio.Event()
    handle = agent.handle_message

    async def held_turn(message: Any) -> None:
        await release.wait()
        await handle(message)

    agent.handle_message = held_turn  # type: ignore[method-assign]
    try:
        status, text = await asyncio.wait_for(
            server.post_signed(HOOK, load_fixture("wa_text.json"), SECRET), timeout=30)
    except asyncio.TimeoutError:
        pytest.fail("the webhook was not acknowledged while the model turn was still running")
    finally:
        release.set()
    assert status == 200
    assert graph.requests == []  # the reply was still being computed at the 200
    await channel.tasks.drain()
    assert len(graph.requests) == 1


async def test_sticker_gets_a_polite_spanish_reply_and_skips_rasa(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent,
        graph: Recorder) -> None:
    # images, documents, audio and video are downloaded and stored: tests/bot/channels/
    # test_media_in.py; a sticker is not evidence and gets the text-only reply
    await post(server, channel, load_fixture("wa_sticker.json"))
    assert agent.handled == []
    [request] = graph.requests
    body = request["json"]["text"]["body"]
    assert "solo puedo leer mensajes de texto" in body and "stickers" in body


async def test_location_from_a_us_number_gets_an_english_reply(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent,
        graph: Recorder) -> None:
    await post(server, channel, load_fixture("wa_location.json"))
    assert agent.handled == []
    assert graph.requests[0]["json"]["to"] == "16315551181"
    assert "I can only read text messages" in graph.requests[0]["json"]["text"]["body"]


async def test_unsupported_reply_follows_the_conversation_language(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent,
        graph: Recorder) -> None:
    await agent.set_language(SHOPPER, "en")
    await post(server, channel, load_fixture("wa_sticker.json"))  # Mexican number, English talk
    assert "I can't open stickers" in graph.requests[0]["json"]["text"]["body"]


async def test_status_callbacks_are_recorded(server: SanicHarness, channel: WhatsAppInput,
                                             agent: FakeAgent, graph: Recorder) -> None:
    assert await post(server, channel, load_fixture("wa_statuses.json")) == 200
    assert agent.handled == [] and graph.requests == []
    first = "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEjdGQzQ2MjA0RkYxMkQ5MEIxNwA="
    failed = "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEkI0NjJBMDRGRjEyRDkwQjE4AA=="
    assert [s for s, _ in await channel.state.statuses("whatsapp", first)] == [
        "delivered", "read"]
    [(status, error)] = await channel.state.statuses("whatsapp", failed)
    assert status == "failed" and "131047" in (error or "")


# --- outgoing rendering -------------------------------------------------------------------

async def test_three_buttons_render_as_interactive_buttons(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent,
        graph: Recorder) -> None:
    agent.responder = lambda m: [{"text": "¿Te ayudó?", "buttons": [
        {"title": "Sí", "payload": '/kb_feedback{"helpful":"yes"}'},
        {"title": "No", "payload": '/kb_feedback{"helpful":"no"}'},
        {"title": "Hablar con una persona ahora", "payload": "/human_handoff"}]}]
    await post(server, channel, load_fixture("wa_text.json"))
    [sent] = graph.bodies()
    interactive = sent["interactive"]
    assert sent["type"] == "interactive" and interactive["type"] == "button"
    buttons = interactive["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons][0] == '/kb_feedback{"helpful":"yes"}'
    assert all(len(b["reply"]["title"]) <= 20 for b in buttons)


async def test_five_buttons_render_as_a_list(server: SanicHarness, channel: WhatsAppInput,
                                             agent: FakeAgent, graph: Recorder) -> None:
    agent.responder = lambda m: [{"text": "Valora la atención", "buttons": [
        {"title": f"{n} - valoración muy detallada", "payload": f'/rate{{"rating":"{n}"}}'}
        for n in range(1, 6)]}]
    await post(server, channel, load_fixture("wa_text.json"))
    [sent] = graph.bodies()
    assert sent["interactive"]["type"] == "list"
    rows = sent["interactive"]["action"]["sections"][0]["rows"]
    assert len(rows) == 5 and all(len(r["title"]) <= 24 for r in rows)
    assert rows[3]["id"] == '/rate{"rating":"4"}'
    assert rows[0]["description"] == "1 - valoración muy detallada"  # full title kept


async def test_long_text_is_split_under_4096(server: SanicHarness, channel: WhatsAppInput,
                                             agent: FakeAgent, graph: Recorder) -> None:
    paragraph = "Nuestra política de devoluciones permite devolver artículos. " * 40
    agent.responder = lambda m: [{"text": "\n\n".join([paragraph] * 4)}]
    await post(server, channel, load_fixture("wa_text.json"))
    bodies = [b["text"]["body"] for b in graph.bodies()]
    assert len(bodies) >= 3 and all(len(b) <= 4096 for b in bodies)
    assert "".join(bodies).count("Nuestra") == 160  # nothing dropped


# --- 24-hour window -----------------------------------------------------------------------

async def test_no_send_outside_the_24h_window(channel: WhatsAppInput, graph: Recorder) -> None:
    await channel.state.record_inbound("whatsapp", SHOPPER, time.time() - 25 * 3600)
    await channel.output().send_text_message(SHOPPER, "¿Sigues ahí?")
    assert graph.requests == []
    await channel.state.record_inbound("whatsapp", SHOPPER, time.time() - 60)
    await channel.output().send_text_message(SHOPPER, "¿Sigues ahí?")
    assert len(graph.requests) == 1


async def test_inbound_message_opens_the_window(server: SanicHarness, channel: WhatsAppInput
                                                ) -> None:
    assert not await channel.state.window_open("whatsapp", SHOPPER)
    await post(server, channel, load_fixture("wa_text.json"))
    assert await channel.state.window_open("whatsapp", SHOPPER)


# --- hand-off gate ------------------------------------------------------------------------

async def test_paused_conversation_goes_to_the_handoff_api_not_rasa(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent, graph: Recorder,
        handoff_api: Recorder) -> None:
    await agent.pause(SHOPPER)
    await post(server, channel, load_fixture("wa_text.json"))
    assert agent.handled == [] and graph.requests == []
    [forwarded] = handoff_api.requests
    assert forwarded["path"] == f"/api/conversations/{SHOPPER}/messages"
    assert forwarded["json"]["channel"] == "whatsapp"
    assert forwarded["json"]["message_id"].startswith("wamid.")


async def test_sticker_during_handoff_is_flagged_to_the_agent(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent, graph: Recorder,
        handoff_api: Recorder) -> None:
    await agent.pause(SHOPPER)
    await post(server, channel, load_fixture("wa_sticker.json"))
    assert graph.requests == [] and agent.handled == []
    assert handoff_api.requests[0]["json"]["text"] == "[sticker]"


async def test_different_shoppers_are_processed_concurrently(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent) -> None:
    """Each shopper's turn waits until the other shopper's turn has started: with the two
    processed one after the other the first would wait for nothing (no wall-clock figure)."""
    first, second = load_fixture("wa_text.json"), load_fixture("wa_text.json")
    other = second["entry"][0]["changes"][0]["value"]["messages"][0]
    other.update({"from": "34600111222", "id": "wamid.other.shopper"})
    in_flight: set[str] = set()
    both_started = asyncio.Event()
    overlapped: list[bool] = []
    handle = agent.handle_message

    async def handle_together(message: Any) -> None:
        in_flight.add(message.sender_id)
        if len(in_flight) == 2:
            both_started.set()
        try:
            await asyncio.wait_for(both_started.wait(), timeout=15)
            overlapped.append(True)
        except asyncio.TimeoutError:
            overlapped.append(False)
        await handle(message)

    agent.handle_message = handle_together  # type: ignore[method-assign]
    results = await asyncio.gather(server.post_signed(HOOK, first, SECRET),
                                   server.post_signed(HOOK, second, SECRET))
    await channel.tasks.drain()
    assert [s for s, _ in results] == [200, 200]
    assert {m.sender_id for m in agent.handled} == {SHOPPER, "34600111222"}
    assert overlapped == [True, True], "the two shoppers' turns were processed one at a time"


async def test_messages_of_one_shopper_are_answered_in_order(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent,
        graph: Recorder) -> None:
    first, second = load_fixture("wa_text.json"), load_fixture("wa_button_reply.json")
    agent.delays = {"Hola, ¿dónde está mi pedido AT100234?": 0.6}  # a slow first turn
    await server.post_signed(HOOK, first, SECRET)
    await server.post_signed(HOOK, second, SECRET)
    await channel.tasks.drain()
    assert [b["text"]["body"] for b in graph.bodies()] == [
        "echo: Hola, ¿dónde está mi pedido AT100234?", 'echo: /rate{"rating":"4"}']


# --- order notices: the template's "stop" button ------------------------------------------------

async def test_the_stop_button_of_an_order_notice_opts_out_and_confirms(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent, graph: Recorder,
        handoff_api: Recorder) -> None:
    """A quick-reply tap on an order-notice template (Meta sends type "button" with the
    payload): the handoff API records the opt-out for this number, the shopper is told, and the
    tap never reaches Rasa."""
    handoff_api.status = 200
    assert await post(server, channel, load_fixture("wa_template_stop.json")) == 200
    [call] = [r for r in handoff_api.requests if r["path"] == "/api/notifications/opt-out"]
    assert call["json"] == {"phone": SHOPPER, "source": "whatsapp"}
    assert call["headers"]["Authorization"] == "Bearer bot-token"
    assert agent.handled == []
    [reply] = graph.bodies("/messages")
    assert reply["to"] == SHOPPER and "no te enviaremos más avisos" in reply["text"]["body"]


async def test_the_stop_button_says_so_when_the_opt_out_could_not_be_recorded(
        server: SanicHarness, channel: WhatsAppInput, agent: FakeAgent, graph: Recorder,
        handoff_api: Recorder) -> None:
    handoff_api.status = 503
    await post(server, channel, load_fixture("wa_template_stop.json"))
    [reply] = graph.bodies("/messages")
    assert "no he podido darte de baja" in reply["text"]["body"] and agent.handled == []
