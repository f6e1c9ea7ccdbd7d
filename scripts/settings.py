"""Settings shared by the launcher scripts: one place that turns the environment into paths, ports,
URLs and secrets for the three Atiende processes.

Values come from the process environment, then from an optional `.env` file at the repository root,
then from defaults that need no external server (SQLite files under the data directory). Secrets
that are not configured are generated once per data directory and kept in `<data dir>/secrets.env`,
so a restart keeps agents' sessions and the Rasa token valid.
"""

from __future__ import annotations

import os
import re
import secrets
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


def _secrets(data_dir: Path, values: dict[str, str]) -> dict[str, str]:
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
        if key.startswith(("WHATSAPP_", "MESSENGER_", "BUSINESS_", "KB_", "STORE_", "HANDOFF_",
                           "RASA_", "REDIS_")):
            env.setdefault(key, value)
    for key in CHANNEL_SECRETS:  # Rasa refuses to start on an unset ${VAR}; empty = not configured
        env.setdefault(key, "")
    env.update(_secrets(data_dir, values))
    s.env = env
    return s
