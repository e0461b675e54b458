"""The read side: the assets a run takes, runs and their log rows, an asset's stored detail,
failures grouped, register health and customers. Plain functions over a connection, returning
the typed rows of db/views.py."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa

from ic3sync.db.runs import log_counts
from ic3sync.db.schema import (
    ASSET_DETAILS,
    WORKORDER_BY_PERIOD,
    WORKORDER_COST_COLUMNS,
    WORKORDER_COUNT_COLUMNS,
    asset_change,
    asset_master,
    asset_performance,
    building,
    department,
    floor,
    sync_log,
    sync_run,
    workorder_summary,
)
from ic3sync.db.views import (
    AssetDetail,
    ChangePage,
    ChangeRow,
    ColumnChanges,
    CustomerCount,
    FailureGroup,
    LogPage,
    LogRow,
    RegisterHealth,
    RunChanges,
    RunFilters,
    RunPage,
    RunView,
)
from ic3sync.errors import AssetNotFound, RunNotFound
from ic3sync.model import AssetRef, AssetSelection, LiveProgress, LogStatus, RunStatus, Trigger

# --- the assets of a run --------------------------------------------------------------------


def latest_outcome_failed() -> sa.ColumnElement[bool]:
    """True for assets whose latest success-or-failure log row is a failure.

    Skipped rows (a run stopped before the asset) do not hide an earlier failure.
    """
    inner = sync_log.alias("decided")
    latest = (
        sa.select(sa.func.max(inner.c.log_id))
        .where(
            inner.c.cmms_asset_id == asset_master.c.cmms_asset_id,
            inner.c.status.in_(("success", "failed")),
        )
        .correlate(asset_master)
        .scalar_subquery()
    )
    failed = (
        sa.select(sync_log.c.log_id)
        .where(sync_log.c.log_id == latest, sync_log.c.status == "failed")
        .correlate(asset_master)
    )
    return sa.exists(failed)


class AssetKey(NamedTuple):
    """Where an asset stands in run order: a page of the selection starts after one."""

    report_seq_no: int | None
    asset_id: int


def _selected(query: sa.Select[Any], sel: AssetSelection) -> sa.Select[Any]:
    if sel.cmms_asset_id is not None:
        query = query.where(asset_master.c.cmms_asset_id == sel.cmms_asset_id)
    if sel.customer_id is not None:
        query = query.where(asset_master.c.customer_id == sel.customer_id)
    if sel.only_failed:
        query = query.where(latest_outcome_failed())
    return query


def count_assets(conn: sa.Connection, sel: AssetSelection) -> int:
    """How many assets the selection takes, its offset and batch applied."""
    matching = conn.execute(
        _selected(sa.select(sa.func.count()).select_from(asset_master), sel)
    ).scalar_one()
    left = max(0, matching - sel.offset)
    return left if sel.batch is None else min(left, sel.batch)


def select_assets(
    conn: sa.Connection,
    sel: AssetSelection,
    *,
    after: AssetKey | None = None,
    limit: int | None = None,
) -> list[tuple[AssetRef, AssetKey]]:
    """A page of the selection in run order (report_seq_no, NULLs last, then asset_id), each
    asset with its key. The first page (`after` None) skips sel.offset assets; a later one
    starts after the key of the last asset of the page before. `limit` caps the page; the
    caller counts sel.batch down."""
    m = asset_master
    query = _selected(
        sa.select(m.c.asset_id, m.c.cmms_asset_id, m.c.customer_id, m.c.report_seq_no), sel
    ).order_by(m.c.report_seq_no.asc().nulls_last(), m.c.asset_id)
    if after is None:
        if sel.offset:
            query = query.offset(sel.offset)
    elif after.report_seq_no is None:
        query = query.where(m.c.report_seq_no.is_(None), m.c.asset_id > after.asset_id)
    else:
        query = query.where(
            sa.or_(
                m.c.report_seq_no > after.report_seq_no,
                sa.and_(m.c.report_seq_no == after.report_seq_no, m.c.asset_id > after.asset_id),
                m.c.report_seq_no.is_(None),
            )
        )
    if limit is not None:
        query = query.limit(limit)
    return [
        (AssetRef(asset_id, cmms_asset_id, customer_id), AssetKey(seq, asset_id))
        for asset_id, cmms_asset_id, customer_id, seq in conn.execute(query)
    ]


def find_asset(conn: sa.Connection, cmms_asset_id: str) -> AssetRef | None:
    row = conn.execute(
        sa.select(
            asset_master.c.asset_id, asset_master.c.cmms_asset_id, asset_master.c.customer_id
        ).where(asset_master.c.cmms_asset_id == cmms_asset_id)
    ).first()
    return AssetRef(*row) if row else None


# --- runs, their log, assets ----------------------------------------------------------------


def _live_of(
    row: Mapping[Any, Any], live: Mapping[int, LiveProgress] | None
) -> LiveProgress | None:
    if live is None or row["status"] != "running":
        return None
    return live.get(row["run_id"])


def ping(conn: sa.Connection) -> None:
    """Raises the driver's error when the database does not answer."""
    conn.execute(sa.text("SELECT 1"))


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


