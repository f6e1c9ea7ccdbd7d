"""Attack: deploy with the defaults. ``ATIENDE_ENV=production`` with missing, placeholder
(``change-me``) or short secrets used to start anyway (the launcher even generated secrets, and
seeded demo agents ``ana``/``leo`` with the published password ``atiende-demo`` and demo orders).

Now each service — Rasa (``python -m bot.serve``), the action server (``python -m actions``), the
handoff API (``python -m handoff_api serve``) and the launcher before them — refuses to start with
one line naming the variables; ``scripts.prepare seed`` creates nothing, ``seed-demo`` refuses,
and the first supervisor is created with ``create-agent`` reading the password from stdin.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from scripts.settings import production_problems, secret_problem

ROOT = Path(__file__).resolve().parents[2]
APP_PY = ROOT / ".venv" / "app" / "bin" / "python"
BOT_PY = ROOT / ".venv" / "bot" / "bin" / "python"
GOOD = {"RASA_TOKEN": "rasa-token-3f9a1c7e5b2d4e6f", "HANDOFF_BOT_TOKEN": "bot-token-8c1e2a9f7d3b",
        "HANDOFF_SECRET_KEY": "secret-key-4b7e1d9c2a8f6e3d", "STORE_BACKEND": "woocommerce",
        "ATIENDE_PRIVACY_KEY": "privacy-key-9e2c4a7f1b8d3e6c"}
SERVICES = {"rasa": [str(BOT_PY), "-m", "bot.serve"],
            "actions": [str(APP_PY), "-m", "actions"],
            "handoff": [str(APP_PY), "-m", "handoff_api", "serve"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in GOOD and not k.startswith("HANDOFF_")}
    full = {**base, "ATIENDE_ENV": "production", "ATIENDE_DATA_DIR": str(tmp_path),
            "HANDOFF_DATABASE_URL": f"sqlite:///{tmp_path / 'handoff.db'}",
            "RASA_PORT": "9", "ACTIONS_PORT": "9", "HANDOFF_PORT": "9", **env}
    return subprocess.run(cmd, cwd=ROOT, env=full, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("value, problem", [
    ("", "is missing"), ("change-me", "is a placeholder"), ("aaaaaaaaaaaaaaaaaaaaaaaa",
                                                            "is a placeholder"),
    ("short-9f3a", "is shorter than 16 characters"), ("rasa-token-3f9a1c7e5b2d4e6f", None)])
def test_secret_rules(value: str, problem: str | None) -> None:
    assert secret_problem(value) == problem


@pytest.mark.parametrize("service", sorted(SERVICES))
@pytest.mark.parametrize("bad", ["", "change-me", "short-9f3a"])
def test_each_service_refuses_with_one_line(service: str, bad: str, tmp_path: Path) -> None:
    env = dict(GOOD)
    needed = {"rasa": "RASA_TOKEN", "actions": "HANDOFF_BOT_TOKEN",
              "handoff": "HANDOFF_SECRET_KEY"}[service]
    env[needed] = bad
    result = start(SERVICES[service], tmp_path, **env)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "refusing to start" in line]
    assert len(lines) == 1, result.stderr[-2000:]
    assert needed in lines[0] and "ATIENDE_ENV=production" in lines[0]
    if bad:
        assert bad not in lines[0]  # the line names the variable, never the value


def test_good_secrets_pass_every_service_check() -> None:
    for service in SERVICES:
        assert production_problems(service, GOOD) == []
    assert production_problems("actions", {**GOOD, "STORE_BACKEND": "demo"})  # made-up orders


def test_launcher_refuses_and_generates_nothing(tmp_path: Path) -> None:
    ports = {name: str(free_port()) for name in ("RASA_PORT", "ACTIONS_PORT", "HANDOFF_PORT",
                                                  "RASA_ADMIN_PORT", "MAIL_CATCHER_PORT")}
    result = start([str(APP_PY), "-m", "scripts.run"], tmp_path, **ports)
    assert result.returncode != 0
    assert "RASA_TOKEN is missing" in result.stderr + result.stdout
    assert not (tmp_path / "secrets.env").exists()


def test_no_demo_data_in_production_and_the_first_supervisor(tmp_path: Path) -> None:
    seeded = start([str(APP_PY), "-m", "scripts.prepare", "seed"], tmp_path, **GOOD,
                   STORE_DATABASE=str(tmp_path / "store.db"))
    assert seeded.returncode == 0, seeded.stderr
    assert "create-agent" in seeded.stdout
    assert not (tmp_path / "store.db").exists()
    demo = start([str(APP_PY), "-m", "handoff_api", "seed-demo"], tmp_path, **GOOD)
    assert demo.returncode != 0 and "no demo agents" in demo.stderr
    made = subprocess.run(
        [str(APP_PY), "-m", "handoff_api", "create-agent", "--role", "supervisor",
         "--username", "marta", "--name", "Marta"], cwd=ROOT, input="a-long-password-2718\n",
        text=True, capture_output=True, timeout=120,
        env={**os.environ, "ATIENDE_ENV": "production", "ATIENDE_DATA_DIR": str(tmp_path),
             "HANDOFF_DATABASE_URL": f"sqlite:///{tmp_path / 'handoff.db'}", **GOOD})
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(tmp_path / "handoff.db") as db:
        agents = db.execute("SELECT username, role, password_hash FROM agents").fetchall()
    assert [(u, r) for u, r, _ in agents] == [("marta", "supervisor")]
    assert "a-long-password-2718" not in agents[0][2]
