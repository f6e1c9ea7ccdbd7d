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

import sqlite3
import uuid
from typing import Any

import httpx
import pytest

from privacy.records import privacy_key, pseudonym
from tests.e2e.test_handoff_e2e import log_tails, poll
from tests.timing.test_prometheus import parse
from tests.whole_system import METRICS_TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


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
