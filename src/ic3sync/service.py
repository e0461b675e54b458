"""The service layer of the admin HTTP service (and any other front end): start, watch and cancel
sync runs in a background thread, and read runs, their log and an asset's stored detail."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from ic3sync.config import Settings
from ic3sync.db import repository as repo
from ic3sync.db.repository import AssetRef, AssetSelection
from ic3sync.db.schema import (
    asset_master,
    asset_performance,
    building,
    department,
    floor,
    sync_log,
    sync_run,
    workorder_summary,
)
from ic3sync.errors import AssetNotFound, DatabaseError, Ic3SyncError, RunInProgress
from ic3sync.metrics import SyncMetrics
from ic3sync.sync import AssetOutcome, SyncResult, run_sync
from ic3sync.vendor.client import InnomaintClient

log = logging.getLogger("ic3sync.service")

RunStatus = Literal["running", "completed", "aborted", "cancelled", "interrupted"]
LogStatus = Literal["success", "failed", "skipped"]
Trigger = Literal["cli", "api", "schedule"]

# How long a cancel request waits for the asset in flight to finish before answering.
CANCEL_WAIT_S = 10.0


# --- errors of the service layer, turned into HTTP codes by api/ ----------------------------


class RunNotFound(Ic3SyncError):
    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id} does not exist")


class RunNotCancellable(Ic3SyncError):
    """The run is over, or it belongs to another process that this one cannot signal."""

    def __init__(self, run_id: int, message: str) -> None:
        self.run_id = run_id
        super().__init__(message)


class ServiceStopping(Ic3SyncError):
    def __init__(self) -> None:
        super().__init__("the service is shutting down; no new run is started")


class AssetSyncFailed(Ic3SyncError):
    """A single-asset sync ran but the asset failed (the vendor's reason) or the run stopped."""

    def __init__(self, cmms_asset_id: str, run_id: int, reason: str, *, vendor: bool) -> None:
        self.cmms_asset_id = cmms_asset_id
        self.run_id = run_id
        self.reason = reason
        self.vendor = vendor
        super().__init__(f"{cmms_asset_id}: {reason}")


# --- log context: run_id and cmms_asset_id on every line a run's thread writes ---------------

_run_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("run_id", default=None)
_asset: contextvars.ContextVar[str | None] = contextvars.ContextVar("cmms_asset_id", default=None)


class LogContextFilter(logging.Filter):
    """Adds the run and asset a thread is working on to records that do not name them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "run_id", None) is None:
            record.run_id = _run_id.get()
        if getattr(record, "cmms_asset_id", None) is None:
            record.cmms_asset_id = _asset.get()
        return True


def install_log_context() -> None:
    """Attach the filter to the root handlers that ic3sync.logs.setup_logging installed."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, LogContextFilter) for f in handler.filters):
            handler.addFilter(LogContextFilter())


# --- read models --------------------------------------------------------------------------


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


# --- read queries: plain functions over a connection ---------------------------------------


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without their zone; they were written in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _plain(row: sa.RowMapping | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = _utc(value)
        elif isinstance(value, Decimal):
            # Money and percentages as strings keep their exact digits in JSON.
            value = str(value)
        elif isinstance(value, date):
            value = value.isoformat()
        out[key] = value
    return out


def _run_view(row: sa.RowMapping, live: _LiveRun | None = None) -> RunView:
    status = row["status"]
    counts = {"success": row["success"], "failed": row["failed"], "skipped": row["skipped"]}
    current = row["current_asset"]
    if live is not None:
        counts = live.counts()
        current = live.current
    done = sum(counts.values())
    total = row["total"]
    started = _utc(row["started_at"])
    assert started is not None  # NOT NULL column
    eta = None
    if status == "running" and done and total > done:
        elapsed = (datetime.now(UTC) - started).total_seconds()
        eta = round(elapsed / done * (total - done), 1)
    return RunView(
        run_id=row["run_id"],
        trigger=row["trigger"],
        status=status,
        filters=RunFilters(
            batch=row["batch_size"],
            offset=row["offset_start"],
            customer_id=row["customer_id"],
            only_failed=row["only_failed"],
            cmms_asset_id=row["cmms_asset_id"],
        ),
        total=total,
        done=done,
        progress_pct=round(100.0 * done / total, 1) if total else 0.0,
        current_asset=current if status == "running" else None,
        eta_s=eta,
        started_at=started,
        heartbeat_at=_utc(row["heartbeat_at"]),
        finished_at=_utc(row["finished_at"]),
        duration_ms=row["duration_ms"],
        error=row["error"],
        host=row["host"],
        pid=row["pid"],
        **counts,
    )


def list_runs(
    conn: sa.Connection,
    *,
    status: RunStatus | None = None,
    trigger: Trigger | None = None,
    limit: int = 20,
    offset: int = 0,
) -> RunPage:
    """Runs, newest first."""
    where = [sync_run.c.status == status] if status else []
    if trigger:
        where.append(sync_run.c.trigger == trigger)
    total = conn.execute(sa.select(sa.func.count()).select_from(sync_run).where(*where)).scalar()
    rows = conn.execute(
        sa.select(sync_run)
        .where(*where)
        .order_by(sync_run.c.run_id.desc())
        .limit(limit)
        .offset(offset)
    ).mappings()
    items = [_run_view(r, _live_of(r)) for r in rows]
    return RunPage(items=items, total=total or 0, limit=limit, offset=offset)


def get_run(conn: sa.Connection, run_id: int) -> RunView:
    row = conn.execute(sa.select(sync_run).where(sync_run.c.run_id == run_id)).mappings().first()
    if row is None:
        raise RunNotFound(run_id)
    if row["status"] == "running" and (live := _live_of(row)) is not None:
        return _run_view(row, live)
    if row["status"] == "running":
        # Another process runs it: its row's counters lag by a heartbeat, the log does not.
        merged = {**row, **repo.log_counts(conn, run_id)}
        return _run_view(merged)  # type: ignore[arg-type]
    return _run_view(row)


def run_log(
    conn: sa.Connection,
    run_id: int,
    *,
    status: LogStatus | None = None,
    cmms_asset_id: str | None = None,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> LogPage:
    """A run's per-asset rows in the order they were written; `search` keeps the rows whose
    asset id contains it, ignoring case."""
    exists = conn.execute(sa.select(sync_run.c.run_id).where(sync_run.c.run_id == run_id)).first()
    if exists is None:
        raise RunNotFound(run_id)
    where = [sync_log.c.run_id == run_id]
    if status:
        where.append(sync_log.c.status == status)
    if cmms_asset_id is not None:
        where.append(sync_log.c.cmms_asset_id == cmms_asset_id)
    if search:
        # autoescape: an id with % or _ is searched for as written.
        where.append(sync_log.c.cmms_asset_id.icontains(search, autoescape=True))
    total = conn.execute(sa.select(sa.func.count()).select_from(sync_log).where(*where)).scalar()
    rows = conn.execute(
        sa.select(sync_log).where(*where).order_by(sync_log.c.log_id).limit(limit).offset(offset)
    ).mappings()
    return LogPage(
        items=[LogRow(**_plain(r)) for r in rows],  # type: ignore[arg-type]
        total=total or 0,
        limit=limit,
        offset=offset,
    )


def asset_detail(conn: sa.Connection, cmms_asset_id: str, *, log_limit: int = 10) -> AssetDetail:
    """The stored detail of an asset; AssetNotFound when it is not in the register."""
    master = (
        conn.execute(sa.select(asset_master).where(asset_master.c.cmms_asset_id == cmms_asset_id))
        .mappings()
        .first()
    )
    if master is None:
        raise AssetNotFound(cmms_asset_id)
    asset_id = master["asset_id"]

    def one(table: sa.Table, column: str, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        row = conn.execute(sa.select(table).where(table.c[column] == value)).mappings().first()
        return _plain(row)

    workorders = conn.execute(
        sa.select(workorder_summary)
        .where(workorder_summary.c.asset_id == asset_id)
        .order_by(workorder_summary.c.period_type)
    ).mappings()
    logs = conn.execute(
        sa.select(sync_log)
        .where(sync_log.c.cmms_asset_id == cmms_asset_id)
        .order_by(sync_log.c.log_id.desc())
        .limit(log_limit)
    ).mappings()
    return AssetDetail(
        asset=_plain(master) or {},
        building=one(building, "building_id", master["building_id"]),
        floor=one(floor, "floor_id", master["floor_id"]),
        department=one(department, "department_id", master["department_id"]),
        performance=one(asset_performance, "asset_id", asset_id),
        workorders=[p for w in workorders if (p := _plain(w)) is not None],
        recent_log=[LogRow(**_plain(r)) for r in logs],  # type: ignore[arg-type]
    )


class FailureGroup(BaseModel):
    """Failed log rows of a run that share an HTTP status and a message."""

    http_status: int | None
    error_message: str | None
    count: int


def failure_groups(conn: sa.Connection, run_id: int) -> list[FailureGroup]:
    """A run's failures grouped by (http_status, error_message), most frequent first."""
    n = sa.func.count().label("n")
    rows = conn.execute(
        sa.select(sync_log.c.http_status, sync_log.c.error_message, n)
        .where(sync_log.c.run_id == run_id, sync_log.c.status == "failed")
        .group_by(sync_log.c.http_status, sync_log.c.error_message)
        .order_by(n.desc(), sync_log.c.error_message)
    )
    return [FailureGroup(http_status=h, error_message=m, count=c) for h, m, c in rows]


class RegisterHealth(BaseModel):
    """The register by each asset's latest decided outcome (success or failure)."""

    total: int
    never_synced: int
    last_ok: int
    last_failed: int
    oldest_synced_at: datetime | None = None


def register_health(conn: sa.Connection) -> RegisterHealth:
    failed = sa.case((repo.latest_outcome_failed(), 1), else_=0)
    # A success stamps last_synced_at in the asset's transaction, so a stamp whose asset did
    # not fail since is a success.
    ok = sa.case((asset_master.c.last_synced_at.is_not(None), 1), else_=0)
    row = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(failed), 0),
            sa.func.coalesce(sa.func.sum(ok * (1 - failed)), 0),
            sa.func.min(asset_master.c.last_synced_at),
        ).select_from(asset_master)
    ).one()
    total, last_failed, last_ok, oldest = row
    return RegisterHealth(
        total=total,
        never_synced=total - last_failed - last_ok,
        last_ok=last_ok,
        last_failed=last_failed,
        oldest_synced_at=_utc(oldest),
    )


class CustomerCount(BaseModel):
    customer_id: int
    customer_name: str | None = None
    assets: int


def register_customers(conn: sa.Connection) -> list[CustomerCount]:
    """The customers of the register with their asset counts, for a run's customer filter."""
    n = sa.func.count().label("n")
    rows = conn.execute(
        sa.select(asset_master.c.customer_id, sa.func.max(asset_master.c.customer_name), n)
        .where(asset_master.c.customer_id.is_not(None))
        .group_by(asset_master.c.customer_id)
        .order_by(asset_master.c.customer_id)
    )
    return [CustomerCount(customer_id=c, customer_name=name, assets=k) for c, name, k in rows]


# --- runs in the background ---------------------------------------------------------------


@dataclass(slots=True)
class _LiveRun:
    """What this process knows of a run it is executing, fresher than the run row."""

    current: str | None = None
    success: int = 0
    failed: int = 0
    skipped: int = 0

    def counts(self) -> dict[str, int]:
        return {"success": self.success, "failed": self.failed, "skipped": self.skipped}


# run_id -> live state of the runs of this process (at most one, by the run lock).
_live: dict[int, _LiveRun] = {}


def _live_of(row: sa.RowMapping) -> _LiveRun | None:
    return _live.get(row["run_id"]) if row["status"] == "running" else None


class _Listener:
    """ProgressListener of a background run: live progress, log context."""

    def __init__(self, live: _LiveRun) -> None:
        self.live = live

    def started(self, run_id: int, total: int) -> None:
        pass

    def asset_started(self, index: int, asset: AssetRef) -> None:
        self.live.current = asset.cmms_asset_id
        _asset.set(asset.cmms_asset_id)

    def asset_done(self, index: int, outcome: AssetOutcome) -> None:
        if outcome.status == "success":
            self.live.success += 1
        elif outcome.status == "failed":
            self.live.failed += 1
        else:
            self.live.skipped += 1
        _asset.set(None)


@dataclass(eq=False)
class RunHandle:
    """A run started by this process. `wait()` for its SyncResult."""

    trigger: str
    selection: AssetSelection
    cancel: threading.Event = field(default_factory=threading.Event)
    run_id: int | None = None
    result: SyncResult | None = None
    error: BaseException | None = None
    outcomes: list[AssetOutcome] = field(default_factory=list)
    created: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout: float | None = None) -> SyncResult:
        """The run's result; raises what the run raised (e.g. DatabaseError)."""
        if not self.finished.wait(timeout):
            raise TimeoutError(f"run {self.run_id} still going after {timeout} s")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


