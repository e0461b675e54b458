"""What a sync changed in an asset's stored values: read them in one statement inside the
asset's transaction, before its writes, compare them with what the writes store (`diff`, pure),
and insert one ic3_asset_change row per changed value in that same transaction.

Values are compared as the database stores them, in one text form on both backends: numbers at
their column's scale ("1250.50"), instants in UTC ISO 8601, dates ISO. The first successful sync
of an asset (last_synced_at still NULL) is its baseline and records nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, NamedTuple

import sqlalchemy as sa

from ic3sync.db.schema import (
    ASSET_DETAILS,
    ASSET_INT_COLUMNS,
    ASSET_TEXT_COLUMNS,
    PERFORMANCE_TEXT_COLUMNS,
    REFERENCE_TABLES,
    WORKORDER_BY_PERIOD,
    WORKORDER_COST_COLUMNS,
    WORKORDER_COUNT_COLUMNS,
    WORKORDER_PERIODS,
    asset_change,
    asset_master,
    asset_performance,
    workorder_summary,
)

__all__ = ["Change", "Stored", "diff", "read_stored", "record", "stored_text"]


class Change(NamedTuple):
    table_name: str
    column_name: str
    old_value: str | None
    new_value: str | None


@dataclass(frozen=True, slots=True)
class _Tracked:
    """One stored value a sync may change: where it lives, and the column that types it."""

    table_name: str
    column_name: str  # as recorded: work-order columns are prefixed with their period
    column: sa.ColumnElement[Any]


MASTER_COLUMNS: Final = (
    *ASSET_TEXT_COLUMNS,
    *ASSET_INT_COLUMNS,
    "customer_id",
    "customer_name",
    "location_id",
    "location_name",
    "installation_date",
    "traceability_updated_on",
)
# The parsed companions (mttr_seconds, availability_pct, ...) are left out: they follow from the
# text beside them in the same row, and a second row per change would only repeat it.
PERFORMANCE_COLUMNS: Final = (
    *(c for c in PERFORMANCE_TEXT_COLUMNS if c != "serialnumber"),
    "total_ticket",
)
WORKORDER_COLUMNS: Final = (*WORKORDER_COUNT_COLUMNS, *WORKORDER_COST_COLUMNS)

_TRACKED: Final[tuple[_Tracked, ...]] = (
    *(_Tracked(asset_master.name, c, asset_master.c[c]) for c in MASTER_COLUMNS),
    *(_Tracked(t.name, name, t.c[name]) for _, t, _, name in REFERENCE_TABLES),
    *(_Tracked(asset_performance.name, c, asset_performance.c[c]) for c in PERFORMANCE_COLUMNS),
    *(
        _Tracked(workorder_summary.name, f"{p}.{c}", WORKORDER_BY_PERIOD[p].c[c])
        for p in WORKORDER_PERIODS
        for c in WORKORDER_COLUMNS
    ),
)


def _stored_select() -> sa.Select[Any]:
    m = asset_master
    return (
        sa.select(m.c.last_synced_at, *(t.column for t in _TRACKED))
        .select_from(ASSET_DETAILS)
        .where(m.c.asset_id == sa.bindparam("p_asset_id", type_=m.c.asset_id.type))
    )


_STORED_SELECT: Final = _stored_select()
# Read inside the asset's transaction: its master row locked until the commit, so that no other
# writer (an import) changes what was read before the writes (SQLite's transaction holds the
# write lock from its start).
_STORED_SELECT_LOCKED: Final = _STORED_SELECT.with_for_update(of=asset_master)


Key = tuple[str, str]


class Stored:
    """An asset's stored values (`row`, in the order of _KEYS, as SQLAlchemy reads them), and
    whether it was synced before."""

    __slots__ = ("row", "synced_before")

    def __init__(self, synced_before: bool, row: Sequence[Any]) -> None:
        self.synced_before = synced_before
        self.row = row

    @classmethod
    def of(cls, synced_before: bool, values: Mapping[Key, Any]) -> Stored:
        """From values by (table_name, column_name), every other one NULL."""
        unknown = set(values) - set(_INDEX)
        if unknown:
            raise KeyError(f"not tracked: {sorted(unknown)}")
        return cls(synced_before, tuple(values.get(key) for key in _KEYS))

    def value(self, key: Key) -> Any:
        return self.row[_INDEX[key]]


# The keys of the tracked values, in the order _STORED_SELECT reads them (after last_synced_at),
# and the place of each: a stored row is kept as the driver's tuple, with no dict made per asset.
_KEYS: Final[tuple[Key, ...]] = tuple((t.table_name, t.column_name) for t in _TRACKED)
_INDEX: Final[dict[Key, int]] = {key: i for i, key in enumerate(_KEYS)}
# Every column_name a sync records, for a filter to tell a misspelt name from a quiet column.
TRACKED_COLUMNS: Final = frozenset(column for _, column in _KEYS)


def read_stored(conn: sa.Connection, asset_id: int) -> Stored | None:
    """An asset's stored values, read in one statement inside its transaction (before its
    writes), its master row locked until the commit."""
    row = conn.execute(_STORED_SELECT_LOCKED, {"p_asset_id": asset_id}).first()
    if row is None:
        return None
    values = tuple(row)[1:]
    if len(values) != len(_KEYS):
        raise ValueError(f"a stored row of {len(values)} values for {len(_KEYS)} tracked")
    return Stored(row[0] is not None, values)


def stored_text(value: Any, type_: sa.types.TypeEngine[Any]) -> str | None:
    """`value` in the text form the history keeps, the same whichever backend stored it."""
    if value is None:
        return None
    if isinstance(type_, sa.Numeric) and not isinstance(value, int):
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        if type_.scale is not None:
            # As PostgreSQL rounds on storing: half away from zero.
            number = number.quantize(Decimal(1).scaleb(-type_.scale), rounding=ROUND_HALF_UP)
        return format(number, "f")
    if isinstance(value, datetime):
        if getattr(type_, "timezone", False):
            # SQLite hands back the UTC instant it stored without its zone.
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _tracked(table_name: str, prefix: str = "") -> dict[str, tuple[Key, Any, int]]:
    """A row's column -> (its key in Stored, the type that gives its text form, its place in
    Stored.row), for the tracked columns of `table_name` (work-order columns recorded under
    `prefix`)."""
    out: dict[str, tuple[Key, Any, int]] = {}
    for t in _TRACKED:
        if t.table_name == table_name and t.column_name.startswith(prefix):
            key = (t.table_name, t.column_name)
            out[t.column_name.removeprefix(prefix)] = (key, t.column.type, _INDEX[key])
    return out


# What each part of a mapping.AssetRows writes, looked up by the row's own column names. A value
# the API left empty is absent from the rows, keeps what is stored, and is no change; keys, the
# echoed serialnumber and the parsed companions are not tracked.
_MASTER_TRACKED: Final = _tracked(asset_master.name)
_DIMENSION_TRACKED: Final = tuple(
    (attr, name, (table.name, name), table.c[name].type)
    for attr, table, _, name in REFERENCE_TABLES
)
_PERFORMANCE_TRACKED: Final = _tracked(asset_performance.name)
_WORKORDER_TRACKED: Final = {
    p: _tracked(workorder_summary.name, p + ".") for p in WORKORDER_PERIODS
}


def diff(stored: Stored | None, rows: Any) -> list[Change]:
    """The changes the writes of `rows` (a mapping.AssetRows) make to `stored`, in a stable
    order: the master's, the dimension names, the performance row's, then each work-order
    period's. None for a baseline (an asset never synced), and none without a stored row."""
    if stored is None or not stored.synced_before:
        return []
    found: list[Change] = []
    _compare(stored, _MASTER_TRACKED, rows.master, found)
    for attr, name, key, type_ in _DIMENSION_TRACKED:
        row = getattr(rows, attr)
        if row and name in row:
            _compare_one(stored, key, type_, row[name], found)
    _compare(stored, _PERFORMANCE_TRACKED, rows.performance, found)
    for period in rows.workorders:
        _compare(stored, _WORKORDER_TRACKED[period["period_type"]], period, found)
    return found


