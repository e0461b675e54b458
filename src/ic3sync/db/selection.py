"""Which assets a run takes: an AssetSelection as a query, counted, and read a page at a time
in run order; and the one asset a sync-one names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import sqlalchemy as sa

from ic3sync.db.errors import map_db_errors, unreachable_message
from ic3sync.db.schema import asset_master, sync_log
from ic3sync.model import AssetRef, AssetSelection

# How many assets a run reads at a time: its memory stays flat however large the register.
PAGE_SIZE = 1000


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


def count_matching(conn: sa.Connection, sel: AssetSelection) -> int:
    """How many assets the selection's filters match, its offset and batch left aside."""
    return count_assets(
        conn, AssetSelection(customer_id=sel.customer_id, only_failed=sel.only_failed)
    )


def count_matching_before_a_run(engine: sa.Engine, sel: AssetSelection) -> int:
    """count_matching on a connection of its own, as a trigger counts a batch before it starts
    the run: an unreachable database is told as the run would tell it, naming the database."""
    with (
        map_db_errors(unreachable_message(engine.url.render_as_string())),
        engine.connect() as conn,
    ):
        return count_matching(conn, sel)


def left_after(matching: int, sel: AssetSelection, taken: int) -> tuple[int, int | None]:
    """(assets of the `matching` past the `taken` from the selection's offset, the offset of the
    next batch or None when none are left): what a batched run leaves for later."""
    left = max(0, matching - sel.offset - taken)
    return left, (sel.offset + taken if left else None)


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


class AssetPages:
    """The run's assets in run order, read PAGE_SIZE at a time by key, so a run's memory does
    not grow with the register. At most `total` assets, the count the run started with."""

    def __init__(
        self,
        conn: Callable[[], sa.Connection],
        retrying_reads: Callable[[Callable[[], Any]], Any],
        sel: AssetSelection,
        total: int,
    ) -> None:
        self._conn = conn
        self._retrying_reads = retrying_reads
        self.sel = sel
        self.left = total
        self.after: AssetKey | None = None
        self.exhausted = False
        self.page: list[AssetRef] = []
        self.taken = 0  # of self.page, handed out
        self.handed_before = 0  # in the pages before self.page

    def __iter__(self) -> Iterator[AssetRef]:
        while True:
            if self.taken == len(self.page):
                self.page = self._next_page()
                self.taken = 0
                if not self.page:
                    return
            asset = self.page[self.taken]
            self.taken += 1
            yield asset

    @property
    def handed(self) -> int:
        """How many assets the run has been handed so far."""
        return self.handed_before + self.taken

    def rest(self, untaken: int) -> Iterator[list[AssetRef]]:
        """The assets the run did not reach, a page at a time: the last `untaken` handed out
        (the asset a stop came at), the rest of the page, then the pages not read yet. Reads in
        the caller's transaction, and leaves the iteration where it was (it can be retried)."""
        if first := self.page[self.taken - untaken :]:
            yield first
        after, left, exhausted = self.after, self.left, self.exhausted
        while not exhausted and left > 0:
            page, after, exhausted = self._read(after, min(PAGE_SIZE, left))
            left -= len(page)
            if page:
                yield page

    def _next_page(self) -> list[AssetRef]:
        if self.exhausted or self.left <= 0:
            return []
        limit = min(PAGE_SIZE, self.left)
        page, self.after, self.exhausted = self._retrying_reads(
            lambda: self._read(self.after, limit)
        )
        self.left -= len(page)
        self.handed_before += len(self.page)
        return page

    def _read(
        self, after: AssetKey | None, limit: int
    ) -> tuple[list[AssetRef], AssetKey | None, bool]:
        """(the page after `after`, the key to read the next one after, whether it was the last)."""
        keyed = select_assets(self._conn(), self.sel, after=after, limit=limit)
        page = [asset for asset, _ in keyed]
        return page, (keyed[-1][1] if keyed else after), len(keyed) < limit
