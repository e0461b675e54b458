"""The register as files read it: every asset as one flat row with its names, performance
and work-order summaries, and a run's failed log rows, each read a chunk at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import sqlalchemy as sa

from ic3sync.db.read.rows import as_read, keyset
from ic3sync.db.schema import (
    ASSET_DETAILS,
    WORKORDER_BY_PERIOD,
    WORKORDER_COST_COLUMNS,
    WORKORDER_COUNT_COLUMNS,
    asset_master,
    asset_performance,
    building,
    department,
    floor,
    sync_log,
    sync_run,
    workorder_summary,
)
from ic3sync.db.views import LogRow


class RegisterColumn(NamedTuple):
    """A column of the rows iter_register yields: its name in the row, its type, and where it is
    stored. (table_name, name) is also how the change history names the value."""

    name: str
    type: sa.types.TypeEngine[Any]
    table_name: str
    source: str  # table.column, the work-order period named


def register_select() -> sa.Select[Any]:
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
    for row in keyset(conn, register_select(), asset_master.c.asset_id, chunk):
        yield dict(row)


def register_columns() -> list[RegisterColumn]:
    """The columns of the rows iter_register yields, in order."""
    out = []
    for c in register_select().selected_columns:
        (base,) = c.base_columns
        table = base.table.element if isinstance(base.table, sa.Alias) else base.table
        if not isinstance(table, sa.Table):
            raise TypeError(f"{c.name} is not a table's column")
        source = f"{table.name}.{base.name}"
        if table is workorder_summary:
            source += f" (period_type '{c.name.split('.', 1)[0]}')"
        out.append(RegisterColumn(c.name, c.type, table.name, source))
    return out


def latest_run_id(conn: sa.Connection) -> int | None:
    """The last full run: a sync-one or a batch after it is not "the last run" (rule 15)."""
    return conn.execute(
        sa.select(sa.func.max(sync_run.c.run_id)).where(sync_run.c.scope == "full")
    ).scalar()


def iter_failures(conn: sa.Connection, run_id: int, *, chunk: int = 2000) -> Iterator[LogRow]:
    """A run's failed log rows in the order they were written, read in chunks."""
    select = sa.select(sync_log).where(sync_log.c.run_id == run_id, sync_log.c.status == "failed")
    for row in keyset(conn, select, sync_log.c.log_id, chunk):
        yield LogRow(**as_read(row))
