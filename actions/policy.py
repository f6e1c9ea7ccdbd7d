"""Store policy decisions as plain functions: what may be cancelled, returned, refunded, changed.

Actions ask these functions and then call the store; keeping the rules free of rasa_sdk makes them
unit-testable and lets a store owner read the whole policy in one file (numbers in
``actions/policy_markets.py``, prose in ``docs/policies.md``). Every decision carries a ``code`` the
actions turn into a message in the shopper's language.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from actions import policy_markets
from actions.store.base import Order, OrderStatus

FALLBACK_MARKET = "ES"


@dataclass(frozen=True)
class MarketPolicy:
    market: str
    currency: str
    return_window_days: int
    statutory_withdrawal_days: int
    approval_threshold_cents: int
    non_returnable_categories: frozenset[str]
    size_exchange_categories: frozenset[str]
    free_size_exchange: bool
    cancellable_statuses: frozenset[str]
    refund_business_days: dict[str, tuple[int, int]] = field(default_factory=dict)
    seal_required_categories: frozenset[str] = frozenset()
    return_label_fee_cents: int = 0
    # ((month, day) first purchase day, (month, day) last purchase day, (month, day) return-until
    # day of the following year) of the Black Friday/Christmas extension, or None.
    holiday_returns: tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None = None

    def __post_init__(self) -> None:
        if self.return_window_days < self.statutory_withdrawal_days:
            raise ValueError(f"{self.market}: return window {self.return_window_days} days is "
                             f"shorter than the legal {self.statutory_withdrawal_days}-day "
                             "withdrawal period")
        if self.approval_threshold_cents <= 0:
            raise ValueError(f"{self.market}: approval_threshold_cents must be positive")
        if self.return_label_fee_cents < 0:
            raise ValueError(f"{self.market}: return_label_fee_cents cannot be negative")


@dataclass(frozen=True)
class Decision:
    """``allowed`` plus a reason ``code``; ``needs_agent`` when a human must approve."""

    allowed: bool
    code: str
    needs_agent: bool = False
    deadline: date | None = None
    refund_cents: int = 0
    kind: str = "refund"
    holiday: bool = False  # the deadline comes from the Black Friday/Christmas extension
    seal_required: bool = False  # accepted only with the hygiene seal intact (swimwear)
    fee_cents: int = 0  # return-label fee already taken off ``refund_cents``


def _month_day(text: str) -> tuple[int, int]:
    """``"11-15"`` → ``(11, 15)``, rejecting impossible days early (at load, not at a shopper)."""
    month, day = (int(part) for part in str(text).split("-"))
    date(2024, month, day)  # leap year: accepts 02-29, raises ValueError on nonsense
    return month, day


def _holiday(raw: dict[str, str] | None) -> tuple[tuple[int, int], ...] | None:
    if not raw:
        return None
    return (_month_day(raw["purchased_from"]), _month_day(raw["purchased_to"]),
            _month_day(raw["return_until"]))


def _build(code: str, raw: dict[str, Any]) -> MarketPolicy:
    merged = {**policy_markets.DEFAULTS, **raw}
    days = {**policy_markets.DEFAULTS["refund_business_days"],
            **raw.get("refund_business_days", {})}
    return MarketPolicy(
        market=code,
        currency=merged["currency"],
        return_window_days=int(merged["return_window_days"]),
        statutory_withdrawal_days=int(merged["statutory_withdrawal_days"]),
        approval_threshold_cents=int(merged["approval_threshold_cents"]),
        non_returnable_categories=frozenset(merged["non_returnable_categories"]),
        size_exchange_categories=frozenset(merged["size_exchange_categories"]),
        free_size_exchange=bool(merged["free_size_exchange"]),
        cancellable_statuses=frozenset(merged["cancellable_statuses"]),
        refund_business_days={k: (int(v[0]), int(v[1])) for k, v in days.items()},
        seal_required_categories=frozenset(merged["seal_required_categories"]),
        return_label_fee_cents=int(merged["return_label_fee_cents"]),
        holiday_returns=_holiday(merged["holiday_returns"]),  # type: ignore[arg-type]
    )


@lru_cache(maxsize=1)
def load_policies() -> dict[str, MarketPolicy]:
    """All market policies; ``ATIENDE_POLICY_FILE`` (JSON) may override any market's keys."""
    markets = {code: dict(raw) for code, raw in policy_markets.MARKETS.items()}
    override = os.environ.get("ATIENDE_POLICY_FILE")
    if override:
        data = json.loads(Path(override).read_text(encoding="utf-8"))
        for code, raw in data.items():
            markets.setdefault(code.upper(), {}).update(raw)
    return {code: _build(code, raw) for code, raw in markets.items()}


