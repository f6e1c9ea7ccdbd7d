"""validate_cancel_order_form driven by Rasa 3.6's own FormAction.

The unit tests in test_forms.py call the validators directly; this one runs the real form loop
(bot environment, Python 3.10) against this action server over HTTP (app environment), so the
way Rasa reads our slot events — verification, lockout after three failures, skipped
questions — is checked end to end.
"""

from __future__ import annotations

import pytest

from tests.actions.helpers import demo

RASA_DOMAIN = """
version: "3.1"
intents: [cancel_order, inform, affirm, deny]
entities: [order_id, email, phone]
slots:
  language: {type: categorical, values: [es, en], initial_value: es, influence_conversation: false,
             mappings: [{type: custom}]}
  order_id: {type: text, mappings: [{type: from_entity, entity: order_id}, {type: from_text,
             conditions: [{active_loop: cancel_order_form, requested_slot: order_id}]}]}
  customer_contact: {type: text, mappings: [{type: from_entity, entity: email},
             {type: from_entity, entity: phone}, {type: from_text,
             conditions: [{active_loop: cancel_order_form, requested_slot: customer_contact}]}]}
  verified_order_id: {type: text, influence_conversation: false, mappings: [{type: custom}]}
  verification_attempts: {type: float, influence_conversation: false, mappings: [{type: custom}]}
  customer_vip: {type: bool, influence_conversation: false, mappings: [{type: custom}]}
  handoff_reason: {type: text, influence_conversation: false, mappings: [{type: custom}]}
  cancel_confirm: {type: bool, mappings: [
    {type: from_intent, intent: affirm, value: true,
     conditions: [{active_loop: cancel_order_form}]},
    {type: from_intent, intent: deny, value: false,
     conditions: [{active_loop: cancel_order_form}]}]}
forms:
  cancel_order_form: {required_slots: [order_id, customer_contact, cancel_confirm]}
responses:
  utter_ask_order_id: [{text: "ASK order_id"}]
  utter_ask_customer_contact: [{text: "ASK customer_contact"}]
  utter_ask_cancel_confirm: [{text: "ASK cancel_confirm"}]
  utter_verification_failed_offer_human: [{text: "LOCKED"}]
actions: [validate_cancel_order_form]
"""

RASA_SCRIPT = r'''
import asyncio, json, sys
from rasa.core.actions.action import ActionExtractSlots
from rasa.core.actions.forms import FormAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

domain = Domain.load(sys.argv[1])
endpoint = EndpointConfig(sys.argv[2])
nlg = TemplatedNaturalLanguageGenerator(domain.responses)
conversations = json.loads(sys.argv[3])

async def turn(tracker, text, intent, entities):
    out = CollectingOutputChannel()
    ents = [{"entity": e, "value": v, "start": 0, "end": 1} for e, v in entities]
    tracker.update(UserUttered(text, {"name": intent, "confidence": 1.0}, ents), domain)
    extracted = await ActionExtractSlots(endpoint).run(out, nlg, tracker, domain)
    tracker.update_with_events(extracted, domain)
    events = await FormAction("cancel_order_form", endpoint).run(out, nlg, tracker, domain)
    tracker.update(ActionExecuted("cancel_order_form"), domain)
    tracker.update_with_events(events, domain)
    tracker.update(ActionExecuted("action_listen"), domain)
    slots = {k: tracker.get_slot(k)
             for k in ("order_id", "verified_order_id", "verification_attempts",
                       "cancel_confirm", "handoff_reason", "requested_slot")}
    said = [e.text for e in events if isinstance(e, BotUttered)]
    print("TURN " + json.dumps({"active": tracker.active_loop_name, **slots, "said": said}),
          flush=True)

async def main():
    for n, turns in enumerate(conversations):
        tracker = DialogueStateTracker.from_events(f"c{n}", [ActionExecuted("action_listen")],
                                                   slots=domain.slots)
        for text, intent, entities in turns:
            await turn(tracker, text, intent, entities)

asyncio.run(main())
'''


@pytest.mark.slow
def test_real_rasa_form_loop_verifies_locks_and_skips(tmp_path, store_db, demo_orders):
    """Rasa 3.6's FormAction (bot env) driving validate_cancel_order_form over HTTP (app env)."""
    import json
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    bot_python = Path(__file__).resolve().parents[2] / ".venv" / "bot" / "bin" / "python"
    if not bot_python.exists():
        pytest.skip(f"bot environment not installed at {bot_python}")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "STORE_DATABASE": str(store_db)}
    server = subprocess.Popen([sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p",
                               str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("action server did not start")
        cancellable = demo(demo_orders, "cancellable")
        (tmp_path / "domain.yml").write_text(RASA_DOMAIN)
        (tmp_path / "run.py").write_text(RASA_SCRIPT)
        conversations = [
            [("cancelar el pedido 101003", "cancel_order", [("order_id", cancellable.id[2:])]),
             *[(f"x{n}@example.com", "inform",
                [("email", f"x{n}@example.com")]) for n in range(3)]],
            [("cancelar pedido", "cancel_order", []), (f"at-{cancellable.id[2:]}", "inform", []),
             ("mi teléfono " + cancellable.customer["phone"][4:], "inform",
              [("phone", cancellable.customer["phone"][4:])]),
             ("sí", "affirm", [])],
        ]
        result = subprocess.run([str(bot_python), str(tmp_path / "run.py"),
                                 str(tmp_path / "domain.yml"),
                                 f"http://127.0.0.1:{port}/webhook", json.dumps(conversations)],
                                capture_output=True, text=True, timeout=240)
    finally:
        server.terminate()
        server.wait(timeout=10)
    turns = [json.loads(line[5:]) for line in result.stdout.splitlines()
             if line.startswith("TURN ")]
    assert len(turns) == 8, result.stderr[-2000:]
    fail = turns[:4]
    assert fail[0]["order_id"] == cancellable.id and fail[0]["requested_slot"] == "customer_contact"
    assert [t["verification_attempts"] for t in fail[1:]] == [1.0, 2.0, 3.0]
    assert fail[2]["active"] == "cancel_order_form"
    assert fail[3]["active"] is None and fail[3]["handoff_reason"] == "verification_failed"
    assert fail[3]["said"] == ["LOCKED"]
    ok = turns[4:]
    assert ok[1]["order_id"] == cancellable.id  # normalised from "at-101003"
    assert ok[2]["verified_order_id"] == cancellable.id
    assert ok[2]["requested_slot"] == "cancel_confirm"
    assert ok[2]["said"][-1] == "ASK cancel_confirm"
    assert ok[3]["active"] is None and ok[3]["cancel_confirm"] is True
