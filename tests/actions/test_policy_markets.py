"""The market policies as loaded and validated (``actions.policy_markets``)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from actions.policy_markets import load_policies, market_policy

ES = market_policy("ES")


def test_every_market_has_a_policy_and_es_respects_eu_withdrawal():
    for market in ("ES", "MX", "AR", "CO", "US"):
        p = market_policy(market)
        assert p.return_window_days >= p.statutory_withdrawal_days
    assert ES.statutory_withdrawal_days == 14 and ES.return_window_days >= 14
    assert market_policy("ZZ") == ES  # unknown market: strictest shipped rules


def test_a_window_shorter_than_the_law_is_rejected():
    with pytest.raises(ValueError, match="withdrawal"):
        replace(ES, return_window_days=10)


def test_policy_file_overrides_one_market(tmp_path, monkeypatch):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"mx": {"return_window_days": 45, "approval_threshold_cents": 100}}))
    monkeypatch.setenv("ATIENDE_POLICY_FILE", str(path))
    load_policies.cache_clear()
    try:
        mx = market_policy("MX")
        assert (mx.return_window_days, mx.approval_threshold_cents) == (45, 100)
        assert market_policy("ES").return_window_days == 30
    finally:
        monkeypatch.delenv("ATIENDE_POLICY_FILE")
        load_policies.cache_clear()
