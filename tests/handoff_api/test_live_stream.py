"""Live SSE pushes through a real uvicorn server: the widget sees the agent join and write, the
console sees new handoffs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from handoff_api.app import create_app
from tests.handoff_api.conftest import BOT, add_agent, make_settings, packet
from tests.handoff_api.fake_rasa import free_port


@pytest.fixture
def live(tmp_path) -> Iterator[tuple[str, Any]]:
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'h.db'}"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _read_events(lines: Iterator[str], wanted: int) -> list[tuple[str, dict]]:
    events, name = [], None
    for line in lines:
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and name:
            events.append((name, json.loads(line.split(":", 1)[1])))
            name = None
            if len(events) >= wanted:
                break
    return events


def test_widget_and_console_streams(live):
    base, app = live
    add_agent(app, "leo")
    with httpx.Client(base_url=base, timeout=10) as http:
        token = http.post("/api/auth/login",
                          json={"username": "leo", "password": "password-123"}).json()["token"]
        leo = {"Authorization": f"Bearer {token}"}
        http.cookies.clear()  # the login cookie would authenticate the stream below
        assert http.get("/api/stream").status_code == 401

        with httpx.Client(base_url=base, timeout=10) as sse, \
                sse.stream("GET", f"/api/stream?token={token}") as console:
            assert console.status_code == 200
            console_lines = console.iter_lines()
            ready = _read_events(console_lines, 1)
            assert ready[0][0] == "ready"
            hid = http.post("/api/handoffs", json=packet("c-live"), headers=BOT).json()["id"]
            [(name, data)] = _read_events(console_lines, 1)
            assert name == "handoff_created" and data["id"] == hid

        with httpx.Client(base_url=base, timeout=10) as sse, \
                sse.stream("GET", "/api/widget/c-live/stream") as widget:
            widget_lines = widget.iter_lines()
            _read_events(widget_lines, 1)  # ready
            http.post(f"/api/handoffs/{hid}/claim", headers=leo)
            r = http.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola, soy Leo"},
                          headers=leo)
            assert r.status_code == 201
            http.post(f"/api/handoffs/{hid}/resolve", headers=leo)
            events = _read_events(widget_lines, 3)
        assert [e[0] for e in events] == ["agent_joined", "agent_message", "agent_left"]
        assert events[0][1]["agent_name"] == "Leo"
        assert events[1][1]["text"] == "Hola, soy Leo" and events[1][1]["id"] == r.json()["id"]
        assert events[2][1]["outcome"] == "resolved"