def _run_view(row: Mapping[Any, Any], live: LiveProgress | None = None) -> RunView:
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
    live: Mapping[int, LiveProgress] | None = None,
) -> RunPage:
    """Runs, newest first. `live` holds the progress of the runs this process executes."""
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
    items = [_run_view(r, _live_of(r, live)) for r in rows]
    return RunPage(items=items, total=total or 0, limit=limit, offset=offset)


def get_run(
    conn: sa.Connection, run_id: int, live: Mapping[int, LiveProgress] | None = None
) -> RunView:
    row = conn.execute(sa.select(sync_run).where(sync_run.c.run_id == run_id)).mappings().first()
    if row is None:
        raise RunNotFound(run_id)
    if row["status"] == "running" and (progress := _live_of(row, live)) is not None:
        return _run_view(row, progress)
    if row["status"] == "running":
        # Another process runs it: its row's counters lag by a heartbeat, the log does not.
        merged = {**row, **log_counts(conn, run_id)}
        return _run_view(merged)
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


def failure_groups(conn: sa.Connection, run_id: int) -> list[FailureGroup]:
    """A run's failures grouped by (error_kind, http_status, error_message), most frequent
    first."""
    n = sa.func.count().label("n")
    log = sync_log.c
    rows = conn.execute(
        sa.select(log.error_kind, log.http_status, log.error_message, n)
        .where(log.run_id == run_id, log.status == "failed")
        .group_by(log.error_kind, log.http_status, log.error_message)
        .order_by(n.desc(), log.error_message)
    )
    return [
        FailureGroup(error_kind=k, http_status=h, error_message=m, count=c) for k, h, m, c in rows
    ]


def register_health(conn: sa.Connection) -> RegisterHealth:
    failed = sa.case((latest_outcome_failed(), 1), else_=0)
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


# --- the field-level history (ic3_asset_change) ----------------------------------------------


def _as_utc(value: datetime) -> datetime:
    """Stored instants are UTC and SQLite compares them as written, so bind UTC too. A time at
    the edge of the calendar (year 1 or 9999 with an offset) cannot move to UTC: it is before or
    after every stored change alike."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        return aware.astimezone(UTC)
    except OverflowError:
        edge = datetime.max if value.year > 1 else datetime.min
        return edge.replace(tzinfo=UTC)


def _change_filters(
    *,
    since: datetime | None = None,
    column: str | None = None,
    customer_id: int | None = None,
    cmms_asset_id: str | None = None,
    run_id: int | None = None,
) -> list[sa.ColumnElement[bool]]:
    c = asset_change.c
    where: list[sa.ColumnElement[bool]] = []
    if since is not None:
        where.append(c.changed_at >= _as_utc(since))
    if column is not None:
        where.append(c.column_name == column)
    if cmms_asset_id is not None:
        where.append(c.cmms_asset_id == cmms_asset_id)
    if run_id is not None:
        where.append(c.run_id == run_id)
    if customer_id is not None:
        # The asset's customer today, as the register keeps it.
        where.append(
            c.asset_id.in_(
                sa.select(asset_master.c.asset_id).where(asset_master.c.customer_id == customer_id)
            )
        )
    return where


def _change_page(
    conn: sa.Connection,
    where: list[sa.ColumnElement[bool]],
    order: sa.ColumnElement[Any],
    limit: int,
    offset: int,
) -> ChangePage:
    total = conn.execute(
        sa.select(sa.func.count()).select_from(asset_change).where(*where)
    ).scalar()
    rows = conn.execute(
        sa.select(asset_change).where(*where).order_by(order).limit(limit).offset(offset)
    ).mappings()
    return ChangePage(
        items=[ChangeRow(**_plain(r)) for r in rows],  # type: ignore[arg-type]
        total=total or 0,
        limit=limit,
        offset=offset,
    )


def asset_changes(
    conn: sa.Connection, cmms_asset_id: str, *, limit: int = 50, offset: int = 0
) -> ChangePage:
    """An asset's changes, newest first; AssetNotFound when it is not in the register."""
    if find_asset(conn, cmms_asset_id) is None:
        raise AssetNotFound(cmms_asset_id)
    where = _change_filters(cmms_asset_id=cmms_asset_id)
    return _change_page(conn, where, asset_change.c.change_id.desc(), limit, offset)


