"""The register as read models: one asset's stored detail with its latest log rows, the
register counted by each asset's latest outcome, and its customers."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ic3sync.db.read.rows import as_read, utc
from ic3sync.db.schema import (
    asset_master,
    asset_performance,
    building,
    department,
    floor,
    sync_log,
    workorder_summary,
)
from ic3sync.db.selection import latest_outcome_failed
from ic3sync.db.views import AssetDetail, CustomerCount, LogRow, RegisterHealth
from ic3sync.errors import AssetNotFound


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
        return as_read(row) if row is not None else None

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
        asset=as_read(master),
        building=one(building, "building_id", master["building_id"]),
        floor=one(floor, "floor_id", master["floor_id"]),
        department=one(department, "department_id", master["department_id"]),
        performance=one(asset_performance, "asset_id", asset_id),
        workorders=[as_read(w) for w in workorders],
        recent_log=[LogRow(**as_read(r)) for r in logs],
    )


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
        oldest_synced_at=utc(oldest),
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
