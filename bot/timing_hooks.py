"""Stage timings inside the Rasa server (see :mod:`timing`; only with ``ATIENDE_TIMING_DIR``).

Installed once, at start-up, by ``bot.tracker_store.DurableSQLTrackerStore`` (the one object of
ours every Rasa server builds). Stages:

``gate``            the hand-off gate's routing of one message (includes the whole Rasa turn)
``rasa.turn``       ``Agent.handle_message``: lock store + processor
``rasa.processor``  ``MessageProcessor.handle_message``: NLU, slots, policies, actions, save
``nlu``             ``MessageProcessor.parse_message``
``policies``        one policy-ensemble prediction (``_predict_next_with_tracker``)
``action_server``   one call to the action server (``RemoteAction.run``: HTTP + the action)
``tracker.retrieve`` / ``tracker.save``   the tracker store
``ledger``          one exactly-once ledger transaction (claim / done)
``handoff_api``     one POST of the gate to the handoff API
"""

from __future__ import annotations

import logging
import os

import timing

logger = logging.getLogger(__name__)
_installed = False


def install() -> None:
    global _installed
    if _installed or not timing.enabled():
        return
    _installed = True
    os.environ.setdefault("ATIENDE_TIMING_PROCESS", "rasa")
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.processor import MessageProcessor

    from bot.handoff_client import HandoffApiClient
    from bot.handoff_gate import HandoffGate
    from bot.ledger import Ledger
    from bot.tracker_store import DurableSQLTrackerStore

    timing.wrap(HandoffGate, "route", "gate", sender=lambda _s, _a, message, *a, **k:
                message.sender_id)
    timing.wrap(Agent, "handle_message", "rasa.turn",
                sender=lambda _s, message, *a, **k: message.sender_id)
    timing.wrap(MessageProcessor, "handle_message", "rasa.processor")
    timing.wrap(MessageProcessor, "parse_message", "nlu")
    timing.wrap(MessageProcessor, "_predict_next_with_tracker", "policies")
    timing.wrap(RemoteAction, "run", "action_server")
    # these also run before the gate (the channel's language and exactly-once checks), so they
    # tag themselves from their own arguments
    for name in ("retrieve", "retrieve_full_tracker"):
        timing.wrap(DurableSQLTrackerStore, name, "tracker.retrieve",
                    sender=lambda _s, sender_id, *a, **k: sender_id)
    timing.wrap(DurableSQLTrackerStore, "save", "tracker.save",
                sender=lambda _s, tracker, *a, **k: tracker.sender_id)
    for name in ("claim", "done"):
        timing.wrap(Ledger, name, "ledger",
                    sender=lambda _s, _channel, conversation_id, *a, **k: conversation_id)
    for name in ("post_message", "leave_queue"):
        timing.wrap(HandoffApiClient, name, "handoff_api")
    timing.watch_gc()  # the process's collector pauses, as stages gc.0 / gc.1 / gc.2
    logger.warning("stage timings on: writing to %s (benchmarks only)", os.environ[timing.ENV])
