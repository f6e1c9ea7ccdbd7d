"""50 senders at once on Rasa's REST webhook, against the real processes (Rasa with the trained
model, action server, handoff API).

``bench/rasa_flood.py`` measured it (reports/reliability/): 50 senders asking knowledge-base
questions as fast as they are answered, one Rasa process and one action server on one busy core:
1.7 turns/s, half the first wave waited past the client's 30-s timeout. Nothing was a 5xx and,
resent with the same ``message_id`` (as the widget does), every message was answered exactly once.
This test keeps that true on the path a client timeout takes: the client hangs up while its turn
is queued or running (Sanic cancels the request), then sends the same message again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.faults.system import Seam, Tally
from tests.faults.test_kills import assert_clean

pytestmark = [pytest.mark.slow]

QUESTION = "¿cuánto tarda el envío a Canarias?"  # a knowledge-base turn (the action server)


def test_fifty_senders_whose_clients_give_up_are_answered_once_on_resend(alive: Seam) -> None:
    """50 senders post a KB question at once with a client that gives up after 0.3 s (the
    bench's 30-s timeouts, compressed); a bystander says hello meanwhile. No 5xx; every message
    resent with its id is answered, and no turn runs twice."""
    seam, tally = alive, Tally()
    senders = [f"rasa-flood-{i}" for i in range(50)]

    def impatient(sender: str) -> Any:
        mid = tally.note(sender, f"{sender}-1")
        try:
            with httpx.Client(timeout=0.3) as http:
                return http.post(f"{seam.rasa_url}/webhooks/rest/webhook", json={
                    "sender": sender, "message": QUESTION, "message_id": mid,
                    "metadata": {"language": "es"}}).status_code
        except httpx.TimeoutException as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=51) as pool:
        bystander = pool.submit(seam.say, "rasa-flood-bystander", "hola",
                                tally.note("rasa-flood-bystander", "rasa-flood-bystander-1"))
        first = list(pool.map(impatient, senders))
    assert bystander.result().status == 200
    statuses = {c for c in first if isinstance(c, int)}
    assert statuses <= {200}, first  # no 5xx, nothing refused
    assert any(isinstance(c, str) for c in first), "no client gave up: the flood did not queue"
    # the widget resends what got no answer, with the same id (409 "being processed" and 5xx
    # are resent by seam.say until a final answer)
    with ThreadPoolExecutor(max_workers=10) as pool:
        again = list(pool.map(lambda s: seam.say(s, QUESTION, f"{s}-1"), senders))
    assert {r.status for r in again} == {200}
    assert_clean(tally, seam)
