"""The supervisor's "delete this customer's data" button, in real Chromium against the real
handoff API process: agents do not see it (and the API refuses them anyway), a supervisor checks
first, then erases; the shopper's conversation is gone from the console."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e import conftest as e2e
from tests.security.console_helpers import module_browser

pytestmark = [pytest.mark.e2e]
handoff_server, new_page = e2e.handoff_server, e2e.new_page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for this module only: Playwright's sync API must be stopped before another
    module (tests/e2e) starts its own, and before asyncio tests run in this process."""
    with module_browser() as chromium:
        yield chromium

EMAIL = "isabella.vargas@example.com"


def login(page, server, username: str) -> None:
    page.goto(f"{server.url}/console/")
    page.fill("#login-username", username)
    page.fill("#login-password", e2e.DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#app-view")).to_be_visible()


def test_only_supervisors_erase_and_they_check_first(handoff_server, new_page) -> None:
    created = handoff_server.create_handoff(
        "web-erase-console-1", customer={"name": "Isabella", "email": EMAIL, "vip": False},
        transcript=[{"role": "user", "text": f"mi correo es {EMAIL}", "ts": 1_700_000_000.0}])
    other = handoff_server.create_handoff("web-erase-console-2")

    agent = new_page()
    login(agent, handoff_server, "leo")
    expect(agent.locator("#privacy-open")).to_be_hidden()
    with handoff_server.agent("leo") as leo:
        assert leo.post("/api/privacy/erasure", json={"email": EMAIL, "confirm": True}
                        ).status_code == 403

    page = new_page()
    login(page, handoff_server, "ana")
    expect(page.locator(f'#queue-list li[data-id="{created["id"]}"]')).to_be_visible()
    page.get_by_role("button", name="Borrar datos de un cliente").click()
    dialog = page.locator("#erase-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Correo verificado").fill(EMAIL)
    dialog.get_by_role("button", name="Comprobar").click()
    expect(page.locator("#erase-result")).to_have_text(
        "Conversaciones de este cliente que se borrarán: 1.")
    with handoff_server.agent("ana") as ana:  # nothing has gone yet
        assert ana.get(f"/api/handoffs/{created['id']}").json()["packet"]["customer"]["email"] \
            == EMAIL
    page.get_by_role("button", name="Borrar definitivamente").click()
    expect(page.locator("#erase-result")).to_contain_text("Datos borrados. Conversaciones: 1.")
    page.screenshot(path=str(e2e.SCREENSHOTS / "privacy_erasure_console.png"))
    dialog.get_by_role("button", name="Cerrar").click()
    # the anonymised handoff leaves the queue live; the other shopper's stays
    expect(page.locator(f'#queue-list li[data-id="{created["id"]}"]')).to_have_count(0)
    expect(page.locator(f'#queue-list li[data-id="{other["id"]}"]')).to_be_visible()
    with handoff_server.agent("ana") as ana:
        detail = ana.get(f"/api/handoffs/{created['id']}").json()
    assert detail["packet"] == {} and detail["status"] == "abandoned"
    assert detail["conversation_id"].startswith("erased:")
    assert page.errors == [] and agent.errors == []
