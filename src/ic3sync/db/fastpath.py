"""The measured fast path of the per-asset writes: statements compiled once, run on the DBAPI
cursor of the caller's transaction.

Why it exists: a run writes the same few statement shapes for thousands of assets, and building
and compiling them through SQLAlchemy for every asset cost several times the database's own work
(docs/performance.md). Here each shape is compiled once (cached per dialect and column set) and
executed on the driver's cursor; inside `pipeline()` PostgreSQL gets one asset's statements in one
round trip instead of one each. `make bench` (bench/run.py) measures it against the plain path.

It rests on SQLAlchemy internals (compiled.positiontup, compiled.binds, bind processors, the
pool's connection fairy, DBAPIError.instance), which is why pyproject.toml pins SQLAlchemy below
its next minor version. Only db/writes.py uses it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ic3sync.db.schema import asset_master, metadata


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One statement shape, ready for the driver: its SQL and how to lay out its parameters."""

    sql: str
    positional: bool
    # (bind name, key of the row dict, the dialect's bind processor if the type has one)
    binds: tuple[tuple[str, str, Callable[[Any], Any] | None], ...]

    def parameters(self, row: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = [
            row[key] if process is None or row[key] is None else process(row[key])
            for _, key, process in self.binds
        ]
        if self.positional:
            return values
        return {name: value for (name, _, _), value in zip(self.binds, values, strict=True)}


def _bind(column: sa.Column[Any]) -> sa.BindParameter[Any]:
    # Not the bare column name: SQLAlchemy reserves those for its own VALUES/SET parameters.
    return sa.bindparam("p_" + column.key, type_=column.type)


def _compile(dialect: sa.Dialect, stmt: sa.Executable) -> _Compiled:
    compiled = stmt.compile(dialect=dialect)
    names = compiled.positiontup if compiled.positional else list(compiled.binds)
    binds = []
    for name in names or ():
        param = compiled.binds[name]
        process = param.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((name, name.removeprefix("p_"), process))
    return _Compiled(compiled.string, compiled.positional, tuple(binds))


@functools.lru_cache(maxsize=256)
def upsert_statement(
    dialect: sa.Dialect, table_name: str, keys: tuple[str, ...], columns: tuple[str, ...]
) -> _Compiled:
    table = metadata.tables[table_name]
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values({c: _bind(table.c[c]) for c in columns})
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
def insert_statement(dialect: sa.Dialect, table_name: str, columns: tuple[str, ...]) -> _Compiled:
    table = metadata.tables[table_name]
    return _compile(dialect, sa.insert(table).values({c: _bind(table.c[c]) for c in columns}))


def execute(conn: sa.Connection, statement: _Compiled, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run `statement` once per row on the connection's DBAPI cursor, inside its transaction.

    Driver errors leave as SQLAlchemy's DBAPIError subclasses, as Connection.execute raises them,
    so callers handle one family of errors whichever path wrote.
    """
    fairy = conn.connection
    params = [statement.parameters(row) for row in rows]
    cursor = fairy.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with _driver_errors(conn, fairy, statement.sql, params):
            if len(params) == 1:
                cursor.execute(statement.sql, params[0])
            else:
                cursor.executemany(statement.sql, params)
    finally:
        cursor.close()


@contextlib.contextmanager
def _driver_errors(conn: sa.Connection, fairy: Any, sql: str | None, params: Any) -> Iterator[None]:
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as exc:
        lost = conn.dialect.is_disconnect(exc, fairy.dbapi_connection, None)
        if lost:
            # What Connection.execute does on a disconnect: this connection is done for.
            conn.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            sql, params, exc, dbapi_error, connection_invalidated=lost
        ) from exc


@contextlib.contextmanager
def pipeline(conn: sa.Connection) -> Iterator[None]:
    """Send the statements of the write path run inside as one batch: PostgreSQL gets them in
    one round trip (psycopg pipeline mode) and reports the first error on leaving. SQLite runs in
    process and has no round trips to save. Only this module's writes may run inside."""
    if conn.dialect.name != "postgresql":
        yield
        return
    fairy = conn.connection
    with _driver_errors(conn, fairy, None, None), fairy.driver_connection.pipeline():  # type: ignore[union-attr]
        yield


@functools.lru_cache(maxsize=8)
def select_statement(dialect: sa.Dialect, stmt: sa.Select[Any]) -> _Compiled:
    """A SELECT compiled once; its bind parameters are named p_<key of the row dict>."""
    return _compile(dialect, stmt)


def fetch_later(
    conn: sa.Connection, statement: _Compiled, row: Mapping[str, Any]
) -> Callable[[], Sequence[Any] | None]:
    """Run a SELECT of at most one row now and return a function that gives that row.

    Inside pipeline() on PostgreSQL the row comes back with the rest of the batch, so reading it
    costs no round trip of its own: call the function after leaving the pipeline. Elsewhere the
    row is read at once, before any later statement of the transaction can change it."""
    fairy = conn.connection
    params = statement.parameters(row)
    cursor = fairy.dbapi_connection.cursor()  # type: ignore[union-attr]
    with _driver_errors(conn, fairy, statement.sql, params):
        cursor.execute(statement.sql, params)
    if conn.dialect.name != "postgresql":
        try:
            found = cursor.fetchone()
        finally:
            cursor.close()
        return lambda: found

    def fetch() -> Sequence[Any] | None:
        try:
            with _driver_errors(conn, fairy, statement.sql, params):
                return cursor.fetchone()  # type: ignore[no-any-return]
        finally:
            cursor.close()

    return fetch