def list_changes(
    conn: sa.Connection,
    *,
    since: datetime | None = None,
    column: str | None = None,
    customer_id: int | None = None,
    cmms_asset_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> ChangePage:
    """Changes across the register, newest first."""
    where = _change_filters(
        since=since, column=column, customer_id=customer_id, cmms_asset_id=cmms_asset_id
    )
    return _change_page(conn, where, asset_change.c.change_id.desc(), limit, offset)


def iter_changes(conn: sa.Connection, *, chunk: int = 2000, **filters: Any) -> Iterator[ChangeRow]:
    """Every change matching the filters of list_changes, oldest first, read in chunks of
    `chunk` rows (keyset on change_id), so a file of any length is written in bounded memory."""
    select = sa.select(asset_change).where(*_change_filters(**filters))
    for row in _keyset(conn, select, asset_change.c.change_id, chunk):
        yield ChangeRow(**_plain(row))  # type: ignore[arg-type]


def _keyset(
    conn: sa.Connection, select: sa.Select[Any], key: sa.Column[Any], chunk: int
) -> Iterator[sa.RowMapping]:
    """The rows of `select` in `key` order, fetched `chunk` at a time: each fetch starts after
    the last key seen, so neither side holds more than a chunk however many rows there are."""
    after = None
    while True:
        page = select if after is None else select.where(key > after)
        rows = conn.execute(page.order_by(key).limit(chunk)).mappings().all()
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1][key.name]


def change_counts(
    conn: sa.Connection, *, since: datetime | None = None, run_id: int | None = None
) -> list[ColumnChanges]:
    """Changes counted by column (and the assets they touched), most changed first."""
    c = asset_change.c
    n = sa.func.count().label("n")
    rows = conn.execute(
        sa.select(c.table_name, c.column_name, n, sa.func.count(sa.distinct(c.asset_id)))
        .where(*_change_filters(since=since, run_id=run_id))
        .group_by(c.table_name, c.column_name)
        .order_by(n.desc(), c.table_name, c.column_name)
    )
    return [
        ColumnChanges(table_name=t, column_name=col, changes=k, assets=a) for t, col, k, a in rows
    ]


def run_change_counts(conn: sa.Connection, run_id: int) -> list[tuple[str, int]]:
    """(column_name, assets changed) of a run, most changed first: for a run's summary."""
    return [(c.column_name, c.assets) for c in change_counts(conn, run_id=run_id)]


def run_changes(
    conn: sa.Connection,
    run_id: int,
    *,
    column: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> RunChanges:
    """A run's changes counted by column, then its rows in the order they were written;
    RunNotFound when there is no such run."""
    exists = conn.execute(sa.select(sync_run.c.run_id).where(sync_run.c.run_id == run_id)).first()
    if exists is None:
        raise RunNotFound(run_id)
    where = _change_filters(run_id=run_id, column=column)
    page = _change_page(conn, where, asset_change.c.change_id, limit, offset)
    return RunChanges(
        run_id=run_id, by_column=change_counts(conn, run_id=run_id), **page.model_dump()
    )


# --- the register as files (export) -----------------------------------------------------------


def _register_select() -> sa.Select[Any]:
    m, p = asset_master, asset_performance
    skip_perf = {"performance_id", "asset_id", "serialnumber"}
    return sa.select(
        *m.c,
        building.c.building_name,
        floor.c.floor_name,
        department.c.department_name,
        *(c for c in p.c if c.key not in skip_perf),
        *(
            wo.c[column].label(f"{period}.{column}")
            for period, wo in WORKORDER_BY_PERIOD.items()
            for column in (*WORKORDER_COUNT_COLUMNS, *WORKORDER_COST_COLUMNS)
        ),
    ).select_from(ASSET_DETAILS)


def iter_register(conn: sa.Connection, *, chunk: int = 2000) -> Iterator[dict[str, Any]]:
    """Every asset of the register with its building, floor and department names, performance
    and work-order summaries, one flat row each, in asset_id order, read `chunk` rows at a time
    (keyset on asset_id) so that a register of any size is read in bounded memory."""
    for row in _keyset(conn, _register_select(), asset_master.c.asset_id, chunk):
        yield dict(row)


def register_columns() -> list[tuple[str, sa.types.TypeEngine[Any]]]:
    """(name, type) of the rows iter_register yields, in order."""
    return [(c.name, c.type) for c in _register_select().selected_columns]


def latest_run_id(conn: sa.Connection) -> int | None:
    return conn.execute(sa.select(sa.func.max(sync_run.c.run_id))).scalar()


def iter_failures(conn: sa.Connection, run_id: int, *, chunk: int = 2000) -> Iterator[LogRow]:
    """A run's failed log rows in the order they were written, read in chunks."""
    select = sa.select(sync_log).where(sync_log.c.run_id == run_id, sync_log.c.status == "failed")
    for row in _keyset(conn, select, sync_log.c.log_id, chunk):
        yield LogRow(**_plain(row))  # type: ignore[arg-type]
