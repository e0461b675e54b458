"""One path for every run: `run_and_follow_up` runs a sync and does what follows it (the notice,
the prune) for every front end, the command line, the demo, the API, the dashboard and the
schedule alike. `RunManager` starts, watches and cancels runs in a background thread of the
admin service, and reads runs with this process's live progress."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import sqlalchemy as sa

from ic3sync.config import Settings
from ic3sync.db import read
from ic3sync.db import runs as run_rows
from ic3sync.db.retention import prune_after_run
from ic3sync.db.views import (
    RunPage,
    RunView,
)
from ic3sync.errors import (
    DatabaseError,
    Ic3SyncError,
    NoAssetMatches,
    RunInProgress,
    RunNotCancellable,
    ServiceStopping,
)
from ic3sync.innomaint.client import ClientFactory, InnomaintClient
from ic3sync.model import (
    AssetOutcome,
    AssetRef,
    AssetSelection,
    LiveProgress,
    Observers,
    RunObserver,
    SyncResult,
)
from ic3sync.notify import Notifications
from ic3sync.sync import Fetcher, asset_synced, one_asset, run_options, run_sync

if TYPE_CHECKING:
    # prometheus_client is loaded only where a RunManager is made: a command line run has
    # no metrics to serve and starts without it.
    from ic3sync.metrics import SyncMetrics

log = logging.getLogger("ic3sync.runs")
T = TypeVar("T")

# How long a cancel request waits for the asset in flight to finish before answering.
CANCEL_WAIT_S = 10.0
# How long a stopping service waits for notices still being sent.
NOTIFY_DRAIN_S = 5.0
# How often it looks at the row of a run that another process executes.
CANCEL_POLL_S = 0.2


class _RunStartSeen(RunObserver):
    """Remembers the id of the run once it has started; None while no run has."""

    run_id: int | None = None

    def run_started(self, run_id: int, total: int) -> None:
        self.run_id = run_id


def run_and_follow_up(
    engine: sa.Engine,
    client: Fetcher,
    settings: Settings,
    notifications: Notifications,
    *,
    trigger: str,
    selection: AssetSelection,
    cancel: threading.Event,
    observer: RunObserver | None = None,
    wait_for_notice: bool = False,
    on_ended: Callable[[SyncResult], None] | None = None,
) -> SyncResult:
    """A run, then what follows every run that started: its notice (sent in the background
    while the log is pruned; waited for a bounded time with `wait_for_notice`, for a process
    about to exit) and the prune. Neither changes the run's outcome. `on_ended` is told the
    result once the run is over and its lock released, before the prune."""
    started = _RunStartSeen()
    try:
        result = run_sync(
            engine,
            client,
            trigger=trigger,
            selection=selection,
            cancel=cancel,
            observer=Observers(started, notifications.observer(trigger), observer),
            **run_options(settings),
        )
        if on_ended is not None:
            on_ended(result)
        return result
    finally:
        if started.run_id is not None:
            prune_after_run(engine, settings.log_retention_days)
            if wait_for_notice:
                notifications.drain()


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


# Scheduled ticks that ran no run, kept for the overview: the latest few of this process.
SCHEDULE_EVENTS_KEPT = 5


@dataclass(frozen=True, slots=True)
class ScheduleEvent:
    """A scheduled tick that started no run: `skipped` (a run was going) or `missed` (the
    service was down at the time, and started too late to run it)."""

    kind: Literal["skipped", "missed"]
    due: datetime
    detail: str
    run_id: int | None = None  # the run that was going, for a skipped tick


class RunManager:
    """Starts runs in a background thread of this process, one at a time everywhere (the run
    lock), and cancels them. Its reads of runs merge in the live progress of its own run."""

    def __init__(
        self,
        engine: sa.Engine,
        settings: Settings,
        *,
        client_factory: ClientFactory,
        metrics: SyncMetrics | None = None,
        notifications: Notifications | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        if metrics is None:
            from ic3sync.metrics import SyncMetrics

            metrics = SyncMetrics()
        self.metrics = metrics
        self.notifications = notifications or Notifications(())
        self._client_factory = client_factory
        self._handles: dict[int, RunHandle] = {}
        # run_id -> live progress of the runs of this process (at most one, by the run lock).
        self._live: dict[int, LiveProgress] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopping = False
        # Only the service that keeps the schedule has any: it is the one showing the overview.
        self._schedule_events: deque[ScheduleEvent] = deque(maxlen=SCHEDULE_EVENTS_KEPT)

    # -- starting ----------------------------------------------------------------------------

    def start(self, selection: AssetSelection, *, trigger: str = "api") -> RunHandle:
        """Start a run and return once it has its run_id. Raises RunInProgress (no run row is
        written), ConfigError (no INNOMAINT_API_TOKEN), AssetNotFound, DatabaseError."""
        if self._stopping:
            raise ServiceStopping()
        # Checked before the lock is taken, so a refused start leaves no trace.
        self.settings.require_api_token()
        handle = RunHandle(trigger=trigger, selection=selection)
        client = self._client_factory(
            cancel=handle.cancel,
            on_retry=self.metrics.retried,
            on_attempt=self.metrics.request_seconds.observe,
        )
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

    def sync_now(self, cmms_asset_id: str, *, trigger: str = "api") -> tuple[int, AssetOutcome]:
        """Sync one asset as a run of one, as sync.sync_asset does: (run_id, outcome).
        AssetSyncFailed when it did not succeed, AssetNotFound when it is not in the register."""
        selection = one_asset(cmms_asset_id)
        handle = self.start(selection, trigger=trigger)
        return asset_synced(selection, handle.wait(), handle.outcomes)

    def _execute(self, handle: RunHandle, client: InnomaintClient) -> None:
        watcher = _Watcher(self, handle)
        self.metrics.run_started()
        try:
            with client:
                handle.result = run_and_follow_up(
                    self.engine,
                    client,
                    self.settings,
                    self.notifications,
                    trigger=handle.trigger,
                    selection=handle.selection,
                    cancel=handle.cancel,
                    observer=Observers(watcher, self.metrics.observer(handle.trigger)),
                    on_ended=lambda result: self._ended(handle, result),
                )
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
                    self._live.pop(handle.run_id, None)
            handle.finished.set()
            handle.created.set()

    def _ended(self, handle: RunHandle, result: SyncResult) -> None:
        # Before the prune that follows: a waiting POST /sync answers without waiting for it.
        handle.result = result
        with self._lock:
            self._handles.pop(result.run_id, None)
            self._live.pop(result.run_id, None)
        handle.finished.set()

    # -- stopping ----------------------------------------------------------------------------

    def cancel(self, run_id: int, *, wait_s: float = CANCEL_WAIT_S) -> RunView:
        """Ask a run to stop after the asset in flight, wherever it runs: the request goes into
        the run's row, which the running process (this one, another server, the CLI) reads
        between assets. Waits up to wait_s for the run to end, then answers with the run as it
        stands. RunNotCancellable when the run is not running."""
        with self.engine.begin() as conn:
            view = read.get_run(conn, run_id)
            if view.status != "running" or not run_rows.request_cancel(
                conn, run_id, datetime.now(UTC)
            ):
                raise RunNotCancellable(run_id, f"run {run_id} is {view.status}, not running")
        log.info("cancel requested for run %s", run_id, extra={"run_id": run_id})
        with self._lock:
            handle = self._handles.get(run_id)
        if handle is not None:
            handle.cancel.set()
            handle.finished.wait(wait_s)
        else:
            self._wait_until_ended(run_id, wait_s)
        with self.engine.connect() as conn:
            return read.get_run(conn, run_id, self._live)

    def _wait_until_ended(self, run_id: int, wait_s: float) -> None:
        """Poll the row of a run of another process until it is no longer running."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            with self.engine.connect() as conn:
                if read.get_run(conn, run_id).status != "running":
                    return
            time.sleep(CANCEL_POLL_S)

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
        # The service manager's stop timeout covers the run and this together.
        self.notifications.drain(NOTIFY_DRAIN_S)

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
            return read.list_runs(conn, live=self._live, **kw)

    def get_run(self, run_id: int) -> RunView:
        with self._conn() as conn:
            return read.get_run(conn, run_id, self._live)

    def scheduled_tick(self) -> None:
        """A schedule tick: start a full run unless one is going, which skips this tick and
        is told (the register was not brought up to date when the schedule said)."""
        try:
            handle = self.start(AssetSelection(), trigger="schedule")
        except RunInProgress as exc:
            log.info("scheduled run skipped: %s", exc, extra={"run_id": exc.run_id})
            self._schedule_events.append(
                ScheduleEvent("skipped", datetime.now(UTC), str(exc), exc.run_id)
            )
            self.notifications.tick_skipped(exc.run_id, str(exc))
        except NoAssetMatches as exc:
            log.info("scheduled run skipped: %s", exc)
        except ServiceStopping:
            pass
        except Ic3SyncError as exc:
            log.error("scheduled run not started: %s", exc)
        else:
            log.info("scheduled run %s started", handle.run_id, extra={"run_id": handle.run_id})

    def tick_missed(self, due: datetime, late: timedelta) -> None:
        """A tick missed while the service was down, too late to run at start-up: kept for
        the overview and told."""
        minutes = int(late.total_seconds() // 60)
        detail = f"the service was down; it started {minutes:,} minutes late"
        self._schedule_events.append(ScheduleEvent("missed", due, detail))
        self.notifications.tick_missed(due, late)

    def schedule_events(self) -> list[ScheduleEvent]:
        """The latest scheduled ticks that started no run, newest first."""
        return list(reversed(self._schedule_events))


class _Watcher(RunObserver):
    """A background run as its manager sees it: the handle's run_id and outcomes, and the live
    progress that the reads merge in."""

    def __init__(self, manager: RunManager, handle: RunHandle) -> None:
        self.manager = manager
        self.handle = handle
        self.live = LiveProgress()

    def run_started(self, run_id: int, total: int) -> None:
        self.handle.run_id = run_id
        with self.manager._lock:
            self.manager._handles[run_id] = self.handle
            self.manager._live[run_id] = self.live
        self.handle.created.set()

    def asset_started(self, index: int, asset: AssetRef) -> None:
        self.live.current = asset.cmms_asset_id

    def asset_done(self, index: int, outcome: AssetOutcome) -> None:
        self.handle.outcomes.append(outcome)
        self.live.count(outcome)
