"""The register as a list people page through: filtered by the latest outcome, by recent
changes, by customer, building and criticality, searched by part of an id or a name, sorted by
the last sync; each asset with its latest decided outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel

from ic3sync.db.read.rows import utc
from ic3sync.db.schema import asset_change, asset_master, building, sync_log
from ic3sync.db.selection import latest_outcome_failed
from ic3sync.errors import ErrorKind

# The latest decided outcome: `failing` (it failed), `ok` (it succeeded), `never` (neither yet).
AssetState = Literal["failing", "ok", "never"]
ASSET_STATES: tuple[AssetState, ...] = ("failing", "ok", "never")
# `last_sync` is the oldest sync first, the never synced before them; `-last_sync` the newest.
AssetSort = Literal["id", "last_sync", "-last_sync"]
ASSET_SORTS: tuple[AssetSort, ...] = ("id", "last_sync", "-last_sync")


class AssetFilter(BaseModel):
    """What the assets page filters on; None (or empty) means any."""

    state: AssetState | None = None
    changed_days: int | None = None
    column: str | None = None  # with changed_days: only changes of this column
    customer_id: int | None = None
    building_id: int | None = None
    criticality: str | None = None
    search: str | None = None  # part of the id or the name, any case


class AssetListRow(BaseModel):
    cmms_asset_id: str
    asset_name: str | None = None
    customer_id: int | None = None
    customer_name: str | None = None
    building_name: str | None = None
    criticality: str | None = None
    last_synced_at: datetime | None = None
    state: AssetState
    # Of the latest failure, for a failing asset.
    error_kind: ErrorKind | None = None
    http_status: int | None = None
    error_message: str | None = None


class AssetList(BaseModel):
    items: list[AssetListRow]
    total: int
    limit: int
    offset: int


class BuildingChoice(BaseModel):
    building_id: int
    building_name: str | None = None
    assets: int


def contains_any_case(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    """`column` holds `text`, ignoring case, the same on SQLite and PostgreSQL: lower() on both
    sides and LIKE, with %, _ and the escape character searched for as written."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    pattern = sa.bindparam(None, f"%{escaped}%", type_=sa.Text)
    return sa.func.lower(column).like(sa.func.lower(pattern), escape="/")


def _ok() -> sa.ColumnElement[bool]:
    # As register_health counts them: a stamp whose asset did not fail since is a success.
    return sa.and_(asset_master.c.last_synced_at.is_not(None), sa.not_(latest_outcome_failed()))


def _where(f: AssetFilter, now: datetime) -> list[sa.ColumnElement[bool]]:
    m = asset_master.c
    where: list[sa.ColumnElement[bool]] = []
    if f.state == "failing":
        where.append(latest_outcome_failed())
    elif f.state == "ok":
        where.append(_ok())
    elif f.state == "never":
        where.append(sa.and_(m.last_synced_at.is_(None), sa.not_(latest_outcome_failed())))
    if f.changed_days is not None:
        c = asset_change.c
        changed = [c.asset_id == m.asset_id, c.changed_at >= now - timedelta(days=f.changed_days)]
        if f.column:
            changed.append(c.column_name == f.column)
        where.append(sa.exists(sa.select(c.change_id).where(*changed)))
    if f.customer_id is not None:
        where.append(m.customer_id == f.customer_id)
    if f.building_id is not None:
        where.append(m.building_id == f.building_id)
    if f.criticality:
        where.append(m.criticality == f.criticality)
    if f.search:
        where.append(
            sa.or_(
                contains_any_case(m.cmms_asset_id, f.search),
                contains_any_case(m.asset_name, f.search),
            )
        )
    return where


def _order(sort: AssetSort) -> list[sa.ColumnElement[Any]]:
    m = asset_master.c
    never = sa.case((m.last_synced_at.is_(None), 0), else_=1)
    if sort == "last_sync":
        return [never.asc(), m.last_synced_at.asc(), m.cmms_asset_id]
    if sort == "-last_sync":
        return [never.desc(), m.last_synced_at.desc(), m.cmms_asset_id]
    return [m.cmms_asset_id]


def list_assets(
    conn: sa.Connection,
    filters: AssetFilter | None = None,
    *,
    sort: AssetSort = "id",
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> AssetList:
    """A page of the register's assets matching `filters`, each with its latest outcome."""
    f = filters or AssetFilter()
    # Stored instants are UTC, and SQLite compares them as written.
    where = _where(f, (now or datetime.now(UTC)).astimezone(UTC))
    m = asset_master.c
    total = conn.execute(
        sa.select(sa.func.count()).select_from(asset_master).where(*where)
    ).scalar_one()
    rows = (
        conn.execute(
            sa.select(
                m.cmms_asset_id,
                m.asset_name,
                m.customer_id,
                m.customer_name,
                building.c.building_name,
                m.criticality,
                m.last_synced_at,
            )
            .select_from(asset_master.outerjoin(building, building.c.building_id == m.building_id))
            .where(*where)
            .order_by(*_order(sort))
            .limit(limit)
            .offset(offset)
        )
        .mappings()
        .all()
    )
    latest = _latest_decided(conn, [r["cmms_asset_id"] for r in rows])
    items = []
    for r in rows:
        log = latest.get(r["cmms_asset_id"], {})
        failed = log.get("status") == "failed"
        state: AssetState = "failing" if failed else "ok" if r["last_synced_at"] else "never"
        failure = (
            {k: log[k] for k in ("error_kind", "http_status", "error_message")} if failed else {}
        )
        items.append(
            AssetListRow(
                **{**r, "last_synced_at": utc(r["last_synced_at"])}, state=state, **failure
            )
        )
    return AssetList(items=items, total=total, limit=limit, offset=offset)


def _latest_decided(conn: sa.Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each asset's latest success-or-failure log row, by id."""
    if not ids:
        return {}
    log = sync_log.c
    latest = (
        sa.select(sa.func.max(log.log_id))
        .where(log.cmms_asset_id.in_(ids), log.status.in_(("success", "failed")))
        .group_by(log.cmms_asset_id)
    )
    rows = conn.execute(
        sa.select(
            log.cmms_asset_id, log.status, log.error_kind, log.http_status, log.error_message
        ).where(log.log_id.in_(latest))
    ).mappings()
    return {r["cmms_asset_id"]: dict(r) for r in rows}


def register_buildings(conn: sa.Connection) -> list[BuildingChoice]:
    """The buildings the register's assets are in, with their asset counts, for a filter."""
    m = asset_master.c
    n = sa.func.count().label("n")
    rows = conn.execute(
        sa.select(m.building_id, sa.func.max(building.c.building_name), n)
        .select_from(asset_master.outerjoin(building, building.c.building_id == m.building_id))
        .where(m.building_id.is_not(None))
        .group_by(m.building_id)
        .order_by(sa.func.max(building.c.building_name), m.building_id)
    )
    return [BuildingChoice(building_id=b, building_name=name, assets=k) for b, name, k in rows]


def register_criticalities(conn: sa.Connection) -> list[str]:
    """The criticalities the register's assets have, for a filter."""
    m = asset_master.c
    rows = conn.execute(
        sa.select(m.criticality)
        .where(m.criticality.is_not(None))
        .distinct()
        .order_by(m.criticality)
    )
    return [c for (c,) in rows]
