"""Whole-day rules in the store's calendar (BUSINESS_TZ), at the instants where UTC's day and the
store's differ: Sunday 23:30 UTC, Madrid's midnight, New Year, the Madrid DST changes, a store in
Mexico City or Buenos Aires in its evening. The clock is pinned (time-machine), so these run the
same at any hour CI does."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import time_machine

from actions import policy
from actions.order_common import format_date, today
from actions.policy_markets import market_policy
from actions.returns import holiday_note
from actions.store import Customer, Order, OrderItem, OrderStatus
from actions.store.seed import build_demo_orders
from actions.store_calendar import at_store_time, store_day, store_zone
from actions.withdrawal_rules import check_withdrawal, withdrawal_rules

MEXICO, BUENOS_AIRES = "America/Mexico_City", "America/Argentina/Buenos_Aires"
MADRID = "Europe/Madrid"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def order(market: str, *, placed: datetime, delivered: datetime | None) -> Order:
    return Order(
        id="AT100001", status=OrderStatus.DELIVERED if delivered else OrderStatus.PAID,
        currency="EUR", total_cents=89_90, payment_method="card", placed_at=placed,
        shipping_address="Calle Mayor 1, 28013 Madrid",
        items=(OrderItem(1, "FW-1", "Zapatillas", "footwear", "42", 1, 89_90),),
        customer=Customer(1, "Ana", "ana@example.com", "+34 600 000 000", "es", market),
        delivered_at=delivered)


@pytest.mark.parametrize("instant, zone, day", [
    ("2026-12-13 23:30", MADRID, date(2026, 12, 14)),   # Sunday 23:30 UTC: Monday in Madrid
    ("2026-12-14 00:30", MADRID, date(2026, 12, 14)),
    ("2026-12-14 22:30", MADRID, date(2026, 12, 14)),   # 23:30 in Madrid (winter)
    ("2026-12-14 23:00", MADRID, date(2026, 12, 15)),   # Madrid's midnight
    ("2026-12-31 23:30", MADRID, date(2027, 1, 1)),     # New Year in Madrid, not yet in UTC
    ("2026-10-24 22:30", MADRID, date(2026, 10, 25)),   # 00:30 CEST; summer time ends at 03:00
    ("2026-10-25 22:30", MADRID, date(2026, 10, 25)),   # 23:30 CET, the 25-hour day's last hour
    ("2027-03-27 23:30", MADRID, date(2027, 3, 28)),    # 00:30 CET; summer time starts at 02:00
    ("2027-03-28 22:30", MADRID, date(2027, 3, 29)),    # 00:30 CEST after the 23-hour day
    ("2026-12-14 01:30", MEXICO, date(2026, 12, 13)),   # Sunday 19:30 in Mexico City
    ("2026-12-14 05:59", MEXICO, date(2026, 12, 13)),
    ("2026-12-14 06:00", MEXICO, date(2026, 12, 14)),   # Mexico City's midnight
    ("2027-01-01 02:30", BUENOS_AIRES, date(2026, 12, 31)),
])
def test_today_is_the_stores_day(monkeypatch, instant, zone, day):
    monkeypatch.setenv("BUSINESS_TZ", zone)
    with time_machine.travel(utc(instant), tick=False):
        assert today() == day


def test_a_naive_moment_is_utc_and_a_wrong_zone_names_the_variable(monkeypatch):
    monkeypatch.setenv("BUSINESS_TZ", MEXICO)
    assert store_day(datetime(2026, 12, 14, 3, 0)) == date(2026, 12, 13)
    assert store_day(date(2026, 12, 14)) == date(2026, 12, 14)
    monkeypatch.setenv("BUSINESS_TZ", "Europe/Madird")
    with pytest.raises(ValueError, match="BUSINESS_TZ='Europe/Madird'"):
        store_zone()


def test_a_mexican_stores_return_window_closes_at_its_own_midnight(monkeypatch):
    """Delivered 13 Nov at 10:00 in Mexico City: 30 days, the last one (13 Dec) included. At
    19:30 that evening UTC is already on the 14th; the window must still be open until 23:59."""
    monkeypatch.setenv("BUSINESS_TZ", MEXICO)
    parcel = order("MX", placed=utc("2026-11-10 18:00"), delivered=utc("2026-11-13 16:00"))
    mx = market_policy("MX")
    for instant, allowed in (("2026-12-14 01:30", True), ("2026-12-14 05:59", True),
                             ("2026-12-14 06:00", False)):
        with time_machine.travel(utc(instant), tick=False):
            decision = policy.check_return(parcel, [1], today(), mx)
        assert (decision.allowed, decision.deadline) == (allowed, date(2026, 12, 13)), instant


def test_an_evening_delivery_is_dated_in_the_stores_calendar(monkeypatch):
    monkeypatch.setenv("BUSINESS_TZ", MEXICO)
    evening = utc("2026-12-14 03:00")  # 13 Dec, 21:00 in Mexico City
    assert format_date(evening, "es") == "13 de diciembre de 2026"
    assert format_date(evening, "en") == "December 13, 2026"


@pytest.mark.parametrize("placed, note", [
    ("2026-12-31 22:30", True),    # 23:30 on 31 Dec in Madrid: a holiday purchase
    ("2026-12-31 23:30", False),   # 00:30 on 1 Jan in Madrid: not one, whatever UTC says
    ("2026-11-14 23:30", True),    # 00:30 on 15 Nov in Madrid: the first day of the period
])
def test_the_holiday_extension_goes_by_the_stores_purchase_day(monkeypatch, placed, note):
    monkeypatch.setenv("BUSINESS_TZ", MADRID)
    parcel = order("ES", placed=utc(placed), delivered=utc("2027-01-03 11:00"))
    assert bool(holiday_note(parcel, market_policy("ES"), "es")) is note


def test_the_argentine_withdrawal_period_ends_with_the_stores_day(monkeypatch):
    """Delivered 1 Dec at 22:30 in Buenos Aires (UTC's 2 Dec): 10 days, until 11 Dec included."""
    monkeypatch.setenv("BUSINESS_TZ", BUENOS_AIRES)
    parcel = order("AR", placed=utc("2026-11-28 15:00"), delivered=utc("2026-12-02 01:30"))
    rules = withdrawal_rules("AR")
    with time_machine.travel(utc("2026-12-12 01:00"), tick=False):  # 11 Dec, 22:00 there
        assert check_withdrawal(parcel, rules, today()).outcome == "within"
    with time_machine.travel(utc("2026-12-12 15:00"), tick=False):  # 12 Dec, noon there
        check = check_withdrawal(parcel, rules, today())
    assert (check.outcome, check.deadline) == ("expired", date(2026, 12, 11))


def test_the_demo_store_means_the_same_days_wherever_the_store_is(monkeypatch):
    """"Delivered 6 days ago" is 6 of the store's days in a store at UTC+14 and one at UTC-11."""
    day = date(2026, 12, 14)
    seen = {}
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", MADRID):
        monkeypatch.setenv("BUSINESS_TZ", zone)
        seen[zone] = [(o.id, store_day(o.placed_at), o.delivered_at and store_day(o.delivered_at),
                       o.estimated_delivery) for o in build_demo_orders(day)]
    assert seen["Pacific/Kiritimati"] == seen["Pacific/Pago_Pago"] == seen[MADRID]
    window = next(o for o in build_demo_orders(day) if o.scenario == "return_window")
    assert store_day(window.delivered_at) == date(2026, 12, 8)


def test_store_wall_clock_times_across_the_dst_changes(monkeypatch):
    monkeypatch.setenv("BUSINESS_TZ", MADRID)
    assert at_store_time(date(2026, 10, 25), time(12, 15)) == utc("2026-10-25 11:15")
    assert at_store_time(date(2026, 10, 24), time(12, 15)) == utc("2026-10-24 10:15")
    assert at_store_time(date(2027, 3, 28), time(12, 15)) == utc("2027-03-28 10:15")
