"""Issue #17 on the channels, through HTTP (Sanic serving the real connectors, signed Meta
payloads, a Graph API stand-in and a handoff API stand-in that record what they get):

* a reply typed on the WhatsApp Business app (``smb_message_echoes``) or the page's inbox
  (Messenger ``is_echo`` from another app) opens an ``answered_from_phone`` handoff and pauses the
  bot; the shopper's next message goes to the console, not to Rasa; our own echoes change nothing;
  with the handoff API down the echo stays in the inbox and is retried;
* delivery statuses (and Messenger's read watermark) are forwarded to the handoff API;
* menus: 4–10 options are a WhatsApp list; only when Meta refuses it the menu goes as numbered
  text, and "2" is the second option's payload; Messenger takes up to 13 quick replies;
* the rating request outside the 24-hour window goes as the approved ``csat`` template, in the
  shopper's language; bot messages on Messenger never carry a message tag.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.channels.messenger import MessengerInput
from bot.channels.meta import MetaStateStore
from bot.channels.whatsapp import WhatsAppInput
from bot.handoff_client import HandoffApiClient
from bot.handoff_gate import HandoffGate, get_gate
from bot.outbox import Outbox
from tests.bot.channels.harness import FakeAgent, Recorder, SanicHarness, load_fixture

WA_SECRET, MS_SECRET = "wa-app-secret", "ms-app-secret"
WA_HOOK, MS_HOOK = "/webhooks/whatsapp/webhook", "/webhooks/messenger/webhook"
SHOPPER, PSID = "5215512345678", "6543210987654321"
RATING = [{"title": f"{n} · x", "payload": f'/rate{{"rating":"{n}"}}'} for n in range(1, 6)]
MENU = [{"title": t, "payload": f"/choose{{\"topic\":\"{i}\"}}"} for i, t in enumerate(
    ["Dónde está mi pedido", "Devolver un artículo", "Reembolsos y plazos",
     "Cambiar la dirección de envío", "Hablar con una persona"], start=1)]


class PickyGraph(Recorder):
    """A Graph API stand-in that refuses interactive messages the way Meta refuses a message
    type the number cannot send (HTTP 400, code 131009), and accepts everything else."""

    def __init__(self, refuse: str = "interactive") -> None:
        super().__init__()
        self.refuse = refuse

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body = __import__("json").loads(raw) if raw else None
        self.requests.append({"method": request.method, "path": request.path,
                              "headers": dict(request.headers), "json": body})
        refused = isinstance(body, dict) and (
            body.get("type") == self.refuse
            or self.refuse in (body.get("message") or {}))
        if refused:
            return web.json_response({"error": {
                "message": "(#131009) Parameter value is not valid", "type": "OAuthException",
                "code": 131009, "error_data": {"messaging_product": "whatsapp",
                                               "details": "interactive not allowed"}}},
                status=400)
        return web.json_response({"messages": [{"id": f"wamid.out.{len(self.requests)}"}],
                                  "message_id": f"m_out_{len(self.requests)}"})


@pytest.fixture
def wa(graph: Recorder, tmp_path: Path) -> WhatsAppInput:
    return WhatsAppInput(access_token="wa-access", app_secret=WA_SECRET, verify_token="v",
                         phone_number_id="106540352242922", graph_url=graph.url,
                         state=MetaStateStore(tmp_path / "meta.db"))


@pytest.fixture
def ms(graph: Recorder, tmp_path: Path) -> MessengerInput:
    return MessengerInput(page_access_token="page-token", app_secret=MS_SECRET, verify_token="v",
                          graph_url=graph.url, state=MetaStateStore(tmp_path / "meta.db"),
                          app_id="1517776481860111")


@pytest.fixture
async def server(wa: WhatsAppInput, ms: MessengerInput, agent: FakeAgent,
                 gate: HandoffGate) -> AsyncIterator[SanicHarness]:
    harness = await SanicHarness([wa, ms], agent, gate).start()
    yield harness
    await harness.stop()


async def post(server: SanicHarness, channel: Any, hook: str, secret: str,
               payload: dict) -> int:
    status, _ = await server.post_signed(hook, payload, secret)
    await channel.tasks.drain()
    return status


def api_calls(handoff_api: Recorder, tail: str) -> list[Any]:
    return [r["json"] for r in handoff_api.requests if r["path"].endswith(tail)]


async def paused(agent: FakeAgent, sender: str) -> bool:
    tracker = await agent.tracker_store.retrieve(sender)
    return bool(tracker is not None and tracker.is_paused())


# --- coexistence ----------------------------------------------------------------------------------

async def test_a_reply_from_the_business_app_silences_the_bot(
        server: SanicHarness, wa: WhatsAppInput, agent: FakeAgent, graph: Recorder,
        handoff_api: Recorder) -> None:
    await post(server, wa, WA_HOOK, WA_SECRET, load_fixture("wa_text.json"))
    assert len(agent.handled) == 1 and len(graph.requests) == 1  # the bot answered

    await agent.set_language(SHOPPER, "es")  # the stored conversation (the fake agent keeps none)
    await post(server, wa, WA_HOOK, WA_SECRET, load_fixture("wa_echo.json"))
    [echo] = api_calls(handoff_api, f"/api/conversations/{SHOPPER}/echoes")
    assert echo["channel"] == "whatsapp" and echo["language"] == "es"
    assert echo["message_id"] == "wamid.HBgNNTIxNTUxMjM0NTY3OBUCABEYEkVDSE8xMjM0NTY3ODkwQUIA"
    assert echo["text"].startswith("Hola Lucía, soy Marta de la tienda")
    assert [(t["role"], t["text"]) for t in echo["transcript"]] == [("user", "hello")]
    assert await paused(agent, SHOPPER)

    # the shopper answers the person: the console gets it, the bot says nothing
    later = load_fixture("wa_text.json")
    later["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.after.echo"
    await post(server, wa, WA_HOOK, WA_SECRET, later)
    assert len(agent.handled) == 1 and len(graph.requests) == 1
    assert [b["message_id"] for b in api_calls(handoff_api, f"{SHOPPER}/messages")] == [
        "wamid.after.echo"]

    # Meta retries the echo: handled once
    await post(server, wa, WA_HOOK, WA_SECRET, load_fixture("wa_echo.json"))
    assert len(api_calls(handoff_api, "/echoes")) == 1


async def test_an_echo_is_kept_and_retried_while_the_handoff_api_is_down(
        wa: WhatsAppInput, agent: FakeAgent, tmp_path: Path) -> None:
    down = await Recorder(status=503, answer=lambda r, b: {"detail": "down"}).start()
    gate = HandoffGate(HandoffApiClient(down.url, "bot-token"),
                       Outbox(tmp_path / "o.db", base_delay=0.05, max_delay=0.2),
                       poll_interval=0.1)
    harness = await SanicHarness([wa], agent, gate).start()
    try:
        await post(harness, wa, WA_HOOK, WA_SECRET, load_fixture("wa_echo.json"))
        assert not await paused(agent, SHOPPER)  # not paused without a handoff to show it in
        ledger = get_gate(harness.app).ledger
        assert ledger.inbox_counts().get("pending") == 1  # the delivery is not lost
        down.status = 201
        down.answer = lambda r, b: {"handoff_id": 1}
        deadline = time.monotonic() + 30
        while not await paused(agent, SHOPPER) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)  # the inbox sweep retries it
            await wa.tasks.drain()
        assert await paused(agent, SHOPPER)
        assert ledger.inbox_counts().get("pending", 0) == 0
        assert len([r for r in down.requests if r["path"].endswith("/echoes")]) >= 2
    finally:
        await harness.stop()
        await gate.close()
        await down.stop()


async def test_messenger_inbox_reply_pauses_but_our_own_echo_does_not(
        server: SanicHarness, ms: MessengerInput, agent: FakeAgent,
        handoff_api: Recorder) -> None:
    await post(server, ms, MS_HOOK, MS_SECRET, load_fixture("ms_echo_ours.json"))
    assert api_calls(handoff_api, "/echoes") == [] and not await paused(agent, PSID)
    await post(server, ms, MS_HOOK, MS_SECRET, load_fixture("ms_echo_inbox.json"))
    [echo] = api_calls(handoff_api, f"/api/conversations/{PSID}/echoes")
    assert echo["channel"] == "messenger" and echo["message_id"] == "m_ECHO_inbox_1a2b3c"
    assert echo["text"].startswith("Hi Emma, Tom from the shop")
    assert await paused(agent, PSID)
    await post(server, ms, MS_HOOK, MS_SECRET, load_fixture("ms_text.json"))
    assert agent.handled == []  # the shopper's next message is for the person


# --- statuses -------------------------------------------------------------------------------------

async def test_statuses_reach_the_handoff_api(server: SanicHarness, wa: WhatsAppInput,
                                              ms: MessengerInput, handoff_api: Recorder) -> None:
    await post(server, wa, WA_HOOK, WA_SECRET, load_fixture("wa_statuses.json"))
    [body] = api_calls(handoff_api, "/api/channel-statuses")
    assert body["channel"] == "whatsapp"
    assert [(s["status"], s["error"]) for s in body["statuses"]] == [
        ("delivered", None), ("read", None), ("failed", "131047 Re-engagement message")]
    await post(server, ms, MS_HOOK, MS_SECRET, load_fixture("ms_delivery.json"))
    await post(server, ms, MS_HOOK, MS_SECRET, load_fixture("ms_read.json"))
    delivered, read = api_calls(handoff_api, "/api/channel-statuses")[1:]
    assert delivered["statuses"] == [{"external_id": "m_out_delivered_1",
                                      "status": "delivered"}]
    assert read["read_watermark"] == {"conversation_id": PSID, "ts": 1749416425.0}


# --- menus ----------------------------------------------------------------------------------------

async def test_five_options_are_a_whatsapp_list(server: SanicHarness, wa: WhatsAppInput,
                                                agent: FakeAgent, graph: Recorder) -> None:
    agent.responder = lambda m: [{"text": "¿En qué te ayudo?", "buttons": MENU}]
    await post(server, wa, WA_HOOK, WA_SECRET, load_fixture("wa_text.json"))
    [sent] = graph.bodies()
    assert sent["type"] == "interactive" and sent["interactive"]["type"] == "list"
    rows = sent["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == [b["payload"] for b in MENU]
    assert all(len(r["title"]) <= 24 for r in rows)
    assert rows[3]["description"] == "Cambiar la dirección de envío"  # cut title kept whole


async def test_a_refused_list_goes_as_numbered_text_and_2_is_the_second_option(
        wa: WhatsAppInput, agent: FakeAgent, gate: HandoffGate, tmp_path: Path) -> None:
    picky = await PickyGraph().start()
    channel = WhatsAppInput(access_token="wa-access", app_secret=WA_SECRET, verify_token="v",
                            phone_number_id="106540352242922", graph_url=picky.url,
                            state=MetaStateStore(tmp_path / "picky.db"))
    harness = await SanicHarness([channel], agent, gate).start()
    try:
        agent.responder = lambda m: ([{"text": "¿En qué te ayudo?", "buttons": MENU}]
                                     if m.text.startswith("Hola") else [{"text": "ok"}])
        await post(harness, channel, WA_HOOK, WA_SECRET, load_fixture("wa_text.json"))
        refused, fallback = picky.bodies()
        assert refused["type"] == "interactive"
        assert fallback["type"] == "text"
        assert fallback["text"]["body"] == ("¿En qué te ayudo?\n\n1. Dónde está mi pedido\n"
                                            "2. Devolver un artículo\n3. Reembolsos y plazos\n"
                                            "4. Cambiar la dirección de envío\n"
                                            "5. Hablar con una persona")
        answer = load_fixture("wa_text.json")
        message = answer["entry"][0]["changes"][0]["value"]["messages"][0]
        message["id"], message["text"]["body"] = "wamid.two", "2."
        await post(harness, channel, WA_HOOK, WA_SECRET, answer)
        assert agent.handled[-1].text == '/choose{"topic":"2"}'
        message["id"] = "wamid.two.again"  # the menu was used: "2" is just "2" now
        await post(harness, channel, WA_HOOK, WA_SECRET, answer)
        assert agent.handled[-1].text == "2."
    finally:
        await harness.stop()
        await picky.stop()


async def test_a_window_refusal_is_not_turned_into_text(wa: WhatsAppInput, graph: Recorder,
                                                        tmp_path: Path) -> None:
    graph.status = 400
    graph.answer = lambda r, b: {"error": {"code": 131047, "message": "Re-engagement message"}}
    await wa.state.record_inbound("whatsapp", SHOPPER, time.time())
    await wa.output("es").send_text_with_buttons(SHOPPER, "¿En qué te ayudo?", MENU)
    assert [b["type"] for b in graph.bodies()] == ["interactive"]  # no text copy of it


async def test_messenger_quick_replies_up_to_13_then_text(server: SanicHarness,
                                                          ms: MessengerInput, agent: FakeAgent,
                                                          graph: Recorder) -> None:
    many = [{"title": f"Talla {n}", "payload": f'/size{{"size":"{n}"}}'} for n in range(34, 48)]
    agent.responder = lambda m: [{"text": "¿Qué talla?", "buttons": many[:13]},
                                 {"text": "¿Y ahora?", "buttons": many}]
    await post(server, ms, MS_HOOK, MS_SECRET, load_fixture("ms_text.json"))
    quick, text = graph.bodies()
    assert len(quick["message"]["quick_replies"]) == 13
    assert text["message"]["text"].endswith("14. Talla 47") and "quick_replies" not in text[
        "message"]
    for body in (quick, text):  # bot messages: RESPONSE, never a tag
        assert body["messaging_type"] == "RESPONSE" and "tag" not in body
        assert body["message"]["metadata"] == "atiende"
    reply = load_fixture("ms_text.json")
    reply["entry"][0]["messaging"][0]["message"] = {"mid": "m_14", "text": "14"}
    await post(server, ms, MS_HOOK, MS_SECRET, reply)
    assert agent.handled[-1].text == '/size{"size":"47"}'


# --- the rating request outside the window ----------------------------------------------------

@pytest.mark.parametrize("phone,template,lang", [(SHOPPER, "atiende_valoracion", "es"),
                                                 ("447700900123", "atiende_rating", "en")])
async def test_rating_after_the_window_goes_as_the_csat_template(
        wa: WhatsAppInput, graph: Recorder, phone: str, template: str, lang: str) -> None:
    await wa.state.record_inbound("whatsapp", phone, time.time() - 30 * 3600)
    await wa.get_output_channel().send_text_with_buttons(phone, "¿Qué tal te atendimos?",
                                                         RATING)
    [body] = graph.bodies()
    assert body["type"] == "template" and body["to"] == phone
    assert body["template"]["name"] == template
    assert body["template"]["language"] == {"code": lang}
    assert [c["parameters"][0]["payload"] for c in body["template"]["components"]] == [
        b["payload"] for b in RATING]
    assert [c["index"] for c in body["template"]["components"]] == ["0", "1", "2", "3", "4"]


async def test_other_bot_messages_are_still_not_sent_after_the_window(
        wa: WhatsAppInput, graph: Recorder) -> None:
    await wa.state.record_inbound("whatsapp", SHOPPER, time.time() - 30 * 3600)
    output = wa.get_output_channel()
    await output.send_text_with_buttons(SHOPPER, "¿En qué te ayudo?", MENU)
    await output.send_text_message(SHOPPER, "hola")
    assert graph.requests == []


async def test_rating_inside_the_window_stays_interactive(wa: WhatsAppInput,
                                                          graph: Recorder) -> None:
    await wa.state.record_inbound("whatsapp", SHOPPER, time.time() - 3600)
    await wa.get_output_channel().send_text_with_buttons(SHOPPER, "¿Qué tal?", RATING)
    [body] = graph.bodies()
    assert body["type"] == "interactive"
