"""The app-env processes some bot-env tests run for real: the handoff API and the action server,
each started with ``.venv/app/bin/python`` on a free port, restartable on the same data."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
APP_PYTHON = ROOT / ".venv" / "app" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppProcess:
    """One app-env process; ``start`` waits until ``health_path`` answers."""

    def __init__(self, args: list[str], env: dict[str, str], port: int, health_path: str,
                 name: str, log: Path, startup_seconds: float = 120) -> None:
        self.args, self.env, self.port = args, env, port
        self.health_path, self.name, self.log = health_path, name, log
        self.startup_seconds = startup_seconds
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([str(APP_PYTHON), *self.args], cwd=ROOT, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_seconds
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n" + self.tail())
            try:
                urllib.request.urlopen(self.url + self.health_path, timeout=2).read()
                return
            except OSError:
                assert time.monotonic() < deadline, \
                    f"{self.name} did not start in {self.startup_seconds:.0f} s:\n{self.tail()}"
                time.sleep(0.3)

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None


def handoff_api(data_dir: Path, token: str, **env: str) -> AppProcess:
    """``python -m handoff_api serve`` on SQLite in ``data_dir``, open all day, development mode
    (demo agents ana / leo, password ``atiende-demo``); ``env`` adds or overrides variables
    (e.g. ``RASA_URL`` for hand-backs, ``WHATSAPP_GRAPH_URL`` for agent replies)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full = {**os.environ, "ATIENDE_DATA_DIR": str(data_dir), "ATIENDE_ENV": "development",
            "HANDOFF_PORT": str(port), "HANDOFF_HOST": "127.0.0.1", "HANDOFF_BOT_TOKEN": token,
            "HANDOFF_SECRET_KEY": "x" * 40,
            "HANDOFF_DATABASE_URL": f"sqlite:///{data_dir / 'handoff.db'}",
            "RASA_URL": "http://127.0.0.1:9", "BUSINESS_HOURS": "mon-sun 00:00-24:00",
            "ATIENDE_LOG_LEVEL": "WARNING", **env}
    return AppProcess(["-m", "handoff_api", "serve"], full, port, "/health", "handoff API",
                      data_dir / "handoff.log", startup_seconds=90)


def action_server(data_dir: Path, **env: str) -> AppProcess:
    """``python -m rasa_sdk --actions actions`` (the real custom actions)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full = {**os.environ, "ATIENDE_DATA_DIR": str(data_dir), **env}
    return AppProcess(["-m", "rasa_sdk", "--actions", "actions", "-p", str(port)], full, port,
                      "/health", "action server", data_dir / "actions.log")
