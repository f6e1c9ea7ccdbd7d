"""Attack: join someone else's web chat through socket.io knowing only its id (from a log, a
shared screenshot, a guess), or with a forged or borrowed token; speak into it from another socket.

The real channel runs in the bot environment (``tests/security/web_socket_attack.py``, Rasa 3.6);
this test judges what each attack got, then checks that the token Rasa issued opens the
conversation at the real handoff API (the same ``HANDOFF_BOT_TOKEN``), and a forged one does not.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from fastapi.testclient import TestClient

from contracts import web_conversation
from handoff_api.app import create_app
from tests.handoff_api.conftest import BOT, BOT_TOKEN, make_settings, packet

ROOT = Path(__file__).resolve().parents[2]
BOT_PY = ROOT / ".venv" / "bot" / "bin" / "python"


def run_attacks() -> tuple[dict, str]:
    env = {**os.environ, "HANDOFF_BOT_TOKEN": BOT_TOKEN, "RASA_TELEMETRY_ENABLED": "false"}
    done = subprocess.run([str(BOT_PY), "-m", "tests.security.web_socket_attack"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_a_known_or_forged_id_does_not_open_a_web_conversation(tmp_path) -> None:
    out, log = run_attacks()
    victim = out["victim"]["id"]
    assert web_conversation.is_web_conversation_id(victim)  # issued by the server, 144 bits
    for attack in ("join_with_id_only", "join_with_forged_token", "join_with_other_token"):
        assert out[attack] != victim, f"{attack} joined the victim's conversation"
    # the attacker's message naming the victim's session was refused, not handled as theirs
    assert [victim, "cambia la dirección de envío"] not in out["handled"]
    assert [m for m in out["handled"] if m[0] == victim] == [
        [victim, "mi pedido AT101001"], [victim, "¿y cuándo llega?"]]
    assert out["attacker_heard"] == []  # nothing of the victim's conversation reached the attacker
    assert out["victim_heard"] == ["echo: mi pedido AT101001", "echo: ¿y cuándo llega?"]
    # the holder of the token gets the conversation back after a reload
    assert out["rejoin_with_token"] == victim

    # the INFO log of the Rasa side (channel, hand-off gate, Sanic) follows the conversation by
    # fingerprint only: an id read there would be a way in if tokens did not exist
    assert "handoff_gate.to_rasa" in log and web_conversation.fingerprint(victim) in log
    for conversation in (victim, out["attacker_id"]):
        assert conversation not in log
    assert out["victim"]["token"] not in log

    # the same token opens the conversation at the handoff API; the id alone or a forgery do not
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'h.db'}"))
    with TestClient(app) as client:
        assert client.post("/api/handoffs", json=packet(victim, channel="socketio"),
                           headers=BOT).status_code == 201
        header = web_conversation.HEADER
        ok = client.get("/api/widget/queue", headers={header: out["victim"]["token"]})
        assert ok.status_code == 200 and ok.json()["status"] == "queued"
        for presented in (victim, f"{victim}.{'A' * 43}",
                          f"{out['attacker_id']}.{out['victim']['token'].rsplit('.', 1)[1]}"):
            r = client.get("/api/widget/queue", headers={header: presented})
            assert r.status_code == 401, presented
    app.state.services.engine.dispose()
