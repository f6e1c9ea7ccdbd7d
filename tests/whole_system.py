"""ONE running Atiende for every app-env test that needs the whole system: Rasa with the trained
model, the action server on the seeded demo store, the handoff API and the local mail catcher,
started by ``scripts.run.running_system`` exactly as ``make run`` does, on free ports with a
temporary data directory. Rasa alone takes about a minute to load its model on 2 busy cores, so
the attacks of tests/security and the browser tests of tests/e2e share this one (the
``whole_system`` fixture of tests/conftest.py; ``bot_system`` and ``system`` there are its local
names). Each test talks as its own shopper (own conversation id, own order) and checks only what
it did itself. Imports stay inside the function: tests/conftest.py also loads in the bot env.

The tests that stop the system or need other settings (tests/security/test_pii_logs_e2e.py: DEBUG
logs, WhatsApp configured; tests/faults: kill -9) start their own."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP_PY = ROOT / ".venv" / "app" / "bin" / "python"
BOT_TOKEN = "e2e-bot-token-0123456789abcdef"  # the handoff API's bot token (HANDOFF_BOT_TOKEN)
RASA_TOKEN = "security-rasa-token-0123456789abcdef"
METRICS_TOKEN = "e2e-metrics-token-0123456789abcdef"
ALLOWED_ORIGIN = "https://tienda.example"  # a store page on another site that embeds the widget
CHANNEL_VARS = ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN",
                "WHATSAPP_PHONE_NUMBER_ID", "MESSENGER_PAGE_ACCESS_TOKEN",
                "MESSENGER_APP_SECRET", "MESSENGER_VERIFY_TOKEN")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kb_index_dir() -> Path:
    for candidate in (os.environ.get("KB_INDEX_DIR"),
                      Path(os.environ["ATIENDE_DATA_DIR"]) / "kb_index"
                      if os.environ.get("ATIENDE_DATA_DIR") else None,
                      ROOT / "var" / "test" / "kb_index", ROOT / "var" / "kb_index"):
        if candidate and (Path(candidate) / "meta.json").exists():
            return Path(candidate)
    pytest.fail("no KB index built: run `make kb` (make test builds var/test/kb_index)")


def whole_system(data_dir: Path) -> Iterator[Any]:
    """Seed the demo store in ``data_dir``, start the three processes, yield the running system
    (``scripts.run.System`` plus ``data_dir`` and ``ports``), stop them."""
    from scripts.prepare import model_problem
    from scripts.run import running_system

    if (problem := model_problem()) is not None:
        pytest.fail(f"the whole-system tests need the trained Rasa model: {problem} "
                    "(run `make train`)")
    seeded = subprocess.run(
        [str(APP_PY), "-m", "actions.store", "seed", "--db", str(data_dir / "store.db")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert seeded.returncode == 0, seeded.stderr
    handoff_port = free_port()
    page = f"http://{os.environ.get('ATIENDE_HOST', '127.0.0.1')}:{handoff_port}"
    overrides = {
        "ATIENDE_DATA_DIR": str(data_dir),
        "ATIENDE_ENV": "development",  # demo agents ana / leo
        "RASA_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()),
        "HANDOFF_PORT": str(handoff_port),
        # every port its own free one: the defaults (next to RASA_PORT / HANDOFF_PORT) can be taken
        "RASA_ADMIN_PORT": str(free_port()),
        "MAIL_CATCHER_PORT": str(free_port()),  # e-mails land in <data>/mail
        "STORE_DATABASE": str(data_dir / "store.db"),
        "KB_INDEX_DIR": str(kb_index_dir()),
        "HANDOFF_BOT_TOKEN": BOT_TOKEN,
        "HANDOFF_SECRET_KEY": "e2e-secret-key-0123456789abcdef",
        "RASA_TOKEN": RASA_TOKEN,
        "HANDOFF_DATABASE_URL": f"sqlite:///{data_dir / 'handoff.db'}",
        # the demo store page (the widget's own origin) and a store on another site
        "ATIENDE_CORS_ORIGINS": f"{page},http://localhost:{handoff_port},{ALLOWED_ORIGIN}",
        "BUSINESS_HOURS": "mon-sun 00:00-24:00",  # agents "on duty" whatever the time of the run
        "ATIENDE_METRICS_TOKEN": METRICS_TOKEN,
        "ATIENDE_CSAT_SAMPLE_RATE": "1",
        # bot/credentials.yml references these; Rasa refuses to start if one is unset (empty = off)
        **{name: "" for name in CHANNEL_VARS},
    }
    try:
        with running_system(overrides) as running:
            running.data_dir = data_dir
            running.ports = {k: int(overrides[k]) for k in ("RASA_PORT", "ACTIONS_PORT")}
            yield running
    except SystemExit as exc:  # preflight refusals (port taken, model missing, venv missing)
        pytest.fail(str(exc))
