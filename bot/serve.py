"""Start the Rasa server: ``python -m bot.serve`` (what ``scripts/run.py`` runs).

Instead of ``rasa run --enable-api --auth-token … --cors "*"``:

* **``GET /metrics``** (Prometheus; ``bot.prometheus``) on the public address, behind
  ``ATIENDE_METRICS_TOKEN`` when set;
* **the token is not on the command line.** ``RASA_TOKEN`` is read from the environment (``ps``
  shows every argument to every user of the machine; the environment of a process only to its
  owner);
* **two addresses.** The public one (``RASA_HOST``:``RASA_PORT``) serves only the channel
  webhooks (``/webhooks/…``: REST, socket.io, WhatsApp, Messenger, the hand-back) and a
  ``/health`` check; Rasa's HTTP API (``/conversations/…``, ``/model/…``, ``/status``…) is served
  on a second address, ``RASA_ADMIN_HOST``:``RASA_ADMIN_PORT`` (127.0.0.1 and ``RASA_PORT``+1 by
  default; ``RASA_ADMIN_PORT=0`` turns it off), still behind the token. Both apps share one loaded
  agent (one model, one tracker and lock store), in one process;
* **CORS only for configured origins**: ``ATIENDE_CORS_ORIGINS`` (comma-separated; default the
  demo store page, ``http://127.0.0.1:8000`` and ``http://localhost:8000``), never ``*``;
* with ``ATIENDE_ENV=production`` it refuses to start (one line) without real secrets
  (``scripts.settings.refuse_unsafe_start``).

Everything is read once here from the environment and handed to Rasa's own serving code
(``rasa.core.run.configure_app`` / ``rasa.server.create_app``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from scripts.settings import refuse_unsafe_start

logger = logging.getLogger(__name__)

DEFAULT_ORIGINS = ("http://127.0.0.1:8000", "http://localhost:8000")


@dataclass(frozen=True)
class ServeSettings:
    model: str
    credentials: str
    endpoints: str
    host: str
    port: int
    admin_host: str
    admin_port: int  # 0: no HTTP API at all
    token: str = field(repr=False)
    cors_origins: tuple[str, ...]
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServeSettings:
        def port(name: str, default: int) -> int:
            raw = (env.get(name) or str(default)).strip()
            if not raw.isdigit() or not 0 <= int(raw) < 65536:
                raise SystemExit(f"rasa: {name}={raw!r} is not a port number")
            return int(raw)

        public = port("RASA_PORT", 5005)
        origins = tuple(o.strip().rstrip("/") for o in
                        (env.get("ATIENDE_CORS_ORIGINS") or "").split(",") if o.strip())
        if "*" in origins:
            raise SystemExit("rasa: ATIENDE_CORS_ORIGINS must list origins, not '*'")
        return cls(
            model=env.get("RASA_MODEL") or "models/atiende.tar.gz",
            credentials=env.get("RASA_CREDENTIALS") or "bot/credentials.yml",
            endpoints=env.get("RASA_ENDPOINTS") or "bot/endpoints.yml",
            host=env.get("RASA_HOST") or env.get("ATIENDE_HOST") or "127.0.0.1",
            port=public,
            admin_host=env.get("RASA_ADMIN_HOST") or "127.0.0.1",
            admin_port=port("RASA_ADMIN_PORT", public + 1 if public < 65535 else 0),
            token=(env.get("RASA_TOKEN") or "").strip(),
            cors_origins=origins or DEFAULT_ORIGINS,
            log_level=(env.get("LOG_LEVEL") or env.get("ATIENDE_LOG_LEVEL") or "INFO").upper(),
        )


def public_app(settings: ServeSettings) -> Any:
    """The Sanic app of the public address: channel webhooks, ``/`` and ``/health``; no API."""
    import rasa.core.run
    from rasa.core.utils import AvailableEndpoints
    from sanic import response

    endpoints = AvailableEndpoints.read_endpoints(settings.endpoints)
    channels = rasa.core.run.create_http_input_channels(None, settings.credentials)
    app = rasa.core.run.configure_app(channels, cors=list(settings.cors_origins),
                                      enable_api=False, endpoints=endpoints, port=settings.port)
    app.ctx.input_channels = channels  # what rasa.server.create_app would keep (output channels)

    # Prometheus: turn, NLU and action-call latency, errors (bot/prometheus.py); a rating typed
    # instead of tapped counts like the button (bot/typed_rating.py)
    from bot import prometheus, typed_rating

    prometheus.install()
    prometheus.attach(app)
    typed_rating.install()

    @app.get("/health")
    async def health(request: Any) -> Any:
        agent = getattr(request.app.ctx, "agent", None)
        ready = agent is not None and agent.is_ready()
        return response.json({"status": "ok" if ready else "loading"},
                             status=200 if ready else 503)

    app.register_listener(partial(rasa.core.run.load_agent_on_start, settings.model, endpoints,
                                  None), "before_server_start")
    app.register_listener(rasa.core.run.close_resources, "after_server_stop")
    app.ctx.atiende_endpoints = endpoints
    return app


def admin_app(settings: ServeSettings, public: Any) -> Any:
    """Rasa's HTTP API (token required), sharing the public app's state (its loaded agent)."""
    from rasa import server

    app = server.create_app(cors_origins=None, auth_token=settings.token,
                            endpoints=public.ctx.atiende_endpoints)
    for name, value in vars(app.ctx).items():  # e.g. active_training_processes
        if not hasattr(public.ctx, name):
            setattr(public.ctx, name, value)
    app.ctx = public.ctx  # one agent: a model replaced through the API serves the webhooks too
    return app


def serve(settings: ServeSettings) -> None:
    from sanic import Sanic

    Sanic.test_mode = True  # two apps start in this process: Sanic's touch-up must be re-entrant
    app = public_app(settings)
    if settings.admin_port and not settings.token:
        logger.warning("rasa.admin_api_off: RASA_TOKEN is not set, so the HTTP API is not served")
    if settings.admin_port and settings.token:
        admin = admin_app(settings, app)
        holder: dict[str, Any] = {}

        async def start_admin(_app: Any, _loop: Any) -> None:
            server = await admin.create_server(host=settings.admin_host,
                                               port=settings.admin_port,
                                               return_asyncio_server=True, access_log=False)
            await server.startup()
            await server.before_start()
            await server.after_start()
            holder["server"] = server
            logger.info("rasa.admin_api on http://%s:%s (token required; not on the webhook "
                        "address)", settings.admin_host, settings.admin_port)

        async def stop_admin(_app: Any, _loop: Any) -> None:
            server = holder.pop("server", None)
            if server is not None:
                await server.before_stop()
                server.close()
                await server.wait_closed()
                await server.after_stop()

        app.register_listener(start_admin, "after_server_start")
        app.register_listener(stop_admin, "before_server_stop")
    logger.info("rasa.public on http://%s:%s (webhooks only; CORS origins %s)", settings.host,
                settings.port, ", ".join(settings.cors_origins))
    app.run(host=settings.host, port=settings.port, workers=1, access_log=False,
            backlog=int(os.environ.get("SANIC_BACKLOG", "100")))


def main() -> int:
    refuse_unsafe_start("rasa")  # before anything heavy is imported
    settings = ServeSettings.from_env(os.environ)
    from rasa.utils.common import configure_logging_and_warnings, update_sanic_log_level

    level = logging.getLevelName(settings.log_level)
    level = level if isinstance(level, int) else logging.INFO
    configure_logging_and_warnings(level)
    update_sanic_log_level()
    from bot.rasa_speedups import filter_structlog

    filter_structlog(level)
    asyncio.set_event_loop(asyncio.new_event_loop())
    serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
