"""Supervisor controls in a real browser against the real handoff API process: the agents panel
on the dashboard (presence, load, live), take over / reassign / return to queue from its buttons,
what the agent sees in their own console at the same time ("Mis conversaciones", their status
control), the audit lines in the conversation view, and the market filter reaching the CSV export.

Two browser contexts side by side: Ana (supervisor) on the dashboard, Leo (agent) in the console.
"""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DEMO_PASSWORD, ROOT, SCREENSHOTS, HandoffServer, start_handoff_server

pytestmark = pytest.mark.e2e

STORE_TZ = "Pacific/Kiritimati"  # UTC+14: a store calendar a day ahead of most browsers


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    # the store's day is ahead of the browser's (UTC here) from 10:00 UTC on: the dashboard's
    # range must still include what happened "today" in the store's calendar
    with start_handoff_server(tmp_path_factory.mktemp("supervisor-data"),
                              PYTHONPATH=str(ROOT), BUSINESS_TZ=STORE_TZ) as s:
        yield s


def login(page, server: HandoffServer, username: str) -> None:
    page.goto(f"{server.url}/console/")
    page.fill("#login-username", username)
    page.fill("#login-password", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#app-view")).to_be_visible()


def agent_row(page, username: str):
    return page.locator(f'#agents-body tr[data-agent="{username}"]')


def conv(page, hid: int):
    return page.locator(f'#open-conversations li[data-id="{hid}"]')


def test_supervisor_moves_conversations_and_the_agent_sees_it_live(server: HandoffServer,
                                                                    new_page) -> None:
    held = server.create_handoff(f"web-{uuid.uuid4().hex}",
                                 customer={"vip": False, "name": "Marta Ruiz"})["id"]
    waiting = server.create_handoff(f"web-{uuid.uuid4().hex}",
                                    customer={"vip": False, "name": "Jorge Pérez"})["id"]
    leo_page = new_page()
    login(leo_page, server, "leo")
    with server.agent("leo") as leo:
        assert leo.post(f"/api/handoffs/{held}/claim").status_code == 200
    mine = leo_page.locator("#mine-list")
    expect(mine).to_contain_text("Marta Ruiz")

    ana = new_page()
    login(ana, server, "ana")
    ana.goto(f"{server.url}/console/dashboard.html")
    expect(ana.locator("#agents-panel")).to_be_visible()
    expect(agent_row(ana, "leo").locator(".presence")).to_have_text("Conectado")
    expect(agent_row(ana, "leo").locator(".load-text")).to_have_text("1 / 3")
    expect(agent_row(ana, "ana").locator(".presence")).to_have_text("Conectado")
    expect(conv(ana, held)).to_contain_text("atendida por Leo")
    expect(conv(ana, waiting)).to_contain_text("en cola desde hace")

    # Leo goes on a break from his console: the panel shows it at once (live event)
    leo_page.select_option("#presence-select", "away")
    expect(agent_row(ana, "leo").locator(".presence")).to_have_text("Ausente")

    # take over Leo's conversation: it leaves his "Mis conversaciones" live
    conv(ana, held).locator("button.take-over").click()
    expect(conv(ana, held)).to_contain_text("atendida por Ana")
    expect(mine).not_to_contain_text("Marta Ruiz")
    expect(agent_row(ana, "leo").locator(".load-text")).to_have_text("0 / 3")

    # reassign the waiting one to Leo (away, but still connected): it appears in his list
    conv(ana, waiting).locator("select.reassign-to").select_option("leo")
    conv(ana, waiting).locator("button.reassign").click()
    expect(conv(ana, waiting)).to_contain_text("atendida por Leo")
    expect(mine).to_contain_text("Jorge Pérez")
    ana.screenshot(path=str(SCREENSHOTS / "supervisor_panel.png"), full_page=True)

    # and back to the queue: gone from his list, waiting in everyone's queue
    conv(ana, waiting).locator("button.return").click()
    expect(conv(ana, waiting)).to_contain_text("en cola desde hace")
    expect(mine).not_to_contain_text("Jorge Pérez")
    expect(leo_page.locator("#queue-list")).to_contain_text("Jorge Pérez")
    # the dashboard's numbers follow: one intervention of each kind
    for kind in ("take_over", "reassign", "return"):
        expect(ana.locator(f'#moves li[data-move="{kind}"] strong')).to_have_text("1")

    # the moves are written in the conversation, for whoever opens it
    leo_page.locator(f'#queue-list li[data-id="{waiting}"] button.open').click()
    log = leo_page.locator("section.supervision")
    expect(log.locator('li[data-event="reassigned"]')).to_contain_text("Ana la reasignó a Leo")
    expect(log.locator('li[data-event="returned_to_queue"]')).to_contain_text(
        "Ana la devolvió a la cola (la tenía Leo)")

    # the supervisor's own "Mis conversaciones" holds only what she holds herself
    ana.goto(f"{server.url}/console/")
    expect(ana.locator("#mine-list")).to_contain_text("Marta Ruiz")
    expect(ana.locator("#mine-list")).not_to_contain_text("Jorge Pérez")

    # English: the panel follows the language
    ana.goto(f"{server.url}/console/dashboard.html")
    ana.select_option("#lang-select", "en")
    expect(agent_row(ana, "leo").locator(".presence")).to_have_text("Away")
    expect(conv(ana, waiting).locator("button.take-over")).to_have_text("Take over")
    assert leo_page.errors == [] and ana.errors == []


def test_no_panel_for_agents_and_closed_conversations_leave_it(server: HandoffServer,
                                                               new_page) -> None:
    page = new_page()
    login(page, server, "leo")
    page.goto(f"{server.url}/console/dashboard.html")
    expect(page.locator("#denied")).to_be_visible()
    expect(page.locator("#agents-panel")).to_be_hidden()
    # a conversation closed elsewhere leaves the panel live
    hid = server.create_handoff(f"web-{uuid.uuid4().hex}")["id"]
    ana = new_page()
    login(ana, server, "ana")
    ana.goto(f"{server.url}/console/dashboard.html")
    expect(conv(ana, hid)).to_be_visible()
    with server.agent("leo") as leo:
        assert leo.post(f"/api/handoffs/{hid}/claim").status_code == 200
        assert leo.post(f"/api/handoffs/{hid}/resolve", json={}).status_code == 200
    expect(conv(ana, hid)).to_have_count(0)
    assert ana.errors == []


def test_market_filter_on_the_page_and_in_the_csv(server: HandoffServer, new_page) -> None:
    order = {"order_id": "AT100555", "status": "shipped", "market": "MX", "total": "899 MXN",
             "items": []}
    mx = server.create_handoff(f"web-{uuid.uuid4().hex}", order=order)["id"]
    with server.agent("leo") as leo:
        assert leo.post(f"/api/handoffs/{mx}/claim").status_code == 200
        assert leo.post(f"/api/handoffs/{mx}/resolve", json={}).status_code == 200
    page = new_page()
    login(page, server, "ana")
    page.goto(f"{server.url}/console/dashboard.html")
    expect(page.locator("#tile-conversations .big")).not_to_have_text("—")
    expect(page.locator('#by-market g.hrow[data-key="México"]')).to_contain_text("1")
    page.select_option("#f-market", "MX")
    page.click("#filters button[type=submit]")
    expect(page.locator("#tile-conversations .big")).to_have_text("1")
    expect(page.locator("#tile-handoff .big")).to_have_text(re.compile(r"100\s?%"))
    with page.expect_download() as info:
        page.click("#export")
    rows = list(csv.DictReader(io.StringIO(open(info.value.path(), encoding="utf-8").read())))
    assert (rows[0]["group"], rows[0]["conversations"], rows[0]["handoffs"]) == ("total", "1", "1")
    assert {r["key"] for r in rows if r["group"] == "market"} == {"MX"}
    assert "ces_bot" in rows[0]
    page.select_option("#f-market", "GB")
    page.click("#filters button[type=submit]")
    expect(page.locator("#tile-conversations .big")).to_have_text("0")
    assert page.errors == []
