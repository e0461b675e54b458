"""What a sync changed in an asset's stored values: read them in one statement before the
asset's writes, compare them with what the writes store (`diff`, pure), and insert one
ic3_asset_change row per changed value in the asset's own transaction.

Values are compared as the database stores them, in one text form on both backends: numbers at
their column's scale ("1250.50"), instants in UTC ISO 8601, dates ISO. The first successful sync
of an asset (last_synced_at still NULL) is its baseline and records nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, NamedTuple

import sqlalchemy as sa

from ic3sync.db import fastpath
from ic3sync.db.errors import sqlstate
from ic3sync.db.schema import (
    ASSET_DETAILS,
    ASSET_INT_COLUMNS,
    ASSET_TEXT_COLUMNS,
    PERFORMANCE_TEXT_COLUMNS,
    WORKORDER_BY_PERIOD,
    WORKORDER_COST_COLUMNS,
    WORKORDER_COUNT_COLUMNS,
    WORKORDER_PERIODS,
    asset_change,
    asset_master,
    asset_performance,
    building,
    department,
    floor,
    workorder_summary,
)

__all__ = [
    "STALE_SQLSTATE",
    "Change",
    "Snapshot",
    "Stored",
    "diff",
    "expect_unchanged",
    "read_snapshots",
    "read_stored",
    "record",
    "stale",
    "stored_text",
]

# SQLSTATE of ic3_expect_unchanged's error (migration 0006).
STALE_SQLSTATE: Final = "IC3S1"


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
# The name of the building, floor and department the asset is assigned to, reached through the
# asset's own building_id, floor_id and department_id.
_DIMENSIONS: Final = (
    ("building", building, "building_id", "building_name"),
    ("floor", floor, "floor_id", "floor_name"),
    ("department", department, "department_id", "department_name"),
)

_TRACKED: Final[tuple[_Tracked, ...]] = (
    *(_Tracked(asset_master.name, c, asset_master.c[c]) for c in MASTER_COLUMNS),
    *(_Tracked(t.name, name, t.c[name]) for _, t, _, name in _DIMENSIONS),
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


def _fingerprint() -> sa.ColumnElement[str]:
    """PostgreSQL's mark of an asset's stored values: the transaction that last wrote each of
    its own rows (xmin: any change to the master, performance or work-order row, by anyone,
    changes it) and the names of the building, floor and department it is assigned to, whose
    rows other assets' syncs rewrite with the same names. As text, NULLs kept in place."""
    rows = [asset_master.name, asset_performance.name, *(f"wo_{p}" for p in WORKORDER_PERIODS)]
    marks: list[sa.ColumnElement[Any]] = [sa.literal_column(f"{name}.xmin") for name in rows]
    names = [table.c[name] for _, table, _, name in _DIMENSIONS]
    return sa.cast(sa.tuple_(*marks, *names), sa.Text)


def _guard_select() -> sa.Select[Any]:
    m = asset_master
    expected = sa.bindparam("p_fingerprint", type_=sa.Text)
    return (
        sa.select(sa.func.ic3_expect_unchanged(_fingerprint(), expected))
        .select_from(ASSET_DETAILS)
        .where(m.c.asset_id == sa.bindparam("p_asset_id", type_=m.c.asset_id.type))
        # Locked until the asset commits: nothing changes the row between the check and the
        # writes (the performance and work-order rows are written by runs alone, one at a time).
        .with_for_update(of=m)
    )


_GUARD_SELECT: Final = _guard_select()


Key = tuple[str, str]
Convert = Callable[[Any], Any]


class Stored:
    """An asset's stored values as the driver returned them (`row`, in the order of _KEYS), and
    whether it was synced before. On SQLite `loaders` turn a value into its Python type and
    `storers` a new value into the form SQLite stores (SQLAlchemy's result and bind
    processors), so that most values are compared without being converted at all."""

    __slots__ = ("loaders", "row", "storers", "synced_before")

    def __init__(
        self,
        synced_before: bool,
        row: Sequence[Any],
        loaders: Mapping[Key, Convert] | None = None,
        storers: Mapping[Key, Convert] | None = None,
    ) -> None:
        self.synced_before = synced_before
        self.row = row
        self.loaders = loaders or {}
        self.storers = storers or {}

    @classmethod
    def of(cls, synced_before: bool, values: Mapping[Key, Any]) -> Stored:
        """From values by (table_name, column_name), every other one NULL."""
        unknown = set(values) - set(_INDEX)
        if unknown:
            raise KeyError(f"not tracked: {sorted(unknown)}")
        return cls(synced_before, tuple(values.get(key) for key in _KEYS))

    def value(self, key: Key) -> Any:
        stored = self.row[_INDEX[key]]
        load = self.loaders.get(key)
        return stored if load is None or stored is None else load(stored)

    def unchanged_by(self, key: Key, new: Any) -> bool:
        """Whether storing `new` leaves the stored value as it is."""
        stored = self.row[_INDEX[key]]
        if type(stored) is type(new) and stored == new:
            return True
        store = self.storers.get(key)
        return store is not None and stored is not None and new is not None and stored == store(new)


