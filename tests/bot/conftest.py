"""Shared fixtures for the bot environment's tests."""

from __future__ import annotations

import os
import socket

import pytest


def _reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 2).close()
        return True
    except OSError:
        return False


@pytest.fixture()
def require_server(request: pytest.FixtureRequest):
    """Fail loudly when a real server a test needs is absent (skip only when told to)."""

    def check(name: str, port: int, skip_var: str) -> None:
        if _reachable(port):
            return
        message = (f"{name} is not answering on 127.0.0.1:{port}; start it (see README, "
                   f"'Running on PostgreSQL and Redis') or set {skip_var}=1 to skip these tests")
        if os.environ.get(skip_var) == "1":
            pytest.skip(message)
        pytest.fail(message)

    return check
