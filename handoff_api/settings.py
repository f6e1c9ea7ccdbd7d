"""Typed settings for the handoff API, read from the environment (and ``.env``).

Built explicitly and passed to ``create_app(settings)`` so tests inject their own. Outside
development the service refuses to start with placeholder secrets: a forgotten ``change-me`` bot
token would let anyone on the network read shoppers' conversations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev", "please-change"}


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, validate_default=True
    )

    environment: Literal["development", "test", "production"] = Field(
        "development", validation_alias=_env("ATIENDE_ENV", "environment")
    )
    data_dir: Path = Field(Path("var"), validation_alias=_env("ATIENDE_DATA_DIR", "data_dir"))
    database_url: str = Field(
        "", validation_alias=_env("HANDOFF_DATABASE_URL", "database_url")
    )  # empty: sqlite:///<data_dir>/handoff.db
    host: str = Field("127.0.0.1", validation_alias=_env("HANDOFF_HOST", "host"))
    port: int = Field(8000, validation_alias=_env("HANDOFF_PORT", "port"))
    bot_token: str = Field("change-me", validation_alias=_env("HANDOFF_BOT_TOKEN", "bot_token"))
    secret_key: str = Field("change-me", validation_alias=_env("HANDOFF_SECRET_KEY", "secret_key"))
    rasa_url: str = Field("http://127.0.0.1:5005", validation_alias=_env("RASA_URL", "rasa_url"))
    rasa_token: str = Field("", validation_alias=_env("RASA_TOKEN", "rasa_token"))
    rasa_timeout_seconds: float = Field(
        5.0, validation_alias=_env("HANDOFF_RASA_TIMEOUT", "rasa_timeout_seconds")
    )
    business_hours: str = Field(
        "mon-fri 09:00-20:00; sat 10:00-14:00",
        validation_alias=_env("BUSINESS_HOURS", "business_hours"),
    )
    business_tz: str = Field("Europe/Madrid", validation_alias=_env("BUSINESS_TZ", "business_tz"))
    agent_capacity: int = Field(
        3, ge=1, le=50, validation_alias=_env("HANDOFF_AGENT_CAPACITY", "agent_capacity")
    )
    default_handling_seconds: int = Field(
        300, ge=10,
        validation_alias=_env("HANDOFF_DEFAULT_HANDLING_SECONDS", "default_handling_seconds")
    )
    outbox_interval_seconds: float = Field(
        5.0, gt=0, validation_alias=_env("HANDOFF_OUTBOX_INTERVAL", "outbox_interval_seconds")
    )
    session_hours: int = Field(12, ge=1,
                               validation_alias=_env("HANDOFF_SESSION_HOURS", "session_hours"))
    max_message_bytes: int = Field(4096,
                                   validation_alias=_env("HANDOFF_MAX_MESSAGE_BYTES",
                                                         "max_message_bytes"))
    cookie_secure: bool = Field(False,
                                validation_alias=_env("HANDOFF_COOKIE_SECURE", "cookie_secure"))
    run_outbox_worker: bool = Field(True,
                                    validation_alias=_env("HANDOFF_OUTBOX_WORKER",
                                                          "run_outbox_worker"))
    cors_origins: str = Field(
        "", validation_alias=_env("HANDOFF_CORS_ORIGINS", "cors_origins")
    )  # comma-separated origins allowed to call the widget endpoints (store on another domain)
    log_level: str = Field("INFO", validation_alias=_env("ATIENDE_LOG_LEVEL", "log_level"))

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'handoff.db'}"
        if self.environment != "development":
            weak = [
                name
                for name, value in (
                    ("HANDOFF_BOT_TOKEN", self.bot_token),
                    ("HANDOFF_SECRET_KEY", self.secret_key),
                )
                if value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < 16
            ]
            if weak:
                raise ValueError(
                    f"{', '.join(weak)} must be set to a real secret (16+ characters) when "
                    f"ATIENDE_ENV={self.environment}; placeholders are only allowed in development"
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def static_dir(self) -> Path:
        return Path(__file__).parent / "static"
