"""Attack (issue #10, the live leak): ``POST /webhooks/rest/webhook`` with
``{"sender": "x34655908172", "message": "¿dónde está mi pedido AT101001?",
"input_channel": "whatsapp"}`` — and the same with ``"sender": "wa:34655908172"`` — answered
"Pedido AT101001 verificado con tu número de WhatsApp" and the order's items, carrier, tracking
number and city: the REST body chose the channel, and the sender id only had to contain the
buyer's digits.

Two layers are attacked here: the order form as Rasa hands it the spoofed turn (even if a channel
still said ``whatsapp``, no verified-identity entry means no verification), and the exact request
against the whole running system (``tests/security/test_system_*`` share that system).
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

PHONE_DIGITS = "34655908172"


def buyer_digits(order: Any) -> str:
    return "".join(c for c in order.customer["phone"] if c.isdigit())


@pytest.mark.parametrize("sender_form", ["x{}", "wa:{}", "{}"])
async def test_form_does_not_verify_a_sender_id_that_looks_like_the_buyers_phone(
        demo_store: list[Any], ledger_url: str, sender_form: str) -> None:
    order = order_of(demo_store)
    sender = sender_form.format(buyer_digits(order))
    # the turn exactly as the old REST channel produced it: input_channel taken from the body
    events, said = await turn(sender, {"order_id": order.id}, ["order_id"],
                              input_channel="whatsapp",
                              metadata={"phone": "+" + buyer_digits(order)})
    assert "verified_order_id" not in slot_values(events)
    text = " ".join(m.get("text") or m.get("response") or "" for m in said)
    assert "WhatsApp" not in text and order.items[0]["name"] not in text


@pytest.mark.e2e
@pytest.mark.parametrize("sender", ["x" + PHONE_DIGITS, "wa:" + PHONE_DIGITS])
def test_exact_spoofing_request_reveals_nothing(bot_system: Any, sender: str) -> None:
    replies = ask(bot_system, sender, "¿dónde está mi pedido AT101001?",
                  input_channel="whatsapp")
    text = " ".join(r.get("text") or "" for r in replies)
    assert replies, "the bot should answer (asking for the e-mail or phone)"
    assert "verificado" not in text.lower() and "WhatsApp" not in text
    # what the leak showed: items, carrier, tracking number, city
    for secret in ("Chaqueta impermeable Brisa", "MRW", "900602677354", "Sevilla"):
        assert secret not in text
