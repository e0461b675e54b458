"""The measured fast path of the per-asset writes: statements compiled once, run on the DBAPI
cursor of the caller's transaction.

Why it exists: a run writes the same few statement shapes for thousands of assets, and building
and compiling them through SQLAlchemy for every asset cost several times the database's own work
(docs/performance.md). Here each shape is compiled once (cached per dialect and column set) and
executed on the driver's cursor. Inside `transaction()` PostgreSQL gets one asset's BEGIN,
statements (prepared once per connection) and COMMIT in one libpq pipeline (db/pgpipe.py): one
round trip instead of one each. `make bench` (bench/run.py) counts the round trips and measures
the whole against a bare loop and the customer's sketch.

It rests on SQLAlchemy internals (compiled.positiontup, compiled.binds, bind processors, the
pool's connection fairy, DBAPIError.instance), which is why pyproject.toml pins SQLAlchemy below
its next minor version. Only db/writes.py uses it.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ic3sync.db import pgpipe
from ic3sync.db.schema import asset_master, metadata

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler

# Where transaction() keeps its PostgreSQL pipeline, in the connection's info.
_PIPELINE = "ic3sync.pipeline"
_NAMES = itertools.count(1)
_PYFORMAT = re.compile(r"%\((\w+)\)s|%%")


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One statement shape, ready for the driver: its SQL and how to lay out its parameters."""

    sql: str
    positional: bool
    # (bind name, key of the row dict, the dialect's bind processor if the type has one)
    binds: tuple[tuple[str, str, Callable[[Any], Any] | None], ...]
    # PostgreSQL: the statement as libpq prepares it ($1, $2, ...), its name, and the row keys
    # of its parameters in order.
    pg_sql: bytes = b""
    pg_name: bytes = b""
    pg_keys: tuple[str, ...] = ()

    # The values of the row dict in bind order, read at C speed, and the positions whose type
    # has a bind processor: built once from `binds`.
    values: Callable[[Mapping[str, Any]], tuple[Any, ...]] = field(init=False, repr=False)
    processed: tuple[tuple[int, Callable[[Any], Any]], ...] = field(init=False, repr=False)
    pg_values: Callable[[Mapping[str, Any]], tuple[Any, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        keys = [key for _, key, _ in self.binds]
        set_ = object.__setattr__  # frozen
        set_(self, "values", _getter(keys))
        set_(self, "processed", tuple((i, p) for i, (_, _, p) in enumerate(self.binds) if p))
        set_(self, "pg_values", _getter(self.pg_keys))

    def pg_parameters(self, row: Mapping[str, Any]) -> list[bytes | None]:
        # pgpipe.text's forms, the three commonest without a call: an asset binds about 110
        # values, half of them ints. (A bool's class is not int: it goes to text, as "t"/"f".)
        text = pgpipe.text
        return [
            None
            if v is None
            else v.encode()
            if (c := v.__class__) is str
            else b"%d" % v
            if c is int
            else text(v)
            for v in self.pg_values(row)
        ]

    def parameters(self, row: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values: Sequence[Any] = self.values(row)
        if self.processed:
            values = list(values)
            for i, process in self.processed:
                if values[i] is not None:
                    values[i] = process(values[i])
        if self.positional:
            return values
        return {name: value for (name, _, _), value in zip(self.binds, values, strict=True)}


def _getter(keys: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """row -> (row[k] for k in keys), as a tuple whatever the number of keys."""
    if len(keys) >= 2:
        return operator.itemgetter(*keys)  # type: ignore[return-value]
    return lambda row: tuple(row[key] for key in keys)


def _bind(column: sa.Column[Any]) -> sa.BindParameter[Any]:
    # Not the bare column name: SQLAlchemy reserves those for its own VALUES/SET parameters.
    return sa.bindparam("p_" + column.key, type_=column.type)


def _last_one(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process`, remembering its last value: one asset binds the same `now` a dozen times, and
    SQLite's timestamp processor formats it anew each time. Bound values are immutable."""
    # The pair is replaced whole, so a thread never sees one value with another's result.
    last: list[tuple[Any, Any]] = [(object(), None)]

    def remembered(value: Any) -> Any:
        seen, made = last[0]
        if value is not seen:
            made = process(value)
            last[0] = (value, made)
        return made

    return remembered


@functools.lru_cache(maxsize=64)
def _processor(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> Callable[[Any], Any] | None:
    """The bind processor of `type_`, one per type object for every statement that binds it:
    the columns of one type object (the schema's timestamps) then share what it last made, so an
    asset's `now` is formatted once, not once per statement."""
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    return _last_one(process) if process else None


def _compile(dialect: sa.Dialect, stmt: sa.ClauseElement) -> _Compiled:
    compiled = cast("SQLCompiler", stmt.compile(dialect=dialect))
    names = compiled.positiontup if compiled.positional else list(compiled.binds)
    binds = []
    for name in names or ():
        param = compiled.binds[name]
        binds.append((name, name.removeprefix("p_"), _processor(param.type, dialect)))
    if dialect.name != "postgresql":
        return _Compiled(compiled.string, compiled.positional, tuple(binds))
    if any(process is not None for _, _, process in binds):
        raise TypeError(f"a bind processor the libpq pipeline would skip: {compiled.string}")
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return "%"  # a literal percent sign, escaped for psycopg
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    pg_sql = _PYFORMAT.sub(number, compiled.string)
    return _Compiled(
        compiled.string,
        compiled.positional,
        tuple(binds),
        pg_sql.encode(),
        f"ic3_{next(_NAMES)}".encode(),
        tuple(name.removeprefix("p_") for name in order),
    )


@functools.lru_cache(maxsize=256)
def upsert_statement(
    dialect: sa.Dialect, table_name: str, keys: tuple[str, ...], columns: tuple[str, ...]
) -> _Compiled:
    table = metadata.tables[table_name]
    return _upsert(dialect, table, keys, columns, {c: _bind(table.c[c]) for c in columns})


@functools.lru_cache(maxsize=64)
def upsert_rows_statement(
    dialect: sa.Dialect,
    table_name: str,
    keys: tuple[str, ...],
    columns: tuple[str, ...],
    count: int,
) -> _Compiled:
    """upsert_statement for `count` rows of the same columns in one statement; the row dict
    names row i's column c as "<i>_<c>". The rows must differ in `keys` (PostgreSQL refuses a
    statement that would update one row twice)."""
    table = metadata.tables[table_name]
    rows = [
        {c: sa.bindparam(f"p_{i}_{c}", type_=table.c[c].type) for c in columns}
        for i in range(count)
    ]
    return _upsert(dialect, table, keys, columns, rows)


def _upsert(
    dialect: sa.Dialect,
    table: sa.Table,
    keys: tuple[str, ...],
    columns: tuple[str, ...],
    values: Any,
) -> _Compiled:
    """INSERT `values` (one row's binds, or a list of rows'); on a conflict on `keys`, UPDATE
    every column but the keys and created_at from what was inserted."""
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(values)
    update = {c: stmt.excluded[c] for c in columns if c not in keys and c != "created_at"}
    return _compile(dialect, stmt.on_conflict_do_update(index_elements=list(keys), set_=update))


@functools.lru_cache(maxsize=256)
def master_statement(dialect: sa.Dialect, columns: tuple[str, ...]) -> _Compiled:
    t = asset_master
    stmt = (
        sa.update(t)
        .where(t.c.asset_id == sa.bindparam("p_asset_id", type_=t.c.asset_id.type))
        .values(
            {t.c[c]: _bind(t.c[c]) for c in columns}
            | {t.c.sync_version: t.c.sync_version + sa.literal_column("1")}
        )
    )
    return _compile(dialect, stmt)


@functools.lru_cache(maxsize=8)
def update_statement(
    dialect: sa.Dialect, table_name: str, key: str, columns: tuple[str, ...]
) -> _Compiled:
    """UPDATE table SET columns WHERE key = :key, the values named as in the row dict."""
    table = metadata.tables[table_name]
    stmt = (
        sa.update(table)
        .where(table.c[key] == _bind(table.c[key]))
        .values({table.c[c]: _bind(table.c[c]) for c in columns})
    )
    return _compile(dialect, stmt)


@functools.lru_cache(maxsize=8)
def insert_statement(dialect: sa.Dialect, table_name: str, columns: tuple[str, ...]) -> _Compiled:
    table = metadata.tables[table_name]
    return _compile(dialect, sa.insert(table).values({c: _bind(table.c[c]) for c in columns}))


def execute(conn: sa.Connection, statement: _Compiled, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run `statement` once per row on the connection's DBAPI cursor, inside its transaction.

    Driver errors leave as SQLAlchemy's DBAPIError subclasses, as Connection.execute raises them,
    so callers handle one family of errors whichever path wrote.
    """
    pipeline: pgpipe.Pipeline | None = conn.info.get(_PIPELINE)
    if pipeline is not None:
        for row in rows:
            pipeline.execute(statement.pg_name, statement.pg_sql, statement.pg_parameters(row))
        return
    fairy = conn.connection
    params = [statement.parameters(row) for row in rows]
    cursor = _cursor(fairy)
    try:
        if len(params) == 1:
            cursor.execute(statement.sql, params[0])
        else:
            cursor.executemany(statement.sql, params)
    except conn.dialect.loaded_dbapi.Error as exc:
        _raise_wrapped(conn, fairy, statement.sql, params, exc)


# Where execute() keeps its cursor, in the pooled connection's info, beside the DBAPI connection
# it belongs to (info outlives a connection the pool replaced).
_CURSOR = "ic3sync.cursor"
_BEGIN_SQLITE = "BEGIN IMMEDIATE"


def _cursor(fairy: Any) -> Any:
    """One cursor per DBAPI connection for execute(), made on first use: SQLite statements cost
    microseconds, and a cursor made and closed for each was a fair share of them."""
    dbapi_connection = fairy.dbapi_connection
    kept = fairy.info.get(_CURSOR)
    if kept is None or kept[0] is not dbapi_connection:
        kept = (dbapi_connection, dbapi_connection.cursor())
        fairy.info[_CURSOR] = kept
    return kept[1]


def _raise_wrapped(conn: sa.Connection, fairy: Any, sql: str | None, params: Any, exc: Any) -> None:
    """Raise the driver's `exc` as SQLAlchemy's DBAPIError, as Connection.execute would."""
    dbapi_error = conn.dialect.loaded_dbapi.Error
    lost = conn.dialect.is_disconnect(exc, fairy.dbapi_connection, None)
    if lost:
        # What Connection.execute does on a disconnect: this connection is done for.
        conn.invalidate(exc)
    raise sa.exc.DBAPIError.instance(
        sql, params, exc, dbapi_error, connection_invalidated=lost
    ) from exc


@contextlib.contextmanager
def _driver_errors(conn: sa.Connection, fairy: Any, sql: str | None, params: Any) -> Iterator[None]:
    try:
        yield
    except conn.dialect.loaded_dbapi.Error as exc:
        _raise_wrapped(conn, fairy, sql, params, exc)


def send_now(conn: sa.Connection) -> None:
    """Inside transaction() on PostgreSQL: put what is queued on the wire now, without waiting
    for its answers, so the server works on it while the caller goes on. Elsewhere nothing."""
    pipeline: pgpipe.Pipeline | None = conn.info.get(_PIPELINE)
    if pipeline is not None:
        with _driver_errors(conn, conn.connection, None, None):
            pipeline.send()


def _sync(conn: sa.Connection) -> None:
    pipeline: pgpipe.Pipeline | None = conn.info.get(_PIPELINE)
    if pipeline is not None:
        with _driver_errors(conn, conn.connection, None, None):
            pipeline.sync()


@contextlib.contextmanager
def transaction(conn: sa.Connection) -> Iterator[None]:
    """One transaction of this module's statements, committed on leaving and rolled back on an
    error. On PostgreSQL its BEGIN, statements and COMMIT travel in one libpq pipeline, so the
    whole transaction costs one round trip (plus one per fetch_one()); psycopg's own transaction
    start would send BEGIN alone and wait for it. `conn` must not be in a transaction of its own.
    Only this module's statements (execute, fetch_one) may run inside."""
    if conn.dialect.name != "postgresql":
        with conn.begin():
            # pysqlite begins a transaction only before its first write, so a read before it
            # (change detection's stored values) would run outside the transaction, and another
            # writer could commit between it and the writes. IMMEDIATE takes the write lock now.
            fairy = conn.connection
            with _driver_errors(conn, fairy, _BEGIN_SQLITE, None):
                _cursor(fairy).execute(_BEGIN_SQLITE)
            yield
        return
    if conn.in_transaction():
        raise RuntimeError("fastpath.transaction() needs a connection outside a transaction")
    fairy = conn.connection
    driver: Any = fairy.driver_connection
    # In autocommit mode psycopg sends no BEGIN of its own and keeps out of the way.
    driver.autocommit = True
    pipeline = pgpipe.Pipeline(driver)
    conn.info[_PIPELINE] = pipeline
    try:
        with _driver_errors(conn, fairy, None, None):
            try:
                pipeline.command(b"BEGIN")
                yield
                pipeline.command(b"COMMIT")
                pipeline.sync()
            except BaseException:
                pipeline.abandon()
                _roll_back(driver)
                raise
    finally:
        conn.info.pop(_PIPELINE, None)
        if not driver.closed:
            with contextlib.suppress(Exception):
                driver.autocommit = False


def _roll_back(driver: Any) -> None:
    """End whatever the failed pipeline left open (a transaction, or an aborted one). Through
    the pipeline, not psycopg: psycopg answers a ROLLBACK it sees with DEALLOCATE ALL, which
    would take the write path's prepared statements too."""
    with contextlib.suppress(Exception):
        if not driver.closed and driver.info.transaction_status != 0:  # 0: IDLE
            pipeline = pgpipe.Pipeline(driver)
            pipeline.command(b"ROLLBACK")
            pipeline.sync()


@functools.lru_cache(maxsize=8)
def select_statement(dialect: sa.Dialect, stmt: sa.Select[Any]) -> _Compiled:
    """A SELECT compiled once; its bind parameters are named p_<key of the row dict>."""
    return _compile(dialect, stmt)


def fetch_one(
    conn: sa.Connection, statement: _Compiled, row: Mapping[str, Any]
) -> Sequence[Any] | None:
    """The row of a SELECT of at most one row, read now: inside transaction() on PostgreSQL
    after what the transaction queued before it (a round trip of its own)."""
    rows = _fetch(conn, statement, row, many=False)
    return rows[0] if rows else None


def fetch_all(
    conn: sa.Connection, statement: _Compiled, row: Mapping[str, Any]
) -> list[Sequence[Any]]:
    """The rows of a SELECT as the driver returns them, without SQLAlchemy's row objects: a
    page of a thousand wide rows costs a good part less."""
    return _fetch(conn, statement, row, many=True)


def _fetch(
    conn: sa.Connection, statement: _Compiled, row: Mapping[str, Any], *, many: bool
) -> list[Sequence[Any]]:
    _sync(conn)
    fairy = conn.connection
    params = statement.parameters(row)
    cursor = fairy.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with _driver_errors(conn, fairy, statement.sql, params):
            cursor.execute(statement.sql, params)
            if many:
                return cast("list[Sequence[Any]]", cursor.fetchall())
            one = cursor.fetchone()
            return [] if one is None else [one]
    finally:
        cursor.close()
