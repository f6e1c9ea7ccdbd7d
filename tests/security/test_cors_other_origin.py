"""Attack: a page on another site calls the bot's webhook from a shopper's browser (``rasa run
--cors "*"`` let any origin read the answers). Now only the origins in ``ATIENDE_CORS_ORIGINS``
(default: the demo store page) get CORS headers; a refused origin gets none, so the browser hides
the answer from that page.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.security.conftest import ALLOWED_ORIGIN

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
HOOK = "/webhooks/rest/webhook"


def preflight(system: Any, origin: str) -> httpx.Response:
    return httpx.options(system.settings.rasa_url + HOOK, timeout=30, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})


def test_other_origin_gets_no_cors_headers(bot_system: Any) -> None:
    evil = "https://evil.example"
    assert "access-control-allow-origin" not in preflight(bot_system, evil).headers
    res = httpx.post(bot_system.settings.rasa_url + HOOK, headers={"Origin": evil}, timeout=120,
                     json={"sender": "cors-test", "message": "hola"})
    assert "access-control-allow-origin" not in res.headers


def test_configured_origin_is_allowed_and_never_a_wildcard(bot_system: Any) -> None:
    res = preflight(bot_system, ALLOWED_ORIGIN)
    assert res.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN
    assert "*" not in res.headers.get("access-control-allow-origin", "")
