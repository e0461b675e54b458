"""The open routes for operations: /healthz and /metrics."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ic3sync.api.deps import AppSettings, Reads
from ic3sync.api.schemas import ErrorBody, Health
from ic3sync.db import migrate as migrations
from ic3sync.db.errors import db_reason
from ic3sync.metrics import CONTENT_TYPE

log = logging.getLogger("ic3sync.api")

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="200 when the database answers and its schema is current",
    response_model=Health,
    responses={503: {"model": ErrorBody, "description": "the database does not answer"}},
)
def healthz(reads: Reads, settings: AppSettings) -> Health | JSONResponse:
    """200 while the database answers with a current schema, stale or not: staleness is a
    warning in the body (`stale`, `warning`), for a monitor to read, not an outage."""
    try:
        outdated = reads.schema_problem()
        # Read only from a schema this code knows.
        last, warning = (None, None) if outdated else reads.stale_warning(settings.stale_after_h)
    except sa.exc.SQLAlchemyError as exc:
        # This route is open to anyone: the driver's words (host, port, user) stay in the log.
        log.error("/healthz: database unreachable: %s", db_reason(exc))
        return JSONResponse({"detail": "database unreachable"}, status_code=503)
    if outdated:
        return JSONResponse({"detail": outdated}, status_code=503)
    return Health(
        database=reads.database,
        schema_revision=migrations.head_revision(),
        last_full_run_completed_at=last,
        stale=warning is not None,
        warning=warning,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "content": {
                "text/plain": {
                    "example": "# TYPE ic3sync_run_in_progress gauge\nic3sync_run_in_progress 0.0\n"
                }
            }
        }
    },
)
def metrics(request: Request) -> Response:
    body = request.app.state.manager.metrics.render()
    return Response(body, media_type=CONTENT_TYPE)
