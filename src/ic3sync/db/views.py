"""The read models: runs, their log rows, an asset's stored detail, failure groups, register
health and customers, as db/read/ returns them and the HTTP API answers them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ic3sync.errors import ErrorKind
from ic3sync.model import ChangeSource, LogStatus, RunScope, RunStatus, Trigger


class RunFilters(BaseModel):
    batch: int | None = None
    offset: int = 0
    customer_id: int | None = None
    only_failed: bool = False
    cmms_asset_id: str | None = None


class RunView(BaseModel):
    """A run as its row tells it, with progress computed for a running one."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "run_id": 12,
                    "trigger": "api",
                    "scope": "partial",
                    "status": "running",
                    "filters": {
                        "batch": 100,
                        "offset": 0,
                        "customer_id": None,
                        "only_failed": False,
                        "cmms_asset_id": None,
                    },
                    "total": 100,
                    "success": 41,
                    "failed": 1,
                    "skipped": 0,
                    "done": 42,
                    "progress_pct": 42.0,
                    "current_asset": "Delhi Cantt Naraina_BP_01",
                    "eta_s": 11.6,
                    "started_at": "2026-11-23T11:20:01.214000Z",
                    "heartbeat_at": "2026-11-23T11:20:09.530000Z",
                    "finished_at": None,
                    "duration_ms": None,
                    "error": None,
                    "host": "ic3-app-01",
                    "pid": 4242,
                }
            ]
        }
    )

    run_id: int
    trigger: Trigger
    scope: RunScope = Field(
        description="full: every asset; partial: a customer, batch, offset or only the failed; "
        "asset: one asset"
    )
    status: RunStatus
    filters: RunFilters
    total: int
    success: int
    failed: int
    skipped: int
    done: int = Field(description="assets logged so far: success + failed + skipped")
    progress_pct: float
    current_asset: str | None = Field(
        None, description="the asset being synced (or the last one recorded, from another process)"
    )
    eta_s: float | None = Field(
        None, description="seconds left at the pace so far; null when not running or unknown"
    )
    started_at: datetime
    heartbeat_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    error: str | None = None
    host: str | None = None
    pid: int | None = None


class RunPage(BaseModel):
    items: list[RunView]
    total: int = Field(description="runs matching the filter")
    limit: int
    offset: int


class LogRow(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "log_id": 311,
                    "run_id": 12,
                    "customer_id": 24463,
                    "cmms_asset_id": "Khyala Phase 2_CL_01",
                    "status": "failed",
                    "error_message": "HTTP 404 Not Found: asset not found",
                    "error_kind": "http_404",
                    "http_status": 404,
                    "attempts": 1,
                    "synced_at": "2026-11-23T11:20:04.101000Z",
                    "duration_ms": 38,
                }
            ]
        }
    )

    log_id: int
    run_id: int
    customer_id: int | None = None
    cmms_asset_id: str
    status: LogStatus
    error_message: str | None = None
    error_kind: ErrorKind | None = Field(
        None, description="why the asset failed or was skipped, for machines; null on success"
    )
    http_status: int | None = None
    attempts: int
    synced_at: datetime
    duration_ms: int | None = None


class LogPage(BaseModel):
    items: list[LogRow]
    total: int = Field(description="log rows of the run matching the filter")
    limit: int
    offset: int


class AssetDetail(BaseModel):
    """What is stored about one asset, and its latest log rows across runs."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "asset": {
                        "asset_id": 1,
                        "cmms_asset_id": "Delhi Cantt Naraina_BP_01",
                        "traceability_id": 577833,
                        "criticality": "High",
                        "sync_version": 3,
                        "last_synced_at": "2026-11-23T11:20:02.020000Z",
                    },
                    "building": {"building_id": 1201, "building_name": "Naraina BPS"},
                    "floor": None,
                    "department": None,
                    "performance": {"mttr": "12:30:00", "mttr_seconds": 45000},
                    "workorders": [{"period_type": "upto", "ticket_count": 12}],
                    "recent_log": [],
                }
            ]
        }
    )

    asset: dict[str, Any]
    building: dict[str, Any] | None = None
    floor: dict[str, Any] | None = None
    department: dict[str, Any] | None = None
    performance: dict[str, Any] | None = None
    workorders: list[dict[str, Any]] = Field(default_factory=list)
    recent_log: list[LogRow] = Field(default_factory=list)


class FailureGroup(BaseModel):
    """Failed log rows of a run that share an HTTP status and a message."""

    error_kind: ErrorKind | None
    http_status: int | None
    error_message: str | None
    count: int


class FailureKind(BaseModel):
    """A run's failed assets of one kind: how many, a message of theirs, the first few."""

    error_kind: ErrorKind | None
    count: int
    example: str | None = Field(description="the message of the first asset of this kind")
    first_assets: list[str] = Field(description="the first assets that failed so, in run order")


class RegisterHealth(BaseModel):
    """The register by each asset's latest decided outcome (success or failure)."""

    total: int
    never_synced: int
    last_ok: int
    last_failed: int
    oldest_synced_at: datetime | None = None


class CustomerCount(BaseModel):
    customer_id: int
    customer_name: str | None = None
    assets: int


class ChangeRow(BaseModel):
    """One stored value a sync or an import changed, old and new as stored (text)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "change_id": 981,
                    "asset_id": 1,
                    "cmms_asset_id": "Delhi Cantt Naraina_BP_01",
                    "run_id": 14,
                    "table_name": "ic3_asset_master",
                    "column_name": "criticality",
                    "old_value": "Medium",
                    "new_value": "High",
                    "changed_at": "2026-11-24T01:00:03.412000Z",
                    "source": "cmms",
                }
            ]
        }
    )

    change_id: int
    asset_id: int
    cmms_asset_id: str
    run_id: int | None = Field(description="the run that changed it; null for an import")
    table_name: str
    column_name: str = Field(
        description="the column; work-order columns carry their period (`upto.ticket_count`)"
    )
    old_value: str | None = None
    new_value: str | None = None
    changed_at: datetime
    source: ChangeSource = Field(
        description="`cmms`: a sync wrote what Innomaint sent; `register`: an import wrote the "
        "sheet's value"
    )


class ChangePage(BaseModel):
    items: list[ChangeRow]
    total: int = Field(description="changes matching the filter")
    limit: int
    offset: int


class ColumnChanges(BaseModel):
    """How many values of one column changed, and in how many assets, by a sync (`cmms`) or
    an import (`register`)."""

    table_name: str
    column_name: str
    changes: int
    assets: int
    source: ChangeSource = "cmms"


class RunChanges(ChangePage):
    """A run's changes: counted by column, then the rows, oldest first."""

    run_id: int
    by_column: list[ColumnChanges]