ClientFactory = Callable[[threading.Event, SyncMetrics], InnomaintClient]


def _client_from_settings(settings: Settings) -> ClientFactory:
    def make(cancel: threading.Event, metrics: SyncMetrics) -> InnomaintClient:
        return InnomaintClient.from_settings(settings, cancel=cancel, on_retry=metrics.retried)

    return make


class RunManager:
    """Starts runs in a background thread of this process, one at a time everywhere (the run
    lock of sync.py), and cancels them. Reads go through the module's query functions."""

    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        metrics: SyncMetrics | None = None,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.metrics = metrics or SyncMetrics()
        self._client_factory = client_factory or _client_from_settings(settings)
        self._handles: dict[int, RunHandle] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopping = False

    # -- starting ----------------------------------------------------------------------------

    def start(self, selection: AssetSelection, *, trigger: str = "api") -> RunHandle:
        """Start a run and return once it has its run_id. Raises RunInProgress (no run row is
        written), ConfigError (no INNOMAINT_API_TOKEN), AssetNotFound, DatabaseError."""
        if self._stopping:
            raise ServiceStopping()
        # Checked before the lock is taken, so a refused start leaves no trace.
        self.settings.require_api_token()
        handle = RunHandle(trigger=trigger, selection=selection)
        client = self._client_factory(handle.cancel, self.metrics)
        thread = threading.Thread(
            target=self._execute, args=(handle, client), name=f"sync-{trigger}", daemon=True
        )
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()
        handle.created.wait()
        if handle.run_id is None:
            assert handle.error is not None
            raise handle.error
        return handle

    def run(self, selection: AssetSelection, *, trigger: str = "api") -> SyncResult:
        """Start a run and wait for its end."""
        return self.start(selection, trigger=trigger).wait()

    def sync_asset(self, cmms_asset_id: str, *, trigger: str = "api") -> tuple[int, AssetOutcome]:
        """Sync one asset as a run of one: (run_id, outcome). AssetSyncFailed when it did not
        succeed, AssetNotFound when it is not in the register."""
        handle = self.start(AssetSelection(cmms_asset_id=cmms_asset_id), trigger=trigger)
        result = handle.wait()
        outcome = handle.outcomes[0] if handle.outcomes else None
        if outcome is not None and outcome.status == "success":
            return result.run_id, outcome
        if outcome is not None:
            reason = outcome.error or "failed"
        else:
            reason = result.error or f"the run ended {result.status} before the asset"
        vendor = outcome is not None or result.status == "aborted"
        raise AssetSyncFailed(cmms_asset_id, result.run_id, reason, vendor=vendor)

    def _execute(self, handle: RunHandle, client: InnomaintClient) -> None:
        live = _LiveRun()

        def created(run_id: int) -> None:
            handle.run_id = run_id
            _run_id.set(run_id)
            with self._lock:
                self._handles[run_id] = handle
                _live[run_id] = live
            handle.created.set()

        def outcome(o: AssetOutcome) -> None:
            handle.outcomes.append(o)
            self.metrics.asset_done(o)
            if o.status == "failed":
                log.warning("asset failed: %s", o.error, extra={"cmms_asset_id": o.cmms_asset_id})

        self.metrics.run_started()
        try:
            with client:
                handle.result = run_sync(
                    self.engine,
                    client,
                    trigger=handle.trigger,
                    selection=handle.selection,
                    cancel=handle.cancel,
                    progress=_Listener(live),
                    on_run_created=created,
                    on_outcome=outcome,
                )
            self.metrics.run_finished(handle.trigger, handle.result)
        except RunInProgress as exc:
            handle.error = exc
        except OSError as exc:
            # The SQLite run lock file beside an unreachable database path.
            handle.error = DatabaseError(
                f"cannot take the run lock: {exc.strerror}: {exc.filename}"
            )
        except BaseException as exc:
            handle.error = exc
            if handle.run_id is not None:
                log.exception("run %s failed", handle.run_id)
        finally:
            self.metrics.run_ended()
            with self._lock:
                if handle.run_id is not None:
                    self._handles.pop(handle.run_id, None)
                    _live.pop(handle.run_id, None)
            handle.finished.set()
            handle.created.set()

    # -- stopping ----------------------------------------------------------------------------

    def cancel(self, run_id: int, *, wait_s: float = CANCEL_WAIT_S) -> RunView:
        """Ask a run of this process to stop after the asset in flight; wait up to wait_s for
        it to end, then answer with the run as it stands."""
        with self._lock:
            handle = self._handles.get(run_id)
        if handle is None:
            with self.engine.connect() as conn:
                view = get_run(conn, run_id)
            if view.status != "running":
                raise RunNotCancellable(run_id, f"run {run_id} is {view.status}, not running")
            raise RunNotCancellable(
                run_id,
                f"run {run_id} is running in another process (pid {view.pid} on {view.host}); "
                "stop it there with Ctrl-C or SIGTERM",
            )
        log.info("cancel requested for run %s", run_id, extra={"run_id": run_id})
        handle.cancel.set()
        handle.finished.wait(wait_s)
        with self.engine.connect() as conn:
            return get_run(conn, run_id)

    def cancel_all(self) -> None:
        """Refuse new runs and ask the running one to stop (SIGTERM)."""
        self._stopping = True
        with self._lock:
            handles = list(self._handles.values())
        for handle in handles:
            log.info("stopping run %s: the service is shutting down", handle.run_id)
            handle.cancel.set()

    def shutdown(self, timeout: float = 15.0) -> None:
        self.cancel_all()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def running_run_id(self) -> int | None:
        with self._lock:
            return next(iter(self._handles), None)

    # -- reads, for front ends that hold a manager -------------------------------------------

    @contextmanager
    def _conn(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    def list_runs(self, **kw: Any) -> RunPage:
        with self._conn() as conn:
            return list_runs(conn, **kw)

    def get_run(self, run_id: int) -> RunView:
        with self._conn() as conn:
            return get_run(conn, run_id)

    def run_log(self, run_id: int, **kw: Any) -> LogPage:
        with self._conn() as conn:
            return run_log(conn, run_id, **kw)

    def asset_detail(self, cmms_asset_id: str, **kw: Any) -> AssetDetail:
        with self._conn() as conn:
            return asset_detail(conn, cmms_asset_id, **kw)

    def failure_groups(self, run_id: int) -> list[FailureGroup]:
        with self._conn() as conn:
            return failure_groups(conn, run_id)

    def register_health(self) -> RegisterHealth:
        with self._conn() as conn:
            return register_health(conn)

    def register_customers(self) -> list[CustomerCount]:
        with self._conn() as conn:
            return register_customers(conn)

    def scheduled_tick(self) -> None:
        """A schedule tick: start a full run unless one is going, which skips this tick."""
        try:
            handle = self.start(AssetSelection(), trigger="schedule")
        except RunInProgress as exc:
            log.info("scheduled run skipped: %s", exc, extra={"run_id": exc.run_id})
        except ServiceStopping:
            pass
        except Ic3SyncError as exc:
            log.error("scheduled run not started: %s", exc)
        else:
            log.info("scheduled run %s started", handle.run_id, extra={"run_id": handle.run_id})
