"""The supervisors' dashboard API (``handoff_api/routes/dashboard.py``) and ``GET /metrics``.

A scripted week: the bot's half of each conversation written exactly as the Rasa event broker
writes it (``bot.event_projection`` on Rasa-shaped events), the human half through the real API.
Every number the dashboard shows is checked against values computed by hand below.

| conversation | channel / language | what happens                                  | outcome     |
|--------------|--------------------|-----------------------------------------------|-------------|
| A            | web / es           | bot answers, KB gap, bot rating 4 (30 h ago)  | contained   |
| B1, B2       | whatsapp / en      | same phone, 28 h and 27 h ago                 | B1 returned |
|              |                    |                                               | B2 contained |
| C            | web / es           | handed off now, resolved, rated 5             | handed off  |
| D            | web / en           | handed off now, shopper leaves the queue      | handed off  |
| E            | web / es           | bot only, 1 h ago                             | pending     |

conversations 6; handoffs 2 (rate 1/3); containment 2 of 5 decided (0.4), 1 returned, 1 pending;
CSAT bot 4 (1), human 5 (1); by channel: socketio 4, whatsapp 2; by language: es 3, en 3.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from bot.event_projection import EventProjector
from handoff_api.eventlog import KEY_INFO
from handoff_api.models import EventLogEntry
from tests.handoff_api.conftest import BOT, add_agent, login, packet


@pytest.fixture
def team(app, client):
    add_agent(app, "ana", role="supervisor")
    add_agent(app, "leo")
    return {name: login(client, name) for name in ("ana", "leo")}


def bot_side(app, sender: str, started: float, channel: str, language: str,
             extra: list[dict] | None = None) -> None:
    """Write one bot conversation as the Rasa event broker would."""
    projector = EventProjector(app.state.services.sessions.kw["info"][KEY_INFO])
    t = started

    def e(kind: str, **fields) -> dict:
        return {"sender_id": sender, "event": kind, "timestamp": t, **fields}

    events = [e("session_started"),
              e("user", text="hola", input_channel=channel,
                parse_data={"intent": {"name": "order_status", "confidence": 0.9}}),
              e("slot", name="language", value=language),
              e("action", name="action_order_status"), e("bot", text="..."),
              *[{**x, "sender_id": sender, "timestamp": t + 1} for x in extra or []],
              e("action", name="action_listen")]
    rows = [r for ev in events for r in projector.project(ev)]
    with app.state.services.write_sessions()() as s:
        s.execute(insert(EventLogEntry), rows)
        s.commit()


def script(app, client, team) -> None:
    now = time.time()
    hour = 3600
    bot_side(app, "web-A", now - 30 * hour, "socketio", "es", extra=[
        {"event": "user", "text": "¿envolvéis para regalo? ana@example.com",
         "input_channel": "socketio", "parse_data": {"intent": {"name": "ask_policy"}}},
        {"event": "action", "name": "action_answer_from_kb"},
        {"event": "action", "name": "action_listen"},
        {"event": "slot", "name": "rating", "value": 4}])
    bot_side(app, "34655000111", now - 28 * hour, "whatsapp", "en")
    bot_side(app, "34655000111", now - 27 * hour, "whatsapp", "en")
    bot_side(app, "web-C", now - 60, "socketio", "es")
    hid = client.post("/api/handoffs", json=packet("web-C", channel="socketio"),
                      headers=BOT).json()["id"]
    client.post(f"/api/handoffs/{hid}/claim", headers=team["leo"])
    assert client.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola"},
                       headers=team["leo"]).status_code == 201
    client.post(f"/api/handoffs/{hid}/resolve", headers=team["leo"])
    client.post(f"/api/handoffs/{hid}/rating", json={"rating": 5}, headers=BOT)
    bot_side(app, "web-D", now - 30, "socketio", "en")
    client.post("/api/handoffs", json=packet("web-D", channel="socketio", language="en",
                                             reason="frustration"), headers=BOT)
    client.post("/api/conversations/web-D/leave-queue", json={"message_id": "m", "text": "x"},
                headers=BOT)
    bot_side(app, "web-E", now - hour, "socketio", "es")


def window() -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"start": str(today - timedelta(days=3)), "end": str(today + timedelta(days=1))}


def test_dashboard_numbers_match_the_hand_computed_week(app, client, team):
    script(app, client, team)
    r = client.get("/api/dashboard/summary", params=window(), headers=team["ana"])
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["conversations"] == 6 and m["handoffs"] == 2
    assert m["handoff_rate"] == round(2 / 6, 4)
    assert m["handoff_rate_by_reason"] == {"asked": {"count": 1, "rate": round(1 / 6, 4)},
                                           "frustration": {"count": 1,
                                                           "rate": round(1 / 6, 4)}}
    c = m["containment"]
    assert (c["contained"], c["returned"], c["handed_off"], c["pending"], c["decided"]) == (
        2, 1, 2, 1, 5)
    assert c["rate"] == 0.4
    assert m["csat"]["bot"]["count"] == 1 and m["csat"]["bot"]["mean"] == 4
    assert m["csat"]["human"]["count"] == 1 and m["csat"]["human"]["mean"] == 5
    assert m["first_response_seconds"]["count"] == 1 and m["wait_seconds"]["count"] == 1
    assert m["handling_seconds"]["count"] == 1 and m["handling_seconds"]["mean"] >= 0
    assert m["kb"]["unanswered"] == 1
    assert m["kb"]["top_unanswered"][0]["question"] == "¿envolvéis para regalo? [EMAIL]"
    assert {k: v["conversations"] for k, v in m["breakdowns"]["channel"].items()} == {
        "socketio": 4, "whatsapp": 2}
    assert {k: v["conversations"] for k, v in m["breakdowns"]["language"].items()} == {
        "es": 3, "en": 3}
    assert m["breakdowns"]["channel"]["whatsapp"]["containment_rate"] == 0.5
    assert sum(row["conversations"] for row in m["timeseries"]) == 6
    assert sum(map(sum, m["heatmap"])) == 6
    # filters: WhatsApp in English
    wa = client.get("/api/dashboard/summary", params={**window(), "channel": "whatsapp",
                                                       "language": "en"},
                    headers=team["ana"]).json()
    assert wa["conversations"] == 2 and wa["containment"]["contained"] == 1
    none = client.get("/api/dashboard/summary", params={**window(), "language": "fr"},
                      headers=team["ana"]).json()
    assert none["conversations"] == 0 and none["containment"]["rate"] is None


def test_csv_export_has_the_same_numbers(app, client, team):
    script(app, client, team)
    r = client.get("/api/dashboard/export.csv", params=window(), headers=team["ana"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(r.text)))
    total = table[0]
    assert (total["group"], total["conversations"], total["handoffs"],
            total["containment_rate"]) == ("total", "6", "2", "0.4")
    channels = {row["key"]: row for row in table if row["group"] == "channel"}
    assert channels["whatsapp"]["conversations"] == "2"
    assert sum(int(row["conversations"]) for row in table if row["group"] == "day") == 6


def test_live_numbers(app, client, team):
    client.post("/api/handoffs", json=packet("q-1"), headers=BOT)
    client.post("/api/handoffs", json=packet("q-2"), headers=BOT)
    client.get("/api/me", headers=team["leo"])  # leo's console is live
    live = client.get("/api/dashboard/live", headers=team["ana"]).json()
    assert live["queue_depth"] == 2 and live["assigned"] == 0
    assert live["longest_wait_seconds"] is not None and live["longest_wait_seconds"] >= 0
    assert live["agents_online"] == 2  # ana and leo


def test_agents_and_strangers_cannot_read_the_dashboard(client, team):
    client.cookies.clear()  # the logins left the last agent's session cookie
    for path in ("/api/dashboard/summary", "/api/dashboard/live", "/api/dashboard/export.csv"):
        assert client.get(path, headers=team["leo"]).status_code == 403
        assert client.get(path).status_code == 401
        assert client.get(path, headers=BOT).status_code == 401


@pytest.mark.parametrize("params, fragment", [
    ({"start": "2026-02-10", "end": "2026-02-01"}, "start must be"),
    ({"start": "2020-01-01", "end": "2026-01-01"}, "at most"),
    ({"start": "yesterday"}, "date"),
    ({"channel": "<script>"}, "pattern"),
    ({"return_hours": "0"}, "greater"),
])
def test_bad_parameters_are_a_422_with_a_reason(client, team, params, fragment):
    r = client.get("/api/dashboard/summary", params=params, headers=team["ana"])
    assert r.status_code == 422 and fragment in r.text


def test_csv_cells_cannot_become_spreadsheet_formulas():
    from handoff_api.routes.dashboard import _cell

    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("-1") == "'-1"
    assert _cell("whatsapp") == "whatsapp" and _cell(None) == "" and _cell(3) == 3


# ------------------------------------------------------------------------ Prometheus
def test_prometheus_metrics(app, client, team):
    client.post("/api/handoffs", json=packet("p-1"), headers=BOT)
    hid = client.post("/api/handoffs", json=packet("p-2"), headers=BOT).json()["id"]
    client.post(f"/api/handoffs/{hid}/claim", headers=team["leo"])
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    lines = dict(line.rsplit(" ", 1) for line in r.text.splitlines()
                 if line and not line.startswith("#"))
    assert lines["atiende_handoff_queue_depth"] == "1"
    assert lines['atiende_handoffs{status="assigned"}'] == "1"
    assert lines["atiende_handoff_claims_total"] == "1"
    assert lines["atiende_handback_outbox_pending"] == "0"
    assert lines['atiende_mail_outbox{status="dead"}'] == "0"
    assert float(lines["atiende_handoff_longest_wait_seconds"]) >= 0
    assert "# TYPE atiende_handoff_claims_total counter" in r.text


def test_prometheus_token(database_url):
    from fastapi.testclient import TestClient

    from handoff_api.app import create_app
    from tests.handoff_api.conftest import make_settings

    app = create_app(make_settings(database_url, metrics_token="scrape-token-0123456789"))
    with TestClient(app) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/metrics", headers={
            "Authorization": "Bearer scrape-token-0123456789"}).status_code == 200
    app.state.services.engine.dispose()


@pytest.mark.parametrize("store_tz", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_the_default_range_is_the_stores_last_seven_days(database_url, store_tz):
    """No dates: the store's last 7 days, today included, in its own calendar (UTC+14 and UTC-11
    are a day or more away from UTC for much of every day); a conversation that just started is
    in it and the window says which days were counted."""
    from zoneinfo import ZoneInfo

    from fastapi.testclient import TestClient

    from handoff_api.app import create_app
    from tests.handoff_api.conftest import make_settings

    app = create_app(make_settings(database_url, business_tz=store_tz))
    try:
        with TestClient(app) as client:
            add_agent(app, "ana", role="supervisor")
            ana = login(client, "ana")
            bot_side(app, "web-now", time.time() - 5, "socketio", "es")
            before = datetime.now(ZoneInfo(store_tz)).date()
            m = client.get("/api/dashboard/summary", headers=ana).json()
            after = datetime.now(ZoneInfo(store_tz)).date()
    finally:
        app.state.services.engine.dispose()
    w = m["window"]
    last = datetime.fromisoformat(w["last_day"]).date()
    assert last in (before, after)
    assert (last - datetime.fromisoformat(w["first_day"]).date()).days == 6
    assert w["start"].startswith(w["first_day"]) and w["tz"] == store_tz
    assert m["conversations"] == 1
