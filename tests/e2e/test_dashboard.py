"""The supervisors' dashboard in a real browser against the real handoff API process.

The event log is filled the way production fills it: the human half through the API (create,
claim, reply, resolve, rate), the bot half as the Rasa event broker writes it
(``bot.event_projection`` on Rasa-shaped events, into the server's database, with the server's
privacy key). The page's numbers are checked against values computed by hand:

| conversation | channel / language | what happens                          |
|--------------|--------------------|---------------------------------------|
| wa           | whatsapp / en      | bot only, 30 h ago                    |
| web          | socketio / es      | bot only, 30 h ago, bot rating 5      |
| human        | socketio / es      | handed off now, resolved, rated 4     |

conversations 3; containment 2 of 3 decided (66,7 %); handoff rate 33,3 %; CSAT assistant 5,0,
agents 4,0. WhatsApp only: 1 conversation, containment 100 %.
"""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import insert

from bot.event_projection import EventProjector
from handoff_api.db import make_engine
from handoff_api.models import EventLogEntry
from privacy.records import privacy_key
from tests.e2e.conftest import (
    DEMO_PASSWORD,
    ROOT,
    SCREENSHOTS,
    HandoffServer,
    start_handoff_server,
)

pytestmark = pytest.mark.e2e

STORE_TZ = "Pacific/Kiritimati"  # UTC+14
BROWSER_TZ = "Pacific/Pago_Pago"  # UTC-11: always a day or two behind the store


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    # this checkout's code, even when the environment's editable install points at another one
    # a store whose calendar is ahead of the browsers' (UTC+14): "today" differs from the
    # browser's for most of the day, so a range picked in the browser's calendar would miss
    # today's conversations (what a CI run at 23:xx UTC caught against Europe/Madrid)
    with start_handoff_server(tmp_path_factory.mktemp("dashboard-data"),
                              PYTHONPATH=str(ROOT), BUSINESS_TZ=STORE_TZ) as s:
        script(s)
        yield s


