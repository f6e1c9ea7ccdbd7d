"""Start and supervise Atiende's three processes: the Rasa server, the action server and the
handoff API (agent console, demo store and chat widget). One Ctrl-C stops all of them.

`python -m scripts.run` is what `make run` calls after the environments, model, KB index and demo
data are prepared. Tests use `running_system()` to start the same processes on their own ports and
data dir.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from privacy.logs import RedactingPipe
from privacy.logs import install as install_log_redaction
from scripts import settings as cfg
from scripts.prepare import model_problem

RESTART_LIMIT = 3


def log(message: str) -> None:
    print(f"\033[1;32m[atiende]\033[0m {message}", flush=True)


@dataclass
class Service:
    name: str
    cmd: list[str]
    health_url: str
    port: int
    port_var: str
    startup_timeout: float
    log_path: Path
    #: secrets this service does not need: removed from its environment (``child_env`` holds all)
    withheld: tuple[str, ...] = ()
    process: subprocess.Popen | None = None
    restarts: int = 0
    _log_file: object = field(default=None, repr=False)
    _pipe: RedactingPipe | None = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        env = {k: v for k, v in env.items() if k not in self.withheld}
        self._log_file = open(self.log_path, "ab", buffering=0)  # noqa: SIM115 - closed in stop()
        # The child's output goes through a redacting pipe (privacy.logs.RedactingPipe): each
        # process redacts its own log records, this also catches print(), warnings and crashes.
        self.process = subprocess.Popen(
            self.cmd, cwd=cfg.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._pipe = RedactingPipe(self.process.stdout, self._log_file, name=self.name)

    def healthy(self) -> bool:
        if self.health_url.startswith("tcp://"):  # a non-HTTP service (the mail catcher)
            host, _, port = self.health_url[6:].rpartition(":")
            with contextlib.suppress(OSError), socket.create_connection((host, int(port)), 2):
                return True
            return False
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:
                return 200 <= response.status < 300
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self, timeout: float = 15) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if self._pipe:
            self._pipe.join(5)
            self._pipe = None
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def build_services(s: cfg.Settings) -> list[Service]:
    """The processes, each with only the secrets it needs. No secret is on a command line (``ps``
    shows those to everyone): Rasa starts through ``bot.serve``, which reads ``RASA_TOKEN`` from its
    environment and serves Rasa's HTTP API on a local admin address apart from the webhooks."""
    logs = s.data_dir / "logs"
    rasa = [str(cfg.BOT_PY), "-m", "bot.serve"]
    actions = [str(cfg.APP_PY), "-m", "actions", "--port", str(s.actions_port)]
    handoff = [str(cfg.APP_PY), "-m", "handoff_api", "serve"]
    catcher = []
    if s.mail_catcher_port:  # no SMTP server configured: e-mails are kept as files to read
        catcher = [Service("mail", [str(cfg.APP_PY), "-m", "handoff_api.mail.catcher", "--dir",
                                    str(s.data_dir / "mail"), "--host", s.host, "--port",
                                    str(s.mail_catcher_port)],
                           f"tcp://{s.host}:{s.mail_catcher_port}", s.mail_catcher_port,
                           "MAIL_CATCHER_PORT", 60, logs / "mail.log",
                           withheld=cfg.SECRET_NAMES + ("ATIENDE_PRIVACY_KEY",))]
    return catcher + [
        Service("actions", actions, f"{s.actions_url}/health", s.actions_port, "ACTIONS_PORT", 120,
                logs / "actions.log", withheld=("RASA_TOKEN", "HANDOFF_SECRET_KEY")),
        Service("handoff", handoff, f"{s.handoff_url}/health", s.handoff_port, "HANDOFF_PORT", 120,
                logs / "handoff.log", withheld=("RASA_TOKEN",)),
        # /health on the public address answers 200 only once the model is loaded
        Service("rasa", rasa, f"{s.rasa_url}/health", s.rasa_port, "RASA_PORT", 600,
                logs / "rasa.log", withheld=("HANDOFF_SECRET_KEY",)),
    ]


