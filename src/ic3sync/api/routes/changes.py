"""The change history over HTTP: an asset's, a run's, and the register's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query

from ic3sync.api.deps import Reads
from ic3sync.api.params import INT64_MAX, AssetId, ColumnName, Limit, Offset, RunId, Source
from ic3sync.api.routes.admin import admin_router
from ic3sync.api.schemas import error_responses
from ic3sync.db.views import ChangePage, RunChanges
from ic3sync.model import clean_asset_id

router = admin_router()


@router.get(
    "/assets/{cmms_asset_id:path}/changes",
    tags=["changes"],
    summary="An asset's changes, newest first",
    response_model=ChangePage,
    responses=error_responses(404),
)
def asset_changes(
    reads: Reads,
    cmms_asset_id: AssetId,
    source: Source = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ChangePage:
    """Each stored value of the asset that a sync (`source` cmms, with the run that changed it)
    or an import (`register`, no run) changed, with its old and new value as stored (text).
    The asset's first sync, and its first import, record none. 404 when the asset is not in
    the register."""
    return reads.asset_changes(
        clean_asset_id(cmms_asset_id), source=source, limit=limit, offset=offset
    )


@router.get(
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


@router.get(
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
    source: Source = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ChangePage:
    return reads.list_changes(
        since=since,
        column=column,
        customer_id=customer_id,
        source=source,
        limit=limit,
        offset=offset,
    )