def bot_rows(server: HandoffServer, sender: str, started: float, channel: str, language: str,
             rating: int | None = None) -> None:
    projector = EventProjector(privacy_key({"ATIENDE_DATA_DIR": str(server.data_dir)}))
    events = [{"event": "session_started"},
              {"event": "user", "text": "hola", "input_channel": channel,
               "parse_data": {"intent": {"name": "order_status", "confidence": 0.9}}},
              {"event": "slot", "name": "language", "value": language},
              {"event": "action", "name": "action_order_status"}, {"event": "bot", "text": "…"},
              *([{"event": "slot", "name": "rating", "value": rating}] if rating else []),
              {"event": "action", "name": "action_listen"}]
    rows = [r for e in events
            for r in projector.project({**e, "sender_id": sender, "timestamp": started})]
    engine = make_engine(f"sqlite:///{server.data_dir / 'handoff.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(insert(EventLogEntry), rows)
    finally:
        engine.dispose()


def script(server: HandoffServer) -> None:
    now = time.time()
    bot_rows(server, f"3465{uuid.uuid4().int % 10**7:07d}", now - 30 * 3600, "whatsapp", "en")
    bot_rows(server, f"web-{uuid.uuid4().hex}", now - 30 * 3600, "socketio", "es", rating=5)
    cid = f"web-{uuid.uuid4().hex}"
    bot_rows(server, cid, now - 60, "socketio", "es")
    hid = server.create_handoff(cid)["id"]
    with server.agent("leo") as leo:
        assert leo.post(f"/api/handoffs/{hid}/claim").status_code == 200
        assert leo.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola"}).status_code == 201
        assert leo.post(f"/api/handoffs/{hid}/resolve", json={}).status_code == 200
    assert server.bot("POST", f"/api/handoffs/{hid}/rating", json={"rating": 4}).status_code == 200


def open_dashboard(page, server: HandoffServer, username: str = "ana") -> None:
    page.goto(f"{server.url}/console/")
    page.fill("#login-username", username)
    page.fill("#login-password", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#app-view")).to_be_visible()


def big(page, tile: str):
    return page.locator(f"#{tile} .big")


def test_supervisor_reads_the_week_from_the_dashboard(server: HandoffServer, new_page) -> None:
    page = new_page()
    open_dashboard(page, server)
    link = page.locator("#dashboard-link")
    expect(link).to_be_visible()
    link.click()
    expect(page.locator("#dashboard")).to_be_visible()
    expect(big(page, "tile-conversations")).to_have_text("3")
    expect(big(page, "tile-containment")).to_have_text(re.compile(r"66,7\s?%"))
    expect(big(page, "tile-handoff")).to_have_text(re.compile(r"33,3\s?%"))
    expect(big(page, "tile-csat-bot")).to_have_text("5 / 5")
    expect(big(page, "tile-csat-human")).to_have_text("4 / 5")
    expect(page.locator("#tile-containment .sub")).to_contain_text("2 de 3")
    expect(big(page, "tile-frt")).to_have_text(re.compile(r"^\d+ s$|min"))
    # the charts: one bucket per day of the 7-day range, bars by channel and language
    expect(page.locator("#series g.bucket")).to_have_count(7)
    expect(page.locator('#by-channel g.hrow[data-key="WhatsApp"]')).to_contain_text("1")
    expect(page.locator('#by-channel g.hrow[data-key="Web"]')).to_contain_text("2")
    expect(page.locator('#by-language g.hrow[data-key="Español"]')).to_contain_text("2")
    counts = page.locator("#heatmap rect.heat").evaluate_all(
        "cells => cells.map(c => Number(c.dataset.count))")
    assert len(counts) == 7 * 24 and sum(counts) == 3
    expect(page.locator('#reasons li[data-reason="asked"]')).to_contain_text("Pidió una persona")
    # live numbers
    expect(page.locator("#live-queue")).to_have_text("0")
    expect(page.locator("#live-agents")).not_to_have_text("—")
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    # "how much did the bot resolve alone on WhatsApp?"
    page.select_option("#f-channel", "whatsapp")
    page.click("#filters button[type=submit]")
    expect(big(page, "tile-conversations")).to_have_text("1")
    expect(big(page, "tile-containment")).to_have_text(re.compile(r"100\s?%"))

    # English, and the numbers follow the language
    page.select_option("#lang-select", "en")
    expect(page.locator("#tile-containment h3")).to_have_text("Resolved by the assistant")
    expect(big(page, "tile-containment")).to_have_text("100%")
    assert page.errors == []


def test_csv_export_downloads_the_same_numbers(server: HandoffServer, new_page) -> None:
    page = new_page()
    open_dashboard(page, server)
    page.goto(f"{server.url}/console/dashboard.html")
    expect(big(page, "tile-conversations")).to_have_text("3")
    with page.expect_download() as info:
        page.click("#export")
    text = open(info.value.path(), encoding="utf-8").read()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert (rows[0]["group"], rows[0]["conversations"], rows[0]["handoffs"]) == ("total", "3", "1")
    assert {r["key"]: r["conversations"] for r in rows if r["group"] == "channel"} == {
        "socketio": "2", "whatsapp": "1"}
    assert page.errors == []


def test_an_agent_has_no_link_and_no_dashboard(server: HandoffServer, new_page) -> None:
    page = new_page()
    open_dashboard(page, server, "leo")
    expect(page.locator("#dashboard-link")).to_be_hidden()
    page.goto(f"{server.url}/console/dashboard.html")
    expect(page.locator("#denied")).to_be_visible()
    expect(page.locator("#denied-text")).to_contain_text("solo para supervisores")
    expect(page.locator("#dashboard")).to_be_hidden()
    assert page.errors == []


def test_the_dashboard_fits_a_phone(server: HandoffServer, new_page) -> None:
    page = new_page(width=390, height=844)
    open_dashboard(page, server)
    page.goto(f"{server.url}/console/dashboard.html")
    expect(big(page, "tile-conversations")).to_have_text("3")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    page.screenshot(path=str(SCREENSHOTS / "dashboard_phone.png"), full_page=True)


def test_the_range_is_the_stores_days_whatever_the_browsers_time_zone(server: HandoffServer,
                                                                       new_page) -> None:
    """A supervisor 25 hours behind the store (Pago Pago vs Kiritimati) opens the dashboard: the
    range is the store's last 7 days, today included, and today's conversation is counted."""
    store_today = {datetime.now(ZoneInfo(STORE_TZ)).date()}
    page = new_page(timezone_id=BROWSER_TZ)
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == BROWSER_TZ
    open_dashboard(page, server)
    page.goto(f"{server.url}/console/dashboard.html")
    expect(big(page, "tile-conversations")).to_have_text("3")
    store_today.add(datetime.now(ZoneInfo(STORE_TZ)).date())  # the store's midnight may pass
    end = date.fromisoformat(page.locator("#f-end").input_value())
    start = date.fromisoformat(page.locator("#f-start").input_value())
    assert end in store_today and (end - start).days == 6
    # the export asks for the same days
    with page.expect_download() as info:
        page.click("#export")
    assert f"{start.isoformat()}-{end.isoformat()}" in info.value.suggested_filename
    assert page.errors == []
