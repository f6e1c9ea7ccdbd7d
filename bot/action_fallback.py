"""A polite answer when a turn's custom action cannot run (action server down or failing).

Rasa 3.6 catches a failed call to the action server inside ``MessageProcessor._run_action``,
logs it, drops the action's events and goes on predicting: usually ``action_listen`` comes next,
so the shopper gets **no reply at all** (the chaos bench lost 7 of 180 messages this way while the
action server was killed: reports/reliability/). This module adds, once per process:

* ``RemoteAction.run`` notes each failure (connection refused, timeout, 5xx, an action that raised)
  in the current turn's record and logs one line without personal data (the action's name, the
  error class and a hash of the conversation id, never the text or the sender id); a
  rejection (``ActionExecutionRejection``, a form's normal "not this slot") is not a failure;
* ``MessageProcessor._run_prediction_loop``: after the turn's actions, if any custom action failed,
  the bot says ``action_unavailable`` (bot/channels/texts.py) **once**, in the shopper's language
  (the message's detected language, else the ``language`` slot, else the client's metadata, else
  Spanish), on the shopper's own channel, and it is in the tracker as a ``bot`` event. One
  exception: a failed ``action_session_start`` alone (the greeting still ran) says nothing more.
* the call's timeout: Rasa waits up to 5 min for the action server; ``RASA_ACTION_TIMEOUT``
  (seconds, default 60) bounds how long a shopper waits for a hung one.

Installed by ``bot.tracker_store.DurableSQLTrackerStore`` (every Rasa server we run builds it),
like ``bot.rasa_speedups``.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import os
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

SESSION_START = "action_session_start"
DEFAULT_TIMEOUT = 60.0
_installed = False
#: Rasa's own functions, replaced by install() (for tests)
STOCK: dict[str, Any] = {}


@dataclass
class TurnFaults:
    failed: list[str] = field(default_factory=list)  # action names, in order

    def needs_apology(self, uttered_after_user: bool) -> bool:
        if not self.failed:
            return False
        if all(name == SESSION_START for name in self.failed):
            return not uttered_after_user
        return True


_turn: contextvars.ContextVar[TurnFaults | None] = contextvars.ContextVar(
    "atiende_turn_faults", default=None)


def pseudonym(sender_id: str) -> str:
    return hashlib.sha256(sender_id.encode()).hexdigest()[:12]


def language_of(tracker: Any) -> str:
    latest = getattr(tracker, "latest_message", None)
    candidates = [
        (getattr(latest, "parse_data", None) or {}).get("language"),
        tracker.get_slot("language") if hasattr(tracker, "get_slot") else None,
        (getattr(latest, "metadata", None) or {}).get("language"),
    ]
    for value in candidates:
        if isinstance(value, str) and value[:2].lower() in ("es", "en"):
            return value[:2].lower()
    return "es"


def timeout_from_env(env: Any = os.environ) -> float:
    raw = (env.get("RASA_ACTION_TIMEOUT") or "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        raise SystemExit(f"rasa: RASA_ACTION_TIMEOUT={raw!r} is not a number of "
                         "seconds") from None
    if value <= 0:
        raise SystemExit("rasa: RASA_ACTION_TIMEOUT must be > 0")
    return value


def _uttered_since_user(tracker: Any) -> bool:
    for event in reversed(tracker.events):
        kind = getattr(event, "type_name", None)
        if kind == "user":
            return False
        if kind == "bot":
            return True
    return False


async def apologise_if_needed(tracker: Any, output_channel: Any, faults: TurnFaults) -> bool:
    """Say ``action_unavailable`` once if this turn's custom actions failed. Returns whether it
    did."""
    from rasa.shared.core.events import BotUttered

    from bot.channels.texts import t

    if not faults.needs_apology(_uttered_since_user(tracker)):
        return False
    lang = language_of(tracker)
    event = BotUttered(t("action_unavailable", lang), data={}, metadata={})
    tracker.update(event)
    logger.warning("bot.action_unavailable_reply conversation=%s actions=%s lang=%s",
                   pseudonym(tracker.sender_id), ",".join(faults.failed), lang)
    try:
        await output_channel.send_response(tracker.sender_id, event.message())
    except Exception as exc:  # the channel is down too: the tracker has the answer
        logger.error("bot.action_unavailable_reply_not_sent conversation=%s error=%s",
                     pseudonym(tracker.sender_id), type(exc).__name__)
    return True


def install() -> None:
    """Replace ``RemoteAction.run``, ``MessageProcessor.handle_message`` and
    ``MessageProcessor._run_prediction_loop`` (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    import rasa.core.actions.action as rasa_action
    from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
    from rasa.core.processor import MessageProcessor

    rasa_action.DEFAULT_REQUEST_TIMEOUT = timeout_from_env()  # read at call time by Rasa
    STOCK.update(run=RemoteAction.run, handle_message=MessageProcessor.handle_message,
                 loop=MessageProcessor._run_prediction_loop)
    stock_run, stock_handle, stock_loop = STOCK["run"], STOCK["handle_message"], STOCK["loop"]

    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> Any:
        try:
            return await stock_run(self, output_channel, nlg, tracker, domain)
        except ActionExecutionRejection:
            raise
        except Exception as exc:
            faults = _turn.get()
            if faults is not None:
                faults.failed.append(self.name())
            logger.error("bot.action_failed action=%s error=%s conversation=%s",
                         self.name(), type(exc).__name__, pseudonym(tracker.sender_id))
            raise

    async def handle_message(self: Any, message: Any) -> Any:
        token = _turn.set(TurnFaults())
        try:
            return await stock_handle(self, message)
        finally:
            _turn.reset(token)

    async def run_prediction_loop(self: Any, output_channel: Any, tracker: Any) -> None:
        faults = _turn.get()
        token = _turn.set(TurnFaults()) if faults is None else None
        try:
            await stock_loop(self, output_channel, tracker)
            await apologise_if_needed(tracker, output_channel, _turn.get())
        finally:
            if token is not None:
                _turn.reset(token)

    RemoteAction.run = run  # type: ignore[method-assign]
    MessageProcessor.handle_message = handle_message  # type: ignore[method-assign]
    MessageProcessor._run_prediction_loop = run_prediction_loop  # type: ignore[method-assign]
