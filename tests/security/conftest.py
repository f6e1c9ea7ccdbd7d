"""``bot_system``: one running Atiende (scripts.run, development mode, demo store seeded) shared by
the attacks that go through the real processes. Imports stay inside the fixture: this folder's
``bot/`` subfolder runs in the bot environment."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_PY = ROOT / ".venv" / "app" / "bin" / "python"
SYSTEM_RASA_TOKEN = "security-rasa-token-0123456789abcdef"
ALLOWED_ORIGIN = "https://tienda.example"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kb_index_dir() -> Path:
    for candidate in (os.environ.get("KB_INDEX_DIR"),
                      Path(os.environ["ATIENDE_DATA_DIR"]) / "kb_index"
                      if os.environ.get("ATIENDE_DATA_DIR") else None,
                      ROOT / "var" / "test" / "kb_index", ROOT / "var" / "kb_index"):
        if candidate and (Path(candidate) / "meta.json").exists():
            return Path(candidate)
    pytest.fail("no KB index built: run `make kb` (make test builds var/test/kb_index)")


@pytest.fixture(scope="session")
def bot_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from scripts.prepare import model_problem
    from scripts.run import running_system

    if (problem := model_problem()) is not None:
        pytest.fail(f"this test needs the trained Rasa model: {problem} (run `make train`)")
    data_dir = tmp_path_factory.mktemp("security-system")
    subprocess.run([str(APP_PY), "-m", "actions.store", "seed", "--db",
                    str(data_dir / "store.db")], cwd=ROOT, capture_output=True, timeout=120,
                   check=True)
    overrides = {
        "ATIENDE_DATA_DIR": str(data_dir), "ATIENDE_ENV": "development",
        "RASA_PORT": str(_free_port()), "RASA_ADMIN_PORT": str(_free_port()),
        "ACTIONS_PORT": str(_free_port()), "HANDOFF_PORT": str(_free_port()),
        # every port its own free one: the defaults (next to HANDOFF_PORT) can be taken
        "MAIL_CATCHER_PORT": str(_free_port()),
        "RASA_TOKEN": SYSTEM_RASA_TOKEN,
        "HANDOFF_BOT_TOKEN": "security-bot-token-0123456789abcdef",
        "HANDOFF_SECRET_KEY": "security-secret-key-0123456789abcdef",
        "HANDOFF_DATABASE_URL": f"sqlite:///{data_dir / 'handoff.db'}",
        "ATIENDE_CORS_ORIGINS": ALLOWED_ORIGIN,
        "BUSINESS_HOURS": "mon-sun 00:00-24:00", "KB_INDEX_DIR": str(_kb_index_dir()),
        "WHATSAPP_ACCESS_TOKEN": "", "WHATSAPP_APP_SECRET": "", "WHATSAPP_VERIFY_TOKEN": "",
        "WHATSAPP_PHONE_NUMBER_ID": "", "MESSENGER_PAGE_ACCESS_TOKEN": "",
        "MESSENGER_APP_SECRET": "", "MESSENGER_VERIFY_TOKEN": "",
    }
    try:
        with running_system(overrides) as running:
            yield running
    except SystemExit as exc:
        pytest.fail(str(exc))
