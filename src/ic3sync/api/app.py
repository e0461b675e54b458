"""The FastAPI application: routes, error handlers, and the start and stop of its run manager
and schedule."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from ic3sync import __version__
from ic3sync.api import dashboard, errors
from ic3sync.api.headers import SecurityHeaders
from ic3sync.api.limits import BodyLimit
from ic3sync.api.reads import ReadModels
from ic3sync.api.routes import ROUTERS
from ic3sync.api.throttle import TokenThrottle
from ic3sync.bootstrap import Wiring
from ic3sync.db.digest import last_scheduled_start
from ic3sync.db.errors import db_reason
from ic3sync.errors import Ic3SyncError
from ic3sync.logs import install_log_context
from ic3sync.notify.staleness import StalenessWatch
from ic3sync.runs import RunManager
from ic3sync.schedule import Every, Scheduler
from ic3sync.sync import recover_dead_runs

log = logging.getLogger("ic3sync.api")

# Graceful shutdown must end within the 20 s a service manager allows after SIGTERM.
SHUTDOWN_JOIN_S = 12.0
# How often serve looks whether a full run has completed within IC3_STALE_AFTER_H.
STALE_CHECK_S = 300.0

DESCRIPTION = """
Trigger, watch and cancel syncs of the Innomaint asset detail into the IC3 asset register.

One run at a time, across every process on the database: a trigger while a run is going
answers 409 with the running `run_id`. With `IC3_ADMIN_TOKEN` set, every `/api/admin/*`
request needs `Authorization: Bearer <IC3_ADMIN_TOKEN>`. Errors are `{"detail": "..."}`.
"""


def create_app(wiring: Wiring, *, manager: RunManager | None = None) -> FastAPI:
    """The app. Raises ConfigError for a bad IC3_SYNC_CRON or IC3_TIMEZONE before it serves."""
    settings, engine = wiring.settings, wiring.engine
    manager = manager or wiring.run_manager()
    scheduler = (
        Scheduler(
            settings.sync_cron,
            settings.timezone,
            manager.scheduled_tick,
            grace_min=settings.schedule_grace_min,
            last_started=lambda: last_scheduled_start(engine),
            missed=manager.tick_missed,
        )
        if settings.sync_cron
        else None
    )
    staleness = Every(
        STALE_CHECK_S,
        StalenessWatch(engine, manager.notifications, settings.stale_after_h).check,
        "staleness",
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_log_context()
        try:
            dead = await run_in_threadpool(recover_dead_runs, engine)
        except (sa.exc.SQLAlchemyError, Ic3SyncError, OSError) as exc:
            # The service still starts: /healthz says what is wrong until the database is back.
            log.error("could not check for interrupted runs: %s", db_reason(exc))
        else:
            if dead:
                log.warning("marked run(s) %s interrupted: their process had died", dead)
                await run_in_threadpool(manager.notifications.runs_interrupted, dead)
        if scheduler:
            scheduler.start()
        staleness.start()
        try:
            yield
        finally:
            staleness.stop()
            if scheduler:
                scheduler.stop()
            await run_in_threadpool(manager.shutdown, SHUTDOWN_JOIN_S)

    app = FastAPI(
        title="ic3sync admin service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's own pages load their scripts from a CDN; ours are served from here.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.manager = manager
    app.state.reads = ReadModels(engine, manager)
    app.state.token_throttle = TokenThrottle()
    for router in ROUTERS:
        app.include_router(router)
    _install_docs(app)
    dashboard.install(app, settings)
    errors.install(app)
    # Added after the others, so it is outside them: no session or parser sees a body it
    # refuses.
    app.add_middleware(BodyLimit)
    # Outermost: its own 413 answers carry the headers too.
    app.add_middleware(SecurityHeaders)
    return app


DOCS_ASSETS = "/docs-assets"
# Swagger UI starts from an inline script and draws its icons from data: URLs.
DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
}


def _install_docs(app: FastAPI) -> None:
    """/docs on Swagger UI's files as installed with fastapi-offline: the page works offline,
    and its Content-Security-Policy lets it load nothing from another host. (ReDoc, the other
    page FastAPI offers, fetches its logo from its vendor's host, so it is not served.)"""
    files = resources.files("fastapi_offline") / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(files)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - docs",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )
        page.headers.update(DOCS_HEADERS)
        return page
