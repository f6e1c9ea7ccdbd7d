"""Attack: steal the agent's session from where it should never be — a URL (access logs,
browser history, Referer), page script (an XSS would read ``sessionStorage`` or
``document.cookie``) — and, with a stolen password list, keep guessing from the login form.

In real Chromium: after logging in and using the console (queue, a conversation, the live
stream), no request URL holds the session or CSRF token, neither storage holds them, the
session cookie is invisible to script (HttpOnly); the login form says when to try again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e import conftest as e2e
from tests.security.console_helpers import console_login, module_browser

pytestmark = [pytest.mark.e2e]
handoff_server = e2e.handoff_server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with module_browser() as chromium:
        yield chromium


def test_no_session_secret_in_urls_or_script_reach(handoff_server, browser) -> None:
    created = handoff_server.create_handoff("web-token-exposure")
    context = browser.new_context(locale="es-ES")
    context.set_default_timeout(15_000)
    page = context.new_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    login_answers: list[Any] = []
    page.on("response", lambda r: login_answers.append(r) if r.url.endswith("/auth/login")
            else None)
    try:
        console_login(page, handoff_server.url, "leo", e2e.DEMO_PASSWORD)
        expect(page.locator("#app-view")).to_be_visible()
        body = login_answers[0].json()  # what the login answered (read before navigating)
        expect(page.locator("#live")).to_have_class("live on")  # the live stream is open
        page.locator(f'#queue-list li[data-id="{created["id"]}"]').click()
        page.locator("#conversation").get_by_role("button", name="Atender", exact=True).click()
        expect(page.locator("#conversation")).to_contain_text("Lucía")
        page.reload()  # the console comes back from the cookie alone
        expect(page.locator("#app-view")).to_be_visible()

        [session] = [c for c in context.cookies() if c["name"] == "atiende_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        secrets = {session["value"], body["token"], body["csrf_token"]}
        assert any("/api/stream" in u for u in urls)
        for url in urls:
            assert not any(s in url for s in secrets), url
        seen_by_script = page.evaluate("""() => JSON.stringify({
            cookie: document.cookie, session: {...sessionStorage}, local: {...localStorage}})""")
        assert not any(s in seen_by_script for s in secrets), seen_by_script
    finally:
        context.close()


def test_the_login_form_says_when_to_try_again(handoff_server, browser) -> None:
    context = browser.new_context(locale="es-ES")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{handoff_server.url}/console/")
        error = page.locator("#login-error")
        for _ in range(6):  # an account's free failures, and the one that starts the wait
            page.fill("#login-username", "marta")
            page.fill("#login-password", "no-es-esta")
            page.click("#login-form button[type=submit]")
            expect(error).to_have_text("Usuario o contraseña incorrectos.")
            page.locator("#login-form button[type=submit]").wait_for(state="attached")
            expect(page.locator("#login-form button[type=submit]")).to_be_enabled()
        page.fill("#login-password", "otra-prueba")
        page.click("#login-form button[type=submit]")
        expect(error).to_contain_text("Demasiados intentos. Vuelve a intentarlo en")
        text = error.inner_text()
        seconds = int(text.rsplit("en ", 1)[1].split(" ")[0])
        assert 1 <= seconds <= 30
    finally:
        context.close()