def market_policy(market: str | None) -> MarketPolicy:
    """The policy of ``market``; unknown markets get the strictest shipped one (ES, EU law)."""
    policies = load_policies()
    return policies.get((market or "").upper(), policies[FALLBACK_MARKET])


def needs_approval(amount_cents: int, policy: MarketPolicy) -> bool:
    """Refunds/cancellations strictly above the threshold are approved by a person, not the bot."""
    return amount_cents > policy.approval_threshold_cents


def refund_timeline(payment_method: str, policy: MarketPolicy) -> tuple[int, int]:
    """Business days (min, max) until refunded money shows up, by payment method.

    Counted from when the store receives the return (cancellations: from the cancellation day,
    when the refund is issued); an unknown method gets the card figures.
    """
    return policy.refund_business_days.get(payment_method, policy.refund_business_days["card"])


def add_business_days(start: date, days: int) -> date:
    """``start`` plus ``days`` working days (Mon–Fri); public holidays are not modelled."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def refund_due_date(received_on: date, payment_method: str, policy: MarketPolicy) -> date:
    """Latest day the money should show: the return's receipt day plus the method's maximum."""
    return add_business_days(received_on, refund_timeline(payment_method, policy)[1])


def charged_before_delivery(order: Order) -> bool:
    """Whether the shopper has paid yet.

    Cash on delivery is paid to the courier, so never before delivery.
    """
    return order.status == OrderStatus.PAID and order.payment_method != "cash_on_delivery"


def check_cancellation(order: Order, policy: MarketPolicy) -> Decision:
    """Cancellation is possible only before shipping; orders above the threshold go to an agent.

    The cancel-order article says cancellations *and* refunds of orders over the threshold are
    reviewed by an agent, so the amount counts whether or not the order has been charged yet.
    """
    status = order.status
    if status == OrderStatus.CANCELLED:
        return Decision(False, "already_cancelled")
    if status.is_shipped:
        return Decision(False, "already_shipped")
    if status.value not in policy.cancellable_statuses:
        return Decision(False, "closed")  # returned / refunded
    refund = order.total_cents if charged_before_delivery(order) else 0
    if needs_approval(order.total_cents, policy):
        return Decision(False, "approval_required", needs_agent=True, refund_cents=refund)
    return Decision(True, "ok", refund_cents=refund)


def check_address_change(order: Order) -> Decision:
    """The address can change while the parcel is still in the warehouse."""
    if order.status.is_shipped:
        return Decision(False, "already_shipped")
    if order.status in {OrderStatus.PENDING, OrderStatus.PAID}:
        return Decision(True, "ok")
    return Decision(False, "closed")


def holiday_return_deadline(purchased_on: date, policy: MarketPolicy) -> date | None:
    """The Black Friday/Christmas return-until day for a purchase made on ``purchased_on``.

    The article ties the extension to the *purchase* date (15 Nov – 31 Dec, both included), not to
    delivery: an order placed on 14 November and delivered on the 20th gets no extension, one
    placed on 31 December and delivered in January does. The return-until day (15 January) is in
    the year after the purchase. None when the purchase is outside the period.
    """
    if policy.holiday_returns is None:
        return None
    first, last, until = policy.holiday_returns
    if not first <= (purchased_on.month, purchased_on.day) <= last:
        return None
    year = purchased_on.year + 1 if until < first else purchased_on.year
    return date(year, *until)


def return_deadline(order: Order, policy: MarketPolicy) -> date | None:
    """Last day (included) to ask for a return; None until the order is delivered.

    The normal window counts from delivery, not from purchase. Holiday purchases may return until
    the extension day, "or within 30 days of delivery if that is later": the later of the two wins.
    """
    if order.delivered_at is None:
        return None
    standard = order.delivered_at.date() + timedelta(days=policy.return_window_days)
    holiday = holiday_return_deadline(order.placed_at.date(), policy)
    return max(standard, holiday) if holiday else standard


def deadline_is_holiday(order: Order, policy: MarketPolicy) -> bool:
    """Whether the holiday extension, not the normal window, sets this order's deadline."""
    holiday = holiday_return_deadline(order.placed_at.date(), policy)
    deadline = return_deadline(order, policy)
    return bool(holiday and deadline == holiday
                and deadline > order.delivered_at.date()  # type: ignore[union-attr]
                + timedelta(days=policy.return_window_days))


