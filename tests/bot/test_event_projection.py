"""Rasa events -> event-log rows (``bot.event_projection``), on event dicts as Rasa publishes
them."""

from __future__ import annotations

from bot.event_projection import EventProjector
from privacy.records import contact_key, customer_key, pseudonym

KEY = b"k" * 32


def user(sender: str, text: str, intent: str, channel: str = "socketio", ts: float = 1.0,
         entities: list | None = None) -> dict:
    return {"sender_id": sender, "event": "user", "timestamp": ts, "text": text,
            "input_channel": channel,
            "parse_data": {"intent": {"name": intent, "confidence": 0.9},
                           "entities": entities or []}}


def action(sender: str, name: str) -> dict:
    return {"sender_id": sender, "event": "action", "timestamp": 2.0, "name": name}


def slot(sender: str, name: str, value) -> dict:
    return {"sender_id": sender, "event": "slot", "timestamp": 3.0, "name": name, "value": value}


def run(projector: EventProjector, events: list[dict]) -> list[dict]:
    return [row for e in events for row in projector.project(e)]


def test_a_conversation_becomes_typed_rows_with_pseudonymous_ids():
    p = EventProjector(KEY)
    rows = run(p, [{"sender_id": "34655908172", "event": "session_started", "timestamp": 0.5},
                   user("34655908172", "¿dónde está mi pedido?", "order_status", "whatsapp"),
                   slot("34655908172", "language", "es"),
                   action("34655908172", "action_order_status"),
                   {"sender_id": "34655908172", "event": "bot", "timestamp": 2.5, "text": "x"},
                   action("34655908172", "action_listen")])
    assert [r["type"] for r in rows] == ["conversation_started", "user_message", "action",
                                         "bot_message"]
    assert {r["conversation"] for r in rows} == {pseudonym("34655908172", KEY)}
    assert rows[1]["intent"] == "order_status" and rows[1]["channel"] == "whatsapp"
    assert rows[1]["customer"] == customer_key("whatsapp", "34655908172", KEY) is not None
    assert rows[2]["action"] == "action_order_status" and rows[2]["language"] == "es"
    assert all("34655908172" not in str(r) and "pedido" not in str(r) for r in rows)


def test_kb_answer_and_gap_with_the_question_redacted():
    p = EventProjector(KEY)
    answered = run(p, [user("w", "¿cuánto tarda el envío?", "ask_policy"),
                       action("w", "action_answer_from_kb"),
                       {"sender_id": "w", "event": "bot", "timestamp": 2.1, "text": "..."},
                       slot("w", "kb_last_article", "envios"), action("w", "action_listen")])
    assert [r["type"] for r in answered][-2:] == ["bot_message", "kb_answer"]
    assert answered[-1]["text"] == "envios"
    gap = run(p, [user("w", "mi correo es ana.garcia@gmail.com, ¿envolvéis para regalo?",
                       "ask_policy"),
                  action("w", "action_answer_from_kb"), slot("w", "kb_articles_shown", []),
                  action("w", "action_listen")])
    kb_gap = [r for r in gap if r["type"] == "kb_gap"]
    assert len(kb_gap) == 1 and "ana.garcia" not in kb_gap[0]["text"]
    assert "[EMAIL]" in kb_gap[0]["text"] and "regalo" in kb_gap[0]["text"]
    feedback = run(p, [user("w", "/kb_feedback", "kb_feedback",
                            entities=[{"entity": "helpful", "value": "no"}])])
    assert [(r["type"], r["value"], r["text"]) for r in feedback][-1] == ("kb_feedback", 0.0,
                                                                          "envios")


def test_identity_rating_and_handoff():
    p = EventProjector(KEY)
    rows = run(p, [user("web-1", "hola", "greet"), slot("web-1", "customer_contact",
                                                        " Ana@Example.com "),
                   slot("web-1", "verified_order_id", "AT1"), slot("web-1", "rating", 4)])
    verified = [r for r in rows if r["type"] == "identity_verified"]
    assert verified[0]["customer"] == contact_key("ana@example.com", KEY)
    assert [r["value"] for r in rows if r["type"] == "csat"] == [4.0]
    assert rows[0]["customer"] is None  # a web session id is nobody
    # after a handoff the rating is the agent's: the handoff API logs it, not the bot
    handed = run(p, [action("web-2", "action_handoff"), slot("web-2", "rating", 5)])
    assert "csat" not in [r["type"] for r in handed]
    # a new session forgets the handoff; a rating out of range is ignored
    again = run(p, [{"sender_id": "web-2", "event": "session_started", "timestamp": 9.0},
                    slot("web-2", "rating", 9), slot("web-2", "rating", "3")])
    assert [r["value"] for r in again if r["type"] == "csat"] == [3.0]


def test_the_handoff_api_resuming_the_bot_is_not_a_shopper_message():
    p = EventProjector(KEY)
    rows = run(p, [user("c", "hola", "greet", "socketio"),
                   user("c", "/handback", "handback", "atiende")])
    assert [r["type"] for r in rows] == ["user_message"] and rows[0]["channel"] == "socketio"


def test_malformed_events_give_no_rows():
    p = EventProjector(KEY)
    assert run(p, [{}, {"event": "user"}, {"sender_id": 5, "event": "user"},
                   {"sender_id": "x", "event": "action", "name": None}]) == []


def test_customer_effort_is_logged_after_any_rating_and_a_skip_logs_nothing():
    p = EventProjector(KEY)
    bot_only = run(p, [user("web-3", "gracias", "thank"), slot("web-3", "rating", "5"),
                       slot("web-3", "ces", "4")])
    assert [(r["type"], r["value"]) for r in bot_only if r["type"] in ("csat", "ces")] == [
        ("csat", 5.0), ("ces", 4.0)]
    # after a person the rating is the handoff API's, but the effort answer is only here
    handed = run(p, [action("web-4", "action_handoff"), slot("web-4", "rating", "2"),
                     slot("web-4", "ces", "1")])
    assert [(r["type"], r["value"]) for r in handed if r["type"] in ("csat", "ces")] == [
        ("ces", 1.0)]
    skipped = run(p, [slot("web-5", "ces", "-"), slot("web-5", "ces", None),
                      slot("web-5", "ces", "7")])
    assert [r for r in skipped if r["type"] == "ces"] == []
