"""What the routes read, each read on a connection of its own: the read side of db/read/ as
the API answers it and the pages show it. Runs come with this process's live progress, which
the run manager keeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ic3sync.api import present
from ic3sync.db import migrate as migrations
from ic3sync.db import read
from ic3sync.db.read.asset_list import AssetFilter, AssetList, BuildingChoice
from ic3sync.db.read.attention import Attention
from ic3sync.db.selection import count_matching_before_a_run, left_after
from ic3sync.db.views import (
    AssetDetail,
    ChangePage,
    ColumnChanges,
    CustomerCount,
    FailureGroup,
    LogPage,
    RegisterHealth,
    RunChanges,
    RunPage,
    RunView,
)
from ic3sync.model import AssetSelection, ChangeSource, RunScope, RunStatus, Trigger
from ic3sync.notify.staleness import stale_warning
from ic3sync.runs import RunManager

T = TypeVar("T")


class ReadModels:
    """The read models of one database, bound to its engine."""

    def __init__(self, engine: sa.Engine, manager: RunManager) -> None:
        self._engine = engine
        self._manager = manager

    def _on_connection(self, query: Callable[..., T], *args: Any, **kw: Any) -> T:
        with self._engine.connect() as conn:
            return query(conn, *args, **kw)

    # -- runs --------------------------------------------------------------------------------

    def list_runs(
        self,
        *,
        status: RunStatus | None = None,
        trigger: Trigger | None = None,
        scope: RunScope | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> RunPage:
        """Runs, newest first, a running one with its time left."""
        page = self._manager.list_runs(
            status=status, trigger=trigger, scope=scope, limit=limit, offset=offset
        )
        return page.model_copy(update={"items": [present.with_time_left(r) for r in page.items]})

    def get_run(self, run_id: int) -> RunView:
        """RunNotFound when there is no such run."""
        return present.with_time_left(self._manager.get_run(run_id))

    def run_log(self, run_id: int, **filters: Any) -> LogPage:
        return self._on_connection(read.run_log, run_id, **filters)

    def failure_groups(self, run_id: int) -> list[FailureGroup]:
        return self._on_connection(read.failure_groups, run_id)

    # -- the register and its assets ---------------------------------------------------------

    def asset_detail(self, cmms_asset_id: str, *, log_limit: int = 10) -> AssetDetail:
        """AssetNotFound when the asset is not in the register."""
        detail = self._on_connection(read.asset_detail, cmms_asset_id, log_limit=log_limit)
        return present.asset_shown(detail)

    def asset_exists(self, cmms_asset_id: str) -> bool:
        return self._on_connection(read.find_asset, cmms_asset_id) is not None

    def register_health(self) -> RegisterHealth:
        return self._on_connection(read.register_health)

    def register_customers(self) -> list[CustomerCount]:
        return self._on_connection(read.register_customers)

    def list_assets(self, filters: AssetFilter, **page: Any) -> AssetList:
        return self._on_connection(read.list_assets, filters, **page)

    def register_buildings(self) -> list[BuildingChoice]:
        return self._on_connection(read.register_buildings)

    def register_criticalities(self) -> list[str]:
        return self._on_connection(read.register_criticalities)

    def needs_attention(self, *, failing_runs: int) -> Attention:
        return self._on_connection(read.needs_attention, failing_runs=failing_runs)

    # -- changes -----------------------------------------------------------------------------

    def asset_changes(
        self,
        cmms_asset_id: str,
        *,
        limit: int,
        offset: int = 0,
        source: ChangeSource | None = None,
    ) -> ChangePage:
        return self._on_connection(
            read.asset_changes, cmms_asset_id, limit=limit, offset=offset, source=source
        )

    def run_changes(self, run_id: int, **filters: Any) -> RunChanges:
        return self._on_connection(read.run_changes, run_id, **filters)

    def list_changes(self, **filters: Any) -> ChangePage:
        return self._on_connection(read.list_changes, **filters)

    def change_counts(self, *, since: datetime) -> list[ColumnChanges]:
        return self._on_connection(read.change_counts, since=since)

    # -- files -------------------------------------------------------------------------------

    def write_register_workbook(self, path: Path, *, zone: ZoneInfo, now: datetime) -> None:
        from ic3sync import export  # openpyxl, loaded on the first download, not at start

        export.write_workbook(self._engine, path, zone=zone, now=now)

    def write_register_as_of(self, path: Path, day: date, *, zone: ZoneInfo, now: datetime) -> None:
        from ic3sync import export

        export.write_register_as_of(self._engine, path, "xlsx", day, zone=zone, now=now)

    def write_run_changes_workbook(self, path: Path, run_id: int, *, zone: ZoneInfo) -> int:
        """Every change of a run, oldest first, as the workbook `ic3sync changes --xlsx` writes."""
        from ic3sync import export

        with self._engine.connect() as conn:
            rows = read.iter_changes(conn, run_id=run_id)
            return export.write_changes(rows, path, "xlsx", zone=zone)

    def write_failures_workbook(self, path: Path, run_id: int, *, zone: ZoneInfo) -> None:
        from ic3sync import export

        export.write_failures_workbook(self._engine, path, run_id, zone=zone)

    def count_matching(self, selection: AssetSelection) -> int:
        """The assets a selection matches. A trigger counts them before it starts the run, so
        an unreachable database is told here as the run would tell it: naming the database."""
        return count_matching_before_a_run(self._engine, selection)

    def left_by_batch(self, run: RunView) -> tuple[int, int | None] | None:
        """(assets left after a finished batched run, the next batch's offset), counted in the
        register as it is now; None for a run that is not a batch. An only-failed run is left
        out: its assets leave the filter as they succeed, so an offset no longer points at
        the next ones."""
        f = run.filters
        if run.status == "running" or f.batch is None or f.only_failed or f.cmms_asset_id:
            return None
        selection = AssetSelection(batch=f.batch, offset=f.offset, customer_id=f.customer_id)
        return left_after(self.count_matching(selection), selection, run.total)

    def stale_warning(self, stale_after_h: int) -> tuple[datetime | None, str | None]:
        """(when the last full run completed, the warning when that is too long ago)."""
        last = self._on_connection(read.last_full_completion)
        return last, stale_warning(last, datetime.now(UTC), stale_after_h)

    # -- the database ------------------------------------------------------------------------

    @property
    def database(self) -> str:
        """The dialect's name: sqlite, postgresql."""
        return self._engine.dialect.name

    def schema_problem(self) -> str | None:
        """What keeps the database from serving (its schema behind the code), or None. Raises
        the driver's error when it does not answer."""
        self._on_connection(read.ping)
        return migrations.outdated_schema(self._engine)
