"""The HTTP API's routes: the admin API under /api/admin/cmms (sync triggers, runs, changes,
assets; behind the admin token) and the open operations routes (/healthz, /metrics)."""

from fastapi import APIRouter

from ic3sync.api.routes import assets, changes, operations, runs, triggers

# In this order: the changes' router before the assets', whose /assets/{cmms_asset_id:path}
# would take ".../changes" as part of an asset id.
ROUTERS: tuple[APIRouter, ...] = (
    triggers.router,
    runs.router,
    changes.router,
    assets.router,
    operations.router,
)

__all__ = ["ROUTERS"]
