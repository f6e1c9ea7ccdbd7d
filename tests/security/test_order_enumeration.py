"""Attack: enumerate order numbers. Type ``AT100001``, ``AT100002``… with any e-mail and watch
which answers differ: before, an unknown number got "No encuentro ningún pedido …" at once, a real
one asked for the e-mail and then said "Ese dato no coincide con el pedido …".

Now the number is taken without looking it up, and "no such order" and "the e-mail doesn't
match" give the same words (one catalogue entry, ``verify_failed``, in Spanish and English), the
same slots and count the same failure. Checked on the real validators, and through the whole
running system.
"""

from __future__ import annotations

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
from tests.security.system_fixtures import ask

__all__ = ["demo_store", "ledger_url", "pg_ledger_url"]
UNKNOWN = "AT999999"


def neutral(messages: list[dict[str, Any]], order_id: str) -> list[str]:
    """What the bot said, with the order number the shopper typed blanked out."""
    return [(m.get("text") or m.get("response") or "").replace(order_id, "<n>") for m in messages]


@pytest.mark.parametrize("lang", ["es", "en"])
async def test_unknown_order_and_wrong_email_answer_alike(demo_store: list[Any], ledger_url: str,
                                                          lang: str) -> None:
    real = order_of(demo_store).id
    answers = {}
    for sender, order_id in (("enum-a", real), ("enum-b", UNKNOWN)):
        first_events, first = await turn(sender, {"order_id": order_id, "language": lang},
                                         ["order_id"])
        events, said = await turn(sender, {"order_id": order_id, "language": lang,
                                           "customer_contact": "quien.sea@example.com"},
                                  ["customer_contact"])
        slots = slot_values(events)
        slots.pop("order_id", None)
        answers[order_id] = (neutral(first, order_id), slot_values(first_events) == {
            "order_id": order_id}, neutral(said, order_id), slots)
    assert answers[real] == answers[UNKNOWN]
    assert answers[real][0] == []  # the number alone reveals nothing
    assert "<n>" in answers[real][2][0] and "2" in answers[real][2][0]  # attempts left


@pytest.mark.e2e
def test_through_the_running_bot(bot_system: Any) -> None:
    real = "AT101001"
    said = {}
    for sender, order_id in (("enum-sys-a", real), ("enum-sys-b", UNKNOWN)):
        first = ask(bot_system, sender, f"¿dónde está mi pedido {order_id}?")
        second = ask(bot_system, sender, "quien.sea@example.com")
        said[order_id] = [[(r.get("text") or "").replace(order_id, "<n>") for r in turn_]
                          for turn_ in (first, second)]
    assert said[real] == said[UNKNOWN]
    assert any("<n>" in text for text in said[real][1])
