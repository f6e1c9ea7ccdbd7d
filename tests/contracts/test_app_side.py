"""The contract file against the app environment: the handoff API that defines it, and the action
server's client that sends the packet (app env, Python 3.11).

Each test fails when one side drifts: the API's models change without regenerating the file, the
action builds a packet the file does not allow, or the API's hand-back body leaves the webhook's
schema.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from rasa_sdk import Tracker

import contracts
from actions.handoff_client import ContractBroken, HandoffClient, QueueTicket
from actions.handoff_packet import build_packet
from handoff_api.app import openapi_document
from handoff_api.handback import RasaClient
from handoff_api.models import HandbackOutbox


def test_the_contract_file_is_what_the_api_publishes() -> None:
    """Change a model in handoff_api/schemas.py and this fails until the file is regenerated
    (`python -m handoff_api openapi`) — and then the bot side's tests judge the change."""
    published = contracts.dumps(openapi_document())
    on_disk = contracts.CONTRACT_FILE.read_text(encoding="utf-8")
    assert published == on_disk, ("contracts/handoff_api.openapi.json is out of date: run "
                                  "`.venv/app/bin/python -m handoff_api openapi` and let both "
                                  "environments' contract tests judge the change")


def test_the_cli_check_sees_a_stale_file(tmp_path: Path) -> None:
    from handoff_api.__main__ import main

    stale = tmp_path / "contract.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert main(["openapi", "--check", "--out", str(stale)]) == 1
    assert main(["openapi", "--out", str(stale)]) == 0
    assert main(["openapi", "--check", "--out", str(stale)]) == 0


def sdk_tracker(**slots: Any) -> Tracker:
    values = {"language": "en", "order_id": "AT100234", "customer_contact": "ana@example.com",
              "kb_articles_shown": ["return-policy"], "customer_vip": True, **slots}
    latest = {"text": "I want to talk to a person", "intent": {"name": "human_handoff",
                                                               "confidence": 0.97}}
    events = [
        {"event": "user", "text": "where is my order AT100234?", "timestamp": 1.5,
         "input_channel": "whatsapp", "parse_data": {"intent": {"name": "order_status"}}},
        {"event": "bot", "text": "Your order is on its way.", "timestamp": 2.0},
        {"event": "user", "text": "I want to talk to a person", "timestamp": 3.0,
         "input_channel": "whatsapp", "parse_data": latest},
    ]
    return Tracker(sender_id="34600111222", slots=values, latest_message=latest, events=events,
                   paused=False, followup_action=None, active_loop={},
                   latest_action_name="action_listen")


async def test_the_packet_action_handoff_builds_matches_the_contract() -> None:
    packet = await build_packet(sdk_tracker(), "asked")
    # as it goes on the wire
    contracts.validate("HandoffPacket", json.loads(json.dumps(packet)))


def test_every_field_the_ticket_reads_is_in_the_contract() -> None:
    read = {f.name for f in dataclasses.fields(QueueTicket)} - {"already_open"}
    properties = contracts.schema("HandoffCreated")["properties"]
    assert read <= set(properties), f"QueueTicket reads fields the API does not send: " \
                                    f"{sorted(read - set(properties))}"
    required = set(contracts.schema("HandoffCreated")["required"])
    assert {"id", "status", "position", "within_business_hours"} <= required


class Transport(httpx.AsyncBaseTransport):
    """Records requests; answers with a scripted handoff API response."""

    def __init__(self, answer: dict[str, Any], status: int = 201) -> None:
        self.answer, self.status = answer, status
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/cancel"):
            return httpx.Response(200, json={"key": "k", "handoff_id": None, "status": None})
        return httpx.Response(self.status, json=self.answer)


async def test_a_packet_breaking_the_contract_never_leaves_the_action_server() -> None:
    packet = await build_packet(sdk_tracker(), "asked")
    packet["reason"] = "because"  # not one of the contract's reasons
    transport = Transport({})
    with pytest.raises(ContractBroken) as caught:
        await HandoffClient("http://api.test", "t", transport=transport).create_handoff(packet)
    assert caught.value.problems == ["reason: enum ['asked', 'repeated_fallback', 'frustration', "
                                     "'legal_or_fraud', 'approval_required', 'backend_error', "
                                     "'verification_failed', 'answered_from_phone']"]
    assert transport.requests == []


async def test_an_answer_breaking_the_contract_cancels_the_creation() -> None:
    packet = await build_packet(sdk_tracker(), "asked")
    transport = Transport({"id": 5, "status": "somewhere"})  # no position, unknown status
    with pytest.raises(ContractBroken):
        await HandoffClient("http://api.test", "t", transport=transport).create_handoff(packet)
    paths = [r.url.path for r in transport.requests]
    assert paths[0] == "/api/handoffs" and paths[-1].startswith("/api/handoff-requests/")
    assert paths[-1].endswith("/cancel")


@pytest.mark.parametrize("outcome,messages", [
    ("resolved", []),
    ("offline", [{"message_id": "wamid.1", "text": "¿sigue ahí?", "ts": "2026-12-07T10:00:00"}]),
    ("messages", [{"message_id": "m-2", "text": "hola", "ts": None}]),
])
def test_the_handback_the_api_sends_matches_the_webhook_schema(outcome: str,
                                                               messages: list) -> None:
    row = HandbackOutbox(id=12, handoff_id=3, conversation_id="web-abc", outcome=outcome,
                         payload={"channel": "socketio", "language": "es",
                                  "answer_due_at": "2026-12-09T10:00:00+00:00",
                                  "contact": "email", "messages": messages})
    body = RasaClient.body(row)
    assert contracts.request_schema_name("webhook:handback", "post") == "HandbackIn"
    contracts.validate("HandbackIn", body)
    assert body["outbox_id"] == 12 and len(body["messages"]) == len(messages)


def test_a_row_that_cannot_make_a_handback_is_refused_before_rasa() -> None:
    row = HandbackOutbox(id=1, handoff_id=1, conversation_id="c", outcome="teleported",
                         payload={})
    with pytest.raises(ValueError):
        RasaClient.body(row)


def test_settings_do_not_change_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    """The document is the same whatever the deployment's settings (one contract, not one per
    configuration)."""
    first = contracts.dumps(openapi_document())
    monkeypatch.setenv("HANDOFF_PUBLIC_RATE_LIMIT", "5/second")
    monkeypatch.setenv("BUSINESS_HOURS", "mon-fri 09:00-18:00")
    assert contracts.dumps(openapi_document()) == first
