"""Settings shared by the launcher scripts: one place that turns the environment into paths, ports,
URLs and secrets for the three Atiende processes.

Values come from the process environment, then from an optional `.env` file at the repository root,
then from defaults that need no external server (SQLite files under the data directory). Secrets
that are not configured are generated once per data directory and kept in `<data dir>/secrets.env`,
so a restart keeps agents' sessions and the Rasa token valid — in development only.

Production safety lives here too, in one place every process uses (:func:`refuse_unsafe_start`):
with ``ATIENDE_ENV=production`` nothing is generated, and each service (Rasa, the action server,
the handoff API, and this launcher before them) refuses to start, with one line naming the
variables, when a secret it needs is missing, a placeholder or shorter than 16 characters.
Standard library only: it is imported by both environments.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT_PY = ROOT / ".venv" / "bot" / "bin" / "python"
APP_PY = ROOT / ".venv" / "app" / "bin" / "python"
MODEL = ROOT / "models" / "atiende.tar.gz"
SECRET_NAMES = ("RASA_TOKEN", "HANDOFF_BOT_TOKEN", "HANDOFF_SECRET_KEY")
CHANNEL_SECRETS = ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN",
                   "WHATSAPP_PHONE_NUMBER_ID", "MESSENGER_PAGE_ACCESS_TOKEN",
                   "MESSENGER_APP_SECRET",
                   "MESSENGER_VERIFY_TOKEN")


# --- production safety (shared by every service) -------------------------------------------------
ENVIRONMENTS = ("development", "test", "production")
MIN_SECRET_CHARS = 16
PLACEHOLDER_SECRETS = {"change-me", "changeme", "change_me", "secret", "dev", "please-change",
                       "password", "test", "example", "placeholder", "todo", "xxx", "none",
                       "null", "default", "atiende", "atiende-demo"}
#: the secrets each service must hold in production (and only those: see ``scripts/run.py``)
SERVICE_SECRETS: dict[str, tuple[str, ...]] = {
    "rasa": ("RASA_TOKEN", "HANDOFF_BOT_TOKEN"),
    "actions": ("HANDOFF_BOT_TOKEN", "ATIENDE_PRIVACY_KEY"),
    "handoff": ("HANDOFF_BOT_TOKEN", "HANDOFF_SECRET_KEY", "ATIENDE_PRIVACY_KEY"),
}
#: checked when set (empty = that channel is off and answers 503)
CHANNEL_SECRET_NAMES = ("WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_ACCESS_TOKEN",
                        "MESSENGER_APP_SECRET", "MESSENGER_VERIFY_TOKEN",
                        "MESSENGER_PAGE_ACCESS_TOKEN")
#: the handoff API's order webhooks, checked when set (empty = that platform's webhook answers 503)
STORE_WEBHOOK_SECRET_NAMES = ("WOOCOMMERCE_WEBHOOK_SECRET", "TIENDANUBE_WEBHOOK_SECRET",
                              "SHOPIFY_WEBHOOK_SECRET")


def environment(env: Mapping[str, str] | None = None) -> str:
    """``ATIENDE_ENV``: development (default), test or production; anything else is refused."""
    value = (env if env is not None else os.environ).get("ATIENDE_ENV", "").strip().lower()
    value = value or "development"
    if value not in ENVIRONMENTS:
        raise SystemExit(f"ATIENDE_ENV={value!r} is not one of {', '.join(ENVIRONMENTS)}")
    return value


def is_production(env: Mapping[str, str] | None = None) -> bool:
    return environment(env) == "production"


def secret_problem(value: str | None) -> str | None:
    """Why ``value`` cannot be a production secret (missing, placeholder, short), or None."""
    value = (value or "").strip()
    if not value:
        return "is missing"
    lowered = value.lower()
    if lowered in PLACEHOLDER_SECRETS or "change-me" in lowered or "changeme" in lowered \
            or len(set(value)) < 6:
        return "is a placeholder"
    if len(value) < MIN_SECRET_CHARS:
        return f"is shorter than {MIN_SECRET_CHARS} characters"
    return None


def unsafe_secrets(env: Mapping[str, str], required: tuple[str, ...],
                   optional: tuple[str, ...] = ()) -> list[str]:
    """``NAME problem`` for each required secret that is unusable and each optional one that is
    set but unusable."""
    problems = []
    for name in required:
        if (problem := secret_problem(env.get(name))) is not None:
            problems.append(f"{name} {problem}")
    for name in optional:
        if (env.get(name) or "").strip() and (problem := secret_problem(env.get(name))):
            problems.append(f"{name} {problem}")
    return problems


def production_problems(service: str, env: Mapping[str, str]) -> list[str]:
    """What stops ``service`` (rasa | actions | handoff) from running in production."""
    optional = {"rasa": CHANNEL_SECRET_NAMES, "handoff": STORE_WEBHOOK_SECRET_NAMES}
    problems = unsafe_secrets(env, SERVICE_SECRETS[service], optional.get(service, ()))
    backend = (env.get("STORE_BACKEND") or "demo").strip().lower()
    if service == "actions" and backend in ("demo", "sqlite"):
        problems.append(f"STORE_BACKEND={backend} serves the made-up demo orders (connect the "
                        "shop: docs/stores.md)")
    return problems


def refuse_unsafe_start(service: str, env: Mapping[str, str] | None = None) -> None:
    """Exit with one clear line when ``service`` must not start (production only)."""
    env = env if env is not None else os.environ
    if not is_production(env):
        return
    problems = production_problems(service, env)
    if problems:
        raise SystemExit(f"{service}: refusing to start with ATIENDE_ENV=production: "
                         + "; ".join(problems) + " (set real secrets of 16+ characters; README, "
                         "Deployment)")


def read_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines (comments and blank lines ignored, optional quotes stripped)."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = re.split(r"\s+#", value, maxsplit=1)[0]  # allow "KEY=value   # comment"
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


@dataclass
class Settings:
    data_dir: Path
    host: str
    rasa_port: int
    actions_port: int
    handoff_port: int
    env: dict[str, str] = field(default_factory=dict)
    mail_catcher_port: int = 0  # 0: a real SMTP server is configured (SMTP_HOST)
    rasa_admin_port: int = 0  # Rasa's HTTP API, on 127.0.0.1 only (0: not served)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}"

    @property
    def handoff_url(self) -> str:
        return f"http://{self.host}:{self.handoff_port}"

    def child_env(self) -> dict[str, str]:
        """The environment every child process gets: the user's, plus resolved Atiende settings."""
        env = dict(os.environ)
        env.update(self.env)
        return env


