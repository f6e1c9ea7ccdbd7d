"""The demo seed: deterministic, realistic, covering every scenario in both languages."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from actions.store.__main__ import main
from actions.store.seed import SCENARIOS, build_demo_orders, seed_database

DAY = date(2026, 11, 22)


def test_same_day_same_data():
    first, second = build_demo_orders(DAY), build_demo_orders(DAY)
    assert [(o.id, o.total_cents, o.tracking_number, o.customer["email"]) for o in first] == \
        [(o.id, o.total_cents, o.tracking_number, o.customer["email"]) for o in second]


def test_coverage_of_markets_statuses_and_currencies():
    orders = build_demo_orders(DAY)
    assert len(orders) >= 60
    assert len({o.id for o in orders}) == len(orders)
    assert {o.customer["market"] for o in orders} >= {"ES", "MX", "AR", "CO", "US"}
    assert {o.currency for o in orders} == {"EUR", "MXN", "ARS", "COP", "USD"}
    assert {o.status for o in orders} == {"pending", "paid", "shipped", "in_transit", "delivered",
                                          "cancelled", "returned", "refunded"}
    assert any(o.customer["vip"] for o in orders) and not all(o.customer["vip"] for o in orders)
    for o in orders:
        if o.status in {"shipped", "in_transit", "delivered"}:
            assert o.carrier and o.tracking_url
        if o.status in {"pending", "paid"}:
            assert o.shipped_at is None
        for moment in (o.shipped_at, o.delivered_at, o.cancelled_at):
            assert moment is None or moment.date() <= DAY


def test_every_scenario_exists_in_both_languages():
    orders = build_demo_orders(DAY)
    for key in ("in_transit", "cancellable", "return_window", "window_expired", "high_amount"):
        for lang in ("es", "en"):
            assert any(o.scenario == key and o.customer["language"] == lang for o in orders), (key,
                                                                                               lang)
    assert {s[0] for s in SCENARIOS} <= {o.scenario for o in orders}


def test_seed_does_not_overwrite_without_force(tmp_path):
    path = tmp_path / "store.db"
    assert seed_database(path, today=DAY) is not None
    with sqlite3.connect(path) as con:
        con.execute("UPDATE orders SET status = 'cancelled'")
    assert seed_database(path, today=DAY) is None
    with sqlite3.connect(path) as con:
        query = "SELECT count(*) FROM orders WHERE status != 'cancelled'"
        assert con.execute(query).fetchone()[0] == 0
    seed_database(path, today=DAY, force=True)
    with sqlite3.connect(path) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"customers", "orders", "order_items", "returns", "refunds", "events"} <= tables
        assert con.execute("SELECT count(*) FROM orders").fetchone()[0] >= 60
    assert not list(tmp_path.glob(".store-*"))  # temp file moved into place


def test_cli_seeds_shows_and_writes_markdown(tmp_path, capsys):
    db, md = tmp_path / "s.db", tmp_path / "demo.md"
    assert main(["seed", "--db", str(db), "--show", "--today", "2026-11-22",
                 "--markdown", str(md)]) == 0
    out = capsys.readouterr().out
    assert "seeded" in out and "AT101001" in out and "@example" in out
    assert "| AT101001 |" in md.read_text(encoding="utf-8")
    main(["seed", "--db", str(db)])
    assert "left unchanged" in capsys.readouterr().out


def _deadline(order) -> date:
    """The return deadline the policy gives a seeded order (30 days or the holiday extension)."""
    from datetime import timedelta

    from actions.policy import holiday_return_deadline
    from actions.policy_markets import market_policy

    policy = market_policy(order.customer["market"])
    standard = order.delivered_at.date() + timedelta(days=policy.return_window_days)
    holiday = holiday_return_deadline(order.placed_at.date(), policy)
    return max(standard, holiday) if holiday else standard


@pytest.mark.parametrize("day", [date(2026, 11, 22), date(2026, 11, 30), date(2026, 12, 20),
                                 date(2027, 1, 7), date(2027, 1, 12), date(2027, 1, 15),
                                 date(2027, 1, 16), date(2027, 6, 1)])
def test_scenarios_hold_under_the_policy_whatever_the_seeding_day(day):
    from actions.policy import needs_approval
    from actions.policy_markets import market_policy

    for o in build_demo_orders(day):
        policy = market_policy(o.customer["market"])
        if o.scenario in {"return_window", "high_return"}:
            assert _deadline(o) >= day, (o.id, day)
        if o.scenario == "window_expired":
            assert _deadline(o) < day, (o.id, day)  # not even the Christmas extension reopens it
        if o.scenario in {"high_amount", "high_return"}:
            assert needs_approval(o.total_cents, policy), o.id
            assert all(needs_approval(i["unit_price_cents"], policy) for i in o.items
                       if i["sku"] == "AC-MER-15"), o.id  # the watch alone needs an agent
        if o.scenario in {"cancellable", "return_window", "returned"}:
            assert not needs_approval(o.total_cents, policy), o.id


def test_cash_on_delivery_only_where_the_article_allows_it():
    from actions.store.demo_data import COD_MAX_CENTS

    orders = build_demo_orders(DAY)
    cod = [o for o in orders if o.payment_method == "cash_on_delivery"]
    assert cod  # the demo still shows the method
    for o in cod:
        assert o.status != "paid", o.id  # paid to the courier, never charged before shipping
        assert o.total_cents <= COD_MAX_CENTS[o.customer["market"]], o.id
