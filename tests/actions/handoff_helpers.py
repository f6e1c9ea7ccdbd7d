"""The real handoff API in-process (httpx's ASGI transport, a temporary SQLite database) and
trackers for the handoff and rating action tests (``test_handoff.py``, ``test_rating.py``)."""

from __future__ import annotations

from typing import Any

import httpx
from rasa_sdk import Tracker

from actions.handoff_client import HandoffClient
from handoff_api.app import create_app
from handoff_api.models import Handoff
from handoff_api.settings import Settings

BOT_TOKEN = "bot-token-for-action-tests-123"


def make_app(tmp_path, hours: str = "mon-sun 00:00-24:00") -> Any:
    return create_app(Settings(
        _env_file=None, environment="test", database_url=f"sqlite:///{tmp_path / 'h.db'}",
        bot_token=BOT_TOKEN, secret_key="secret-key-for-tests-1234567", business_hours=hours,
        business_tz="Europe/Madrid", run_outbox_worker=False))


def present_agent(app: Any) -> None:
    """An agent whose console is open right now (presence decides the queue message)."""
    from handoff_api import auth
    from handoff_api.queue import now_utc

    with app.state.services.write_sessions()() as s:
        agent = auth.create_agent(s, username="leo", password="password-123")
        agent.last_seen_at = now_utc()
        s.commit()


def client_for(app: Any) -> HandoffClient:
    return HandoffClient("http://handoff.test", BOT_TOKEN, transport=httpx.ASGITransport(app=app))


def tracker(slots: dict[str, Any] | None = None, *, intent: str = "human_handoff",
            last_text: str = "Quiero hablar con una persona", active_loop: str | None = None,
            entities: list[dict[str, Any]] | None = None, channel: str = "socketio") -> Tracker:
    values = {"language": "es", "kb_articles_shown": ["return-policy"], "order_id": "AT100234"}
    values.update(slots or {})
    latest = {"text": last_text, "intent": {"name": intent, "confidence": 0.98},
              "entities": entities or []}
    events = [
        {"event": "user", "text": "¿Dónde está mi pedido AT100234?", "timestamp": 1.0,
         "input_channel": channel, "parse_data": {"intent": {"name": "order_status"}}},
        {"event": "bot", "text": "Tu pedido está en camino.", "timestamp": 2.0},
        {"event": "user", "text": last_text, "timestamp": 3.0, "input_channel": channel,
         "parse_data": latest},
    ]
    return Tracker(sender_id="shopper-42", slots=values, latest_message=latest, events=events,
                   paused=False, followup_action=None,
                   active_loop={"name": active_loop} if active_loop else {},
                   latest_action_name="action_listen")


def stored(app: Any) -> Handoff:
    with app.state.services.sessions() as s:
        return s.query(Handoff).one()


def event_names(events: list[dict[str, Any]]) -> list[str]:
    return [e["event"] for e in events]


def slots_set(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}