def _port(values: dict[str, str], name: str, default: int) -> int:
    raw = values.get(name, str(default))
    try:
        port = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise SystemExit(f"{name}={port} is outside 1-65535")
    return port


def _admin_port(rasa_port: int) -> int:
    """Default address of Rasa's HTTP API: ``RASA_PORT``+1 on 127.0.0.1, or, when that one is
    taken (tests pick ephemeral ports), any free port; set ``RASA_ADMIN_PORT`` to fix it."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            if rasa_port < 65535:
                probe.bind(("127.0.0.1", rasa_port + 1))
                return rasa_port + 1
        except OSError:
            pass
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _secrets(data_dir: Path, values: dict[str, str]) -> dict[str, str]:
    if is_production(values):  # never invent production secrets: the services refuse instead
        return {name: values[name] for name in SECRET_NAMES if values.get(name)}
    store = data_dir / "secrets.env"
    saved = read_env_file(store)
    result = {}
    for name in SECRET_NAMES:
        result[name] = values.get(name) or saved.get(name) or secrets.token_urlsafe(32)
    if any(name not in saved and name not in values for name in SECRET_NAMES):
        store.write_text("".join(f"{k}={v}\n" for k, v in result.items()), encoding="utf-8")
        store.chmod(0o600)
    return result


def load(overrides: dict[str, str] | None = None) -> Settings:
    """Resolve settings from environment > .env > defaults (> overrides, used by tests)."""
    values = read_env_file(ROOT / ".env")
    values.update({k: v for k, v in os.environ.items()})
    values.update(overrides or {})
    data_dir = Path(values.get("ATIENDE_DATA_DIR", "var"))
    if not data_dir.is_absolute():
        data_dir = ROOT / data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "logs").mkdir(exist_ok=True)
    host = values.get("ATIENDE_HOST", "127.0.0.1")
    s = Settings(
        data_dir=data_dir,
        host=host,
        rasa_port=_port(values, "RASA_PORT", 5005),
        actions_port=_port(values, "ACTIONS_PORT", 5055),
        handoff_port=_port(values, "HANDOFF_PORT", 8000),
    )
    env = {
        "ATIENDE_DATA_DIR": str(data_dir),
        "RASA_PORT": str(s.rasa_port),
        # Rasa's HTTP API apart from the public webhooks (bot/serve.py); 0 = not served
        "RASA_ADMIN_PORT": values.get("RASA_ADMIN_PORT") or str(_admin_port(s.rasa_port)),
        "RASA_HOST": values.get("RASA_HOST", host),
        # browsers may call the webhooks from these pages only (the demo store by default)
        "ATIENDE_CORS_ORIGINS": values.get("ATIENDE_CORS_ORIGINS", ",".join(
            dict.fromkeys((s.handoff_url, f"http://localhost:{s.handoff_port}")))),
        "ACTIONS_PORT": str(s.actions_port),
        "HANDOFF_PORT": str(s.handoff_port),
        "RASA_URL": values.get("RASA_URL", s.rasa_url),
        "ACTION_SERVER_URL": values.get("ACTION_SERVER_URL", f"{s.actions_url}/webhook"),
        "HANDOFF_API_URL": values.get("HANDOFF_API_URL", s.handoff_url),
        "HANDOFF_DATABASE_URL": values.get(
            "HANDOFF_DATABASE_URL", f"sqlite:///{data_dir / 'handoff.db'}"
        ),
        "RASA_TRACKER_DB": values.get("RASA_TRACKER_DB", str(data_dir / "rasa_tracker.db")),
        "STORE_DATABASE": values.get("STORE_DATABASE", str(data_dir / "store.db")),
        "KB_INDEX_DIR": values.get("KB_INDEX_DIR", str(data_dir / "kb_index")),
        "ATIENDE_ENV": values.get("ATIENDE_ENV", "development"),
        "PYTHONUNBUFFERED": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RASA_TELEMETRY_ENABLED": "false",  # no calls home (and no retries when offline)
    }
    for key, value in values.items():  # pass through every documented Atiende-related variable
        if key.startswith(("ATIENDE_", "WHATSAPP_", "MESSENGER_", "BUSINESS_", "KB_", "STORE_",
                           "HANDOFF_", "RASA_", "REDIS_", "SMTP_", "MAIL_", "WOOCOMMERCE_",
                           "TIENDANUBE_", "SHOPIFY_")):
            env.setdefault(key, value)
    for key in CHANNEL_SECRETS:  # Rasa refuses to start on an unset ${VAR}; empty = not configured
        env.setdefault(key, "")
    env.update(_secrets(data_dir, values))
    admin = env["RASA_ADMIN_PORT"]
    s.rasa_admin_port = _port({"RASA_ADMIN_PORT": admin}, "RASA_ADMIN_PORT", 0) \
        if admin.strip() not in ("", "0") else 0
    if not values.get("SMTP_HOST"):
        # no mail server configured: a local catcher keeps every e-mail as a file under
        # <data dir>/mail (scripts.run starts it), next to the handoff API's port by default
        fallback = s.handoff_port + 25 if s.handoff_port + 25 < 65536 else s.handoff_port - 25
        s.mail_catcher_port = _port(values, "MAIL_CATCHER_PORT", fallback)
        env.update(SMTP_HOST=host, SMTP_PORT=str(s.mail_catcher_port), SMTP_STARTTLS="false",
                   SMTP_TLS="false")
    s.env = env
    return s
