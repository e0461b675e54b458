"""The runs over HTTP: the history, one run with its progress, its log rows, and cancelling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from ic3sync.api import present
from ic3sync.api.deps import Manager, Reads
from ic3sync.api.params import Limit, Offset, RunId
from ic3sync.api.routes.admin import admin_router
from ic3sync.api.schemas import error_responses
from ic3sync.db.views import LogPage, RunPage, RunView
from ic3sync.model import LogStatus, RunStatus

router = admin_router()


@router.get("/runs", tags=["runs"], summary="List runs, newest first", response_model=RunPage)
def list_runs(
    reads: Reads,
    status: Annotated[RunStatus | None, Query(description="only runs in this status")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> RunPage:
    return reads.list_runs(status=status, limit=limit, offset=offset)


@router.get(
    "/runs/{run_id}",
    tags=["runs"],
    summary="One run: status, counts, progress, ETA",
    response_model=RunView,
    responses=error_responses(404),
)
def get_run(reads: Reads, run_id: RunId) -> RunView:
    return reads.get_run(run_id)


@router.get(
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


@router.post(
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
