"""Opening hours in the business time zone, including weekends and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handoff_api.business_hours import BusinessHours

HOURS = BusinessHours.parse("mon-fri 09:00-20:00; sat 10:00-14:00", "Europe/Madrid")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_open_on_a_weekday_in_madrid_time():
    assert HOURS.is_open(utc(2026, 11, 23, 8, 30))  # Monday 09:30 in Madrid (UTC+1)
    assert not HOURS.is_open(utc(2026, 11, 23, 7, 30))  # 08:30 Madrid
    assert not HOURS.is_open(utc(2026, 11, 23, 19, 0))  # 20:00 Madrid: closed


def test_saturday_morning_only_and_sunday_closed():
    assert HOURS.is_open(utc(2026, 11, 28, 10, 0))  # Saturday 11:00 Madrid
    assert not HOURS.is_open(utc(2026, 11, 28, 14, 0))  # Saturday 15:00
    assert HOURS.next_open(utc(2026, 11, 28, 14, 0)) == utc(2026, 11, 30, 8, 0)  # Monday 09:00


def test_next_open_is_now_when_open_and_respects_summer_time():
    now = utc(2026, 11, 23, 10, 0)
    assert HOURS.next_open(now) == now
    # Friday night in July (UTC+2): next opening Saturday 10:00 Madrid = 08:00 UTC
    assert HOURS.next_open(utc(2026, 7, 3, 20, 0)) == utc(2026, 7, 4, 8, 0)


def test_day_ranges_can_wrap_and_24_means_end_of_day():
    hours = BusinessHours.parse("sat-mon 00:00-24:00", "UTC")
    assert hours.is_open(utc(2026, 11, 22, 23, 59))  # Sunday
    assert not hours.is_open(utc(2026, 11, 25, 12, 0))  # Wednesday


@pytest.mark.parametrize("spec", ["mon-fri 9-20", "lun 09:00-20:00", "mon 20:00-09:00", "mon",
                                  "mon 09:00-24:30"])
def test_bad_specs_say_what_is_wrong(spec):
    with pytest.raises(ValueError, match="BUSINESS_HOURS"):
        BusinessHours.parse(spec, "Europe/Madrid")
