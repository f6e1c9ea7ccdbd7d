"""The handoff packet (``actions.handoff_packet``); what reaches the API is tested through
``action_handoff`` in ``test_handoff.py``."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions.handoff_packet import transcript


def test_transcript_keeps_the_buttons_a_tapped_payload_came_from():
    """The console shows a tapped button's title, not its payload: the packet keeps the buttons
    each bot message offered (title and payload only), and nothing for messages without any."""
    events = [
        {"event": "user", "text": "¿Eres un robot?", "timestamp": 1.0},
        {"event": "bot", "text": "Soy un asistente virtual.", "timestamp": 2.0,
         "data": {"buttons": [{"title": "Hablar con una persona", "payload": "/human_handoff",
                               "type": "postback"}, {"title": "", "payload": "/broken"}],
                  "quick_replies": None}},
        {"event": "user", "text": "/human_handoff", "timestamp": 3.0},
        {"event": "bot", "text": "Te paso con una persona.", "timestamp": 4.0, "data": {}},
    ]
    entries = transcript(Tracker(sender_id="s", slots={}, latest_message={}, events=events,
                                 paused=False, followup_action=None, active_loop={},
                                 latest_action_name="action_listen"))
    assert entries[1]["buttons"] == [{"title": "Hablar con una persona",
                                      "payload": "/human_handoff"}]
    assert entries[2] == {"role": "user", "text": "/human_handoff", "ts": 3.0}
    assert "buttons" not in entries[3]
