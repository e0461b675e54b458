"""The HTTP bodies of the admin service that are not read models (those are in db/views.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ic3sync.model import SyncResult


class ErrorBody(BaseModel):
    """Every error answer: `detail` says what went wrong in words an operator can act on."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": "a sync is already running (run 12); wait for it or cancel it",
                    "run_id": 12,
                }
            ]
        }
    )

    detail: str
    run_id: int | None = Field(None, description="the run concerned, when there is one")


class SyncResultBody(BaseModel):
    """The contract's SyncResult, with the run's final status and fatal error."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "run_id": 7,
                    "total": 100,
                    "success": 98,
                    "failed": 2,
                    "skipped": 0,
                    "errors": [
                        "Khyala Phase 2_CL_01: HTTP 404 Not Found: asset not found",
                        "Hari Nagar_CWP_02: Innomaint answered status false: No record found",
                    ],
                    "duration_ms": 20512,
                    "status": "completed",
                    "error": None,
                    "remaining": 2900,
                    "next_offset": 100,
                }
            ]
        }
    )

    run_id: int | None = Field(description="null when the selection matched no asset")
    total: int
    success: int
    failed: int
    skipped: int
    errors: list[str] = Field(description="'<cmms_asset_id>: <reason>', at most 100")
    duration_ms: int
    status: str = Field(
        description="completed, aborted or cancelled; no_match when no asset matched the "
        "selection and so no run was started"
    )
    error: str | None = Field(None, description="why the run stopped early, if it did")
    detail: str | None = Field(None, description="with no_match: which selection matched nothing")
    remaining: int | None = Field(
        None,
        description="assets of the selection past this batch, left for a later run (0 when "
        "the batch reached the end)",
    )
    next_offset: int | None = Field(
        None, description="the `offset` of the next batch; null when nothing is left"
    )

    @classmethod
    def of(cls, result: SyncResult) -> SyncResultBody:
        return cls(**result.as_dict())


class RunStarted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"run_id": 8, "status": "running", "location": "/api/admin/cmms/runs/8"}]
        }
    )

    run_id: int
    status: str = "running"
    location: str = Field(description="where to watch the run (also the Location header)")


class AssetSynced(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "synced",
                    "cmms_asset_id": "Delhi Cantt Naraina_BP_01",
                    "traceability_id": 577833,
                    "run_id": 9,
                    "note": None,
                }
            ]
        }
    )

    status: str = "synced"
    cmms_asset_id: str
    traceability_id: int | None
    run_id: int
    note: str | None = Field(
        None, description="values that did not parse and were stored as NULL, if any"
    )


class AssetSyncError(ErrorBody):
    cmms_asset_id: str


class Health(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "database": "postgresql",
                    "schema_revision": "0009",
                    "last_full_run_completed_at": "2026-12-06T20:41:09Z",
                    "stale": False,
                    "warning": None,
                }
            ]
        }
    )

    status: str = "ok"
    database: str = Field(description="the database backend that answered")
    schema_revision: str | None
    last_full_run_completed_at: datetime | None = Field(
        None, description="when the last full run (every asset) completed; null when none has"
    )
    stale: bool = Field(
        False, description="no full run has completed for IC3_STALE_AFTER_H hours (or ever)"
    )
    warning: str | None = Field(None, description="what is stale, in words; null when fresh")


def error_responses(*codes: int, model: Any = ErrorBody) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error codes a route can answer."""
    described = {
        401: "missing or wrong admin token; with Retry-After, too many wrong ones came from "
        "this address, and no token of it is tried until then",
        403: "a foreign Host without IC3_ADMIN_TOKEN, or a state change from another site",
        413: "the request body is larger than 64 KB",
        404: "not found",
        409: "a run is going (its run_id is in the body) or the run cannot be cancelled",
        502: "the Innomaint API failed for this asset",
        503: "INNOMAINT_API_TOKEN is not set, the database is unreachable, or shutting down",
    }
    return {code: {"model": model, "description": described[code]} for code in codes}
