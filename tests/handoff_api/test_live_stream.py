"""Live SSE pushes through a real uvicorn server: the widget sees the agent join and write, the
console sees new handoffs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.handoff_api.conftest import BOT, add_agent, packet, widget_auth
from tests.handoff_api.live import live_server


@pytest.fixture
def live(tmp_path) -> Iterator[tuple[str, Any]]:
    with live_server(f"sqlite:///{tmp_path / 'h.db'}") as server:
        yield server


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
        # never a token in a URL (it would land in access logs): ?token= opens nothing
        assert http.get(f"/api/stream?token={token}").status_code == 401

        with httpx.Client(base_url=base, timeout=10) as sse, \
                sse.stream("GET", "/api/stream", headers=leo) as console:
            assert console.status_code == 200
            console_lines = console.iter_lines()
            ready = _read_events(console_lines, 1)
            assert ready[0][0] == "ready"
            hid = http.post("/api/handoffs", json=packet("c-live"), headers=BOT).json()["id"]
            [(name, data)] = _read_events(console_lines, 1)
            assert name == "handoff_created" and data["id"] == hid

        with httpx.Client(base_url=base, timeout=10) as sse, \
                sse.stream("GET", "/api/widget/stream", headers=widget_auth("c-live")) as widget:
            widget_lines = widget.iter_lines()
            _read_events(widget_lines, 1)  # ready
            http.post(f"/api/handoffs/{hid}/claim", headers=leo)
            r = http.post(f"/api/handoffs/{hid}/messages", json={"text": "Hola, soy Leo"},
                          headers=leo)
            assert r.status_code == 201
            http.post(f"/api/handoffs/{hid}/resolve", headers=leo)
            # the claim and the close also move the queue: every widget hears a contentless
            # queue_changed (seam-ui), so a waiting shopper re-reads their place
            everything = _read_events(widget_lines, 5)
        moves = [e for e in everything if e[0] == "queue_changed"]
        assert len(moves) == 2 and all(data == {} for _, data in moves)
        events = [e for e in everything if e[0] != "queue_changed"]
        assert [e[0] for e in events] == ["agent_joined", "agent_message", "agent_left"]
        assert events[0][1]["agent_name"] == "Leo"
        assert events[1][1]["text"] == "Hola, soy Leo" and events[1][1]["id"] == r.json()["id"]
        assert events[2][1]["outcome"] == "resolved"
