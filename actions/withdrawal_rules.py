"""The rules of the right of withdrawal per market, read from the policy files (no rasa_sdk here,
so the handoff API's ``GET /api/withdrawal-function`` and the tests use it too).

Each market file (``data/policies/<market>.yml``) has ``statutory_withdrawal_days`` and a
``withdrawal`` section: ``function`` (the flow records withdrawals in this market: a legal
withdrawal function or right exists), ``business_days`` (the period counts business days),
``refund_days`` (the legal deadline to refund, where the file states one), ``label`` and
``confirm`` (the button labels per shopper language), ``law`` (the references) and ``timezone``
(the date and time of the acknowledgement). docs/policies.md "Right of withdrawal" explains them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from actions.policy import add_business_days, return_deadline
from actions.policy_markets import market_policy
from actions.store.base import Order, OrderStatus
from actions.store_calendar import store_day

FALLBACK_MARKET = "ES"  # unknown markets get the EU rules, as the other policies do
CLOSED_STATUSES = {OrderStatus.CANCELLED, OrderStatus.RETURNED, OrderStatus.REFUNDED}


@dataclass(frozen=True)
class WithdrawalRules:
    """What the law of one market asks (from its policy file)."""

    market: str
    function: bool  # the flow records withdrawals here (a legal withdrawal function exists)
    days: int  # statutory_withdrawal_days
    business_days: bool
    refund_days: int | None  # legal deadline to refund, where the file states one
    label: dict[str, str]  # the button's label per shopper language
    confirm: dict[str, str]  # the confirmation button's label
    law: dict[str, str]  # the legal references per shopper language
    timezone: str
    reply_hours: int  # agent_reply_hours: when the team writes with the return instructions


def _per_language(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {"es": str(value)} if value else {}


def _rules(code: str, raw: dict[str, Any]) -> WithdrawalRules:
    section = raw.get("withdrawal") or {}
    refund = section.get("refund_days")
    return WithdrawalRules(
        market=code, function=bool(section.get("function")),
        days=int(raw.get("statutory_withdrawal_days") or 0),
        business_days=bool(section.get("business_days")),
        refund_days=int(refund) if refund else None,
        label=_per_language(section.get("label")),
        confirm=_per_language(section.get("confirm")),
        law=_per_language(section.get("law")), timezone=str(section.get("timezone") or "UTC"),
        reply_hours=int(raw.get("agent_reply_hours") or 48))


@lru_cache(maxsize=1)
def all_rules() -> dict[str, WithdrawalRules]:
    from actions.policy_markets import markets

    return {code: _rules(code, raw) for code, raw in markets().items()}


def withdrawal_rules(market: str | None) -> WithdrawalRules:
    rules = all_rules()
    return rules.get((market or "").upper(), rules[FALLBACK_MARKET])


def label(rules: WithdrawalRules, kind: str, lang: str) -> str:
    """``kind``: ``label`` (the button), ``confirm`` (the confirmation button) or ``law``."""
    table = {"label": rules.label, "confirm": rules.confirm, "law": rules.law}[kind]
    return table.get(lang) or table.get("es") or ""


@dataclass(frozen=True)
class WithdrawalCheck:
    """``within`` / ``not_started`` (both may withdraw), ``expired``, ``no_function``,
    ``closed``; with the legal deadline and the store's own return deadline when known."""

    outcome: str
    deadline: date | None = None
    return_until: date | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome in ("within", "not_started")


def legal_deadline(order: Order, rules: WithdrawalRules) -> date | None:
    """Last day (included) of the legal period, counted from delivery; None before delivery."""
    if order.delivered_at is None:
        return None
    start = store_day(order.delivered_at)
    if rules.business_days:
        return add_business_days(start, rules.days)
    return start + timedelta(days=rules.days)


def check_withdrawal(order: Order, rules: WithdrawalRules, day: date) -> WithdrawalCheck:
    """What applies to withdrawing from ``order`` on ``day``."""
    if order.status in CLOSED_STATUSES:
        return WithdrawalCheck("closed")
    until = return_deadline(order, market_policy(order.market))
    if not rules.function or rules.days <= 0:
        return WithdrawalCheck("no_function", return_until=until)
    deadline = legal_deadline(order, rules)
    if deadline is None:
        return WithdrawalCheck("not_started")
    if day <= deadline:
        return WithdrawalCheck("within", deadline=deadline, return_until=until)
    return WithdrawalCheck("expired", deadline=deadline, return_until=until)


def withdrawal_code(order_id: str) -> str:
    """One withdrawal per order: the code is the order's, so every retry names the same one."""
    return f"DES-{order_id[2:] if order_id.upper().startswith('AT') else order_id}"
