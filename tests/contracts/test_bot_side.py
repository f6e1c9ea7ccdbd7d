"""The contract file against the bot environment (Rasa 3.6, Python 3.10): what the hand-off gate
sends and reads, and the hand-back endpoint the API calls.

The bot side cannot import the API's pydantic-2 models; it validates against
``contracts/handoff_api.openapi.json`` with Rasa's own jsonschema. These tests put real requests on
the wire (the gate's HTTP client against a recording server) and judge them by the file, so a
change on either side that the other does not follow fails here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import contracts
from bot.channels.handback import HandbackInput
from bot.handoff_client import Delivery, HandoffApiClient
from bot.handoff_gate import HandoffGate
from bot.outbox import Outbox, OutboxItem
from tests.bot.channels.harness import FakeAgent, Recorder, SanicHarness

MESSAGES = "/api/conversations/{conversation_id}/messages"
LEAVE = "/api/conversations/{conversation_id}/leave-queue"
DEAD = "/api/dead-letters"
TOKEN = "contract-bot-token-0123456789"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ATIENDE_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
async def api() -> AsyncIterator[Recorder]:
    answers = {"/leave-queue": {"left": True, "handoff_id": 4, "status": "abandoned"}}

    def answer(request: Any, body: Any) -> dict:
        for suffix, value in answers.items():
            if request.path.endswith(suffix):
                return value
        return {"ok": True}

    recorder = await Recorder(status=200, answer=answer).start()
    yield recorder
    await recorder.stop()


async def test_a_forwarded_shopper_message_is_the_contracts_request_body(api: Recorder) -> None:
    client = HandoffApiClient(api.url, TOKEN)
    outcome, _ = await client.post_message(conversation_id="web-1", message_id="m-1",
                                           text="¿hay alguien? 🙂", ts=1_765_000_000.5,
                                           channel="socketio")
    assert outcome is Delivery.STORED
    (body,) = api.bodies("/messages")
    contracts.validate(contracts.request_schema_name(MESSAGES, "post"), body)
    assert api.requests[0]["path"] == "/api/conversations/web-1/messages"


async def test_leaving_the_queue_sends_and_reads_what_the_contract_says(api: Recorder) -> None:
    client = HandoffApiClient(api.url, TOKEN)
    answer = await client.leave_queue(conversation_id="34600111222", message_id="wamid.9",
                                      text="cancelar", ts=1_765_000_000.0, channel="whatsapp")
    (body,) = api.bodies("/leave-queue")
    contracts.validate(contracts.request_schema_name(LEAVE, "post"), body)
    # the gate reads `left` and `handoff_id`: both required in the documented answer
    ok = contracts.operation(LEAVE, "post")["responses"]["200"]
    name = ok["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"left", "handoff_id"} <= set(contracts.schema(name)["required"])
    contracts.validate(name, answer)


async def test_a_dead_letter_report_is_the_contracts_request_body(api: Recorder) -> None:
    client = HandoffApiClient(api.url, TOKEN)
    item = OutboxItem(id=1, message_id="m-7", conversation_id="web-7", channel="socketio",
                      text="mi pedido no llega", ts=1.0, attempts=3)
    assert await client.post_dead_letter(item, "HTTP 413")
    (body,) = api.bodies("/dead-letters")
    contracts.validate(contracts.request_schema_name(DEAD, "post"), body)


# How the gate treats each answer of the messages route. The keys must be exactly the statuses the
# contract documents: a status the API adds (or drops) fails this test until someone decides here
# what the bot does with it.
GATE_OUTCOMES = {
    200: Delivery.STORED,       # already stored (same message_id)
    201: Delivery.STORED,
    202: Delivery.TO_BOT,       # the handoff has just closed: the resumed bot answers
    400: Delivery.REJECTED,     # malformed (cannot be decoded): retrying cannot help
    401: Delivery.UNAVAILABLE,  # our token is wrong: keep it and retry once fixed
    404: Delivery.NO_HANDOFF,
    413: Delivery.REJECTED,
    422: Delivery.REJECTED,
    429: Delivery.UNAVAILABLE,
    503: Delivery.UNAVAILABLE,
}


async def test_the_gate_has_a_decision_for_every_documented_answer() -> None:
    assert set(GATE_OUTCOMES) == contracts.documented_statuses(MESSAGES, "post")
    for status, expected in GATE_OUTCOMES.items():
        recorder = await Recorder(status=status, answer=lambda r, b: {"detail": "x"}).start()
        try:
            outcome, _ = await HandoffApiClient(recorder.url, TOKEN).post_message(
                conversation_id="c", message_id="m", text="hola", ts=1.0, channel="rest")
        finally:
            await recorder.stop()
        assert outcome is expected, status


def example_handback(**changes: Any) -> dict[str, Any]:
    body = {"outbox_id": 31, "handoff_id": 9, "conversation_id": "web-contract",
            "outcome": "messages", "channel": "socketio", "language": "es",
            "answer_due_at": None, "contact": None,
            "messages": [{"message_id": "m-1", "text": "¿sigue ahí?",
                          "ts": "2026-12-07T10:00:00+00:00"}]}
    body.update(changes)
    return body


@pytest.fixture
async def handback_endpoint(tmp_path: Path) -> AsyncIterator[SanicHarness]:
    agent = FakeAgent()
    gate = HandoffGate(HandoffApiClient("http://127.0.0.1:9", TOKEN), Outbox(tmp_path / "o.db"))
    harness = await SanicHarness([HandbackInput(token=TOKEN)], agent, gate).start()
    yield harness
    await harness.stop()
    await gate.close()


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


async def test_the_handback_endpoint_takes_what_the_contract_allows(
        handback_endpoint: SanicHarness) -> None:
    body = example_handback()
    contracts.validate("HandbackIn", body)
    status, text, _ = await handback_endpoint.request(
        "POST", "/webhooks/atiende/handback", json=body, headers=auth())
    assert status == 200, text
    contracts.validate("HandbackAck", __import__("json").loads(text))


@pytest.mark.parametrize("change,field", [
    ({"outbox_id": 0}, "outbox_id"),
    ({"outbox_id": 2**63}, "outbox_id"),
    ({"outcome": "teleported"}, "outcome"),
    ({"conversation_id": ""}, "conversation_id"),
    ({"language": "fr"}, "language"),
    ({"messages": [{"message_id": "m", "text": ""}]}, "messages.0.text"),
    ({"messages": "hola"}, "messages"),
])
async def test_the_handback_endpoint_refuses_what_the_contract_refuses(
        handback_endpoint: SanicHarness, change: dict, field: str) -> None:
    body = example_handback(**change)
    assert contracts.problems("HandbackIn", body)
    status, text, _ = await handback_endpoint.request(
        "POST", "/webhooks/atiende/handback", json=body, headers=auth())
    assert status == 422, text
    assert field in text
    assert status in contracts.documented_statuses("webhook:handback", "post")


async def test_the_handback_endpoint_answers_only_documented_statuses(
        handback_endpoint: SanicHarness) -> None:
    documented = contracts.documented_statuses("webhook:handback", "post")
    missing = {k: v for k, v in example_handback().items() if k != "handoff_id"}
    for kwargs, want in (({"json": example_handback()}, 401),
                         ({"data": b"not json", "headers": auth()}, 400),
                         ({"json": [1, 2], "headers": auth()}, 400),
                         ({"json": missing, "headers": auth()}, 422)):
        status, _, _ = await handback_endpoint.request("POST", "/webhooks/atiende/handback",
                                                       **kwargs)
        assert status == want and status in documented


async def test_an_order_notice_opt_out_is_the_contracts_request_body(api: Recorder) -> None:
    client = HandoffApiClient(api.url, TOKEN)
    assert await client.opt_out_notices(phone="5215512345678") is True
    (body,) = api.bodies("/api/notifications/opt-out")
    contracts.validate(contracts.request_schema_name("/api/notifications/opt-out", "post"), body)
    assert api.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
