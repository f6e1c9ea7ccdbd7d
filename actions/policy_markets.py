"""Per-market store policy: the figures the bot applies, read from one policy file per market.

The files are ``data/policies/<market>.yml`` plus ``_defaults.yml`` (folder:
``ATIENDE_POLICY_DIR``).
The help articles quote the very same files through placeholders rendered when the knowledge-base
index is built (:mod:`kb_index.facts`), so an article cannot promise a window, fee or refund time
that the actions do not apply — the return form checks the same ``return_window_days`` the
return-policy article states. Amounts are in minor units (cents) of the market's currency; refund
times are business days counted from when the store receives the return (for a cancellation:
from the cancellation day). Keys are documented in ``docs/policies.md``.
"""

from __future__ import annotations

from typing import Any

from kb_index.facts import PolicyFacts, load_facts
from kb_index.settings import policy_dir


def load() -> PolicyFacts:
    """The policy files as parsed facts (defaults already merged into each market)."""
    return load_facts(policy_dir())


def markets() -> dict[str, dict[str, Any]]:
    """``{"ES": {...}, "MX": {...}, …}``: every market's keys, defaults merged in."""
    return {code: dict(raw) for code, raw in load().markets.items()}


def defaults() -> dict[str, Any]:
    """The keys every market shares unless its own file overrides them (``_defaults.yml``)."""
    return dict(load().defaults)
