"""What needs a person: assets failing full run after full run, assets never synced, and the
fields whose last value from Innomaint could not be used (stored as NULL), counted over the
register with a few examples each; the list a CMMS administrator fixes at the source.

Read from the log, so it knows what the log keeps: a streak older than IC3_LOG_RETENTION_DAYS is
counted from the oldest run kept, and an asset whose latest success was pruned (it failed every
run since) names no unusable value."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field

from ic3sync.db.read.rows import utc
from ic3sync.db.schema import TZ, asset_master, sync_log, sync_run
from ic3sync.db.selection import latest_outcome_failed
from ic3sync.errors import ErrorKind

# An asset failing this many full runs in a row needs a person; `--failing-runs` changes it.
FAILING_RUNS = 3
# How many failing and never synced assets are listed (with their totals), and how many
# examples of each unusable field.
SHOWN = 50
EXAMPLES = 3

# A success row's message names each value stored as NULL after this, "; "-separated, each
# as "section.field: what was wrong" (sync/asset.py writes it, after any notes).
NULL_VALUES = "stored as NULL: "
_NEXT_ITEM = re.compile(r"; (?=\w+(?:\.\w+)+: )")
_ITEM = re.compile(r"^(?P<field>\w+(?:\.\w+)+): (?P<problem>.*)$", re.DOTALL)


class FailingAsset(BaseModel):
    """An asset whose latest attempts in full runs failed, `runs` of them in a row."""

    cmms_asset_id: str
    asset_name: str | None = None
    customer_id: int | None = None
    runs: int = Field(description="full runs in a row it failed, up to the latest")
    since: datetime | None = Field(description="when the first failure of the streak was logged")
    last_run_id: int
    error_kind: ErrorKind | None = None
    http_status: int | None = None
    error_message: str | None = None


class NeverSynced(BaseModel):
    cmms_asset_id: str
    asset_name: str | None = None
    customer_id: int | None = None


class UnusableExample(BaseModel):
    cmms_asset_id: str
    problem: str = Field(description="the value as sent and what is wrong with it")


class UnusableField(BaseModel):
    """A field whose latest value could not be used (stored as NULL) in `assets` assets."""

    field: str = Field(description="where Innomaint sends it: performance.mttr, data.barcode")
    assets: int
    examples: list[UnusableExample]


class Attention(BaseModel):
    failing_runs: int = Field(description="the streak an asset is listed from")
    failing_total: int
    failing: list[FailingAsset] = Field(description=f"the first {SHOWN}, longest streaks first")
    never_synced_total: int
    never_synced: list[NeverSynced] = Field(description=f"the first {SHOWN}, by id")
    unusable: list[UnusableField] = Field(description="most assets first")


def null_values(message: str | None) -> list[tuple[str, str]]:
    """(field, problem) of each value a success row's message says was stored as NULL."""
    if not message or NULL_VALUES not in message:
        return []
    listed = message.split(NULL_VALUES, 1)[1]
    found = []
    for item in _NEXT_ITEM.split(listed):
        match = _ITEM.match(item)
        if match:
            found.append((match["field"], match["problem"]))
    return found


def _streaks(runs: int) -> sa.Subquery:
    """Per asset: its failed attempts in full runs since its last success (of any run), as the
    number of runs, when the first was logged and the latest's log_id; `runs` or more only."""
    ok = sync_log.alias("ok")
    last_ok = (
        sa.select(ok.c.cmms_asset_id, sa.func.max(ok.c.log_id).label("ok_id"))
        .where(ok.c.status == "success")
        .group_by(ok.c.cmms_asset_id)
        .subquery("last_ok")
    )
    f = sync_log.alias("f")
    n = sa.func.count(sa.distinct(f.c.run_id))
    return (
        sa.select(
            f.c.cmms_asset_id,
            n.label("runs"),
            sa.func.min(f.c.synced_at, type_=TZ).label("since"),
            sa.func.max(f.c.log_id).label("last_id"),
        )
        .select_from(
            f.join(sync_run, sync_run.c.run_id == f.c.run_id).outerjoin(
                last_ok, last_ok.c.cmms_asset_id == f.c.cmms_asset_id
            )
        )
        .where(
            sync_run.c.scope == "full",
            f.c.status == "failed",
            f.c.log_id > sa.func.coalesce(last_ok.c.ok_id, 0),
        )
        .group_by(f.c.cmms_asset_id)
        .having(n >= runs)
        .subquery("streak")
    )


