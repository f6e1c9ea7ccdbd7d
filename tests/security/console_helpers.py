"""Shared pieces of the console attack tests: an app on SQLite or PostgreSQL (the handoff
tests' ``database_url`` fixture), a live uvicorn server for the SSE checks, and SSE reading."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

from tests.handoff_api.live import live_server  # noqa: F401 - used by the console tests

PASSWORD = "password-123"  # tests.handoff_api.conftest.add_agent's


def read_events(lines: Iterator[str], wanted: int, stop: str | None = None) -> list[tuple]:
    """The next ``wanted`` (event, data) pairs of an SSE stream (or up to event ``stop``)."""
    events, name = [], None
    for line in lines:
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and name:
            events.append((name, json.loads(line.split(":", 1)[1])))
            if len(events) >= wanted or name == stop:
                break
            name = None
    return events


@contextlib.contextmanager
def module_browser() -> Iterator[Any]:
    """Chromium for one test module (Playwright's sync API must stop before another module
    starts its own, and before asyncio tests run in this process)."""
    from pathlib import Path

    import pytest
    from playwright.sync_api import sync_playwright

    from tests.e2e import conftest as e2e

    if not Path(e2e.CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {e2e.CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=e2e.CHROMIUM, args=e2e.CHROMIUM_ARGS,
                                      headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def other_origin_page(html: str) -> Iterator[str]:
    """Serve ``html`` on another port of this host (same site, another origin): the attacker."""
    import http.server

    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


#: records every CSP violation of a page in window.__csp (installed before any page script)
CSP_RECORDER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push({directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample});
});
"""


def console_login(page: Any, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/console/")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-form button[type=submit]")
