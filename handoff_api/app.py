"""The FastAPI application factory.

``create_app(settings)`` builds one self-contained instance: its own engine (migrated at start-up),
broker, relays and hand-back worker, so tests can run several apps, or restart one on the same
database, in a single process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError

from contracts import web_conversation
from handoff_api.broker import CONSOLE_TOPIC, make_broker
from handoff_api.business_hours import BusinessHours
from handoff_api.db import (
    check_database,
    make_engine,
    make_session_factory,
    make_write_session_factory,
    run_migrations,
)
from handoff_api.deps import Services
from handoff_api.errors import HandoffError
from handoff_api.eventlog import install_key
from handoff_api.followup import mail_dead, mail_sent
from handoff_api.followup_worker import FollowUpWorker
from handoff_api.handback import HandbackWorker, RasaClient
from handoff_api.lanes import LanesMiddleware, default_lanes
from handoff_api.mail import Mailer, build_mailer
from handoff_api.mail.outbox import MailHooks, MailWorker
from handoff_api.ratelimit import RateLimiter
from handoff_api.relay import ChannelRelay, RelayContext, RelayRegistry
from handoff_api.retention import start_retention_worker
from handoff_api.routes import (
    agents,
    bot,
    channel_events,
    dashboard,
    handoffs,
    mail,
    offline,
    prometheus,
    stream,
    supervisor,
    withdrawals,
)
from handoff_api.routes import media as media_routes
from handoff_api.routes import privacy as privacy_routes
from handoff_api.routes import store_events as store_event_routes
from handoff_api.routes import templates as template_routes
from handoff_api.routes.common import errors
from handoff_api.schemas import HandbackAck, HandbackIn
from handoff_api.serialize import handoff_summary
from handoff_api.settings import Settings
from handoff_api.web_security import WebSecurityMiddleware
from privacy.erasure import PrivacySettings
from privacy.records import privacy_key

logger = logging.getLogger("handoff_api")
CANNED_FILE = Path(__file__).parent / "data" / "canned_replies.json"


def create_app(
    settings: Settings | None = None,
    *,
    relay_overrides: dict[str, ChannelRelay] | None = None,
    relay_extra: dict[str, Any] | None = None,
    rasa_client: RasaClient | None = None,
    mailer: Mailer | None = None,
    privacy: PrivacySettings | None = None,
) -> FastAPI:
    """``relay_overrides`` replaces relays by channel name; ``relay_extra`` is handed to relay
    factories as ``RelayContext.extra`` (e.g. a fake Graph API URL in tests)."""
    settings = settings or Settings()
    # retention settings from the environment, on this app's data directory
    privacy = privacy or PrivacySettings.from_env({**os.environ,
                                                   "ATIENDE_DATA_DIR": str(settings.data_dir)})
    engine = make_engine(settings.database_url, pool_size=settings.worker_threads)
    run_migrations(engine)
    broker = make_broker(settings.broker_url)
    sessions = make_session_factory(engine)
    writes = make_write_session_factory(engine)
    rasa = rasa_client or RasaClient(settings)

    def on_offline(changed: list[Any]) -> None:
        for handoff in changed:
            broker.publish(CONSOLE_TOPIC, "handoff_offline", handoff_summary(handoff))

    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        broker=broker,
        relays=RelayRegistry(
            RelayContext(settings=settings, broker=broker, extra=dict(relay_extra or {})),
            relay_overrides,
        ),
        hours=BusinessHours.parse(settings.business_hours, settings.business_tz),
        handback=HandbackWorker(settings, writes, rasa, on_offline=on_offline),
        canned=json.loads(CANNED_FILE.read_text(encoding="utf-8")),
        writes=writes,
        limiter=RateLimiter(settings.rate_limit_storage),
        privacy=privacy,
    )
    services.mail, services.followups = _followups(settings, writes, services, mailer)
    # the event log pseudonymises conversation ids with the key the bot's event broker uses
    install_key([sessions, writes], privacy_key({**os.environ, **privacy.env,
                                                 "ATIENDE_DATA_DIR": str(settings.data_dir)}))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await broker.start()
        # sync routes run in this many threads; the database pool has one connection per thread
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        worker = followups = None
        if settings.run_outbox_worker:
            worker = asyncio.create_task(services.handback.run_forever(), name="handback-outbox")
            followups = asyncio.create_task(services.followups.run_forever(), name="follow-ups")
        retention = start_retention_worker(services)
        try:
            yield
        finally:
            if retention is not None:
                await retention.stop()
            if worker is not None:
                for task in (worker, followups):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await services.relays.aclose()
            await rasa.aclose()
            await broker.stop()
            engine.dispose()

    app = FastAPI(
        title="Atiende handoff API",
        version="0.1.0",
        description="Human handoff queue, agent console API and relay back to the shopper's "
                    "channel.",
        lifespan=lifespan,
    )
    app.state.services = services

    @app.exception_handler(HandoffError)
    async def _handoff_error(_request: Request, exc: HandoffError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # the offending input is echoed back; a lone surrogate in it cannot be encoded as UTF-8,
        # which turned the 422 itself into a 500
        return JSONResponse({"detail": _printable(jsonable_encoder(exc.errors()))},
                            status_code=422)

    @app.exception_handler(OperationalError)
    async def _db_down(_request: Request, exc: OperationalError) -> JSONResponse:
        logger.error("database error: %s", exc)
        return JSONResponse({"detail": "Database unavailable, try again"}, status_code=503)

    @app.get("/health", tags=["meta"], responses={
        429: {"description": "too many health checks at once from this client, or in all; retry "
                           "after Retry-After (health checks have a lane of their own)"},
        503: {"description": "database down"}})
    def health() -> JSONResponse:
        """Liveness plus what an operator must look at: undeliverable shopper messages (dead
        letters), hand-backs Rasa has not taken yet, offline cases past their promised time."""
        ok = check_database(engine)
        body: dict[str, Any] = {"status": "ok" if ok else "degraded",
                                "database": "ok" if ok else "error"}
        if ok:
            with sessions() as s:
                body.update(operational_counts(s))
        return JSONResponse(body, status_code=200 if ok else 503)

    # innermost: anonymous requests (widget reads, /health, login) wait for a few slots of their
    # own (one lane each, a share per client), so a flood of them never takes every worker thread
    # from the bot and the agents, nor a lane from the other clients
    app.state.lanes = default_lanes(settings.public_concurrency, settings.login_concurrency,
                                    settings.health_concurrency, settings.lane_per_client,
                                    settings.probe_networks)
    app.add_middleware(LanesMiddleware, lanes=app.state.lanes,
                       wait_seconds=settings.lane_wait_seconds)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:  # the widget embedded in a store on another origin reads the widget endpoints
        # POST: the widget's typing signal only (every other cross-origin POST is refused by
        # WebSecurityMiddleware)
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["Accept", "Last-Event-ID", "Content-Type",
                                          web_conversation.HEADER])
    # outermost: security headers on every answer (CORS ones included); cross-origin POSTs refused
    app.add_middleware(WebSecurityMiddleware)
    for module in (bot, handoffs, agents, stream, offline, privacy_routes, store_event_routes,
                   dashboard, prometheus, mail, media_routes, withdrawals, channel_events,
                   template_routes, supervisor):
        app.include_router(module.router)
    _declare_webhooks(app)
    _exact_integer_bounds(app)
    _mount_static(app, settings.static_dir)
    return app


def _followups(settings: Settings, writes: Any, services: Services,
               mailer: Mailer | None) -> tuple[MailWorker, FollowUpWorker]:
    """The mail outbox (offline-case answers resolve their case once mailed) and the follow-up
    worker (reminders, then due mails)."""
    def announce(row: Any) -> None:
        if row.handoff_id is None:
            return
        with services.sessions() as s:
            from handoff_api.queue import get_handoff

            services.broker.publish(CONSOLE_TOPIC, "handoff_closed" if row.status == "sent"
                                    else "followup_failed",
                                    handoff_summary(get_handoff(s, row.handoff_id)))

    mail = MailWorker(writes, mailer or build_mailer(settings),
                      max_attempts=settings.mail_max_attempts,
                      hooks={"offline_answer": MailHooks(sent=mail_sent, dead=mail_dead,
                                                         announce=announce)})
    return mail, FollowUpWorker(settings, writes, mail, services.relays, services.broker)


def _declare_webhooks(app: FastAPI) -> None:
    """The calls this API makes to the Rasa process, so the OpenAPI document (and the contract file
    ``contracts/handoff_api.openapi.json`` made from it) holds both directions of the seam."""
    documented = {k: v for k, v in errors(400, 401).items() if k in (400, 401, 422)}

    @app.webhooks.post("handback", response_model=HandbackAck, responses=documented)
    def handback(body: HandbackIn) -> None:
        """``POST {RASA_URL}/webhooks/atiende/handback`` with ``Authorization: Bearer
        $HANDOFF_BOT_TOKEN``: a handoff ended (or late shopper messages must go to the resumed
        bot). Retried with back-off until Rasa answers 2xx; rows of one conversation in order."""


def _exact_integer_bounds(app: FastAPI) -> None:
    """FastAPI's OpenAPI models keep ``minimum``/``maximum`` as floats, and 2**63 - 1 (our id bound)
    does not survive a float: the document would allow 2**63, which the API refuses. Integer
    schemas get their exact integer bounds back."""
    from handoff_api.schemas import MAX_ID

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "integer":
                for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                    value = node.get(key)
                    if isinstance(value, float) and value.is_integer():
                        node[key] = MAX_ID if int(value) == MAX_ID + 1 else int(value)
            for child in node.values():
                fix(child)
        elif isinstance(node, list):
            for child in node:
                fix(child)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            fix(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of an app built on a throw-away database (for the contract file)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/contract.db", run_outbox_worker=False,
                            environment="development")
        app = create_app(settings)
        document = app.openapi()
        app.state.services.engine.dispose()
    return document


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list):
        return [_printable(v) for v in value]
    if isinstance(value, dict):
        return {str(_printable(k)): _printable(v) for k, v in value.items()}
    return value


def operational_counts(session: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from handoff_api.models import DeadLetter, HandbackOutbox, Handoff
    from handoff_api.queue import now_utc

    def count(stmt: Any) -> int:
        return int(session.scalar(stmt) or 0)

    return {
        "dead_letters": count(select(func.count()).select_from(DeadLetter)
                              .where(DeadLetter.dismissed_at.is_(None))),
        "handbacks_pending": count(select(func.count()).select_from(HandbackOutbox)
                                   .where(HandbackOutbox.delivered_at.is_(None))),
        "offline_cases_overdue": count(select(func.count()).select_from(Handoff).where(
            Handoff.status == "offline", Handoff.answer_due_at < now_utc())),
    }


def _mount_static(app: FastAPI, static: Path) -> None:
    """``/`` demo store, ``/console/`` agent console, ``/widget/`` chat widget, ``/static/`` rest.
    Folders that do not exist (yet) are skipped, so the API runs without the pages."""
    store_index = static / "store" / "index.html"

    @app.get("/", include_in_schema=False, response_model=None)
    def store() -> FileResponse | JSONResponse:
        if store_index.is_file():
            return FileResponse(store_index)
        return JSONResponse({"detail": "Demo store page not installed", "docs": "/docs"}, 404)

    @app.get("/console", include_in_schema=False)
    def console_redirect() -> RedirectResponse:
        return RedirectResponse("/console/")

    for prefix, folder in (("/console", static / "console"), ("/widget", static / "widget"),
                           ("/static", static)):
        if folder.is_dir():
            app.mount(prefix, StaticFiles(directory=folder, html=True), name=prefix.strip("/"))
