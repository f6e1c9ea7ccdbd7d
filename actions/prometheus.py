"""``GET /metrics`` on the action server: how long each action takes and how often it fails, for
Prometheus (text format 0.0.4, :mod:`timing.prometheus`).

Installed from ``actions/__init__.py`` (rasa-sdk imports the package in every worker before it
builds its Sanic app): it wraps ``ActionExecutor.run`` (one action, from the parsed request to
its events) and attaches the route through rasa-sdk's own plugin hook
(``attach_sanic_app_extensions``). Labels are action names only. ``ATIENDE_METRICS_TOKEN`` (or
``HANDOFF_METRICS_TOKEN``), when set, is required as ``Authorization: Bearer``.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import pluggy

from timing.prometheus import CONTENT_TYPE, Registry, metrics_token, token_ok

REGISTRY = Registry()
ACTION_SECONDS = REGISTRY.histogram(
    "atiende_action_seconds",
    "Seconds the action server spent running one action (request parsed to events).",
    ["action"])
ACTIONS = REGISTRY.counter(
    "atiende_actions_total",
    "Actions run, by action and outcome (ok | rejected: a form rejected the input | "
    "no_domain: Rasa must resend the domain | error: an exception or an unknown action).",
    ["action", "outcome"])

_installed = False


#: rasa-sdk exceptions that are part of its protocol, not failures
OUTCOMES = {"ActionExecutionRejection": "rejected", "ActionMissingDomainException": "no_domain"}


def _outcome(exc: BaseException | None) -> str:
    return "ok" if exc is None else OUTCOMES.get(type(exc).__name__, "error")


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    from rasa_sdk.executor import ActionExecutor

    run = ActionExecutor.__dict__["run"]

    @functools.wraps(run)
    async def timed_run(self: Any, action_call: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        name = str((action_call or {}).get("next_action") or "unknown")[:100]
        if name not in self.actions:
            name = "unknown"  # label values only from our own action names
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return await run(self, action_call, *args, **kwargs)
        except BaseException as exc:
            error = exc
            raise
        finally:
            ACTION_SECONDS.observe(time.perf_counter() - started, action=name)
            ACTIONS.inc(action=name, outcome=_outcome(error))

    ActionExecutor.run = timed_run  # type: ignore[method-assign]
    _register_route()


async def metrics_view(request: Any) -> Any:
    from sanic import response

    if not token_ok(request.headers.get("authorization"), metrics_token(os.environ)):
        return response.json({"detail": "Missing or wrong metrics token (Authorization: Bearer "
                                        "$ATIENDE_METRICS_TOKEN)"}, status=401)
    return response.text(REGISTRY.render(), content_type=CONTENT_TYPE)


_hookimpl = pluggy.HookimplMarker("rasa_sdk")


class _Plugin:
    """rasa-sdk's ``attach_sanic_app_extensions`` hook: add ``/metrics`` to its app."""

    @_hookimpl
    def attach_sanic_app_extensions(self, app: Any) -> None:
        if "atiende_metrics" not in {route.name.rsplit(".", 1)[-1] for route in app.router.routes}:
            app.add_route(metrics_view, "/metrics", methods=["GET"], name="atiende_metrics")


def _register_route() -> None:
    from rasa_sdk.plugin import plugin_manager

    manager = plugin_manager()
    if not manager.has_plugin("atiende-prometheus"):
        manager.register(_Plugin(), name="atiende-prometheus")
