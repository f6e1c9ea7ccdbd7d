"""Attack: make each process log personal data the way its own code and its libraries do, and read
what reaches the output. Each entry point installs the redaction itself: the Rasa server by
importing ``bot`` (after Rasa configured logging), the action server by importing ``actions``
(after rasa-sdk configured logging), the handoff API in ``serve``; the KB-gap file is written
redacted with a pseudonymous conversation id."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from actions.kb_answer import _record
from privacy.records import privacy_key, pseudonym

ROOT = Path(__file__).resolve().parents[2]
EMAIL, WA_ID, CARD, DNI = "carmen.navarro@example.com", "34655908172", "4111 1111 1111 1111", \
    "48392017V"

# A library-style handler configured *before* our package is imported, a non-propagating logger
# added after, %-arguments, an f-string, an exception: all of it must come out redacted.
SCRIPT = f"""
import logging, sys
logging.basicConfig(stream=sys.stdout, level=logging.DEBUG, format="%(name)s %(message)s")
import {{package}}
late = logging.getLogger("sanic.access"); late.propagate = False
late.addHandler(logging.StreamHandler(sys.stdout))
log = logging.getLogger("{{package}}.test")
log.info("whatsapp.received from=%s text=%r", "{WA_ID}", "mi DNI es {DNI}")
late.info("POST /webhooks/rest/webhook sender={EMAIL}")
log.debug(f"card {CARD}")
try:
    raise ValueError("no order for {EMAIL}")
except ValueError:
    log.exception("lookup failed")
"""


@pytest.mark.parametrize(("package", "venv"), [("bot", "bot"), ("actions", "app")])
def test_each_process_entry_point_redacts_its_logs(package: str, venv: str) -> None:
    python = ROOT / ".venv" / venv / "bin" / "python"
    done = subprocess.run([str(python), "-c", SCRIPT.replace("{package}", package)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    for secret in (EMAIL, WA_ID, CARD, DNI):
        assert secret not in out, f"{secret} leaked through {package}:\n{out}"
    for placeholder in ("[EMAIL]", "[PHONE]", "[CARD]", "[ID]"):
        assert placeholder in out


def test_the_handoff_api_serve_command_redacts_its_logs(tmp_path) -> None:
    """``python -m handoff_api serve`` as run by scripts.run, with uvicorn replaced by one access
    log line and one application log line (the real server is exercised by the e2e test)."""
    script = f"""
import logging, uvicorn
import handoff_api.__main__ as cli
def fake_run(app, **kwargs):
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/1.1" %d', "127.0.0.1:5000", "GET",
                                             "/api/conversations/{WA_ID}/handoff", 200)
    logging.getLogger("handoff_api").warning("relay failed for %s", "{EMAIL}")
uvicorn.run = fake_run
raise SystemExit(cli.main(["serve"]))
"""
    env = {**os.environ, "ATIENDE_DATA_DIR": str(tmp_path),
           "HANDOFF_DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}", "ATIENDE_ENV": "development"}
    done = subprocess.run([str(ROOT / ".venv" / "app" / "bin" / "python"), "-c", script],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert WA_ID not in out and EMAIL not in out, out
    assert "/api/conversations/[PHONE]/handoff" in out and "relay failed for [EMAIL]" in out


async def test_kb_gap_lines_carry_no_personal_data(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ATIENDE_DATA_DIR", str(tmp_path))
    await _record("kb_gaps.jsonl", {
        "ts": 1.0, "conversation_id": WA_ID, "lang": "es",
        "query": f"¿vendéis bicis? soy {EMAIL}, tel {WA_ID}, DNI {DNI}, tarjeta {CARD}",
        "candidates": [{"article": "shipping-times", "confidence": 0.3}]})
    raw = (tmp_path / "kb_gaps.jsonl").read_text()
    for secret in (EMAIL, WA_ID, CARD, DNI):
        assert secret not in raw
    line = json.loads(raw)
    assert line["query"] == "¿vendéis bicis? soy [EMAIL], tel [PHONE], DNI [ID], tarjeta [CARD]"
    assert line["conversation_id"] == pseudonym(WA_ID, privacy_key({"ATIENDE_DATA_DIR":
                                                                    str(tmp_path)}))
    assert line["candidates"][0]["article"] == "shipping-times"  # the rest is kept as is
