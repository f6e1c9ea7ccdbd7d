"""A conversation's pause in Rasa, as the hand-off gate reads and lifts it.

``action_handoff`` pauses a conversation (``ConversationPaused``) when a person takes over. The
gate (:mod:`bot.handoff_gate`) asks :func:`is_paused` before every message and :func:`resume`
lifts the pause when the shopper leaves the queue or the handoff has closed or is handed back.
:func:`recorded_turn` finds a turn that a process which died already ran (exactly-once replies).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from bot.tracker_peek import peek

# the gate's own log: its events are named ``handoff_gate.*`` wherever they happen
logger = logging.getLogger("bot.handoff_gate")


async def is_paused(agent: Any, sender_id: str) -> bool:
    """True when the stored tracker is paused (a human owns the conversation)."""
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return False
    try:
        tracker = await peek(store, sender_id)  # looked at, never changed
    except Exception:  # the tracker store is down: Rasa will report it itself
        logger.exception("handoff_gate.tracker_load_failed sender=%s", sender_id)
        return False
    return bool(tracker is not None and tracker.is_paused())


async def resume(agent: Any, sender_id: str) -> bool:
    """Resume a paused conversation (``resume`` + ``action_listen``, as Rasa's own
    ``/tracker/events`` would, under the conversation's lock); False if it was not paused."""
    from rasa.shared.core.events import ActionExecuted, ConversationResumed

    store = getattr(agent, "tracker_store", None)
    if store is None:
        return False
    lock_store = getattr(agent, "lock_store", None)
    lock = lock_store.lock(sender_id) if lock_store is not None else contextlib.nullcontext()
    async with async_cm(lock):
        tracker = await store.retrieve(sender_id)
        if tracker is None or not tracker.is_paused():
            return False
        tracker.update(ConversationResumed())
        tracker.update(ActionExecuted("action_listen"))
        await store.save(tracker)
    logger.info("handoff_gate.resumed sender=%s", sender_id)
    return True


async def recorded_turn(agent: Any, sender_id: str, message_id: str) -> list[dict] | None:
    """If the tracker already holds user message ``message_id`` (its turn ran in a process that
    died before marking it done), what the bot answered in that turn; else None."""
    from rasa.shared.core.events import BotUttered, UserUttered

    store = getattr(agent, "tracker_store", None)
    tracker = await store.retrieve(sender_id) if store is not None else None
    if tracker is None:
        return None
    found, answer = False, []
    for event in tracker.events:
        if isinstance(event, UserUttered):
            if found:
                break
            found = event.message_id == message_id
        elif found and isinstance(event, BotUttered):
            answer.append({"recipient_id": sender_id, "text": event.text,
                           **{k: v for k, v in (event.data or {}).items() if v}})
    return answer if found else None


@contextlib.asynccontextmanager
async def async_cm(cm: Any) -> Any:
    """Enter a lock store's lock (an async context manager) or a no-op one."""
    if hasattr(cm, "__aenter__"):
        async with cm:
            yield
    else:
        with cm:
            yield

