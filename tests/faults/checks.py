"""What must hold after any fault: no duplicate rows, no half-written asset, counts that agree,
no token anywhere. Each check returns the offending rows, so a failure shows what broke."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from ic3sync.db.schema import asset_master, asset_performance, sync_log, sync_run, workorder_summary
from tests.helpers import TOKEN, all_text

TRACEBACK = "Traceback (most recent call last)"
# The natural key of each table the sync writes: a second row with the same key is a duplicate.
NATURAL_KEYS = {
    "ic3_asset_master": ("cmms_asset_id",),
    "ic3_asset_performance": ("asset_id",),
    "ic3_workorder_summary": ("asset_id", "period_type"),
    "ic3_building": ("building_id",),
    "ic3_floor_master": ("floor_id",),
    "ic3_department_master": ("department_id",),
    "cmms_sync_log": ("run_id", "cmms_asset_id"),
}


def duplicates(engine: sa.Engine) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    with engine.connect() as conn:
        for table, key in NATURAL_KEYS.items():
            cols = ", ".join(key)
            rows = conn.execute(
                sa.text(f"SELECT {cols}, COUNT(*) FROM {table} GROUP BY {cols} HAVING COUNT(*) > 1")
            ).all()
            found.extend((table, *row) for row in rows)
    return found


def half_written(engine: sa.Engine, *, complete_answers: bool = True) -> list[str]:
    """Assets whose rows disagree about how often, and when, they were last synced.

    Every sync commits the master update (sync_version + 1, last_synced_at = now), the
    performance row (recorded_at = now), both work-order rows (updated_at = now) and one success
    log row (synced_at = now) together, so all of them must tell the same story. With
    `complete_answers` every synced asset must also have its performance and work-order rows.
    """
    with engine.connect() as conn:
        masters = conn.execute(
            sa.select(
                asset_master.c.asset_id,
                asset_master.c.cmms_asset_id,
                asset_master.c.sync_version,
                asset_master.c.last_synced_at,
            )
        ).all()
        perf = dict(
            conn.execute(
                sa.select(asset_performance.c.asset_id, asset_performance.c.recorded_at)
            ).all()
        )
        orders: dict[int, list[Any]] = defaultdict(list)
        for asset_id, updated in conn.execute(
            sa.select(workorder_summary.c.asset_id, workorder_summary.c.updated_at)
        ):
            orders[asset_id].append(updated)
        successes: dict[str, list[Any]] = defaultdict(list)
        for cid, synced in conn.execute(
            sa.select(sync_log.c.cmms_asset_id, sync_log.c.synced_at).where(
                sync_log.c.status == "success"
            )
        ):
            successes[cid].append(synced)
    bad = []
    for asset_id, cid, version, last in masters:
        logged = successes.get(cid, [])
        if version == 0:
            if last is not None or asset_id in perf or orders.get(asset_id) or logged:
                bad.append(f"{cid}: never synced but has rows of a sync")
            continue
        problems = []
        if version != len(logged):
            problems.append(f"sync_version {version} but {len(logged)} success log rows")
        if logged and max(logged) != last:
            problems.append(f"last success log {max(logged)} != last_synced_at {last}")
        if asset_id in perf and perf[asset_id] != last:
            problems.append(f"performance recorded_at {perf[asset_id]} != {last}")
        if any(t != last for t in orders.get(asset_id, [])):
            problems.append(f"work orders updated_at {orders[asset_id]} != {last}")
        if complete_answers and (asset_id not in perf or len(orders.get(asset_id, [])) != 2):
            problems.append("synced without its performance and work-order rows")
        if problems:
            bad.append(f"{cid}: " + "; ".join(problems))
    return bad


def count_mismatches(engine: sa.Engine, run_id: int, result: Any = None) -> list[str]:
    """The run row, its log rows and the SyncResult must count the same assets."""
    with engine.connect() as conn:
        run = conn.execute(sa.select(sync_run).where(sync_run.c.run_id == run_id)).one()._mapping
        logged = Counter(
            dict(
                conn.execute(
                    sa.select(sync_log.c.status, sa.func.count())
                    .where(sync_log.c.run_id == run_id)
                    .group_by(sync_log.c.status)
                ).all()
            )
        )
    problems = []
    for status in ("success", "failed", "skipped"):
        if run[status] != logged[status]:
            problems.append(
                f"run {run_id}: {status} {run[status]} in the run row, {logged[status]} logged"
            )
        if result is not None and getattr(result, status) != run[status]:
            problems.append(f"run {run_id}: {status} {getattr(result, status)} in the result")
    if run["status"] != "running" and sum(logged.values()) != run["total"]:
        problems.append(f"run {run_id}: {sum(logged.values())} log rows for {run['total']} assets")
    return problems


def leaks(engine: sa.Engine | None = None, texts: Iterable[str] = ()) -> list[str]:
    """Places where the token shows: any text given, and any value of any table."""
    found = [text[:80] for text in texts if TOKEN in text]
    if engine is not None and TOKEN in all_text(engine):
        found.append("a table holds the token")
    return found


def tracebacks(texts: Iterable[str]) -> list[str]:
    return [text[text.index(TRACEBACK) :][:400] for text in texts if TRACEBACK in text]
