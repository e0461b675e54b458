"""The routes: /api/admin/cmms/* (behind the admin token), /healthz and /metrics (open)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ic3sync.api import present
from ic3sync.api.deps import Manager, Reads, check_admin_request, require_admin
from ic3sync.api.params import (
    INT32_MAX,
    INT64_MAX,
    AssetId,
    ColumnName,
    Limit,
    Offset,
    RunId,
)
from ic3sync.api.schemas import (
    AssetSynced,
    AssetSyncError,
    ErrorBody,
    Health,
    RunStarted,
    SyncResultBody,
    error_responses,
)
from ic3sync.db import migrate as migrations
from ic3sync.db.errors import db_reason
from ic3sync.db.views import AssetDetail, ChangePage, LogPage, RunChanges, RunPage, RunView
from ic3sync.errors import NoAssetMatches
from ic3sync.metrics import CONTENT_TYPE
from ic3sync.model import AssetSelection, LogStatus, RunStatus, clean_asset_id, no_match_result

log = logging.getLogger("ic3sync.api")

PREFIX = "/api/admin/cmms"

admin = APIRouter(
    prefix=PREFIX,
    dependencies=[Depends(check_admin_request), Depends(require_admin)],
    # Any admin route answers 503 while the database is unreachable.
    responses=error_responses(401, 403, 413, 503),
)
ops = APIRouter(tags=["operations"])


@admin.post(
    "/sync",
    tags=["runs"],
    summary="Sync a batch of assets",
    response_model=SyncResultBody,
    responses={
        202: {
            "model": RunStarted,
            "description": "with wait=false: the run started; watch it at the Location header",
        },
        **error_responses(409),
    },
)
def sync_batch(
    manager: Manager,
    batch: Annotated[int, Query(ge=1, le=INT32_MAX, description="at most this many assets")] = 100,
    offset: Annotated[
        int, Query(ge=0, le=INT32_MAX, description="skip this many assets of the register")
    ] = 0,
    customer_id: Annotated[
        int | None, Query(ge=0, le=INT64_MAX, description="only this customer's assets")
    ] = None,
    only_failed: Annotated[
        bool, Query(description="only the assets whose latest outcome failed")
    ] = False,
    wait: Annotated[
        bool, Query(description="false: answer 202 at once and run in the background")
    ] = True,
) -> SyncResultBody | JSONResponse:
    """One sequential run over the register in `report_seq_no` order, like `ic3sync sync`.
    Waits for the end and answers the SyncResult, or with `wait=false` answers 202 with the
    run_id at once. While any run is going (this service, another one, or the CLI): 409.
    A selection that matches no asset starts no run: 200 with `status` "no_match", `run_id`
    null and the selection in `detail` (with `wait=false` too)."""
    selection = AssetSelection(
        batch=batch, offset=offset, customer_id=customer_id, only_failed=only_failed
    )
    try:
        handle = manager.start(selection, trigger="api")
    except NoAssetMatches as exc:
        # Nothing to do is an answer, not an error: a client paging with `offset` stops here.
        return SyncResultBody(**no_match_result(str(exc)))
    if not wait:
        assert handle.run_id is not None
        location = f"{PREFIX}/runs/{handle.run_id}"
        body = RunStarted(run_id=handle.run_id, location=location)
        return JSONResponse(body.model_dump(), status_code=202, headers={"Location": location})
    return SyncResultBody.of(handle.wait())


@admin.post(
    "/sync/{cmms_asset_id:path}",
    tags=["assets"],
    summary="Sync one asset now",
    response_model=AssetSynced,
    responses={
        404: {"model": ErrorBody, "description": "the asset is not in ic3_asset_master"},
        502: {"model": AssetSyncError, "description": "the Innomaint API failed for this asset"},
        **error_responses(409),
    },
)
def sync_one_asset(manager: Manager, cmms_asset_id: AssetId) -> AssetSynced:
    """Fetch and store one asset, as a run of one (it appears in the runs and their log)."""
    run_id, outcome = manager.sync_now(cmms_asset_id, trigger="api")
    return AssetSynced(
        cmms_asset_id=outcome.cmms_asset_id,
        traceability_id=outcome.traceability_id,
        run_id=run_id,
        note=outcome.error,
    )


@admin.get("/runs", tags=["runs"], summary="List runs, newest first", response_model=RunPage)
def list_runs(
    reads: Reads,
    status: Annotated[RunStatus | None, Query(description="only runs in this status")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> RunPage:
    return reads.list_runs(status=status, limit=limit, offset=offset)


@admin.get(
    "/runs/{run_id}",
    tags=["runs"],
    summary="One run: status, counts, progress, ETA",
    response_model=RunView,
    responses=error_responses(404),
)
def get_run(reads: Reads, run_id: RunId) -> RunView:
    return reads.get_run(run_id)


@admin.get(
    "/runs/{run_id}/log",
    tags=["runs"],
    summary="A run's per-asset log rows",
    response_model=LogPage,
    responses=error_responses(404),
)
def run_log(
    reads: Reads,
    run_id: RunId,
    status: Annotated[LogStatus | None, Query(description="only rows in this status")] = None,
    cmms_asset_id: Annotated[str | None, Query(description="only this asset's row")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 100,
    offset: Offset = 0,
) -> LogPage:
    if cmms_asset_id is not None and "\x00" in cmms_asset_id:
        return LogPage(items=[], total=0, limit=limit, offset=offset)
    return reads.run_log(
        run_id, status=status, cmms_asset_id=cmms_asset_id, limit=limit, offset=offset
    )


@admin.post(
    "/runs/{run_id}/cancel",
    tags=["runs"],
    summary="Cancel a run, wherever it was started",
    response_model=RunView,
    responses=error_responses(404, 409),
)
def cancel_run(manager: Manager, run_id: RunId) -> RunView:
    """The asset in flight finishes or rolls back, the rest are logged skipped, and the run
    ends `cancelled`. Works for runs of this service, of another one and of the CLI: the
    request is recorded in the run's row, which the running process reads between assets.
    Answers the run once it has stopped (or after 10 s, still `running`). A run that is not
    running answers 409."""
    return present.with_time_left(manager.cancel(run_id))


# Before /assets/{cmms_asset_id:path}, which would take ".../changes" as part of an asset id.
@admin.get(
    "/assets/{cmms_asset_id:path}/changes",
    tags=["changes"],
    summary="An asset's changes, newest first",
    response_model=ChangePage,
    responses=error_responses(404),
)
def asset_changes(
    reads: Reads, cmms_asset_id: AssetId, limit: Limit = 50, offset: Offset = 0
) -> ChangePage:
    """Each stored value of the asset that a sync changed, with its old and new value as
    stored (text) and the run that changed it. The asset's first sync is its baseline and
    records none. 404 when the asset is not in the register."""
    return reads.asset_changes(clean_asset_id(cmms_asset_id), limit=limit, offset=offset)


@admin.get(
    "/runs/{run_id}/changes",
    tags=["changes"],
    summary="What changed in a run: counts per column, then the rows",
    response_model=RunChanges,
    responses=error_responses(404),
)
def run_changes(
    reads: Reads,
    run_id: RunId,
    column: ColumnName = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> RunChanges:
    """`by_column` counts the run's changes and the assets they touched per column, most
    changed first; `items` are the rows in the order the run wrote them (`column` filters them)."""
    return reads.run_changes(run_id, column=column, limit=limit, offset=offset)


@admin.get(
    "/changes",
    tags=["changes"],
    summary="Changes across the register, newest first",
    response_model=ChangePage,
)
def list_changes(
    reads: Reads,
    since: Annotated[
        datetime | None,
        Query(
            description="only changes at or after this instant (ISO 8601; a date or a time "
            "without an offset is UTC)",
            examples=["2026-11-01"],
        ),
    ] = None,
    column: ColumnName = None,
    customer_id: Annotated[
        int | None, Query(ge=0, le=INT64_MAX, description="only this customer's assets")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ChangePage:
    return reads.list_changes(
        since=since, column=column, customer_id=customer_id, limit=limit, offset=offset
    )


@admin.get(
    "/assets/{cmms_asset_id:path}",
    tags=["assets"],
    summary="An asset's stored detail and its latest log rows",
    response_model=AssetDetail,
    responses=error_responses(404),
)
def get_asset(
    reads: Reads,
    cmms_asset_id: AssetId,
    log_limit: Annotated[int, Query(ge=0, le=100, description="how many log rows")] = 10,
) -> AssetDetail:
    return reads.asset_detail(clean_asset_id(cmms_asset_id), log_limit=log_limit)


@ops.get(
    "/healthz",
    summary="200 when the database answers and its schema is current",
    response_model=Health,
    responses={503: {"model": ErrorBody, "description": "the database does not answer"}},
)
def healthz(reads: Reads) -> Health | JSONResponse:
    try:
        outdated = reads.schema_problem()
    except sa.exc.SQLAlchemyError as exc:
        # This route is open to anyone: the driver's words (host, port, user) stay in the log.
        log.error("/healthz: database unreachable: %s", db_reason(exc))
        return JSONResponse({"detail": "database unreachable"}, status_code=503)
    if outdated:
        return JSONResponse({"detail": outdated}, status_code=503)
    return Health(database=reads.database, schema_revision=migrations.head_revision())


@ops.get(
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
