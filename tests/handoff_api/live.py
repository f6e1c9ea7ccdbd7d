"""A real uvicorn server around ``create_app`` in a thread, for the tests that read live SSE
streams (TestClient cannot hold one open while other requests run)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from handoff_api.app import create_app
from tests.handoff_api.conftest import make_settings
from tests.handoff_api.fake_rasa import free_port


@contextlib.contextmanager
def live_server(database_url: str, **settings: Any) -> Iterator[tuple[str, Any]]:
    app = create_app(make_settings(database_url, **settings))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(250):
        if server.started:
            break
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.services.engine.dispose()
