"""Attack: use Rasa's HTTP API through the public webhook address — read any conversation
(``GET /conversations/<id>/tracker``), write events into it, replace the model — with the token
if it leaked, or hoping for a mistake. ``rasa run --enable-api`` served the API on the same
address as the webhooks the whole internet must reach.

Now the public address (``RASA_PORT``) serves the channel webhooks and ``/health`` only: every
API path is 404 there, token or not. The API lives on the admin address (127.0.0.1,
``RASA_ADMIN_PORT``), still behind the token.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.security.conftest import SYSTEM_RASA_TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
API_CALLS = [("GET", "/conversations/victim/tracker"), ("GET", "/conversations/victim/story"),
             ("POST", "/conversations/victim/tracker/events"), ("POST", "/model/parse"),
             ("GET", "/status"), ("GET", "/domain"), ("PUT", "/model")]


@pytest.mark.parametrize("method, path", API_CALLS)
def test_api_paths_are_not_on_the_public_address(bot_system: Any, method: str,
                                                 path: str) -> None:
    for params in ({}, {"token": SYSTEM_RASA_TOKEN}):
        res = httpx.request(method, bot_system.settings.rasa_url + path, params=params,
                            json={"event": "pause", "text": "hola"}, timeout=30)
        assert res.status_code == 404, (method, path, res.status_code, res.text[:200])


def test_api_is_on_the_local_admin_address_behind_the_token(bot_system: Any) -> None:
    port = bot_system.settings.rasa_admin_port
    assert port and port != bot_system.settings.rasa_port
    admin = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{admin}/conversations/victim/tracker", timeout=30).status_code == 401
    ok = httpx.get(f"{admin}/status", params={"token": SYSTEM_RASA_TOKEN}, timeout=30)
    assert ok.status_code == 200 and ok.json()["model_file"]
    # the public address still serves what shoppers need
    assert httpx.get(bot_system.settings.rasa_url + "/health", timeout=30).status_code == 200
