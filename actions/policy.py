"""Store policy decisions as plain functions: what may be cancelled, returned, refunded, changed.

Actions ask these functions and then call the store; keeping the rules free of rasa_sdk makes them
unit-testable and lets a store owner read the whole policy in one place (figures in
``data/policies/<market>.yml``, read and validated by ``actions/policy_markets.py``; prose in
``docs/policies.md``). Every decision carries a ``code`` the actions turn into a message in the
shopper's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from actions.policy_markets import MarketPolicy
from actions.store.base import Order, OrderItem, OrderStatus, ReturnRecord
from actions.store_calendar import store_day


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
    rma: str | None = None  # code "open_rma": the return already open for the item
    item_id: int | None = None  # per-item refusals: the item the code is about


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
    standard = store_day(order.delivered_at) + timedelta(days=policy.return_window_days)
    holiday = holiday_return_deadline(store_day(order.placed_at), policy)
    return max(standard, holiday) if holiday else standard


def deadline_is_holiday(order: Order, policy: MarketPolicy) -> bool:
    """Whether the holiday extension, not the normal window, sets this order's deadline."""
    holiday = holiday_return_deadline(store_day(order.placed_at), policy)
    deadline = return_deadline(order, policy)
    return bool(holiday and deadline == holiday
                and deadline > store_day(order.delivered_at)  # type: ignore[union-attr]
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


#: RMA states in which the return is still under way (the shopper is shown it, not a new one)
OPEN_RETURN_STATUSES = frozenset({"requested", "open", "label_sent"})


def open_return_for(order: Order, item_id: int) -> ReturnRecord | None:
    """The RMA still under way for ``item_id`` (requested, open, label sent), else None."""
    return next((r for r in order.returns
                 if item_id in r.item_ids and r.status in OPEN_RETURN_STATUSES), None)


def check_item(order: Order, item: OrderItem, policy: MarketPolicy, *,
               seal_intact: bool | None = None) -> Decision:
    """Whether this one item may be returned, checked before anything is created or confirmed.

    In order: a return already under way for it (``open_rma``, shown instead of a second one),
    already returned (``already_returned``), final sale (``final_sale``), a category the policy
    excludes (``non_returnable``: hygiene, gift cards, personalised), and for sealed-hygiene
    categories a seal the shopper said is broken (``seal_broken``). ``seal_intact=None`` means
    not asked yet: allowed with ``seal_required`` so the question is asked.
    """
    record = open_return_for(order, item.id)
    if record is not None:
        return Decision(False, "open_rma", rma=record.rma, item_id=item.id, kind=record.kind)
    if item.id in order.returned_item_ids():
        return Decision(False, "already_returned", item_id=item.id)
    if item.final_sale:
        return Decision(False, "final_sale", item_id=item.id)
    if item.category in policy.non_returnable_categories:
        return Decision(False, "non_returnable", item_id=item.id)
    seal = item.category in policy.seal_required_categories
    if seal and seal_intact is False:
        return Decision(False, "seal_broken", item_id=item.id)
    return Decision(True, "ok", item_id=item.id, seal_required=seal)


def size_exchange_allowed(items: list[OrderItem], reason: str | None,
                          policy: MarketPolicy) -> bool:
    """A free size exchange is offered: the reason is about size and every item has a size in an
    exchangeable category."""
    return (policy.free_size_exchange and is_size_reason(reason) and bool(items)
            and all(i.size and i.category in policy.size_exchange_categories for i in items))


def check_return(order: Order, item_ids: list[int], today: date, policy: MarketPolicy,
                 *, reason: str | None = None, seal_intact: bool | None = None,
                 remedy: str | None = None) -> Decision:
    """Whether these items may be returned today, as a refund or as a free size exchange.

    The order-level rules (:func:`check_return_eligibility`) come first, then every item's own
    (:func:`check_item`): the first refusal wins. Sealed-hygiene categories (swimwear) are accepted
    with ``seal_required`` so the shopper is told the condition; where the market charges for the
    prepaid label (US) the fee is taken off the refund unless the reason reports a faulty or
    wrong item. ``remedy="refund"`` is the shopper turning the offered size exchange down.
    """
    eligible = check_return_eligibility(order, today, policy)
    if not eligible.allowed:
        return eligible
    deadline = eligible.deadline
    holiday = eligible.holiday
    items = [order.item(i) for i in item_ids]
    if not item_ids or any(i is None for i in items):
        return Decision(False, "unknown_item", deadline=deadline)
    seal = False
    for item in items:
        verdict = check_item(order, item, policy, seal_intact=seal_intact)  # type: ignore[arg-type]
        if not verdict.allowed:
            return replace(verdict, deadline=deadline, holiday=holiday)
        seal = seal or verdict.seal_required
    exchange = remedy != "refund" and size_exchange_allowed(items, reason, policy)  # type: ignore[arg-type]
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


#: what can be wrong with a delivered item (the ``problem`` entity and slot)
CLAIM_PROBLEMS = ("damaged", "wrong_item", "missing")
#: how a claim RMA's reason starts, so later claims by the same shopper are recognised
CLAIM_MARK = "[claim:"


def claim_photo_needed(problem: str | None, policy: MarketPolicy) -> bool:
    """Whether this problem needs photo evidence in this market (damaged: yes; wrong or missing
    items skip the photo where the policy says so)."""
    return (problem or "damaged") in policy.claim_photo_required


def is_claim(record: ReturnRecord) -> bool:
    return record.reason.startswith(CLAIM_MARK)


def check_claim(order: Order, item_ids: list[int], today: date, policy: MarketPolicy, *,
                earlier_claims: int = 0) -> Decision:
    """Whether the bot may settle a damaged / wrong / missing item claim itself.

    The order must be delivered; the report must come within ``claim_report_days`` of delivery
    (later defects are warranty cases); the items must be in the order and not already covered by
    a return or claim. A person takes over (``needs_agent``) when the items' value is above the
    market's approval threshold (``approval_required``), when the shopper already made a claim
    (``repeated_claim``) or when the report comes too late (``claim_late``).
    """
    if order.status != OrderStatus.DELIVERED:
        if order.status.is_shipped:
            return Decision(False, "not_delivered_yet")
        return Decision(False, "closed")
    items = [order.item(i) for i in item_ids]
    if not item_ids or any(i is None for i in items):
        return Decision(False, "unknown_item")
    for item in items:
        record = open_return_for(order, item.id)  # type: ignore[union-attr]
        if record is not None:
            return Decision(False, "open_rma", rma=record.rma, item_id=item.id,  # type: ignore
                            kind=record.kind)
        if item.id in order.returned_item_ids():  # type: ignore[union-attr]
            return Decision(False, "already_returned", item_id=item.id)  # type: ignore
    value = sum(i.total_cents for i in items if i)
    deadline = store_day(order.delivered_at) + timedelta(  # type: ignore[union-attr]
        days=policy.claim_report_days)
    if today > deadline:
        return Decision(False, "claim_late", needs_agent=True, deadline=deadline,
                        refund_cents=value)
    if earlier_claims:
        return Decision(False, "repeated_claim", needs_agent=True, deadline=deadline,
                        refund_cents=value)
    if needs_approval(value, policy):
        return Decision(False, "approval_required", needs_agent=True, deadline=deadline,
                        refund_cents=value)
    return Decision(True, "ok", deadline=deadline, refund_cents=value)
