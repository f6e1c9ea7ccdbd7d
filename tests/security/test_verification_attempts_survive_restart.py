"""Attack: guess the e-mail or phone of someone's order, starting over whenever the bot locks —
a new conversation session (slots reset), a new web session id, or after a restart of the action
server. Before, the count lived in a slot (``verification_attempts``), so any of those reset it.

Failed checks are now counted per sender and per order number in the shared ledger
(``bot/ledger.py`` table ``identity_failures``, SQLite by default, PostgreSQL when configured);
both counters are checked on SQLite and PostgreSQL, and concurrent failures from several
processes are all counted.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.security.identity_fixtures import (
    demo_store,
    ledger_url,
    order_of,
    pg_ledger_url,
    slot_values,
    turn,
)

__all__ = ["demo_store", "ledger_url", "pg_ledger_url"]
LOCKED = "utter_verification_failed_offer_human"


def locked(said: list[dict[str, Any]]) -> bool:
    return any(m.get("response") == LOCKED for m in said)


async def guess(sender: str, order_id: str, contact: str) -> tuple[dict[str, Any], list]:
    events, said = await turn(sender, {"order_id": order_id, "customer_contact": contact},
                              ["customer_contact"])
    return slot_values(events), said


async def test_per_sender_limit_survives_a_new_session_and_a_restart(demo_store: list[Any],
                                                                     ledger_url: str) -> None:
    from actions.attempts import get_attempts

    order = order_of(demo_store)
    for n in range(3):
        slots, said = await guess("attacker", order.id, f"guess{n}@example.com")
    assert locked(said) and slots["handoff_reason"] == "verification_failed"
    # a new session: every slot back to its initial value, the right e-mail this time
    slots, said = await guess("attacker", order.id, order.customer["email"])
    assert locked(said) and "verified_order_id" not in slots
    get_attempts.cache_clear()  # a restarted action server: new process state, same database
    get_attempts().ledger.dispose()
    slots, said = await guess("attacker", order.id, order.customer["email"])
    assert locked(said) and "verified_order_id" not in slots
    # another order does not help the same sender either
    other = order_of(demo_store, "shipped")
    _, said = await guess("attacker", other.id, other.customer["email"])
    assert locked(said)
    # an honest shopper on another conversation is not affected
    slots, _ = await guess("someone-else", other.id, other.customer["email"])
    assert slots["verified_order_id"] == other.id


async def test_per_order_limit_holds_against_fresh_session_ids(demo_store: list[Any],
                                                              ledger_url: str) -> None:
    order = order_of(demo_store)
    for n in range(5):  # five web sessions, one wrong guess each
        _, said = await guess(f"fresh-session-{n}", order.id, f"guess{n}@example.com")
        assert not locked(said) or n == 4
    slots, said = await guess("fresh-session-5", order.id, order.customer["email"])
    assert locked(said) and "verified_order_id" not in slots


def test_failures_from_many_processes_are_all_counted(ledger_url: str) -> None:
    from bot.ledger import Ledger

    replicas = [Ledger(ledger_url) for _ in range(4)]
    subject = "o:concurrency-test"
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: replicas[i % 4].add_failure([subject], 3600), range(40)))
    assert Ledger(ledger_url).failures([subject], 3600) == {subject: 40}
    for ledger in replicas:
        ledger.dispose()


def test_the_window_ends(ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.ledger
    from bot.ledger import Ledger

    class Clock:
        now = 1_000_000.0

        @classmethod
        def time(cls) -> float:
            return cls.now

    ledger = Ledger(ledger_url)
    monkeypatch.setattr(bot.ledger, "time", Clock)
    assert ledger.add_failure(["s:window"], 60) == {"s:window": 1}
    assert ledger.add_failure(["s:window"], 60) == {"s:window": 2}
    Clock.now += 61
    assert ledger.failures(["s:window"], 60) == {"s:window": 0}
    assert ledger.add_failure(["s:window"], 60) == {"s:window": 1}
    ledger.dispose()
