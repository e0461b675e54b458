"""Starting syncs over HTTP: a batch of the register, or one asset now."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import JSONResponse

from ic3sync.api.deps import Manager, Reads
from ic3sync.api.params import INT32_MAX, INT64_MAX, AssetId
from ic3sync.api.routes.admin import PREFIX, admin_router
from ic3sync.api.schemas import (
    AssetSynced,
    AssetSyncError,
    ErrorBody,
    RunStarted,
    SyncResultBody,
    error_responses,
)
from ic3sync.db.selection import left_after
from ic3sync.errors import NoAssetMatches
from ic3sync.model import AssetSelection, no_match_result

router = admin_router()


@router.post(
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
    reads: Reads,
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
    null and the selection in `detail` (with `wait=false` too). `batch` defaults to 100:
    `remaining` says how many assets the batch left for later and `next_offset` where the next
    batch starts (null when nothing is left)."""
    selection = AssetSelection(
        batch=batch, offset=offset, customer_id=customer_id, only_failed=only_failed
    )
    # Counted before the run: an only-failed run's assets leave the filter as they succeed.
    matching = reads.count_matching(selection)
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
    result = handle.wait()
    remaining, next_offset = left_after(matching, selection, result.total)
    return SyncResultBody(**result.as_dict(), remaining=remaining, next_offset=next_offset)


@router.post(
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
