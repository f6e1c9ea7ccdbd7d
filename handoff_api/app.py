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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError

from handoff_api.broker import Broker
from handoff_api.business_hours import BusinessHours
from handoff_api.db import check_database, make_engine, make_session_factory, run_migrations
from handoff_api.deps import Services
from handoff_api.errors import HandoffError
from handoff_api.handback import HandbackWorker, RasaClient
from handoff_api.relay import ChannelRelay, RelayContext, RelayRegistry
from handoff_api.routes import agents, bot, handoffs, stream
from handoff_api.settings import Settings

logger = logging.getLogger("handoff_api")
CANNED_FILE = Path(__file__).parent / "data" / "canned_replies.json"


def create_app(
    settings: Settings | None = None,
    *,
    relay_overrides: dict[str, ChannelRelay] | None = None,
    relay_extra: dict[str, Any] | None = None,
    rasa_client: RasaClient | None = None,
) -> FastAPI:
    """``relay_overrides`` replaces relays by channel name; ``relay_extra`` is handed to relay
    factories as ``RelayContext.extra`` (e.g. a fake Graph API URL in tests)."""
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    run_migrations(engine)
    broker = Broker()
    sessions = make_session_factory(engine)
    rasa = rasa_client or RasaClient(settings)
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
        handback=HandbackWorker(settings, sessions, rasa),
        canned=json.loads(CANNED_FILE.read_text(encoding="utf-8")),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broker.bind_loop(asyncio.get_running_loop())
        worker = None
        if settings.run_outbox_worker:
            worker = asyncio.create_task(services.handback.run_forever(), name="handback-outbox")
        try:
            yield
        finally:
            if worker is not None:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            await services.relays.aclose()
            await rasa.aclose()
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

    @app.exception_handler(OperationalError)
    async def _db_down(_request: Request, exc: OperationalError) -> JSONResponse:
        logger.error("database error: %s", exc)
        return JSONResponse({"detail": "Database unavailable, try again"}, status_code=503)

    @app.get("/health", tags=["meta"])
    def health() -> JSONResponse:
        ok = check_database(engine)
        return JSONResponse({"status": "ok" if ok else "degraded",
                             "database": "ok" if ok else "error"},
                            status_code=200 if ok else 503)

    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:  # the widget embedded in a store on another origin reads the widget endpoints
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET"],
                           allow_headers=["Accept", "Last-Event-ID"])
    for module in (bot, handoffs, agents, stream):
        app.include_router(module.router)
    _mount_static(app, settings.static_dir)
    return app


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
