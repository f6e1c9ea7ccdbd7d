"""Per-market store policy: the figures the bot applies, read from one policy file per market.

The files are ``data/policies/<market>.yml`` plus ``_defaults.yml`` (folder:
``ATIENDE_POLICY_DIR``).
The help articles quote the very same files through placeholders rendered when the knowledge-base
index is built (:mod:`kb_index.facts`), so an article cannot promise a window, fee or refund time
that the actions do not apply — the return form checks the same ``return_window_days`` the
return-policy article states. Amounts are in minor units (cents) of the market's currency; refund
times are business days counted from when the store receives the return (for a cancellation:
from the cancellation day). Keys are documented in ``docs/policies.md``. :class:`MarketPolicy` is
one market's figures, validated at load; the decisions that apply them are :mod:`actions.policy`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from kb_index.facts import PolicyFacts, load_facts
from kb_index.settings import policy_dir

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
    # days to hand the parcel in once the label is issued (the how-to-return article quotes it)
    return_drop_off_days: int = 7
    # damaged / wrong / missing items: days from delivery to report it, the problems that need a
    # photo, and how many times the photo is asked for before a person takes over
    claim_report_days: int = 7
    claim_photo_required: frozenset[str] = frozenset({"damaged"})
    claim_photo_asks: int = 2
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


def load() -> PolicyFacts:
    """The policy files as parsed facts (defaults already merged into each market)."""
    return load_facts(policy_dir())


def markets() -> dict[str, dict[str, Any]]:
    """``{"ES": {...}, "MX": {...}, …}``: every market's keys, defaults merged in."""
    return {code: dict(raw) for code, raw in load().markets.items()}


def defaults() -> dict[str, Any]:
    """The keys every market shares unless its own file overrides them (``_defaults.yml``)."""
    return dict(load().defaults)


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


def _build(code: str, merged: dict[str, Any]) -> MarketPolicy:
    """A validated policy from one market's keys (defaults already merged in)."""
    try:
        return MarketPolicy(
            market=code,
            currency=merged["currency"],
            return_window_days=int(merged["return_window_days"]),
            statutory_withdrawal_days=int(merged.get("statutory_withdrawal_days") or 0),
            approval_threshold_cents=int(merged["approval_threshold_cents"]),
            non_returnable_categories=frozenset(merged["non_returnable_categories"]),
            size_exchange_categories=frozenset(merged["size_exchange_categories"]),
            free_size_exchange=bool(merged["free_size_exchange"]),
            cancellable_statuses=frozenset(merged["cancellable_statuses"]),
            refund_business_days={k: (int(v[0]), int(v[1]))
                                  for k, v in merged["refund_business_days"].items()},
            seal_required_categories=frozenset(merged.get("seal_required_categories") or ()),
            return_label_fee_cents=int(merged.get("return_label_fee_cents") or 0),
            return_drop_off_days=int(merged.get("return_drop_off_days") or 7),
            claim_report_days=int(merged.get("claim_report_days") or 7),
            claim_photo_required=frozenset(merged.get("claim_photo_required") or ()),
            claim_photo_asks=int(merged.get("claim_photo_asks") or 2),
            holiday_returns=_holiday(merged.get("holiday_returns")),  # type: ignore[arg-type]
        )
    except KeyError as exc:
        raise ValueError(f"market {code}: policy key {exc.args[0]!r} is missing") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``; nested mappings (``refund_business_days``) merge key by key."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and \
            isinstance(out.get(key), dict) else value
    return out


@lru_cache(maxsize=1)
def load_policies() -> dict[str, MarketPolicy]:
    """All market policies from the policy files (``ATIENDE_POLICY_DIR``, default
    ``data/policies``); ``ATIENDE_POLICY_FILE`` (JSON) may still override any market's keys."""
    facts = load()
    markets = {code: dict(raw) for code, raw in facts.markets.items()}
    override = os.environ.get("ATIENDE_POLICY_FILE")
    if override:
        data = json.loads(Path(override).read_text(encoding="utf-8"))
        for code, raw in data.items():
            code = code.upper()
            markets[code] = _merge(markets.get(code, dict(facts.defaults)), raw)
    return {code: _build(code, raw) for code, raw in markets.items()}


def market_policy(market: str | None) -> MarketPolicy:
    """The policy of ``market``; unknown markets get the strictest shipped one (ES, EU law)."""
    policies = load_policies()
    return policies.get((market or "").upper(), policies[FALLBACK_MARKET])

