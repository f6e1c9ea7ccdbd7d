"""The bot <-> handoff contract: ONE OpenAPI document that both environments validate against.

``contracts/handoff_api.openapi.json`` is written from the handoff API's own pydantic models
(``python -m handoff_api openapi``; a test fails when it is out of date). It holds both directions
of the seam: the routes the bot side calls (handoff packet, shopper messages, leave-queue, dead
letters…) and, under ``webhooks``, the hand-back the API sends to the Rasa process.

* app environment: the FastAPI app *is* the definition; ``actions/handoff_client.py`` validates the
  packet it sends and the ticket it reads against this file;
* bot environment (Rasa 3.6, pydantic 1 — it cannot import the API's models):
  ``bot/channels/handback.py`` validates every hand-back against this file, and the tests check
  that what ``bot/handoff_client.py`` sends and reads matches it.

Only ``jsonschema`` (shipped with Rasa, and in the app environment) and the standard library are
used; nothing is read until first use. Error texts name the field and the rule, never the value
(the values are shoppers' messages).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

CONTRACT_FILE = Path(__file__).with_name("handoff_api.openapi.json")
DIALECT = "https://json-schema.org/draft/2020-12/schema"  # OpenAPI 3.1's schema dialect


class ContractViolation(ValueError):
    """An instance does not match its schema in the contract; ``problems`` name field and rule."""

    def __init__(self, name: str, problems: list[str]) -> None:
        super().__init__(f"{name} does not match the contract: " + "; ".join(problems))
        self.name = name
        self.problems = problems


def dumps(document: dict[str, Any]) -> str:
    """The file's canonical text (stable key order, so a diff shows real changes only)."""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    return json.loads(CONTRACT_FILE.read_text(encoding="utf-8"))


def schema_names() -> list[str]:
    return sorted(document()["components"]["schemas"])


def schema(name: str) -> dict[str, Any]:
    """Component ``name`` as a self-contained JSON Schema (its ``#/components/schemas/…``
    references resolve inside it)."""
    components = document()["components"]
    if name not in components["schemas"]:
        raise KeyError(f"{name!r} is not a schema of {CONTRACT_FILE.name}; known: "
                       f"{', '.join(schema_names())}")
    return {"$schema": DIALECT, **components["schemas"][name], "components": components}


@lru_cache(maxsize=64)
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator  # jsonschema >= 4 in both environments

    return Draft202012Validator(schema(name))


def problems(name: str, instance: Any) -> list[str]:
    """Every way ``instance`` breaks schema ``name``: ``"field.path: rule value"`` (no data)."""
    found = []
    for error in sorted(_validator(name).iter_errors(instance), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in error.absolute_path) or "(body)"
        rule = error.validator
        value = error.validator_value
        if rule in ("anyOf", "oneOf", "$ref"):
            value = "…"
        elif rule == "required":  # say which field is missing, not the whole list
            value = error.message.split("'")[1] if "'" in error.message else value
        found.append(f"{where}: {rule} {value}")
    return found


def validate(name: str, instance: Any) -> None:
    """Raise :class:`ContractViolation` unless ``instance`` matches schema ``name``."""
    found = problems(name, instance)
    if found:
        raise ContractViolation(name, found)


def operation(path: str, method: str) -> dict[str, Any]:
    """The contract's operation ``method path`` (a route, or ``webhook:<name>``)."""
    doc = document()
    if path.startswith("webhook:"):
        return doc["webhooks"][path.split(":", 1)[1]][method.lower()]
    return doc["paths"][path][method.lower()]


def documented_statuses(path: str, method: str) -> set[int]:
    """The HTTP statuses the contract documents for an operation."""
    return {int(code) for code in operation(path, method)["responses"] if code.isdigit()}


def request_schema_name(path: str, method: str) -> str:
    """The component name of an operation's JSON request body."""
    body = operation(path, method)["requestBody"]["content"]["application/json"]["schema"]
    return body["$ref"].rsplit("/", 1)[-1]