_SIZE_WORDS = re.compile(
    r"\b(talla|tallas|tallaje|n[uú]mero|tama[nñ]o|peque[nñ]|grande|chic[oa]|apretad|ajustad|holgad|"
    r"ancho|estrech|me queda|size|sizes|small|big|large|tight|loose|fit|fits)", re.IGNORECASE,
)


def is_size_reason(reason: str | None) -> bool:
    """Whether the shopper's reason is about size (then a free size exchange is offered)."""
    return bool(reason and _SIZE_WORDS.search(reason))


_FAULTY_WORDS = re.compile(
    r"\b(defect|rot[oa]s?\b|rompi|da[nñ]ad|estropead|descosid|equivocad|no es lo que ped|faulty|"
    r"broken|damaged|wrong (item|product|one)|torn|ripped)", re.IGNORECASE,
)


def is_faulty_reason(reason: str | None) -> bool:
    """Whether the reason reports a faulty or wrong item (then no return-label fee is deducted)."""
    return bool(reason and _FAULTY_WORDS.search(reason))


def check_return_eligibility(order: Order, today: date, policy: MarketPolicy) -> Decision:
    """Order-level part of :func:`check_return`: delivered and still inside the window."""
    if order.status != OrderStatus.DELIVERED:
        if order.status.is_shipped:
            return Decision(False, "not_delivered_yet")
        if order.status in {OrderStatus.PENDING, OrderStatus.PAID}:
            return Decision(False, "not_shipped")  # cancelling is the better path
        return Decision(False, "closed")
    deadline = return_deadline(order, policy)
    holiday = deadline_is_holiday(order, policy)
    if deadline is None or today > deadline:
        return Decision(False, "window_expired", deadline=deadline, holiday=holiday)
    return Decision(True, "ok", deadline=deadline, holiday=holiday)


def check_return(order: Order, item_ids: list[int], today: date, policy: MarketPolicy,
                 *, reason: str | None = None) -> Decision:
    """Whether these items may be returned today, as a refund or as a free size exchange.

    Sealed-hygiene categories (swimwear) are accepted with ``seal_required`` so the shopper is told
    the condition; where the market charges for the prepaid label (US) the fee is taken off the
    refund unless the reason reports a faulty or wrong item.
    """
    eligible = check_return_eligibility(order, today, policy)
    if not eligible.allowed:
        return eligible
    deadline = eligible.deadline
    holiday = eligible.holiday
    items = [order.item(i) for i in item_ids]
    if not item_ids or any(i is None for i in items):
        return Decision(False, "unknown_item", deadline=deadline)
    if set(item_ids) & order.returned_item_ids():
        return Decision(False, "already_returned", deadline=deadline)
    if any(i.category in policy.non_returnable_categories for i in items if i):
        return Decision(False, "non_returnable", deadline=deadline, holiday=holiday)
    seal = any(i.category in policy.seal_required_categories for i in items if i)
    exchange = (policy.free_size_exchange and is_size_reason(reason)
                and all(i.size and i.category in policy.size_exchange_categories
                        for i in items if i))
    if exchange:  # free everywhere: no label fee either
        return Decision(True, "ok", deadline=deadline, kind="exchange", holiday=holiday,
                        seal_required=seal)
    value = sum(i.total_cents for i in items if i)
    fee = 0 if is_faulty_reason(reason) else min(policy.return_label_fee_cents, value)
    if needs_approval(value, policy):  # "refunds over €500" means the items' value
        return Decision(False, "approval_required", needs_agent=True, deadline=deadline,
                        refund_cents=value - fee, holiday=holiday, seal_required=seal,
                        fee_cents=fee)
    return Decision(True, "ok", deadline=deadline, refund_cents=value - fee, holiday=holiday,
                    seal_required=seal, fee_cents=fee)
