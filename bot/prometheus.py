"""``GET /metrics`` on the Rasa server's public address: turn latency, NLU latency, custom action
calls and errors, for Prometheus (text format 0.0.4, :mod:`timing.prometheus`).

Installed by ``bot.serve`` before the agent loads: it wraps ``Agent.handle_message`` (one
shopper message: the conversation lock, NLU, policies, actions, tracker save),
``MessageProcessor.parse_message`` (NLU) and ``RemoteAction.run`` (one call to the action server,
HTTP included). Labels are the channel name and the action name, never a conversation id or text.
``ATIENDE_METRICS_TOKEN`` (or ``HANDOFF_METRICS_TOKEN``), when set, is required as
``Authorization: Bearer``. Alerts on these families: docs/operations.md.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

from timing.prometheus import CONTENT_TYPE, Registry, metrics_token, token_ok

REGISTRY = Registry()
TURN_SECONDS = REGISTRY.histogram(
    "atiende_rasa_turn_seconds",
    "Seconds to handle one shopper message in Rasa (lock, NLU, policies, actions, tracker save).",
    ["channel"])
TURNS = REGISTRY.counter(
    "atiende_rasa_turns_total",
    "Shopper messages Rasa handled, by channel and outcome (ok | error: an exception escaped).",
    ["channel", "outcome"])
NLU_SECONDS = REGISTRY.histogram(
    "atiende_rasa_nlu_seconds", "Seconds of NLU (MessageProcessor.parse_message) per message.")
ACTION_SECONDS = REGISTRY.histogram(
    "atiende_rasa_action_seconds",
    "Seconds of one custom action call from Rasa to the action server (HTTP included).",
    ["action"])
ACTION_ERRORS = REGISTRY.counter(
    "atiende_rasa_action_errors_total",
    "Custom action calls that failed (action server down or timing out, action error).",
    ["action"])

_installed = False
#: channel label values; ``atiende`` is the handoff API resuming a conversation (hand-back)
KNOWN_CHANNELS = frozenset({"socketio", "rest", "whatsapp", "messenger", "atiende", "cmdline"})


def _channel(message: Any) -> str:
    name = str(getattr(message, "input_channel", None) or "unknown")
    return name if name in KNOWN_CHANNELS else "other"


def _wrap_async(owner: Any, attribute: str, before_after: Any) -> None:
    fn = owner.__dict__[attribute]
    if getattr(fn, "__atiende_prometheus__", False):
        return

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        failed = True
        try:
            result = await fn(*args, **kwargs)
            failed = False
            return result
        finally:
            before_after(args, time.perf_counter() - started, failed)

    wrapper.__atiende_prometheus__ = True  # type: ignore[attr-defined]
    setattr(owner, attribute, wrapper)


def _turn(args: tuple[Any, ...], seconds: float, failed: bool) -> None:
    channel = _channel(args[1] if len(args) > 1 else None)
    TURN_SECONDS.observe(seconds, channel=channel)
    TURNS.inc(channel=channel, outcome="error" if failed else "ok")


def _nlu(_args: tuple[Any, ...], seconds: float, _failed: bool) -> None:
    NLU_SECONDS.observe(seconds)


def _action(args: tuple[Any, ...], seconds: float, failed: bool) -> None:
    action = args[0]
    name = str(action.name() if callable(getattr(action, "name", None)) else "unknown")[:100]
    ACTION_SECONDS.observe(seconds, action=name)
    if failed:
        ACTION_ERRORS.inc(action=name)


def install() -> None:
    """Wrap the measured Rasa methods (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.processor import MessageProcessor

    _wrap_async(Agent, "handle_message", _turn)
    _wrap_async(MessageProcessor, "parse_message", _nlu)
    _wrap_async(RemoteAction, "run", _action)


def handler(token: str) -> Any:
    """The ``GET /metrics`` view (``token``: the bearer token required, empty for none)."""
    from sanic import response

    async def metrics(request: Any) -> Any:
        if not token_ok(request.headers.get("authorization"), token):
            return response.json({"detail": "Missing or wrong metrics token (Authorization: "
                                            "Bearer $ATIENDE_METRICS_TOKEN)"}, status=401)
        return response.text(REGISTRY.render(), content_type=CONTENT_TYPE)

    return metrics


def attach(app: Any, env: dict[str, str] | None = None) -> None:
    """Serve ``GET /metrics`` on a Sanic app."""
    token = metrics_token(dict(os.environ) if env is None else env)
    app.add_route(handler(token), "/metrics", methods=["GET"], name="atiende_metrics")