def _compare(
    stored: Stored,
    tracked: Mapping[str, tuple[Key, Any, int]],
    row: Mapping[str, Any],
    found: list[Change],
) -> None:
    values = stored.row
    for column, value in row.items():
        entry = tracked.get(column)
        if entry is None:
            continue
        old = values[entry[2]]
        # Most values of a sync are unchanged, and this spares them the text forms.
        if type(old) is type(value) and old == value:
            continue
        _compare_one(stored, entry[0], entry[1], value, found)


def _compare_one(stored: Stored, key: Key, type_: Any, value: Any, found: list[Change]) -> None:
    old = stored_text(stored.value(key), type_)
    new = stored_text(value, type_)
    if old != new:
        found.append(Change(key[0], key[1], old, new))


def record(
    conn: sa.Connection,
    *,
    asset_id: int,
    cmms_asset_id: str,
    run_id: int,
    changes: Sequence[Change],
    now: datetime,
) -> None:
    """Insert a sync's changes (source `cmms`), in the caller's transaction (the asset's)."""
    if not changes:
        return
    rows = [
        {
            "asset_id": asset_id,
            "cmms_asset_id": cmms_asset_id,
            "run_id": run_id,
            **c._asdict(),
            "changed_at": now,
            "source": "cmms",
        }
        for c in changes
    ]
    conn.execute(sa.insert(asset_change), rows)