def preflight(s: cfg.Settings, services: list[Service]) -> None:
    """Refuse to start with a clear message instead of a traceback from deep inside a child."""
    problems = []
    if cfg.is_production(s.env):
        for name in ("rasa", "actions", "handoff"):
            problems += [f"{name}: {p}" for p in cfg.production_problems(name, s.child_env())]
    if s.rasa_admin_port and not port_free("127.0.0.1", s.rasa_admin_port):
        problems.append(f"port {s.rasa_admin_port} (RASA_ADMIN_PORT, Rasa's HTTP API) is already "
                        "in use on 127.0.0.1: stop the program using it or set RASA_ADMIN_PORT")
    for service in services:
        if not port_free(s.host, service.port):
            problems.append(f"port {service.port} ({service.port_var}, {service.name}) is already "
                            f"in use on {s.host}: stop the program using it or set "
                            f"{service.port_var}=<free port>")
    if (problem := model_problem()) is not None:
        problems.append(f"the Rasa model cannot be loaded: {problem}. Run `make train` "
                        "(or delete the file and run `make run` again) to rebuild it.")
    for venv in (cfg.BOT_PY, cfg.APP_PY):
        if not venv.exists():
            problems.append(f"{venv.parent.parent} is missing: run `make setup` first")
    if problems:
        raise SystemExit("Atiende cannot start:\n  - " + "\n  - ".join(problems))


def wait_healthy(services: list[Service]) -> None:
    for service in services:
        deadline = time.monotonic() + service.startup_timeout
        while not service.healthy():
            if service.process and service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited with code {service.process.returncode} "
                                   "while starting; last log lines "
                                   f"({service.log_path}):\n{service.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{service.name} did not answer "
                                   f"{service.health_url.split('?')[0]} within "
                                   f"{service.startup_timeout:.0f} s; log: "
                                   f"{service.log_path}\n{service.tail()}")
            time.sleep(0.5)
        log(f"{service.name} is up ({service.health_url.split('?')[0]})")


@dataclass
class System:
    settings: cfg.Settings
    services: list[Service]

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()


@contextlib.contextmanager
def running_system(overrides: dict[str, str] | None = None) -> Iterator[System]:
    """Start the three processes (ports, data dir and secrets from `overrides`), wait until they
    answer their health checks, yield, and stop them whatever happens."""
    s = cfg.load(overrides)
    services = build_services(s)
    preflight(s, services)
    system = System(s, services)
    try:
        for service in services:
            service.start(s.child_env())
        wait_healthy(services)
        yield system
    finally:
        system.stop()


def supervise(system: System) -> None:
    """Restart a crashed child a few times; give up (and stop everything) after that."""
    while True:
        time.sleep(1)
        for service in system.services:
            code = service.process.poll() if service.process else None
            if code is None:
                continue
            if service.restarts >= RESTART_LIMIT:
                raise RuntimeError(f"{service.name} keeps exiting (code {code}); see "
                                   f"{service.log_path}\n{service.tail()}")
            service.restarts += 1
            log(f"{service.name} exited with code {code}; restarting "
                f"({service.restarts}/{RESTART_LIMIT})")
            service.stop()
            service.start(system.settings.child_env())
            wait_healthy([service])


def main() -> int:
    def on_signal(signum, _frame):
        raise KeyboardInterrupt

    # Ctrl-C, `kill` and a closed terminal all take the same clean path. SIGINT is set explicitly:
    # a shell that starts us in the background without job control leaves it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    install_log_redaction()
    try:
        with running_system() as system:
            s = system.settings
            log("Atiende is running. Open:")
            log(f"  demo store with the chat widget   {s.handoff_url}/")
            log(f"  agent console                     {s.handoff_url}/console/  (demo login: ana / "
                "atiende-demo)")
            log(f"  handoff API docs                  {s.handoff_url}/docs")
            log(f"  Rasa webhooks                     {s.rasa_url}/webhooks/")
            if s.rasa_admin_port:
                log(f"  Rasa HTTP API (token, local)      http://127.0.0.1:{s.rasa_admin_port}/")
            log(f"  logs                              {s.data_dir / 'logs'}")
            if s.mail_catcher_port:
                log(f"  e-mails sent (kept as .eml files) {s.data_dir / 'mail'}")
            log("Press Ctrl-C to stop everything.")
            supervise(system)
    except KeyboardInterrupt:
        log("stopping…")
    except RuntimeError as exc:
        print(f"\033[1;31m[atiende] {exc}\033[0m", file=sys.stderr)
        return 1
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
