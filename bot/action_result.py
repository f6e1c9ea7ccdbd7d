"""Checking an action server's answer against Rasa's schema, one event type at a time.

Rasa checks every answer of the action server (``RemoteAction._validate_action_result``, two or
more per turn) against ``RemoteAction.action_response_format_spec()``. Its event schema is a
``oneOf`` of ~30 alternatives, one per event type, so jsonschema evaluates *every* alternative
for *every* event to make sure exactly one matches: ~0.3 ms of pure Python per event, ~2/3 of
the CPU Rasa spent on a call to the action server (cProfile of the Rasa process, 5 shoppers,
reports/perf/README.md).

Every alternative pins the event's name (``"event": {"const": "slot"}``, …). An event whose
``event`` is ``"slot"`` fails every alternative pinned to another name (the ``const`` check of its
``event`` property), so "exactly one alternative matches" is the same as "exactly one of the
alternatives pinned to ``"slot"`` matches". :func:`fast_valid` checks each event against the
schema with only those alternatives (validators built once per event name), and the rest of the
answer (an object, ``events`` a list, ``responses``) against the schema with ``events``' items
left open. It only ever says **valid** or **don't know**: an answer it does not accept goes to
the full check, which raises exactly the error stock Rasa raises. When the schema is not shaped
as described (another Rasa version), there is no fast path at all.

Switched with the rest of ``bot/rasa_speedups.py``
(``ATIENDE_RASA_SPEEDUPS_OFF=action_validation``).
"""

from __future__ import annotations

import copy
import functools
from typing import Any


@functools.lru_cache(maxsize=1)
def _validators() -> tuple[Any, dict[str, Any]] | None:
    """(validator of the answer with ``events``' items open, {event name: validator of one such
    event}); None when the schema is not shaped as this module expects."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    events = (schema.get("properties") or {}).get("events")
    if not isinstance(events, dict) or set(events) != {"type", "items"} \
            or events["type"] != "array":
        return None
    items = events["items"]
    alternatives = items.get("oneOf") if isinstance(items, dict) else None
    if not isinstance(alternatives, list) or not alternatives \
            or "event" not in (items.get("required") or []):
        return None
    by_name: dict[str, list[dict[str, Any]]] = {}
    for alternative in alternatives:
        const = ((alternative.get("properties") or {}).get("event") or {}).get("const")
        if not isinstance(const, str):
            return None  # an alternative that does not pin the name: no shortcut
        by_name.setdefault(const, []).append(alternative)
    cls = validator_for(schema)
    outer = copy.deepcopy(schema)
    outer["properties"]["events"]["items"] = {}
    cls.check_schema(outer)
    per_event = {}
    for name, pinned in by_name.items():
        one = {key: value for key, value in items.items() if key != "oneOf"}
        one["oneOf"] = pinned
        cls.check_schema(one)
        per_event[name] = cls(one)
    return cls(outer), per_event


def fast_valid(result: Any) -> bool:
    """True only if ``result`` is valid against Rasa's action response schema; False means "not
    known": ask the full validator."""
    validators = _validators()
    if validators is None or not isinstance(result, dict):
        return False
    outer, per_event = validators
    if not outer.is_valid(result):
        return False
    for event in result.get("events") or ():
        name = event.get("event") if isinstance(event, dict) else None
        validator = per_event.get(name) if isinstance(name, str) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True
