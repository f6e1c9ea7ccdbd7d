"""Browser-test fixtures: Debian's Chromium driven by Playwright, and the handoff API started as a
real process (`python -m handoff_api serve`) on a free port with its own data directory.

The handoff API alone is enough for the console and widget tests (handoffs are created with the bot
token, the way the action server does). The whole-system tests share one `system` (all three
processes, started once per session: tests/whole_system.py).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.whole_system import BOT_TOKEN

ROOT = Path(__file__).resolve().parents[2]
APP_PY = ROOT / ".venv" / "app" / "bin" / "python"
CHROMIUM = os.environ.get("ATIENDE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORD = "atiende-demo"  # demo agents ana (supervisor) and leo, seeded in development mode
SCREENSHOTS = Path(os.environ.get("ATIENDE_SCREENSHOTS", "/tmp"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# "localhost" vs "127.0.0.1": another origin, still loopback (Chrome blocks public → loopback).
SHOP_PORT = free_port()
SHOP_ORIGIN = f"http://localhost:{SHOP_PORT}"


def wait_http(
    url: str,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Poll `url` until it answers 2xx; fail with the process log if it dies or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            pytest.fail(f"process for {url} exited with code {process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).is_success:
                return
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log else ""
    pytest.fail(f"{url} did not answer within {timeout:.0f} s:\n{tail}")


@dataclass
class HandoffServer:
    url: str
    data_dir: Path
    bot_token: str = BOT_TOKEN

    def bot(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the API as the bot side does (bearer HANDOFF_BOT_TOKEN)."""
        headers = {"Authorization": f"Bearer {self.bot_token}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=10, **kwargs)

    def agent(self, username: str = "leo", password: str = DEMO_PASSWORD) -> httpx.Client:
        """An httpx client logged in as an agent (bearer token)."""
        res = httpx.post(
            f"{self.url}/api/auth/login",
            json={"username": username, "password": password},
            timeout=10,
        )
        res.raise_for_status()
        return httpx.Client(
            base_url=self.url,
            timeout=10,
            headers={"Authorization": f"Bearer {res.json()['token']}"},
        )

    def create_handoff(self, conversation_id: str, **packet: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "conversation_id": conversation_id,
            "channel": "socketio",
            "language": "es",
            "reason": "asked",
            "intent_history": ["greet", "order_status", "human_handoff"],
            "slots": {"order_id": "AT100234", "language": "es"},
            "order": {
                "order_id": "AT100234",
                "status": "shipped",
                "total": "79.95 EUR",
                "items": [{"name": "Zapatilla Urban Runner", "quantity": 1}],
            },
            "kb_articles": ["shipping-times"],
            "transcript": [
                {"role": "user", "text": "¿Dónde está mi pedido AT100234?", "ts": time.time() - 60},
                {
                    "role": "bot",
                    "text": "Tu pedido AT100234 está en camino.",
                    "ts": time.time() - 58,
                },
                {"role": "user", "text": "Quiero hablar con una persona", "ts": time.time() - 30},
            ],
            "customer": {"vip": True, "name": "Lucía García", "email": "lucia.garcia@example.com"},
        }
        body.update(packet)
        res = self.bot("POST", "/api/handoffs", json=body)
        assert res.status_code in (200, 201), res.text
        return res.json()


@pytest.fixture(scope="module")
def handoff_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HandoffServer]:
    with start_handoff_server(tmp_path_factory.mktemp("handoff-data")) as server:
        yield server


@contextlib.contextmanager
def start_handoff_server(data_dir: Path, **extra_env: str) -> Iterator[HandoffServer]:
    """`python -m handoff_api serve` on a free port; ``extra_env`` overrides the defaults."""
    port = free_port()
    env = {
        **os.environ,
        "ATIENDE_ENV": "development",  # seeds the demo agents ana / leo
        "ATIENDE_DATA_DIR": str(data_dir),
        "HANDOFF_HOST": "127.0.0.1",
        "HANDOFF_PORT": str(port),
        "HANDOFF_DATABASE_URL": f"sqlite:///{data_dir / 'handoff.db'}",
        "HANDOFF_BOT_TOKEN": BOT_TOKEN,
        "HANDOFF_SECRET_KEY": "e2e-secret-key-0123456789abcdef",
        # nobody listens there: hand-backs stay in the outbox
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "RASA_TOKEN": "e2e-rasa-token",
        # open whatever the time of the run: out of hours with nobody present a handoff becomes
        # an offline case (issue #11), which an agent cannot claim
        "BUSINESS_HOURS": "mon-sun 00:00-24:00",
        "ATIENDE_LOG_LEVEL": "WARNING",
        "HANDOFF_CORS_ORIGINS": SHOP_ORIGIN,  # a store on another domain embeds the widget
        # WhatsApp "configured" but unreachable: replies outside the 24 h window are refused
        # before any network call, which is what the console test checks.
        "WHATSAPP_ACCESS_TOKEN": "e2e-fake-token",
        "WHATSAPP_PHONE_NUMBER_ID": "1234567890",
        "WHATSAPP_GRAPH_URL": f"http://127.0.0.1:{free_port()}",
        **extra_env,
    }
    log = data_dir / "handoff.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(APP_PY), "-m", "handoff_api", "serve"],
            cwd=data_dir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 60, proc, log)
        yield HandoffServer(f"http://127.0.0.1:{port}", data_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session")
def system(whole_system: Any) -> Any:
    """The whole system (tests/whole_system.py), shared with tests/security's ``bot_system``."""
    return whole_system


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: "
            "apt-get install -y chromium, or set ATIENDE_CHROMIUM"
        )
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        # expect() waits 5 s by default, apart from the context's 15 s: on 2 shared cores at
        # load 30 a live stream took longer than that to connect (a wait, not a time assertion)
        expect.set_options(timeout=30_000)
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Factory of pages, each in its own browser context (own cookies and localStorage)."""
    contexts = []

    def make(locale: str = "es-ES", width: int = 1280, height: int = 800,
             timezone_id: str | None = None) -> Any:
        context = browser.new_context(locale=locale, viewport={"width": width, "height": height},
                                      timezone_id=timezone_id)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # uncaught page errors, asserted empty by the tests
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()
