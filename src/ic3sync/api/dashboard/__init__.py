"""The operations dashboard at `/`: server-rendered pages over the run manager and the read
models, a session login when IC3_ADMIN_TOKEN is set, and every state change as a same-origin
POST. A module per part (auth, overview, runs, downloads, the assets list, an asset, what needs
attention), composed here in one router; errors as pages in errors.py, request checks in
checks.py, templates in templating.py."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from ic3sync.api.dashboard import asset_list, assets, attention, auth, downloads, overview, runs
from ic3sync.api.dashboard.checks import session_secret
from ic3sync.api.dashboard.sessions import SchemeSessions
from ic3sync.config import Settings

router = APIRouter()
for part in (auth, overview, runs, downloads, asset_list, assets, attention):
    router.include_router(part.router)


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the dashboard, its static files and the session cookie on the admin app."""
    static = resources.files("ic3sync.api") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.include_router(router)
    app.add_middleware(SchemeSessions, secret_key=session_secret(settings))


__all__ = ["install", "router"]
