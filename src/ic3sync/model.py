"""The value types every layer speaks: which assets a run takes, what happened to each, the
run's result, and the closed sets of run statuses, log statuses and triggers, declared once
(the schema's CHECK constraints, the read models and the dashboard's filters all use these)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

from ic3sync.errors import AssetNotFound, ErrorKind

RunStatus = Literal["running", "completed", "aborted", "cancelled", "interrupted"]
LogStatus = Literal["success", "failed", "skipped"]
Trigger = Literal["cli", "api", "dashboard", "schedule", "demo"]
# What a run takes: every asset, some of them (customer, batch, offset, only failed), or one.
RunScope = Literal["full", "partial", "asset"]
# Where a change in the history came from: a sync (Innomaint) or an import of the register.
ChangeSource = Literal["cmms", "register"]

RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
LOG_STATUSES: tuple[LogStatus, ...] = get_args(LogStatus)
TRIGGERS: tuple[Trigger, ...] = get_args(Trigger)
RUN_SCOPES: tuple[RunScope, ...] = get_args(RunScope)
CHANGE_SOURCES: tuple[ChangeSource, ...] = get_args(ChangeSource)

# The contract's cap on the `errors` of a SyncResult; every failure is in cmms_sync_log.
MAX_RESULT_ERRORS = 100

# The columns an Innomaint answer fills, which the mapping writes and the schema declares.
# Integer columns the vendor sends for an asset, in the order of the spec's UPDATE.
ASSET_INT_COLUMNS = (
    "traceability_id",
    "building_id",
    "floor_id",
    "department_id",
    "asset_building_id",
    "asset_floor_id",
    "asset_department_id",
    "fk_customers_equipment_mapping_id",
    "customers_locations_serialnumber_mapping_id",
    "customer_traceability_id",
    "customer_model_id",
    "location_traceability_id",
    "location_model_id",
    "ticketcount",
    "schedulecount",
    "schedule_configured",
    "schedule_initiate",
    "iot_device_mapped",
    "status",
    "asset_live_status",
    "mapping_status",
    "traceability_status",
    "is_loaner",
    "is_ble_tracking",
    "is_rfid_tracking",
    "is_qr_tracking",
    "is_tracking_enabled",
    "year_of_manufacturing",
)

ASSET_TEXT_COLUMNS = ("barcode", "criticality", "capacity_rating", "in_charge_person")

# The performance strings as the API sends them, and the parsed companion of each.
PERFORMANCE_TEXT_COLUMNS = (
    "serialnumber",
    "equipments_name",
    "equipment_model_name",
    "criticality_type_label",
    "mttr",
    "mtbf",
    "availability",
    "total_ticket_breakdown_hrs",
    "total_schedule_breakdown_hrs",
    "asset_created_date",
    "total_actual_hrs",
)
DURATION_COLUMNS = {
    "mttr": "mttr_seconds",
    "mtbf": "mtbf_seconds",
    "total_actual_hrs": "total_actual_seconds",
    "total_ticket_breakdown_hrs": "total_ticket_breakdown_seconds",
    "total_schedule_breakdown_hrs": "total_schedule_breakdown_seconds",
}

WORKORDER_PERIODS = ("upto", "last_year")
WORKORDER_COUNT_COLUMNS = ("work_estimate_count", "schedule_count", "ticket_count")
WORKORDER_COST_COLUMNS = ("work_estimate_cost", "schedule_cost", "ticket_cost")
# The range of the database's integers (BIGINT, SQLite's INTEGER): every number a command, route
# or form takes to a query is checked against it, never handed to the driver to overflow.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class AssetRef:
    """An asset of the register as a run sees it."""

    asset_id: int
    cmms_asset_id: str
    customer_id: int | None


# C0 (NUL to US) and DEL.
_ID_CONTROL = re.compile("[\x00-\x1f\x7f]")


def has_control_character(text: str) -> bool:
    """Whether `text` holds a control character (a line break, a tab, NUL...): no asset id
    does, so the importer refuses such an id and a lookup knows it cannot be in the register."""
    return _ID_CONTROL.search(text) is not None


def clean_asset_id(raw: str) -> str:
    """An asset id as the register keeps it: trimmed. AssetNotFound for one that cannot be in
    the register (empty, or with control characters, which the importer refuses)."""
    cmms_asset_id = raw.strip()
    if not cmms_asset_id or has_control_character(cmms_asset_id):
        raise AssetNotFound(raw)
    return cmms_asset_id


@dataclass(frozen=True, slots=True)
class AssetSelection:
    """Which assets a run takes. The order is the contract's: report_seq_no, then asset_id."""

    batch: int | None = None
    offset: int = 0
    customer_id: int | None = None
    only_failed: bool = False
    cmms_asset_id: str | None = None

    @property
    def scope(self) -> RunScope:
        """The run's scope: "the last run" means the last `full` one wherever none is named."""
        if self.cmms_asset_id is not None:
            return "asset"
        if (
            self.batch is not None
            or self.offset > 0
            or self.customer_id is not None
            or self.only_failed
        ):
            return "partial"
        return "full"

    def describe(self) -> str:
        """The selection in the words of its filters, for "no asset matches ..."; empty when
        it has none (the whole register)."""
        parts = []
        if self.cmms_asset_id is not None:
            parts.append(f"cmms_asset_id {self.cmms_asset_id!r}")
        if self.customer_id is not None:
            parts.append(f"customer_id {self.customer_id}")
        if self.only_failed:
            parts.append("only failed")
        if self.offset:
            parts.append(f"offset {self.offset}")
        if self.batch is not None:
            parts.append(f"batch {self.batch}")
        return f"{', '.join(parts)} in ic3_asset_master" if parts else ""


