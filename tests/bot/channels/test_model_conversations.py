"""Whole-bot conversations through the WhatsApp connector, in Spanish and in English.

These load the trained model (``models/atiende.tar.gz``) with ``rasa.core.agent.load_agent``,
start the real action server (app env) on an ephemeral port, post *signed* webhooks and check
what the fake Graph API received. They run only when the model exists; otherwise they are
SKIPPED LOUDLY (reason in the summary). Set ``ATIENDE_REQUIRE_MODEL=1`` (``make test`` after
``make train``) to turn a missing model into a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.channels.meta import MetaStateStore
from bot.channels.whatsapp import WhatsAppInput
from bot.handoff_client import HandoffApiClient
from bot.handoff_gate import HandoffGate
from bot.outbox import Outbox
from tests.bot.channels.harness import Recorder, SanicHarness, load_fixture
from tests.bot.trained_model import MODEL, ROOT, fresh_conversations, model_test_marks

APP_PYTHON = ROOT / ".venv" / "app" / "bin" / "python"
SECRET = "conv-secret"

pytestmark = model_test_marks("MODEL CONVERSATION TESTS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def response_start(name: str, lang: str) -> str:
    """The first words of response ``name`` in ``lang``, read from domain.yml."""
    variants = yaml.safe_load((ROOT / "domain.yml").read_text())["responses"][name]
    for v in variants:
        is_en = any(c.get("value") == "en" for c in v.get("condition") or [])
        if is_en == (lang == "en"):
            return v["text"].split("{")[0].split(".")[0][:30]
    raise AssertionError(f"no {lang} {name}")


def greeting(lang: str) -> str:
    return response_start("utter_greet", lang)


HANDOFF_PORT = free_port()  # the fake handoff API (started per test) listens here


def fake_handoff_answer(request: Any, body: Any) -> dict:
    if request.path == "/api/handoffs":
        return {"id": 7, "status": "queued", "position": 1, "estimated_wait_seconds": 120,
                "within_business_hours": True, "next_open_at": None}
    return {"stored": True}


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data_dir = tmp_path_factory.mktemp("actions")
    # the demo store, for the identity checks (the buyer's own WhatsApp number)
    subprocess.run([str(APP_PYTHON), "-m", "actions.store", "seed", "--db",
                    str(data_dir / "store.db")], cwd=ROOT, check=True, capture_output=True,
                   timeout=120)
    env = {**os.environ, "ATIENDE_DATA_DIR": str(data_dir),
           "STORE_BACKEND": "demo", "STORE_DATABASE": str(data_dir / "store.db"),
           "HANDOFF_API_URL": f"http://127.0.0.1:{HANDOFF_PORT}",
           "HANDOFF_BOT_TOKEN": "conv-bot-token"}
    proc = subprocess.Popen([str(APP_PYTHON), "-m", "rasa_sdk", "--actions", "actions",
                             "-p", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise AssertionError("action server exited: "
                                     + (proc.stderr.read() or b"").decode()[-2000:])
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "action server did not start in 120 s"
                time.sleep(0.5)
        yield f"{url}/webhook"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
async def handoff_api() -> AsyncIterator[Recorder]:
    recorder = await Recorder(status=201, answer=fake_handoff_answer).start(port=HANDOFF_PORT)
    yield recorder
    await recorder.stop()


@pytest.fixture(scope="module")
def trained_agent(action_server: str) -> Any:
    """The trained model, loaded once for the module (each load takes 15-60 s); every test gets
    it with empty conversation stores (``whatsapp_bot``)."""
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    agent = Agent.load(str(MODEL), action_endpoint=EndpointConfig(action_server))
    assert agent.is_ready(), (f"{MODEL} exists but could not be loaded (see the log above: a "
                              "component of the model is missing or the model is stale)")
    return agent


@pytest.fixture
async def whatsapp_bot(trained_agent: Any, tmp_path: Path, handoff_api: Recorder
                       ) -> AsyncIterator[tuple[SanicHarness, WhatsAppInput, Recorder]]:
    agent = fresh_conversations(trained_agent)
    graph = await Recorder().start()
    channel = WhatsAppInput(access_token="t", app_secret=SECRET, verify_token="v",
                            phone_number_id="106540352242922", graph_url=graph.url,
                            state=MetaStateStore(tmp_path / "meta.db"))
    gate = HandoffGate(HandoffApiClient(handoff_api.url, "conv-bot-token"),
                       Outbox(tmp_path / "o.db"))
    harness = await SanicHarness([channel], agent, gate).start()
    yield harness, channel, graph
    await harness.stop()
    await gate.close()
    await graph.stop()


def texts(graph: Recorder) -> list[str]:
    out = []
    for body in graph.bodies("/messages"):
        if body.get("type") == "text":
            out.append(body["text"]["body"])
        elif body.get("type") == "interactive":
            out.append(body["interactive"]["body"]["text"])
    return out


async def say(bot: Any, sender: str, text: str, n: int) -> None:
    harness, channel, _ = bot
    payload = load_fixture("wa_text.json")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update({"from": sender, "id": f"wamid.conv.{sender}.{n}",
                    "text": {"body": text}})
    payload["entry"][0]["changes"][0]["value"]["contacts"][0]["wa_id"] = sender
    status, _ = await harness.post_signed("/webhooks/whatsapp/webhook", payload, SECRET)
    assert status == 200
    await channel.tasks.drain()


async def test_spanish_greeting_through_whatsapp(whatsapp_bot: Any) -> None:
    await say(whatsapp_bot, "5215512345678", "hola, buenas tardes", 1)
    replies = texts(whatsapp_bot[2])
    assert any(greeting("es") in r for r in replies), replies


async def test_english_greeting_through_whatsapp(whatsapp_bot: Any) -> None:
    await say(whatsapp_bot, "16315551181", "hello there, good afternoon", 1)
    replies = texts(whatsapp_bot[2])
    assert any(greeting("en") in r for r in replies), replies
    assert not any(greeting("es") in r for r in replies), replies


async def test_after_handoff_the_shopper_reaches_the_agent_not_the_bot(
        whatsapp_bot: Any, handoff_api: Recorder) -> None:
    """action_handoff pauses the real tracker; the next message goes to the handoff API."""
    shopper = "34612345678"
    await say(whatsapp_bot, shopper, "quiero hablar con una persona, por favor", 1)
    assert [r["path"] for r in handoff_api.requests] == ["/api/handoffs"], handoff_api.requests
    packet = handoff_api.requests[0]["json"]
    assert packet["conversation_id"] == shopper and packet["channel"] == "whatsapp"
    bot_replies = len(texts(whatsapp_bot[2]))
    assert bot_replies >= 1  # the queue message in Spanish

    await say(whatsapp_bot, shopper, "¿hay alguien?", 2)
    forwarded = [r for r in handoff_api.requests if r["path"].endswith("/messages")]
    assert [r["json"]["text"] for r in forwarded] == ["¿hay alguien?"]
    assert forwarded[0]["json"]["message_id"] == f"wamid.conv.{shopper}.2"
    assert len(texts(whatsapp_bot[2])) == bot_replies  # the bot stayed silent


async def test_replies_follow_the_shoppers_language_turn_by_turn(whatsapp_bot: Any) -> None:
    shopper = "34600999888"
    await say(whatsapp_bot, shopper, "hola, buenas tardes", 1)
    first = texts(whatsapp_bot[2])
    assert any(greeting("es") in r for r in first), first
    await say(whatsapp_bot, shopper, "hi, where is my order?", 2)
    second = texts(whatsapp_bot[2])[len(first):]
    assert any(response_start("utter_ask_order_id", "en") in r for r in second), second
    await say(whatsapp_bot, shopper, "perdona, mejor en español: ¿cuál era el número?", 3)
    third = texts(whatsapp_bot[2])[len(first) + len(second):]
    assert third and not any(response_start("utter_ask_order_id", "en") in r for r in third), third


async def test_an_order_number_on_its_own_asks_what_to_do_with_it(whatsapp_bot: Any) -> None:
    await say(whatsapp_bot, "34600777666", "AT100234", 1)
    replies = texts(whatsapp_bot[2])
    assert any(response_start("utter_order_what_next", "es") in r for r in replies), replies


async def test_a_damaged_item_opens_the_return_form_with_an_apology(whatsapp_bot: Any) -> None:
    """item_problem: sorry for the damage (action server), then the return form asks the order."""
    await say(whatsapp_bot, "34600555444", "me llegó la taza rota", 1)
    replies = texts(whatsapp_bot[2])
    assert any(r.startswith("Siento mucho que te haya llegado en mal estado") for r in replies), \
        replies
    assert any(response_start("utter_ask_order_id", "es") in r for r in replies), replies


async def test_a_wrong_size_in_english_opens_the_return_form(whatsapp_bot: Any) -> None:
    await say(whatsapp_bot, "447700900555", "they sent me the wrong size", 1)
    replies = texts(whatsapp_bot[2])
    assert any(r.startswith("Sorry, that's not what you ordered") for r in replies), replies
    assert any(response_start("utter_ask_order_id", "en") in r for r in replies), replies


async def test_the_buyers_own_signed_whatsapp_number_verifies_the_order(whatsapp_bot: Any) -> None:
    """The positive side of issue #10: the signed webhook's sender is the order's phone
    (AT101001, +34 655 908 172), so no e-mail is asked for."""
    await say(whatsapp_bot, "34655908172", "¿dónde está mi pedido AT101001?", 1)
    replies = " ".join(texts(whatsapp_bot[2]))
    assert "verificado con tu número de WhatsApp" in replies, replies
    assert "900602677354" in replies or "MRW" in replies, replies  # the tracking, now allowed


async def test_another_whatsapp_number_is_asked_for_the_email(whatsapp_bot: Any) -> None:
    await say(whatsapp_bot, "34699000111", "¿dónde está mi pedido AT101001?", 1)
    replies = " ".join(texts(whatsapp_bot[2]))
    assert "verificado" not in replies and "MRW" not in replies, replies
    assert response_start("utter_ask_customer_contact", "es") in replies, replies
