"""Per-market store policy: the numbers the bot applies, in one reviewable place.

Every figure here mirrors the store's published help articles (``data/kb/es`` and ``data/kb/en``:
return-policy, refund-times, cancel-order, size-exchange, cash-on-delivery, how-to-return); those
articles are the store's public promise, so when they change, this file changes with them (and
``docs/policies.md``). A deployment may override any key per market with a JSON file named by
``ATIENDE_POLICY_FILE`` (same keys, partial markets allowed). Amounts are in minor units (cents) of
the market's currency. Refund times are business days counted from when the store receives the
return (for a cancellation: from the cancellation day, when the refund is issued).
"""

from __future__ import annotations

from typing import Any

# Never returned (return-policy article): "underwear" covers underwear and socks, "personalised"
# embroidery/initials, plus gift cards.
NON_RETURNABLE = ["underwear", "gift_card", "personalised"]
# Returned or exchanged only with the hygiene seal intact ("bañadores sin el precinto higiénico" are
# excluded, so sealed ones are not): the bot accepts them and states the condition.
SEAL_REQUIRED = ["swimwear"]
# Size exchanges are free for these (same item and colour, other size, while stock lasts).
SIZE_EXCHANGE = ["footwear", "apparel", "swimwear"]

DEFAULTS: dict[str, Any] = {
    "return_window_days": 30,
    "statutory_withdrawal_days": 0,
    "non_returnable_categories": NON_RETURNABLE,
    "seal_required_categories": SEAL_REQUIRED,
    "size_exchange_categories": SIZE_EXCHANGE,
    "free_size_exchange": True,
    # Deducted from a refund for the prepaid return label (not from exchanges or faulty items).
    "return_label_fee_cents": 0,
    "cancellable_statuses": ["pending", "paid"],
    # Black Friday and Christmas: purchases (order date, not delivery date) from 15 Nov to 31 Dec
    # can be returned until 15 Jan of the next year, or 30 days from delivery if that is later.
    "holiday_returns": {"purchased_from": "11-15", "purchased_to": "12-31",
                        "return_until": "01-15"},
    "refund_business_days": {
        "card": [3, 5],
        "apple_pay": [3, 5],
        "google_pay": [3, 5],
        "paypal": [1, 2],
        "bank_transfer": [5, 7],
        "cash_on_delivery": [5, 7],  # paid back by bank transfer once the shopper gives an account
    },
}

MARKETS: dict[str, dict[str, Any]] = {
    "ES": {
        "currency": "EUR",
        # EU Directive 2011/83/EU (RDL 1/2007 art. 102): 14 days' withdrawal from delivery is the
        # legal floor; the store gives 30.
        "return_window_days": 30,
        "statutory_withdrawal_days": 14,
        "approval_threshold_cents": 500_00,
        "refund_business_days": {"bizum": [1, 5]},
    },
    "MX": {
        "currency": "MXN",
        "return_window_days": 30,
        "approval_threshold_cents": 10_000_00,
        "refund_business_days": {"oxxo": [5, 7], "mercadopago": [1, 5]},  # OXXO: by transfer
    },
    "AR": {
        "currency": "ARS",
        # Ley 24.240 art. 34: 10 days to revoke an online purchase ("botón de arrepentimiento").
        "return_window_days": 30,
        "statutory_withdrawal_days": 10,
        "approval_threshold_cents": 500_000_00,
        "refund_business_days": {"mercadopago": [1, 5]},
    },
    "CO": {
        "currency": "COP",
        # Ley 1480 de 2011 art. 47: 5 business days' "derecho de retracto"; the store gives 30.
        "return_window_days": 30,
        "statutory_withdrawal_days": 5,
        "approval_threshold_cents": 2_250_000_00,
        "refund_business_days": {"pse": [1, 5], "nequi": [1, 5]},
    },
    "US": {
        "currency": "USD",
        "return_window_days": 30,
        "approval_threshold_cents": 550_00,
        "return_label_fee_cents": 6_95,  # prepaid UPS label, waived for exchanges and faulty items
    },
}
