"""Attack: read the logs. A full scripted conversation goes through the real system — Rasa with
the trained model, the action server and the handoff API, started by ``scripts.run`` exactly as
``make run`` does, every process at DEBUG level — and afterwards no log file and no analytics file
may contain the shopper's e-mail, phone, card number or DNI.

The script: a web shopper verifies an order with her e-mail, asks a question the help centre
answers and says it did not help (a KB-gap line), leaves her e-mail, phone and card number with
the bot, asks for a person; an agent claims the conversation; the shopper types her e-mail, her
phone, a card number and her DNI to the agent (through Rasa's handoff gate); the agent hands back;
she rates. Meanwhile the same shopper writes on WhatsApp (a signed webhook: the conversation id is
her phone number, which bot-side log lines name) and the reply to her fails against an
unreachable Graph API (error lines with the recipient).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import APP_PY, BOT_TOKEN, DEMO_PASSWORD, ROOT, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EMAIL, PHONE, WA_ID = "carmen.navarro@example.com", "+34 655 908 172", "34655908172"
CARD, DNI = "4111 1111 1111 1111", "48392017V"
NEEDLES = [EMAIL, "carmen.navarro", PHONE, "655 908 172", "655908172", WA_ID, CARD,
           CARD.replace(" ", ""), DNI]
APP_SECRET = "e2e-whatsapp-app-secret-0123456789"
TURN_TIMEOUT = 120  # the first turn loads Rasa's pipeline on 2 busy cores


def kb_index_dir() -> Path:
    for candidate in (os.environ.get("KB_INDEX_DIR"),
                      Path(os.environ.get("ATIENDE_DATA_DIR", "")) / "kb_index"
                      if os.environ.get("ATIENDE_DATA_DIR") else None,
                      ROOT / "var" / "test" / "kb_index", ROOT / "var" / "kb_index"):
        if candidate and (Path(candidate) / "meta.json").exists():
            return Path(candidate)
    pytest.fail("no KB index built: run `make kb` (make test builds var/test/kb_index)")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from scripts.prepare import model_problem
    from scripts.run import running_system

    if (problem := model_problem()) is not None:
        pytest.fail(f"this test needs the trained Rasa model: {problem} (run `make train`)")
    data_dir = tmp_path_factory.mktemp("pii-logs")
    subprocess.run([str(APP_PY), "-m", "actions.store", "seed", "--db",
                    str(data_dir / "store.db")], cwd=ROOT, capture_output=True, timeout=120,
                   check=True)
    overrides = {
        "ATIENDE_DATA_DIR": str(data_dir), "ATIENDE_ENV": "development",
        "RASA_PORT": str(free_port()), "ACTIONS_PORT": str(free_port()),
        "HANDOFF_PORT": str(free_port()), "HANDOFF_BOT_TOKEN": BOT_TOKEN,
        # every port its own free one: the defaults (next to RASA_PORT / HANDOFF_PORT) can be taken
        "RASA_ADMIN_PORT": str(free_port()), "MAIL_CATCHER_PORT": str(free_port()),
        "HANDOFF_SECRET_KEY": "e2e-secret-key-0123456789abcdef",
        "RASA_TOKEN": "e2e-rasa-token-0123456789abcdef",
        "HANDOFF_DATABASE_URL": f"sqlite:///{data_dir / 'handoff.db'}",
        "BUSINESS_HOURS": "mon-sun 00:00-24:00", "KB_INDEX_DIR": str(kb_index_dir()),
        "ATIENDE_LOG_LEVEL": "DEBUG",
        "WHATSAPP_ACCESS_TOKEN": "e2e-fake-token", "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": "e2e-verify", "WHATSAPP_PHONE_NUMBER_ID": "1234567890",
        "WHATSAPP_GRAPH_URL": f"http://127.0.0.1:{free_port()}",  # nobody there: sends fail
        "MESSENGER_PAGE_ACCESS_TOKEN": "", "MESSENGER_APP_SECRET": "",
        "MESSENGER_VERIFY_TOKEN": "",
    }
    previous = os.environ.get("LOG_LEVEL")
    os.environ["LOG_LEVEL"] = "DEBUG"  # Rasa and rasa-sdk read it: the chattiest logs there are
    try:
        with running_system(overrides) as running:
            yield running
    except SystemExit as exc:
        pytest.fail(str(exc))
    finally:
        if previous is None:
            os.environ.pop("LOG_LEVEL", None)
        else:
            os.environ["LOG_LEVEL"] = previous


def say(rasa: str, sender: str, text: str) -> list[dict[str, Any]]:
    res = httpx.post(f"{rasa}/webhooks/rest/webhook", timeout=TURN_TIMEOUT,
                     json={"sender": sender, "message": text, "message_id": uuid.uuid4().hex})
    assert res.status_code == 200, res.text
    return res.json()


def whatsapp(rasa: str, text: str) -> None:
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "1234567890"},
            "contacts": [{"profile": {"name": "C"}, "wa_id": WA_ID}],
            "messages": [{"from": WA_ID, "id": f"wamid.{uuid.uuid4().hex}",
                          "timestamp": str(int(time.time())), "type": "text",
                          "text": {"body": text}}]}}]}]}).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    res = httpx.post(f"{rasa}/webhooks/whatsapp/webhook", content=body, timeout=TURN_TIMEOUT,
                     headers={"Content-Type": "application/json",
                              "X-Hub-Signature-256": signature})
    assert res.status_code == 200, res.text


def wait_for(fn: Any, what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := fn():
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def run_conversation(system: Any) -> None:
    s = system.settings
    rasa, api = s.rasa_url, s.handoff_url
    web = f"web-{uuid.uuid4().hex}"
    bot = {"Authorization": f"Bearer {BOT_TOKEN}"}

    say(rasa, web, "hola")
    say(rasa, web, "¿dónde está mi pedido AT101001?")
    verified = say(rasa, web, EMAIL)
    assert any("AT101001" in (m.get("text") or "") for m in verified), verified
    answer = say(rasa, web, "¿cuánto tarda en llegar el reembolso?")
    assert any("kb_feedback" in json.dumps(m) for m in answer), answer  # a KB answer
    say(rasa, web, '/kb_feedback{"helpful":"no"}')  # "it did not help": a KB-gap line
    say(rasa, web, f"si las traéis escribidme a {EMAIL} o al {PHONE}")
    say(rasa, web, f"me cobrasteis dos veces en la tarjeta {CARD}")
    whatsapp(rasa, f"hola, soy Carmen, mi DNI es {DNI}")
    say(rasa, web, "quiero hablar con una persona")
    handoff = wait_for(lambda: (r := httpx.get(f"{api}/api/conversations/{web}/handoff",
                                               headers=bot, timeout=10)).is_success and r.json(),
                       "the handoff to open")
    token = httpx.post(f"{api}/api/auth/login", timeout=10,
                       json={"username": "leo", "password": DEMO_PASSWORD}).json()["token"]
    with httpx.Client(base_url=api, timeout=20,
                      headers={"Authorization": f"Bearer {token}"}) as agent:
        assert agent.post(f"/api/handoffs/{handoff['id']}/claim").status_code == 200
        agent.post(f"/api/handoffs/{handoff['id']}/messages",
                   json={"text": "Hola, soy Leo. ¿Me confirmas tus datos?"})
        say(rasa, web, f"claro: {EMAIL}, móvil {PHONE}")
        say(rasa, web, f"la tarjeta es {CARD} y mi DNI {DNI}")
        wait_for(lambda: DNI in json.dumps(agent.get(f"/api/handoffs/{handoff['id']}").json()),
                 "the shopper's messages to reach the agent")
        agent.post(f"/api/handoffs/{handoff['id']}/notes",
                   json={"text": f"verificar pago de la tarjeta {CARD}"})
        assert agent.post(f"/api/handoffs/{handoff['id']}/hand-back",
                          json={"note": f"cliente {EMAIL}"}).status_code == 200
    time.sleep(3)  # the hand-back reaches Rasa, the bot asks for a rating
    say(rasa, web, '/rate{"rating":"5"}')


def test_logs_and_analytics_of_a_full_conversation_hold_no_personal_data(system: Any) -> None:
    run_conversation(system)
    data_dir = system.settings.data_dir
    system.stop()  # flush and close every log
    logs = sorted((data_dir / "logs").glob("*.log"))
    assert {p.name for p in logs} >= {"rasa.log", "actions.log", "handoff.log"}
    files = logs + [p for p in (data_dir / "kb_gaps.jsonl", data_dir / "kb_feedback.jsonl")
                    if p.exists()]
    leaks = [f"{p.name}: {needle!r} in {line.strip()[:200]!r}"
             for p in files for line in p.read_text(errors="replace").splitlines()
             for needle in NEEDLES if needle.lower() in line.lower()]
    assert leaks == [], "\n".join(leaks[:30])
    # ... and not because nothing was logged: the data went through the logs, redacted
    everything = "\n".join(p.read_text(errors="replace") for p in files)
    for placeholder in ("[EMAIL]", "[PHONE]", "[CARD]", "[ID]"):
        assert placeholder in everything, f"no {placeholder} anywhere: did the data reach a log?"
    gaps = (data_dir / "kb_gaps.jsonl").read_text()  # written by the real action server
    assert "reembolso" in gaps and '"conversation_id": "p_' in gaps
    assert sum(len(p.read_text(errors="replace")) for p in logs) > 20_000  # DEBUG really on
    # (dash, issue #14) the event log the same conversation filled: both writers, no PII
    import sqlite3

    con = sqlite3.connect(data_dir / "handoff.db")
    try:
        rows = con.execute("SELECT source, type, conversation, customer, channel, intent, "
                           "text FROM event_log").fetchall()
    finally:
        con.close()
    types = {(source, kind) for source, kind, *_ in rows}
    assert {("bot", "conversation_started"), ("bot", "user_message"), ("bot", "kb_answer"),
            ("bot", "kb_feedback"), ("bot", "identity_verified"), ("handoff", "handoff_created"),
            ("handoff", "handoff_claimed"), ("handoff", "agent_message"),
            ("handoff", "handoff_handed_back")} <= types, types
    assert {channel for *_, channel, _intent, _text in rows} >= {"rest", "whatsapp"}
    dump = "\n".join(map(str, rows)).lower()
    assert [n for n in NEEDLES if n.lower() in dump] == []
    assert all(conversation.startswith("p_") for _s, _t, conversation, *_ in rows)