@dataclass(slots=True)
class AssetOutcome:
    cmms_asset_id: str
    status: LogStatus
    error: str | None = None
    http_status: int | None = None
    attempts: int = 0
    duration_ms: int = 0
    traceability_id: int | None = None
    http_ms: float = 0.0
    # Why it failed or was skipped, for machines; None for a success.
    error_kind: ErrorKind | None = None


@dataclass(slots=True)
class SyncResult:
    run_id: int
    total: int = 0
    success: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    duration_ms: int = 0
    status: RunStatus = "running"
    error: str | None = None
    http_ms: float = 0.0

    def count(self, outcome: AssetOutcome) -> None:
        """Tally one asset's outcome; the first MAX_RESULT_ERRORS failures keep their reason."""
        if outcome.status == "success":
            self.success += 1
        elif outcome.status == "failed":
            self.failed += 1
            if len(self.errors) < MAX_RESULT_ERRORS:
                self.errors.append(f"{outcome.cmms_asset_id}: {outcome.error}")
        else:
            self.skipped += 1
        self.http_ms += outcome.http_ms

    @property
    def done(self) -> int:
        return self.success + self.failed + self.skipped

    def as_dict(self) -> dict[str, Any]:
        """The contract's SyncResult, plus the run's final status and fatal error if any."""
        return {
            "run_id": self.run_id,
            "total": self.total,
            "success": self.success,
            "failed": self.failed,
            "skipped": self.skipped,
            "errors": self.errors[:MAX_RESULT_ERRORS],
            "duration_ms": self.duration_ms,
            "status": self.status,
            "error": self.error,
        }


# The status of a SyncResult whose selection matched nothing: no run was started.
NO_MATCH = "no_match"


def no_match_result(detail: str) -> dict[str, Any]:
    """The SyncResult of a selection that matched nothing: no run, so no run_id."""
    empty = SyncResult(run_id=0).as_dict()
    return {**empty, "run_id": None, "status": NO_MATCH, "detail": detail}


@dataclass(frozen=True, slots=True)
class AssetRows:
    """What one answer changes. In `master` and `performance` an absent column keeps the stored
    value and a column set to None is written as NULL (the API value did not parse)."""

    cmms_asset_id: str
    traceability_id: int | None
    master: dict[str, Any]
    building: dict[str, Any] | None
    floor: dict[str, Any] | None
    department: dict[str, Any] | None
    performance: dict[str, Any]
    workorders: tuple[dict[str, Any], ...]
    problems: tuple[str, ...]
    # Oddities of the answer worth a line in the log row that stored nothing as NULL.
    notes: tuple[str, ...] = ()


@dataclass(slots=True)
class LiveProgress:
    """What a process knows of a run it is executing, fresher than the run row."""

    current: str | None = None
    success: int = 0
    failed: int = 0
    skipped: int = 0

    def counts(self) -> dict[str, int]:
        return {"success": self.success, "failed": self.failed, "skipped": self.skipped}

    def count(self, outcome: AssetOutcome) -> None:
        if outcome.status == "success":
            self.success += 1
        elif outcome.status == "failed":
            self.failed += 1
        else:
            self.skipped += 1


class RunObserver(Protocol):
    """What a run tells while it goes: the terminal's progress bar, the run manager's live view
    and the metrics listen. A class that subclasses this one overrides only what it needs."""

    def run_started(self, run_id: int, total: int) -> None:
        """The run has its row and its assets; nothing is synced yet."""
        return None

    def asset_started(self, index: int, asset: AssetRef) -> None:
        return None

    def asset_done(self, index: int, outcome: AssetOutcome) -> None:
        """The asset's outcome is committed with its log row."""
        return None

    def run_finished(self, result: SyncResult) -> None:
        """The run row is closed; `result` is final."""
        return None

    def runs_interrupted(self, run_ids: list[int]) -> None:
        """Runs left `running` by a process that died were just marked interrupted (their
        own process cannot tell anyone any more)."""
        return None


class Observers(RunObserver):
    """Several observers as one, told in the order given."""

    def __init__(self, *observers: RunObserver | None) -> None:
        self.observers = [o for o in observers if o is not None]

    def run_started(self, run_id: int, total: int) -> None:
        for o in self.observers:
            o.run_started(run_id, total)

    def asset_started(self, index: int, asset: AssetRef) -> None:
        for o in self.observers:
            o.asset_started(index, asset)

    def asset_done(self, index: int, outcome: AssetOutcome) -> None:
        for o in self.observers:
            o.asset_done(index, outcome)

    def run_finished(self, result: SyncResult) -> None:
        for o in self.observers:
            o.run_finished(result)

    def runs_interrupted(self, run_ids: list[int]) -> None:
        for o in self.observers:
            o.runs_interrupted(run_ids)
