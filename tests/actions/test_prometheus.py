"""``GET /metrics`` on the real action server (``python -m actions`` in a subprocess, the way
``scripts.run`` starts it): actions run through its webhook are counted and timed by name and
outcome, and the metrics token is enforced."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.timing.test_prometheus import parse

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-tests-0123456789"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("actions-metrics")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ATIENDE_DATA_DIR": str(data),
           "ATIENDE_METRICS_TOKEN": TOKEN, "ATIENDE_ENV": "development",
           "HANDOFF_URL": "http://127.0.0.1:9", "HANDOFF_BOT_TOKEN": "bot-token-0123456789abcdef"}
    log = data / "actions.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "actions", "--port", str(port)], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"action server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def call(url: str, action: str, events: list | None = None) -> httpx.Response:
    tracker = {"sender_id": "web-metrics", "slots": {"language": "es"}, "latest_message": {},
               "events": events or [], "paused": False, "followup_action": None,
               "active_loop": {}, "latest_action_name": "action_listen"}
    return httpx.post(f"{url}/webhook", json={"next_action": action, "tracker": tracker,
                                              "domain": {"slots": {}}, "version": "3.6.21"},
                      timeout=30)


def scrape(url: str) -> dict[str, float]:
    r = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(r.text)


def test_actions_are_timed_and_counted_by_outcome(server: str) -> None:
    done = [{"event": "action", "name": "action_order_status"}]
    for _ in range(3):
        assert call(server, "action_offer_rating", done).status_code == 200
    assert call(server, "action_that_does_not_exist").status_code == 404
    samples = scrape(server)
    assert samples['atiende_actions_total{action="action_offer_rating",outcome="ok"}'] == 3
    assert samples['atiende_action_seconds_count{action="action_offer_rating"}'] == 3
    assert samples['atiende_action_seconds_bucket{action="action_offer_rating",le="+Inf"}'] == 3
    # an unknown name is counted, under one label (callers cannot grow the label set)
    assert samples['atiende_actions_total{action="unknown",outcome="error"}'] == 1
    assert not any(re.search(r"action_that_does_not_exist", k) for k in samples)


def test_the_metrics_token_is_required(server: str) -> None:
    assert httpx.get(f"{server}/metrics", timeout=10).status_code == 401
    wrong = httpx.get(f"{server}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
