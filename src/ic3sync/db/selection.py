"""Which assets a run takes: an AssetSelection as a query, counted, and read a page at a time
in run order; and the one asset a sync-one names."""

from __future__ import annotations

from typing import Any, NamedTuple

import sqlalchemy as sa

from ic3sync.db.schema import asset_master, sync_log
from ic3sync.model import AssetRef, AssetSelection


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
    """The register's asset of this id, or None."""
    row = conn.execute(
        sa.select(
            asset_master.c.asset_id, asset_master.c.cmms_asset_id, asset_master.c.customer_id
        ).where(asset_master.c.cmms_asset_id == cmms_asset_id)
    ).first()
    return AssetRef(*row) if row else None
