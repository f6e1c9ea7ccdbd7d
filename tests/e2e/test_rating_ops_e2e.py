"""The whole system (Rasa with the trained model, action server, handoff API; started by
``scripts.run.running_system``) through Rasa's REST channel:

* a shopper whose order the bot answered says "gracias", is asked for a rating, and *types*
  "muy bien" instead of tapping: it is counted as a 5 (``bot/typed_rating.py``); the effort
  question follows (CES), answered by typing "muy fácil"; then the comment, declined;
* the event log (the handoff database, filled by Rasa's event broker) holds ``csat`` 5 and ``ces``
  5 for that conversation;
* ``GET /metrics`` on the Rasa server and on the action server count those turns and actions.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from privacy.records import privacy_key, pseudonym
from tests.e2e.conftest import APP_PY, BOT_TOKEN, ROOT, free_port
from tests.e2e.test_handoff_e2e import CHANNEL_VARS, log_tails, poll
from tests.timing.test_prometheus import parse

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
METRICS_TOKEN = "e2e-metrics-token-0123456789abcdef"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from scripts.prepare import model_problem
    from scripts.run import running_system

    if (problem := model_problem()) is not None:
        pytest.fail(f"this test needs the trained Rasa model: {problem} (run `make train`)")
    data_dir = tmp_path_factory.mktemp("atiende-ops-e2e")
    subprocess.run([str(APP_PY), "-m", "actions.store", "seed", "--db",
                    str(data_dir / "store.db")], cwd=ROOT, capture_output=True, timeout=120,
                   check=True)
    overrides = {
        "ATIENDE_DATA_DIR": str(data_dir),
        "ATIENDE_ENV": "development",
        "RASA_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()),
        "HANDOFF_PORT": str(free_port()),
        # every port its own free one: the defaults (next to RASA_PORT / HANDOFF_PORT) can be taken
        "RASA_ADMIN_PORT": str(free_port()),
        "MAIL_CATCHER_PORT": str(free_port()),
        "HANDOFF_BOT_TOKEN": BOT_TOKEN,
        "HANDOFF_SECRET_KEY": "e2e-secret-key-0123456789abcdef",
        "RASA_TOKEN": "e2e-rasa-token-0123456789abcdef",
        "HANDOFF_DATABASE_URL": f"sqlite:///{data_dir / 'handoff.db'}",
        "BUSINESS_HOURS": "mon-sun 00:00-24:00",
        "ATIENDE_METRICS_TOKEN": METRICS_TOKEN,
        "ATIENDE_CSAT_SAMPLE_RATE": "1",
        **{name: os.environ.get(name, "") for name in CHANNEL_VARS},
    }
    try:
        with running_system(overrides) as running:
            running.data_dir = data_dir
            running.ports = {k: int(overrides[k]) for k in ("RASA_PORT", "ACTIONS_PORT")}
            yield running
    except SystemExit as exc:
        pytest.fail(str(exc))


def say(system: Any, sender: str, text: str) -> str:
    res = httpx.post(f"http://127.0.0.1:{system.ports['RASA_PORT']}/webhooks/rest/webhook",
                     json={"sender": sender, "message": text,
                           "message_id": f"m-{uuid.uuid4().hex}"}, timeout=120)
    assert res.status_code == 200, res.text
    return " ".join(m.get("text") or "" for m in res.json())


def scrape(port: int) -> dict[str, float]:
    res = httpx.get(f"http://127.0.0.1:{port}/metrics",
                    headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30)
    assert res.status_code == 200, res.text
    return parse(res.text)


def test_typed_rating_effort_question_event_log_and_metrics(system: Any) -> None:
    sender = f"ops-{uuid.uuid4().hex[:12]}"
    try:
        first = say(system, sender, "¿dónde está mi pedido AT101002?")
        assert "correo" in first or "teléfono" in first, first
        status = say(system, sender, "lucia.martin@example.com")
        assert "AT101002" in status, status
        asked = say(system, sender, "muchas gracias")
        assert "Valóralo de 1" in asked, asked
        effort = say(system, sender, "muy bien")  # typed, not tapped
        assert "fácil" in effort, effort
        comment = say(system, sender, "muy fácil")
        assert "algo más" in comment, comment
        thanks = say(system, sender, "no, gracias")
        assert "Gracias por tu opinión" in thanks, thanks
    except AssertionError:
        print(log_tails(system))
        raise

    key = privacy_key({"ATIENDE_DATA_DIR": str(system.data_dir)})
    conversation = pseudonym(sender, key)

    def logged() -> dict[str, float] | None:
        with sqlite3.connect(system.data_dir / "handoff.db") as db:
            rows = db.execute("SELECT type, value FROM event_log WHERE conversation = ? AND "
                              "type IN ('csat', 'ces')", (conversation,)).fetchall()
        found = {kind: value for kind, value in rows}
        return found if {"csat", "ces"} <= set(found) else None

    assert poll(logged, 60, "the csat and ces rows in the event log") == {"csat": 5.0, "ces": 5.0}

    rasa = scrape(system.ports["RASA_PORT"])
    assert rasa['atiende_rasa_turns_total{channel="rest",outcome="ok"}'] >= 6
    assert rasa['atiende_rasa_turn_seconds_count{channel="rest"}'] >= 6
    assert rasa['atiende_rasa_action_seconds_count{action="action_store_rating"}'] >= 1
    assert rasa["atiende_rasa_nlu_seconds_count"] >= 6
    actions = scrape(system.ports["ACTIONS_PORT"])
    assert actions['atiende_actions_total{action="action_order_status",outcome="ok"}'] >= 1
    assert actions['atiende_actions_total{action="validate_csat_form",outcome="ok"}'] >= 2
    no_token = httpx.get(f"http://127.0.0.1:{system.ports['RASA_PORT']}/metrics", timeout=30)
    assert no_token.status_code == 401
