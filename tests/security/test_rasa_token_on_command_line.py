"""Attack: read the Rasa HTTP API token from the process list. ``scripts/run.py`` started
``rasa run --auth-token <token>``, and ``ps`` shows every process's arguments to every user of the
machine; the handoff API and the action server also got the token without needing it.

Now Rasa starts as ``python -m bot.serve`` and reads the token from its environment (readable
only by its owner), and the other services' environments do not contain it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import SYSTEM_RASA_TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def command_lines() -> list[str]:
    lines = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                lines.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace"))
            except OSError:  # the process ended meanwhile
                continue
    return lines


def environ(pid: int) -> str:
    return (Path("/proc") / str(pid) / "environ").read_bytes().decode(errors="replace")


def test_token_is_in_no_command_line(bot_system: Any) -> None:
    lines = command_lines()
    assert any("bot.serve" in line for line in lines)  # Rasa is running, started this way
    assert not [line for line in lines if SYSTEM_RASA_TOKEN in line]


def test_only_rasa_holds_the_token(bot_system: Any) -> None:
    holders = {s.name for s in bot_system.services
               if s.process is not None and SYSTEM_RASA_TOKEN in environ(s.process.pid)}
    assert holders == {"rasa"}
