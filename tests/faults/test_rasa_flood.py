"""50 clients at once on Rasa's REST webhook, against the real processes (Rasa with the trained
model, action server, handoff API), with turn admission on (its defaults,
``bot/channels/admission.py``).

``bench/rasa_flood.py`` measured it (reports/reliability/): without admission, 50 senders asking
knowledge-base questions as fast as they are answered queued inside Rasa: half the first wave
waited past the client's 30-s timeout and another shopper's turn waited up to 8.4 s. With it, what
does not fit is refused at once with a polite 429. These tests keep the promises around that:
no 5xx; a refusal carries ``Retry-After`` and a text in the shopper's language and never runs;
a bystander is still answered; every message resent with its ``message_id`` (as the widget does)
is answered exactly once — also when the client hung up while its turn waited or ran (Sanic
cancels the request).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from bot.channels.texts import t
from tests.faults.system import Seam
from tests.faults.tally import Tally
from tests.faults.test_kills import assert_clean

pytestmark = [pytest.mark.slow]

QUESTION = "¿cuánto tarda el envío a Canarias?"  # a knowledge-base turn (the action server)


def from_address(address: str, timeout: float = 60.0) -> httpx.Client:
    """A client whose connections come from ``address`` (each 127.x.y.z is its own client)."""
    return httpx.Client(timeout=timeout, transport=httpx.HTTPTransport(local_address=address))


def post(seam: Seam, http: httpx.Client, sender: str, text: str, mid: str,
         language: str = "es") -> Any:
    try:
        return http.post(f"{seam.rasa_url}/webhooks/rest/webhook", json={
            "sender": sender, "message": text, "message_id": mid,
            "metadata": {"language": language}})
    except httpx.TimeoutException as exc:
        return type(exc).__name__


def refused_properly(answer: Any, language: str, keys: tuple[str, ...]) -> bool:
    return (int(answer.headers["Retry-After"]) >= 1
            and answer.json()["messages"][0]["text"] in {t(k, language) for k in keys})


def turns_of(seam: Seam, sender: str) -> list[str]:
    return [e.get("message_id") for e in seam.tracker_events(sender) if e.get("event") == "user"]


def test_a_client_over_its_share_is_told_to_slow_down_in_its_language(alive: Seam) -> None:
    """One client (one address) asks 20 KB questions at once, each in its own conversation: what
    is over its share of turns is a 429 with Retry-After and the English slow-down text, and never
    runs; another client is answered meanwhile; resent with their ids, the refused ones are
    answered once."""
    seam, tally = alive, Tally()
    senders = [f"share-{i}" for i in range(20)]
    with from_address("127.0.5.1") as greedy, from_address("127.0.5.2") as other, \
            ThreadPoolExecutor(max_workers=21) as pool:
        bystander = pool.submit(seam.say, "share-bystander", "hola",
                                tally.note("share-bystander", "share-bystander-1"), http=other)
        first = list(pool.map(lambda s: post(seam, greedy, s, QUESTION, f"{s}-1", "en"),
                              senders))
        assert bystander.result().status == 200
    codes = [a.status_code for a in first]
    assert set(codes) <= {200, 429} and 429 in codes, codes
    for sender, answer in zip(senders, first, strict=True):
        if answer.status_code == 429:
            assert refused_properly(answer, "en", ("slow_down", "busy")), answer.text
            assert f"{sender}-1" not in turns_of(seam, sender), "a refused message ran"
    again = [seam.say(s, QUESTION, tally.note(s, f"{s}-1"), metadata={"language": "en"})
             for s in senders]
    assert {r.status for r in again} == {200}
    assert_clean(tally, seam)


def test_fifty_clients_at_once_get_answers_or_polite_refusals_and_resends_run_once(
        alive: Seam) -> None:
    """50 clients, each its own address and sender, post a KB question at once with a client
    that gives up after 0.3 s (the bench's 30-s timeouts, compressed); a bystander says hello
    meanwhile. No 5xx; a 429 has Retry-After and the Spanish text and its turn did not run; the
    bystander is answered; every message resent with its id is answered, and no turn runs
    twice."""
    seam, tally = alive, Tally()
    senders = [f"rasa-flood-{i}" for i in range(50)]

    def impatient(i: int) -> Any:
        with from_address(f"127.0.6.{i + 1}", timeout=0.3) as http:
            return post(seam, http, senders[i], QUESTION, tally.note(senders[i], f"{senders[i]}-1"))

    with from_address("127.0.6.200") as other, ThreadPoolExecutor(max_workers=51) as pool:
        bystander = pool.submit(seam.say, "rasa-flood-bystander", "hola",
                                tally.note("rasa-flood-bystander", "rasa-flood-bystander-1"),
                                http=other)
        first = list(pool.map(impatient, range(50)))
        assert bystander.result().status == 200
    codes = [a if isinstance(a, str) else a.status_code for a in first]
    assert not [c for c in codes if isinstance(c, int) and c not in (200, 429)], codes
    for sender, answer in zip(senders, first, strict=True):
        if not isinstance(answer, str) and answer.status_code == 429:
            assert refused_properly(answer, "es", ("busy", "slow_down")), answer.text
            assert f"{sender}-1" not in turns_of(seam, sender), "a refused message ran"
    # the widget resends what got no answer, with the same id (409 "being processed", 429 and
    # 5xx are resent by seam.say until a final answer)
    with ThreadPoolExecutor(max_workers=10) as pool:
        again = list(pool.map(lambda s: seam.say(s, QUESTION, f"{s}-1"), senders))
    assert {r.status for r in again} == {200}
    assert_clean(tally, seam)