@functools.lru_cache(maxsize=4)
def _converters(dialect: sa.Dialect) -> tuple[dict[Key, Convert], dict[Key, Convert]]:
    # psycopg hands back Decimal, date and datetime itself. SQLite hands back the strings and
    # REALs it stores; its types' own processors read them as a query through SQLAlchemy would.
    if dialect.name == "postgresql":
        return {}, {}
    loaders: dict[Key, Convert] = {}
    storers: dict[Key, Convert] = {}
    for t in _TRACKED:
        impl = t.column.type.dialect_impl(dialect)
        load = impl.result_processor(dialect, None)
        store = impl.bind_processor(dialect)
        if load is not None:
            loaders[t.table_name, t.column_name] = load
        if store is not None:
            storers[t.table_name, t.column_name] = store
    return loaders, storers


# The keys of the tracked values, in the order _STORED_SELECT reads them (after last_synced_at),
# and the place of each: a stored row is kept as the driver's tuple, with no dict made per asset.
_KEYS: Final[tuple[Key, ...]] = tuple((t.table_name, t.column_name) for t in _TRACKED)
_INDEX: Final[dict[Key, int]] = {key: i for i, key in enumerate(_KEYS)}


def _stored(row: Sequence[Any], dialect: sa.Dialect) -> Stored:
    loaders, storers = _converters(dialect)
    values = row[1:]
    if len(values) != len(_KEYS):
        raise ValueError(f"a stored row of {len(values)} values for {len(_KEYS)} tracked")
    return Stored(row[0] is not None, values, loaders, storers)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An asset's stored values read ahead of its sync, with their PostgreSQL fingerprint
    (_fingerprint)."""

    stored: Stored
    fingerprint: str


def _snapshots_select() -> sa.Select[Any]:
    m = asset_master
    # The ids as one array parameter, which psycopg sends typed: one statement whatever the
    # page's size. (Sent as text and cast, the array would be parsed again for every row.)
    ids = sa.bindparam("p_asset_ids", type_=sa.types.NullType())
    return (
        sa.select(m.c.asset_id, _fingerprint(), *_STORED_SELECT.selected_columns)
        .select_from(ASSET_DETAILS)
        .where(m.c.asset_id == sa.func.any(ids))
    )


_SNAPSHOTS_SELECT: Final = _snapshots_select()


def read_snapshots(conn: sa.Connection, asset_ids: Sequence[int]) -> dict[int, Snapshot]:
    """The stored values of these assets, in one statement, keyed by asset_id (PostgreSQL).

    A run reads them a page ahead; each asset's transaction then checks that its values are
    still the ones read (expect_unchanged) instead of reading them in a round trip of its own."""
    if not asset_ids:
        return {}
    statement = fastpath.select_statement(conn.dialect, _SNAPSHOTS_SELECT)
    rows = fastpath.fetch_all(conn, statement, {"asset_ids": list(asset_ids)})
    return {row[0]: Snapshot(_stored(row[2:], conn.dialect), row[1]) for row in rows}


def expect_unchanged(conn: sa.Connection, asset_id: int, snapshot: Snapshot) -> None:
    """In the asset's transaction, before its writes: fail the transaction (stale()) if its
    stored values are no longer those of `snapshot`, and lock its row until the commit."""
    statement = fastpath.select_statement(conn.dialect, _GUARD_SELECT)
    fastpath.execute(conn, statement, [{"asset_id": asset_id, "fingerprint": snapshot.fingerprint}])


def stale(exc: BaseException) -> bool:
    """Whether `exc` is expect_unchanged's failure."""
    return sqlstate(exc) == STALE_SQLSTATE


def read_stored(conn: sa.Connection, asset_id: int) -> Stored | None:
    """An asset's stored values, read in one statement inside its transaction (before its
    writes): on PostgreSQL a round trip of its own, on SQLite in process."""
    row = fastpath.fetch_one(
        conn, fastpath.select_statement(conn.dialect, _STORED_SELECT_LOCKED), {"asset_id": asset_id}
    )
    return None if row is None else _stored(row, conn.dialect)


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
    (attr, name, (table.name, name), table.c[name].type) for attr, table, _, name in _DIMENSIONS
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
    if stored.unchanged_by(key, value):
        return
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
    """Insert the changes, in the caller's transaction (the asset's)."""
    if not changes:
        return
    rows = [
        {
            "asset_id": asset_id,
            "cmms_asset_id": cmms_asset_id,
            "run_id": run_id,
            **c._asdict(),
            "changed_at": now,
        }
        for c in changes
    ]
    statement = fastpath.insert_statement(conn.dialect, asset_change.name, tuple(rows[0]))
    fastpath.execute(conn, statement, rows)
