"""A handoff API with WhatsApp against the Graph API stand-in, and WhatsApp handoffs whose last
shopper message is hours old, for ``test_whatsapp_v2.py`` and ``test_wa_templates.py``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from handoff_api.app import create_app
from handoff_api.wa_templates import TemplateRegistry
from tests.handoff_api.conftest import BOT, add_agent, login, make_settings, packet
from tests.handoff_api.relay.conftest import FakeGraph

PHONE = "5215512345678"
HOURS = 3600.0


@contextmanager
def wa_app(database_url: str, graph: FakeGraph, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A handoff API whose WhatsApp relay and template registry talk to ``graph``, with a
    supervisor (ana) and an agent (leo) logged in."""
    settings = make_settings(database_url, data_dir=tmp_path)
    app = create_app(settings, relay_extra={"whatsapp": {
        "access_token": "wa-token", "phone_number_id": "106540352242922",
        "graph_url": graph.url}})
    app.state.templates = TemplateRegistry(tmp_path, waba_id="102290129340398", token="wa-token",
                                           graph_url=graph.url)
    add_agent(app, "ana", role="supervisor")
    add_agent(app, "leo")
    with TestClient(app) as client:
        yield {"client": client, "app": app, "leo": login(client, "leo"),
               "ana": login(client, "ana")}
    app.state.services.engine.dispose()


def whatsapp_handoff(client: TestClient, agent: dict[str, str], *, hours_ago: float,
                     cid: str = PHONE, language: str = "es") -> int:
    """A WhatsApp shopper whose last message was ``hours_ago``, claimed by ``agent``."""
    ts = time.time() - hours_ago * HOURS
    body = packet(cid, channel="whatsapp", language=language, transcript=[
        {"role": "user", "text": "Mi pedido llegó roto", "ts": ts - 60},
        {"role": "bot", "text": "Te paso con una persona.", "ts": ts - 59},
        {"role": "user", "text": "Gracias", "ts": ts}])
    hid = client.post("/api/handoffs", json=body, headers=BOT).json()["id"]
    assert client.post(f"/api/handoffs/{hid}/claim", headers=agent).status_code == 200
    return hid


def fill(es: bool = True) -> dict[str, Any]:
    if es:
        return {"name": "atiende_seguimiento", "language": "es",
                "parameters": {"1": "Lucía", "2": "Atiende Moda",
                               "3": "la devolución del pedido AT100234"}}
    return {"name": "atiende_follow_up", "language": "en",
            "parameters": {"1": "Emma", "2": "Atiende Fashion", "3": "your return"}}
