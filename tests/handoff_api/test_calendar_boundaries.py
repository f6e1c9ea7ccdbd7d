"""The handoff API's calendar-sensitive rules at the instants where UTC's day and the store's
differ, with a pinned clock (time-machine), so they behave the same whenever CI runs: Sunday
23:30 UTC, Monday 00:30 UTC, 22:30 UTC (Madrid's midnight in summer), New Year's Eve, the two
Madrid DST changes (2026-10-25, 2027-03-28), and stores in Mexico City and Buenos Aires.

Covered: the dashboard's default range and its CSV's name, opening hours and the next opening,
the promised answer time and its reminder, the metrics' day and hour buckets, and the retention
cut-off on SQLite (naive UTC text) and PostgreSQL (timestamptz).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient

from handoff_api.app import create_app
from handoff_api.business_hours import BusinessHours
from handoff_api.followup import case_view, when_text
from handoff_api.metric_conversations import Event
from handoff_api.metrics import compute
from handoff_api.models import Handoff
from handoff_api.privacy_store import HandoffStore
from handoff_api.queue import answer_due_from
from tests.handoff_api.conftest import add_agent, login, make_settings

MADRID, MEXICO = "Europe/Madrid", "America/Mexico_City"
BUENOS_AIRES = "America/Argentina/Buenos_Aires"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# ------------------------------------------------------------------ dashboard's default range
RANGES = {  # zone -> [(instant UTC, the store's today)]
    MADRID: [("2026-12-13 23:30", date(2026, 12, 14)),   # Sunday 23:30 UTC: Monday there
             ("2026-12-14 00:30", date(2026, 12, 14)),
             ("2026-12-14 22:59", date(2026, 12, 14)),
             ("2026-12-31 23:30", date(2027, 1, 1)),
             ("2026-10-24 22:30", date(2026, 10, 25)),   # 00:30 CEST, the 25-hour day
             ("2027-03-27 23:30", date(2027, 3, 28)),    # 00:30 CET, the 23-hour day
             ("2027-03-28 22:30", date(2027, 3, 29))],   # 00:30 CEST
    MEXICO: [("2026-12-14 01:30", date(2026, 12, 13)),   # Sunday 19:30 there
             ("2026-12-14 06:00", date(2026, 12, 14))],
    BUENOS_AIRES: [("2027-01-01 02:30", date(2026, 12, 31))],
}


@pytest.mark.parametrize("zone", sorted(RANGES))
def test_the_dashboard_counts_the_stores_days_and_its_csv_is_named_after_them(tmp_path, zone):
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'h.db'}", business_tz=zone))
    try:
        with TestClient(app) as client:
            add_agent(app, "ana", role="supervisor")
            for instant, today in RANGES[zone]:
                with time_machine.travel(utc(instant), tick=False):
                    ana = login(client, "ana")
                    w = client.get("/api/dashboard/summary", headers=ana).json()["window"]
                    csv = client.get("/api/dashboard/export.csv", headers=ana)
                first = today - timedelta(days=6)
                assert (w["first_day"], w["last_day"]) == (str(first), str(today)), instant
                start, end = datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"])
                assert start.isoformat()[:10] == str(first) and start.time().hour == 0
                assert end.isoformat()[:10] == str(today + timedelta(days=1)), instant
                name = re.search(r'filename="([^"]+)"', csv.headers["content-disposition"])[1]
                assert name == f"atiende-metrics-{first}-{today}.csv", instant
    finally:
        app.state.services.engine.dispose()


def test_the_supervisors_metrics_are_in_the_stores_hours(tmp_path):
    """``GET /api/metrics`` (the last N days): a chat at 19:30 on Sunday in Mexico City is
    Sunday 19:00 in the heat map and the 13th in the series, not Monday 01:00 on the 14th."""
    from tests.handoff_api.test_dashboard import bot_side

    app = create_app(make_settings(f"sqlite:///{tmp_path / 'h.db'}", business_tz=MEXICO))
    try:
        with TestClient(app) as client:
            add_agent(app, "ana", role="supervisor")
            with time_machine.travel(utc("2026-12-14 02:00"), tick=False):
                bot_side(app, "web-1", utc("2026-12-14 01:30").timestamp(), "socketio", "es")
                m = client.get("/api/metrics", params={"days": 2},
                               headers=login(client, "ana")).json()
    finally:
        app.state.services.engine.dispose()
    assert m["window"]["tz"] == MEXICO and m["conversations"] == 1
    assert m["heatmap"][6][19] == 1
    assert {b["bucket"]: b["conversations"] for b in m["timeseries"]}["2026-12-13T19:00"] == 1


# ------------------------------------------------------------------ opening hours
SHOP = BusinessHours.parse("mon-fri 09:00-20:00; sat 10:00-14:00", MADRID)


@pytest.mark.parametrize("hours, now, is_open, next_open", [
    (SHOP, "2026-12-13 23:30", False, "2026-12-14 08:00"),    # Monday 00:30 in Madrid
    (SHOP, "2026-12-14 19:00", False, "2026-12-15 08:00"),    # 20:00: just closed
    (SHOP, "2026-12-14 18:59", True, "2026-12-14 18:59"),
    (SHOP, "2026-12-31 23:30", False, "2027-01-01 08:00"),    # holidays are not modelled
    (SHOP, "2026-10-24 19:00", False, "2026-10-26 08:00"),    # summer Saturday -> winter Monday
    (SHOP, "2027-03-27 19:00", False, "2027-03-29 07:00"),    # winter Saturday -> summer Monday
    (BusinessHours.parse("mon-fri 09:00-18:00", MEXICO),
     "2026-12-14 01:30", False, "2026-12-14 15:00"),          # Sunday 19:30 there
    (BusinessHours.parse("mon-fri 09:00-18:00", BUENOS_AIRES),
     "2026-12-18 21:30", False, "2026-12-21 12:00"),          # Friday 18:30 there
    # a team that never closes is open in the last second of the day
    (BusinessHours.parse("mon-sun 00:00-24:00", MADRID),
     "2026-12-14 22:59:59.500", True, "2026-12-14 22:59:59.500"),
    # the night summer time ends, 02:30 comes twice: at 01:15 UTC (02:15 the second time round)
    # the next opening is 02:30 CET, not 02:30 CEST (an hour ago)
    (BusinessHours.parse("sun 02:30-04:00", MADRID),
     "2026-10-25 01:15", False, "2026-10-25 01:30"),
])
def test_opening_hours_and_the_next_opening(hours, now, is_open, next_open):
    assert hours.is_open(utc(now)) is is_open
    assert hours.next_open(utc(now)) == utc(next_open)
    assert hours.next_open(utc(now)) >= utc(now)


# ------------------------------------------------------------------ promised answer, reminder
@pytest.mark.parametrize("created, zone, due_text_es, due_text_en", [
    # 48 real hours across the end of summer time: the wall clock says 47
    ("2026-10-24 10:00", MADRID, "lunes 26/10 a las 11:00", "Monday 26/10 at 11:00"),
    ("2027-03-27 10:00", MADRID, "lunes 29/03 a las 12:00", "Monday 29/03 at 12:00"),
    ("2026-12-31 23:30", MADRID, "domingo 03/01 a las 00:30", "Sunday 03/01 at 00:30"),
    ("2026-12-14 01:30", MEXICO, "martes 15/12 a las 19:30", "Tuesday 15/12 at 19:30"),
])
def test_the_promised_answer_time_and_its_reminder(created, zone, due_text_es, due_text_en):
    due = answer_due_from(utc(created), 48)
    assert due - utc(created) == timedelta(hours=48)
    assert when_text(due, "es", zone) == due_text_es
    assert when_text(due, "en", zone) == due_text_en
    case = Handoff(answer_due_at=due, packet={})
    assert case_view(case, due - timedelta(hours=7), reminder_hours=6)["due_state"] == "open"
    assert case_view(case, due - timedelta(hours=6), reminder_hours=6)["due_state"] == "due_soon"
    assert case_view(case, due + timedelta(seconds=1))["due_state"] == "overdue"


# ------------------------------------------------------------------ metrics buckets
def chat(conv: str, started: str) -> list[Event]:
    at = utc(started)
    return [Event(at=at, type="conversation_started", conversation=conv),
            Event(at=at + timedelta(seconds=30), type="user_message", conversation=conv)]


def test_daily_buckets_over_the_25_hour_day_are_the_stores_days():
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(MADRID)
    start = datetime(2026, 10, 24, tzinfo=zone)
    end = datetime(2026, 10, 27, tzinfo=zone)
    events = [*chat("a", "2026-10-24 21:59"),   # 23:59 CEST on the 24th
              *chat("b", "2026-10-24 22:00"),   # 00:00 CEST on the 25th
              *chat("c", "2026-10-25 22:59"),   # 23:59 CET on the 25th (its 25th hour)
              *chat("d", "2026-10-25 23:00")]   # 00:00 CET on the 26th
    m = compute(events, start=start, end=end, now=utc("2026-11-30 00:00"), tz=MADRID)
    assert [(b["bucket"], b["conversations"]) for b in m["timeseries"]] == [
        ("2026-10-24", 1), ("2026-10-25", 2), ("2026-10-26", 1)]
    assert m["heatmap"][5][23] == 1 and m["heatmap"][6][0] == 1 and m["heatmap"][6][23] == 1


@pytest.mark.parametrize("day, hours", [(date(2027, 3, 28), 23), (date(2026, 10, 25), 24)])
def test_hourly_buckets_on_the_dst_days_follow_the_wall_clock(day, hours):
    """The 23-hour day has no 02:00; the 25-hour day's two 02:00 hours share one bucket."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(MADRID)
    start = datetime.combine(day, datetime.min.time(), zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    twice = [*chat("x", f"{day} 00:30"), *chat("y", f"{day} 01:30")]  # either side of the change
    m = compute(twice, start=start, end=end, now=utc("2027-04-30 00:00"), tz=MADRID)
    labels = [b["bucket"] for b in m["timeseries"]]
    assert len(labels) == len(set(labels)) == hours
    assert (f"{day}T02:00" in labels) is (hours == 24)
    by_label = {b["bucket"]: b["conversations"] for b in m["timeseries"]}
    assert sum(by_label.values()) == 2 and m["conversations"] == 2


# ------------------------------------------------------------------ retention cut-off
def test_retention_cuts_at_the_same_instant_on_sqlite_and_postgresql(database_url):
    """Closed 1 s before the cut-off: anonymised; 1 s after: kept — across a DST change and
    whichever way the database stores time."""
    app = create_app(make_settings(database_url))
    try:
        now = utc("2027-03-28 00:30")   # 01:30 in Madrid, half an hour before summer time
        cutoff = now - timedelta(days=30)
        writes = app.state.services.write_sessions()
        with writes() as s:
            for name, closed in (("old", cutoff - timedelta(seconds=1)),
                                 ("new", cutoff + timedelta(seconds=1))):
                s.add(Handoff(conversation_id=f"c-{name}", channel="socketio", language="es",
                              reason="asked", status="resolved", packet={"n": name},
                              created_at=closed - timedelta(hours=1), closed_at=closed))
            s.commit()
        HandoffStore(writes).purge(cutoff.timestamp())
        with writes() as s:
            kept = sorted(h.conversation_id for h in s.query(Handoff))
    finally:
        app.state.services.engine.dispose()
    assert "c-new" in kept and "c-old" not in kept
