"""action_handoff / action_handback against the real handoff API (in-process,
through httpx's ASGI transport, on a temporary SQLite database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandback, ActionHandoff, when_text
from actions.handoff_client import HandoffClient
from handoff_api.models import Handoff
from tests.actions.handoff_helpers import (
    BOT_TOKEN,
    client_for,
    event_names,
    make_app,
    present_agent,
    slots_set,
    stored,
    tracker,
)


async def test_handoff_sends_everything_and_pauses(tmp_path):
    app = make_app(tmp_path)
    present_agent(app)
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(client_for(app)).run(dispatcher, tracker({"customer_vip": True}),
                                                      {})
    assert "pause" in event_names(events)
    slots = slots_set(events)
    assert slots["handoff_active"] is True and slots["handoff_reason"] == "asked"
    handoff = stored(app)
    assert slots["handoff_id"] == str(handoff.id)
    packet = handoff.packet
    assert packet["conversation_id"] == "shopper-42" and packet["channel"] == "socketio"
    assert packet["intent_history"] == ["order_status", "human_handoff"]
    assert [e["role"] for e in packet["transcript"]] == ["user", "bot", "user"]
    assert packet["kb_articles"] == ["return-policy"] and packet["slots"]["order_id"] == "AT100234"
    assert packet["customer"]["vip"] is True and handoff.vip
    assert packet["order"] is None  # not verified: the agent gets no order data
    text = dispatcher.messages[0]["text"]
    assert "siguiente" in text and "min" in text


async def test_legal_threat_is_reason_and_english_text(tmp_path):
    app = make_app(tmp_path)
    present_agent(app)
    dispatcher = CollectingDispatcher()
    t = tracker({"language": "en"}, intent="complaint", last_text="I'm calling my lawyer")
    await ActionHandoff(client_for(app)).run(dispatcher, t, {})
    assert stored(app).reason == "legal_or_fraud"
    assert "next in the queue" in dispatcher.messages[0]["text"]


async def test_verified_order_snapshot_is_included(tmp_path, store_db, demo_orders):
    order = demo_orders[0]
    app = make_app(tmp_path)
    t = tracker({"verified_order_id": order.id, "order_id": order.id,
                 "handoff_reason": "verification_failed"})
    await ActionHandoff(client_for(app)).run(CollectingDispatcher(), t, {})
    handoff = stored(app)
    assert handoff.packet["order"]["id"] == order.id
    assert handoff.packet["customer"].get("email") or handoff.packet["customer"].get("phone")
    assert handoff.reason == "verification_failed"


async def test_out_of_hours_without_agents_opens_an_offline_case_and_keeps_the_bot(tmp_path):
    """Issue #11: out of hours the shopper was queued (8.6 h "estimated wait", no timeout) and
    every later message went to a queue nobody read. Now: an offline case with the promised
    answer time, and the conversation is NOT paused."""
    later = (datetime.now(UTC) + timedelta(days=2)).strftime("%a").lower()
    app = make_app(tmp_path, hours=f"{later} 09:00-10:00")
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(client_for(app)).run(dispatcher, tracker(), {})
    assert "pause" not in event_names(events)
    assert slots_set(events)["handoff_active"] is False
    handoff = stored(app)
    assert handoff.status == "offline"
    text = dispatcher.messages[0]["text"]
    assert "no está disponible" in text and f"#{handoff.id}" in text
    assert "por este mismo chat" in text


async def test_nobody_connected_gives_no_made_up_wait(tmp_path):
    app = make_app(tmp_path)
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(client_for(app)).run(dispatcher, tracker(), {})
    assert "pause" in event_names(events)
    text = dispatcher.messages[0]["text"]
    assert "no hay nadie conectado" in text and "cancelar" in text


async def test_creation_answered_after_the_timeout_is_retried_with_the_same_key(tmp_path):
    """Issue #11: the creation committed but answered after the client's timeout, so the shopper
    heard "can't put you through" while an agent could claim it. The retry carries the same
    Idempotency-Key and gets the same handoff: one handoff, and the shopper is told the truth."""
    app = make_app(tmp_path)
    present_agent(app)
    inner = httpx.ASGITransport(app=app)
    keys: list[str] = []

    class SlowFirstAnswer(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await inner.handle_async_request(request)  # committed...
            keys.append(request.headers.get("Idempotency-Key", ""))
            if len(keys) == 1:  # ...but the answer never arrives in time
                raise httpx.ReadTimeout("answer too late", request=request)
            return response

    client = HandoffClient("http://handoff.test", BOT_TOKEN, transport=SlowFirstAnswer())
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(client).run(dispatcher, tracker(), {})
    assert "pause" in event_names(events)
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0].startswith("ho-")
    with app.state.services.sessions() as s:
        assert s.query(Handoff).count() == 1
    assert "siguiente" in dispatcher.messages[0]["text"]


async def test_no_answer_at_all_cancels_the_request_so_no_ghost_handoff_remains(tmp_path):
    app = make_app(tmp_path)
    inner = httpx.ASGITransport(app=app)

    class NeverAnswersCreation(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await inner.handle_async_request(request)
            if request.url.path == "/api/handoffs":
                raise httpx.ReadTimeout("answer too late", request=request)
            return response

    client = HandoffClient("http://handoff.test", BOT_TOKEN, transport=NeverAnswersCreation())
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(client).run(dispatcher, tracker(), {})
    assert "pause" not in event_names(events)
    assert "problema técnico" in dispatcher.messages[0]["text"]
    handoff = stored(app)
    assert handoff.status == "abandoned"  # an agent cannot claim it


async def test_api_down_keeps_the_bot_helping(caplog):
    dead = HandoffClient("http://127.0.0.1:9", BOT_TOKEN, timeout=1)
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(dead).run(dispatcher, tracker(), {})
    assert "pause" not in event_names(events)
    assert slots_set(events)["handoff_active"] is False
    assert "problema técnico" in dispatcher.messages[0]["text"]
    assert "could not queue conversation shopper-42" in caplog.text


async def test_second_request_reuses_the_open_handoff(tmp_path):
    app = make_app(tmp_path)
    action = ActionHandoff(client_for(app))
    first = slots_set(await action.run(CollectingDispatcher(), tracker(), {}))
    second = slots_set(await action.run(CollectingDispatcher(), tracker(), {}))
    assert first["handoff_id"] == second["handoff_id"]


async def test_handback_asks_rating_and_resumes_form():
    dispatcher = CollectingDispatcher()
    t = tracker({"language": "en"}, intent="handoff_ended", last_text="",
                entities=[{"entity": "handoff_outcome", "value": "handed_back"}],
                active_loop="order_status_form")
    events = await ActionHandback().run(dispatcher, t, {})
    message = dispatcher.messages[0]
    assert "back with you" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == [
        f'/rate{{"rating":"{n}"}}' for n in range(1, 6)]
    assert events[-1] == {"event": "followup", "name": "order_status_form", "timestamp": None}
    assert slots_set(events)["handoff_active"] is False


async def test_handback_resolved_without_form_in_spanish():
    dispatcher = CollectingDispatcher()
    t = tracker(intent="handoff_ended", last_text="",
                entities=[{"entity": "handoff_outcome", "value": "resolved"}])
    events = await ActionHandback().run(dispatcher, t, {})
    assert "1 (muy mal) a 5 (excelente)" in dispatcher.messages[0]["text"]
    assert dispatcher.messages[0]["buttons"][4]["title"].startswith("5")
    assert "followup" not in event_names(events)


@pytest.mark.parametrize(("offset_days", "language", "expected"), [
    (0, "es", "hoy a las"), (1, "es", "mañana a las"), (1, "en", "tomorrow at"), (3, "en", "on "),
])
def test_when_text(offset_days, language, expected):
    now = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # Monday 07:00 in Madrid
    assert when_text(now + timedelta(days=offset_days, hours=2), language,
                     now=now).startswith(expected)


async def test_asking_again_while_an_agent_has_it(tmp_path):
    from handoff_api.auth import create_agent
    from handoff_api.queue import claim

    app = make_app(tmp_path)
    action = ActionHandoff(client_for(app))
    hid = int(slots_set(await action.run(CollectingDispatcher(), tracker(), {}))["handoff_id"])
    with app.state.services.sessions() as s:
        agent = create_agent(s, username="leo", password="password-123")
        claim(s, hid, agent, 3)
        s.commit()
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker(), {})
    assert "Ya te está atendiendo" in dispatcher.messages[0]["text"]
