"""A reply is never sent twice, even when Rasa is killed mid-turn (bot/outgoing.py).

The shopper writes "gracias" on WhatsApp: the bot answers "¡De nada!" (through the fake Graph API)
and then calls the action server (``action_offer_rating``), which the fake Graph API stopped
(SIGSTOP) just before answering that reply, so the turn cannot finish. Rasa is killed with
``kill -9`` right then: the reply is on the shopper's phone, the turn is not in the tracker, the
inbox row is not done. After the restart the stored delivery is processed again; the shopper must
still have exactly one reply per message, and the tracker the turn once. A later "gracias" (a new
message with the same text) is answered again. A web shopper's REST turn killed at the same
moment is resent by its client and answered once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import threading
import time
from typing import Any

import pytest

from tests.faults.plumbing import PATIENCE, wait_for
from tests.faults.system import Seam

pytestmark = [pytest.mark.slow]


def _marks(seam: Seam, phone: str, message_id: str) -> list[str] | None:
    """The outgoing ledger's states for ``message_id``'s replies; None without that table."""
    with contextlib.closing(sqlite3.connect(seam.data_dir / "ledger.db", timeout=5)) as db:
        try:
            rows = db.execute("SELECT state FROM outgoing_replies WHERE channel = 'whatsapp' AND "
                              "conversation_id = ? AND message_id = ? ORDER BY response_index",
                              (phone, message_id)).fetchall()
        except sqlite3.OperationalError:  # no such table: the code before the outgoing ledger
            return None
    return [r[0] for r in rows]


def _claimed(seam: Seam, conversation_id: str, message_id: str) -> bool:
    """The REST message is claimed in the ledger (its turn is under way)."""
    with contextlib.closing(sqlite3.connect(seam.data_dir / "ledger.db", timeout=5)) as db:
        return db.execute("SELECT 1 FROM inbound_messages WHERE channel = 'rest' AND "
                          "conversation_id = ? AND message_id = ?",
                          (conversation_id, message_id)).fetchone() is not None


def _signal_actions(seam: Seam, sig: int) -> None:
    os.killpg(seam.service("actions").process.pid, sig)


def _turns(events: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """message id -> (user events with that id, bot events after them)."""
    turns: dict[str, list[int]] = {}
    current = None
    for event in events:
        if event.get("event") == "user":
            current = event.get("message_id")
            turns.setdefault(current, [0, 0])[0] += 1
        elif event.get("event") == "bot" and current is not None:
            turns[current][1] += 1
    return {k: (v[0], v[1]) for k, v in turns.items()}


def _send(seam: Seam, phone: str, text: str, message_id: str) -> None:
    raw = seam.whatsapp(phone, text, message_id)
    wait_for(lambda: seam.post_whatsapp(raw) == 200, PATIENCE, f"WhatsApp to accept {message_id}")


def test_kill9_after_the_reply_went_out_sends_it_once(alive: Seam) -> None:
    seam, phone = alive, "34600000888"
    ids = [f"wamid.{phone}.{n}" for n in (1, 2, 3)]
    _send(seam, phone, "hola", ids[0])
    wait_for(lambda: _turns(seam.tracker_events(phone)).get(ids[0], (0, 0))[1] > 0, PATIENCE,
             "the greeting's answer")
    before = len(seam.graph.to(phone))

    stopped = threading.Event()

    def stop_the_action_server(body: dict[str, Any]) -> None:
        # "¡De nada!" reached Meta; the action server stops before Rasa hears the 200, so the
        # turn's next step (action_offer_rating) hangs (every turn called it once before)
        if body.get("to") == phone and not stopped.is_set():
            _signal_actions(seam, signal.SIGSTOP)
            stopped.set()

    seam.graph.before_answer = stop_the_action_server
    web, web_id, web_reply = "fault-reply-once-web", "fault-reply-once-web-1", []
    web_thread = threading.Thread(target=lambda: web_reply.append(seam.say(web, "gracias",
                                                                           web_id)))
    try:
        _send(seam, phone, "gracias", ids[1])
        wait_for(stopped.is_set, 60, "the reply on the phone")
        # the reply is marked sent within milliseconds of Meta's 200, then Rasa waits on the
        # stopped action server (the code before the outgoing ledger has no mark: a second of
        # that wait is ample)
        posted = time.monotonic()
        wait_for(lambda: (_marks(seam, phone, ids[1]) or ["?"])[0] == "sent"
                 or (_marks(seam, phone, ids[1]) is None and time.monotonic() - posted > 1.0),
                 30, "the reply to be marked sent")
        assert ids[1] not in _turns(seam.tracker_events(phone)), "the turn must still be running"
        # a web shopper's turn is under way too (REST: its answer is the HTTP response, written
        # only after the message is marked done, so no client can have it before the record)
        web_thread.start()
        wait_for(lambda: _claimed(seam, web, web_id), 60, "the web turn to be under way")
        seam.kill("rasa")
    finally:
        seam.graph.before_answer = None
        if stopped.is_set():
            _signal_actions(seam, signal.SIGCONT)
    seam.restart("rasa")

    # the restarted Rasa processes the stored delivery again (its inbox row was never done)
    wait_for(lambda: ids[1] in _turns(seam.tracker_events(phone)) and seam.settled([phone]),
             PATIENCE, "the interrupted turn to be run again")
    after_retry = seam.graph.to(phone)[before:]
    turns = _turns(seam.tracker_events(phone))
    assert turns[ids[1]][0] == 1, turns
    assert len(after_retry) == turns[ids[1]][1] >= 1, (
        f"{len(after_retry)} replies on the phone for one message (the tracker has "
        f"{turns[ids[1]][1]} bot events): {after_retry}\n{seam.logs(60)}")
    assert _marks(seam, phone, ids[1]) == ["sent"] * len(after_retry)

    # the web client resent its message (same id) until the restarted Rasa answered it: once
    web_thread.join(PATIENCE + 60)
    web_turns = _turns(seam.tracker_events(web))
    assert web_reply and web_reply[0].status == 200 and web_turns[web_id][0] == 1, web_turns
    assert len(web_reply[0].body) == web_turns[web_id][1] >= 1, web_reply

    # a new message with the same text is a new turn: answered again, not skipped
    _send(seam, phone, "gracias", ids[2])
    wait_for(lambda: _turns(seam.tracker_events(phone)).get(ids[2], (0, 0))[1] > 0
             and seam.settled([phone]), PATIENCE, "the second thanks' answer")
    assert len(seam.graph.to(phone)) == len(after_retry) + before + \
        _turns(seam.tracker_events(phone))[ids[2]][1]
