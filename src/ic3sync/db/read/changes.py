"""The field-level history (ic3_asset_change) as read models: an asset's changes, a run's,
the register's, counted by column, and every change a chunk at a time for a file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ic3sync.db.read.rows import as_read, keyset
from ic3sync.db.read.runs import require_run
from ic3sync.db.schema import asset_change, asset_master
from ic3sync.db.selection import find_asset
from ic3sync.db.views import ChangePage, ChangeRow, ColumnChanges, RunChanges
from ic3sync.errors import AssetNotFound
from ic3sync.model import ChangeSource


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
    source: ChangeSource | None = None,
) -> list[sa.ColumnElement[bool]]:
    c = asset_change.c
    where: list[sa.ColumnElement[bool]] = []
    if source is not None:
        where.append(c.source == source)
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
        items=[ChangeRow(**as_read(r)) for r in rows],
        total=total or 0,
        limit=limit,
        offset=offset,
    )


def asset_changes(
    conn: sa.Connection,
    cmms_asset_id: str,
    *,
    limit: int = 50,
    offset: int = 0,
    source: ChangeSource | None = None,
) -> ChangePage:
    """An asset's changes, newest first; AssetNotFound when it is not in the register."""
    if find_asset(conn, cmms_asset_id) is None:
        raise AssetNotFound(cmms_asset_id)
    where = _change_filters(cmms_asset_id=cmms_asset_id, source=source)
    return _change_page(conn, where, asset_change.c.change_id.desc(), limit, offset)


def list_changes(
    conn: sa.Connection,
    *,
    since: datetime | None = None,
    column: str | None = None,
    customer_id: int | None = None,
    cmms_asset_id: str | None = None,
    source: ChangeSource | None = None,
    limit: int = 100,
    offset: int = 0,
) -> ChangePage:
    """Changes across the register, newest first: a sync's (`cmms`), an import's (`register`),
    or both."""
    where = _change_filters(
        since=since,
        column=column,
        customer_id=customer_id,
        cmms_asset_id=cmms_asset_id,
        source=source,
    )
    return _change_page(conn, where, asset_change.c.change_id.desc(), limit, offset)


def iter_changes(conn: sa.Connection, *, chunk: int = 2000, **filters: Any) -> Iterator[ChangeRow]:
    """Every change matching the filters of list_changes, oldest first, read in chunks of
    `chunk` rows (keyset on change_id), so a file of any length is written in bounded memory."""
    select = sa.select(asset_change).where(*_change_filters(**filters))
    for row in keyset(conn, select, asset_change.c.change_id, chunk):
        yield ChangeRow(**as_read(row))


def change_counts(
    conn: sa.Connection,
    *,
    since: datetime | None = None,
    run_id: int | None = None,
    source: ChangeSource | None = None,
) -> list[ColumnChanges]:
    """Changes counted by column (and the assets they touched), most changed first."""
    c = asset_change.c
    n = sa.func.count().label("n")
    rows = conn.execute(
        sa.select(c.table_name, c.column_name, c.source, n, sa.func.count(sa.distinct(c.asset_id)))
        .where(*_change_filters(since=since, run_id=run_id, source=source))
        .group_by(c.table_name, c.column_name, c.source)
        .order_by(n.desc(), c.table_name, c.column_name, c.source)
    )
    return [
        ColumnChanges(table_name=t, column_name=col, source=src, changes=k, assets=a)
        for t, col, src, k, a in rows
    ]


def run_change_counts(conn: sa.Connection, run_id: int) -> list[tuple[str, int]]:
    """(column_name, assets changed) of a run, most changed first: for a run's summary. Only
    what the CMMS changed: a run's notice tells what Innomaint sent, not the register's edits."""
    return [(c.column_name, c.assets) for c in change_counts(conn, run_id=run_id, source="cmms")]


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
    require_run(conn, run_id)
    where = _change_filters(run_id=run_id, column=column)
    page = _change_page(conn, where, asset_change.c.change_id, limit, offset)
    return RunChanges(
        run_id=run_id, by_column=change_counts(conn, run_id=run_id), **page.model_dump()
    )
