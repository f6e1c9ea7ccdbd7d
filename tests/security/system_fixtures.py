"""The whole system for the attacks that need it: Rasa with the trained model, the action server
and the handoff API, started by ``scripts.run.running_system`` exactly as ``make run`` does (the
``bot_system`` fixture lives in ``conftest.py`` so one system serves every module), plus helpers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

TURN_TIMEOUT = 120  # the first turn loads Rasa's pipeline on 2 busy cores


def ask(system: Any, sender: str, text: str, **extra: Any) -> list[dict[str, Any]]:
    """One REST turn on the public webhook address; ``extra`` goes into the body as is."""
    res = httpx.post(f"{system.settings.rasa_url}/webhooks/rest/webhook", timeout=TURN_TIMEOUT,
                     json={"sender": sender, "message": text, "message_id": uuid.uuid4().hex,
                           **extra})
    assert res.status_code == 200, res.text
    return res.json()
