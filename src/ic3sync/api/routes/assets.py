"""An asset over HTTP: what is stored about it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from ic3sync.api.deps import Reads
from ic3sync.api.params import AssetId
from ic3sync.api.routes.admin import admin_router
from ic3sync.api.schemas import error_responses
from ic3sync.db.views import AssetDetail
from ic3sync.model import clean_asset_id

router = admin_router()


@router.get(
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
