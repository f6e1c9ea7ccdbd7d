"""How events become conversations and handoffs (``handoff_api.metric_conversations``)."""

from __future__ import annotations

from handoff_api.metric_conversations import conversations
from tests.handoff_api.metric_events import bot_chat, ev, handoff, run


def test_a_conversation_is_an_engaged_session():
    events = [
        *bot_chat("c1", 0),
        # the same id, a new session later the same day: a second conversation
        *bot_chat("c1", 120),
        # widget opened, nothing typed: not a conversation
        ev(5, "conversation_started", "c2"), ev(5.1, "bot_message", "c2"),
        # the day before and the day after: outside the window
        *bot_chat("c3", -11 * 60), *bot_chat("c4", 14 * 60 + 1),
    ]
    assert run(events)["conversations"] == 2
    assert [len(u.events) for u in conversations(bot_chat("c1", 0) + bot_chat("c1", 60))] == [3, 3]


def test_handoff_events_stay_in_the_conversation_that_created_them():
    """A long handoff across a new Rasa session is still the first conversation's."""
    events = [*bot_chat("c1", 0), *handoff("c1", 1, 3, close=None),
              ev(90, "conversation_started", "c1"), ev(91, "user_message", "c1"),
              ev(95, "handoff_resolved", "c1", source="handoff", handoff_id=1, agent_id=7)]
    units = conversations(events)
    assert len(units) == 2
    assert units[0].of("handoff_resolved") and not units[1].of("handoff_resolved")