def failing_assets(
    conn: sa.Connection, *, runs: int = FAILING_RUNS, limit: int | None = None
) -> tuple[int, list[FailingAsset]]:
    """(how many, the first `limit`) of the register's assets whose attempts in the last `runs`
    (or more) full runs all failed, with no success since: the longest streaks first, each with
    its latest failure in a full run."""
    streak = _streaks(runs)
    m, last = asset_master.c, sync_log.c
    in_register = streak.join(asset_master, m.cmms_asset_id == streak.c.cmms_asset_id)
    total = conn.execute(sa.select(sa.func.count()).select_from(in_register)).scalar_one()
    query = (
        sa.select(
            m.cmms_asset_id,
            m.asset_name,
            m.customer_id,
            streak.c.runs,
            streak.c.since,
            last.run_id.label("last_run_id"),
            last.error_kind,
            last.http_status,
            last.error_message,
        )
        .select_from(in_register.join(sync_log, last.log_id == streak.c.last_id))
        .order_by(streak.c.runs.desc(), streak.c.since, m.cmms_asset_id)
    )
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).mappings()
    return total, [FailingAsset(**{**r, "since": utc(r["since"])}) for r in rows]


def _never_synced() -> sa.ColumnElement[bool]:
    # As register_health counts them: no success stamped, and no failure as the latest outcome.
    return sa.and_(asset_master.c.last_synced_at.is_(None), sa.not_(latest_outcome_failed()))


def never_synced(
    conn: sa.Connection, *, limit: int | None = SHOWN
) -> tuple[int, list[NeverSynced]]:
    """(how many, the first `limit` by id) of the assets no sync has reached yet."""
    m = asset_master.c
    total = conn.execute(
        sa.select(sa.func.count()).select_from(asset_master).where(_never_synced())
    ).scalar_one()
    query = (
        sa.select(m.cmms_asset_id, m.asset_name, m.customer_id)
        .where(_never_synced())
        .order_by(m.cmms_asset_id)
    )
    if limit is not None:
        query = query.limit(limit)
    return total, [NeverSynced(**r) for r in conn.execute(query).mappings()]


class UnusableValue(BaseModel):
    """A value an asset's latest success could not use, and stored as NULL."""

    cmms_asset_id: str
    asset_name: str | None = None
    field: str
    problem: str


def unusable_values(conn: sa.Connection) -> Iterator[UnusableValue]:
    """Each value the latest success of a register asset stored as NULL (its log row names
    them), by asset id, each field of an asset once."""
    log = sync_log.c
    latest = (
        sa.select(sa.func.max(log.log_id))
        .where(log.status == "success")
        .group_by(log.cmms_asset_id)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(log.cmms_asset_id, asset_master.c.asset_name, log.error_message)
        .select_from(sync_log.join(asset_master, asset_master.c.cmms_asset_id == log.cmms_asset_id))
        .where(log.log_id.in_(latest), log.error_message.contains(NULL_VALUES, autoescape=True))
        .order_by(log.cmms_asset_id)
    )
    for cmms_asset_id, asset_name, message in rows:
        for field, problem in dict(null_values(message)).items():
            yield UnusableValue(
                cmms_asset_id=cmms_asset_id, asset_name=asset_name, field=field, problem=problem
            )


def unusable_fields(conn: sa.Connection, *, examples: int = EXAMPLES) -> list[UnusableField]:
    """Each field whose latest value could not be used in some assets (their latest success
    stored it as NULL and said so): how many assets, the first few by id with what was sent."""
    counts: dict[str, int] = {}
    shown: dict[str, list[UnusableExample]] = {}
    for v in unusable_values(conn):
        counts[v.field] = counts.get(v.field, 0) + 1
        some = shown.setdefault(v.field, [])
        if len(some) < examples:
            some.append(UnusableExample(cmms_asset_id=v.cmms_asset_id, problem=v.problem))
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [UnusableField(field=name, assets=k, examples=shown[name]) for name, k in ordered]


def needs_attention(
    conn: sa.Connection, *, failing_runs: int = FAILING_RUNS, shown: int | None = SHOWN
) -> Attention:
    """Everything that needs a person, for the page and the command."""
    failing_total, failing = failing_assets(conn, runs=failing_runs, limit=shown)
    never_total, never = never_synced(conn, limit=shown)
    return Attention(
        failing_runs=failing_runs,
        failing_total=failing_total,
        failing=failing,
        never_synced_total=never_total,
        never_synced=never,
        unusable=unusable_fields(conn),
    )
