"""Typed settings for the handoff API, read from the environment (and ``.env``).

Built explicitly and passed to ``create_app(settings)`` so tests inject their own. Outside
development the service refuses to start with placeholder secrets: a forgotten ``change-me`` bot
token would let anyone on the network read shoppers' conversations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from scripts.settings import PLACEHOLDER_SECRETS, secret_problem  # one definition (both envs)

__all__ = ["PLACEHOLDER_SECRETS", "Settings"]


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
    # the bot's Meta channel state (bot/channels/meta_state.py), read for WhatsApp order notices;
    # empty: the SQLite file <data_dir>/meta_channels.db
    channel_state_url: str = Field(
        "", validation_alias=_env("ATIENDE_CHANNEL_STATE_URL", "channel_state_url")
    )
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
    # --- seam reliability (issue #11) ---------------------------------------------------------
    worker_threads: int = Field(
        40, ge=4, le=400, validation_alias=_env("HANDOFF_WORKER_THREADS", "worker_threads")
    )  # threads for the sync routes; the database pool is sized to match
    queue_timeout_minutes: float = Field(
        20, gt=0, validation_alias=_env("HANDOFF_QUEUE_TIMEOUT_MINUTES", "queue_timeout_minutes")
    )  # a queued shopper nobody took by then gets an offline case and the bot back
    answer_hours: float = Field(
        48, gt=0, validation_alias=_env("HANDOFF_ANSWER_HOURS", "answer_hours")
    )  # the answer promised for an offline case (the seeds: always within 48 h)
    presence_seconds: int = Field(
        90, ge=10, validation_alias=_env("HANDOFF_PRESENCE_SECONDS", "presence_seconds")
    )  # an agent seen (console call or live stream) this recently counts as present
    send_lease_seconds: int = Field(
        120, ge=5, validation_alias=_env("HANDOFF_SEND_LEASE_SECONDS", "send_lease_seconds")
    )  # a claimed agent-reply send not finished by then may be claimed again
    watch_interval_seconds: float = Field(
        5.0, gt=0, validation_alias=_env("HANDOFF_WATCH_INTERVAL", "watch_interval_seconds")
    )  # how often queue timeouts are checked
    public_rate_limit: str = Field(
        "120/minute", validation_alias=_env("HANDOFF_PUBLIC_RATE_LIMIT", "public_rate_limit")
    )  # per client address, on the unauthenticated widget routes
    login_rate_limit: str = Field(
        "20/minute", validation_alias=_env("HANDOFF_LOGIN_RATE_LIMIT", "login_rate_limit")
    )  # per client address, on login (each attempt costs a bcrypt hash)
    public_concurrency: int = Field(
        4, ge=1, le=400, validation_alias=_env("HANDOFF_PUBLIC_CONCURRENCY", "public_concurrency")
    )  # anonymous widget / opt-out requests served at once; the rest wait (lanes.py)
    login_concurrency: int = Field(
        2, ge=1, le=400, validation_alias=_env("HANDOFF_LOGIN_CONCURRENCY", "login_concurrency")
    )  # logins (a bcrypt hash each) served at once; the rest wait
    health_concurrency: int = Field(
        2, ge=1, le=400, validation_alias=_env("HANDOFF_HEALTH_CONCURRENCY", "health_concurrency")
    )  # /health requests served at once, in a lane of their own (no widget flood throttles it)
    probe_networks: str = Field(
        "", validation_alias=_env("HANDOFF_PROBE_NETWORKS", "probe_networks")
    )  # the balancer's / kubelet's addresses or networks (comma-separated): their /health checks
    # get a lane nobody else can enter; empty: they share the health lane with everyone
    lane_per_client: int = Field(
        3, ge=0, le=400, validation_alias=_env("HANDOFF_LANE_PER_CLIENT", "lane_per_client")
    )  # requests of one client address in a lane (served or waiting); more: 429 at once; 0: no cap
    lane_wait_seconds: float = Field(
        5.0, gt=0, validation_alias=_env("HANDOFF_LANE_WAIT_SECONDS", "lane_wait_seconds")
    )  # a waiting anonymous request / login gets 429 "retry in 1 s" after this long
    broker_url: str = Field(
        "", validation_alias=_env("HANDOFF_BROKER_URL", "broker_url")
    )  # empty: live events within this process; redis://host:6379/0: across replicas
    rate_limit_storage: str = Field(
        "memory://", validation_alias=_env("HANDOFF_RATE_LIMIT_STORAGE", "rate_limit_storage")
    )  # memory:// (one process) or redis://host:6379 (shared by replicas)
    smtp_host: str = Field("", validation_alias=_env("SMTP_HOST", "smtp_host"))  # empty: no e-mail
    smtp_port: int = Field(25, validation_alias=_env("SMTP_PORT", "smtp_port"))
    smtp_user: str = Field("", validation_alias=_env("SMTP_USER", "smtp_user"))
    smtp_password: str = Field("", validation_alias=_env("SMTP_PASSWORD", "smtp_password"))
    smtp_starttls: bool = Field(False, validation_alias=_env("SMTP_STARTTLS", "smtp_starttls"))
    smtp_from: str = Field("Atiende <no-reply@atiende.invalid>",
                           validation_alias=_env("SMTP_FROM", "smtp_from"))
    # --- e-mail and offline-case follow-up (issue #11, branch seam-ui) ------------------------
    smtp_tls: bool = Field(False, validation_alias=_env("SMTP_TLS", "smtp_tls")
                           )  # implicit TLS from the first byte (port 465); SMTP_STARTTLS upgrades
    smtp_ca_file: str = Field("", validation_alias=_env("SMTP_CA_FILE", "smtp_ca_file")
                              )  # CA bundle for a server with a private certificate
    smtp_timeout_seconds: float = Field(
        20.0, gt=0, validation_alias=_env("SMTP_TIMEOUT", "smtp_timeout_seconds"))
    smtp_reply_to: str = Field("", validation_alias=_env("SMTP_REPLY_TO", "smtp_reply_to"))
    store_name: str = Field("Atiende Demo Store",
                            validation_alias=_env("STORE_NAME", "store_name"))  # in e-mails
    mail_max_attempts: int = Field(
        8, ge=1, le=50, validation_alias=_env("MAIL_MAX_ATTEMPTS", "mail_max_attempts")
    )  # retryable SMTP failures are retried with back-off this many times, then shown to agents
    reminder_hours: float = Field(
        6, ge=0, validation_alias=_env("HANDOFF_REMINDER_HOURS", "reminder_hours")
    )  # an offline case still unanswered this close to its promised time: the shopper is told
    #   it is being worked on (once) and the console marks it due soon; 0 turns reminders off
    # --- order events → proactive messages (issue #16, branch orderevents) --------------------
    # each platform's webhook is refused (503) until its secret is set: WooCommerce's webhook
    # secret, the Tiendanube/Nuvemshop app's client secret, the Shopify app's client secret
    woocommerce_webhook_secret: str = Field(
        "", validation_alias=_env("WOOCOMMERCE_WEBHOOK_SECRET", "woocommerce_webhook_secret"))
    tiendanube_webhook_secret: str = Field(
        "", validation_alias=_env("TIENDANUBE_WEBHOOK_SECRET", "tiendanube_webhook_secret"))
    shopify_webhook_secret: str = Field(
        "", validation_alias=_env("SHOPIFY_WEBHOOK_SECRET", "shopify_webhook_secret"))
    store_webhook_max_bytes: int = Field(
        512 * 1024, ge=1024,
        validation_alias=_env("STORE_WEBHOOK_MAX_BYTES", "store_webhook_max_bytes"))
    # approved WhatsApp templates per event, "shipped=pedido_enviado,delivered=pedido_entregado";
    # an event without a template goes by e-mail
    whatsapp_order_templates: str = Field(
        "", validation_alias=_env("WHATSAPP_ORDER_TEMPLATES", "whatsapp_order_templates"))
    whatsapp_template_languages: str = Field(
        "es=es,en=en",
        validation_alias=_env("WHATSAPP_TEMPLATE_LANGUAGES", "whatsapp_template_languages"))
    public_url: str = Field(
        "", validation_alias=_env("HANDOFF_PUBLIC_URL", "public_url")
    )  # this API's address as shoppers reach it (opt-out links in mails); empty: host and port

    # --- dashboard and metrics (issue #14, branch dash) ---------------------------------------
    metrics_token: str = Field(
        "", validation_alias=_env("HANDOFF_METRICS_TOKEN", "metrics_token")
    )  # set: GET /metrics (Prometheus) needs "Authorization: Bearer <token>"; empty: open

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'handoff.db'}"
        from handoff_api.lanes import parse_networks  # noqa: PLC0415 (lanes needs no settings)

        parse_networks(self.probe_networks)  # a typo fails at start-up, naming the bad entry
        from handoff_api.business_hours import BusinessHours  # noqa: PLC0415

        try:  # the store's calendar and hours: a typo fails at start-up, naming the variable
            BusinessHours.parse(self.business_hours, self.business_tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            if "BUSINESS_HOURS" in str(exc):
                raise
            raise ValueError(f"BUSINESS_TZ={self.business_tz!r} is not a time zone name (such "
                             "as Europe/Madrid or America/Mexico_City)") from None
        if self.environment != "development":
            weak = [
                name
                for name, value in (
                    ("HANDOFF_BOT_TOKEN", self.bot_token),
                    ("HANDOFF_SECRET_KEY", self.secret_key),
                )
                if secret_problem(value) is not None
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
