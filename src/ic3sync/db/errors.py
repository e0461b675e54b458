"""Database errors in our words: one place that reads a DBAPI error, and one context manager
that turns the errors of SQLAlchemy and the driver into DatabaseError (on the pattern of httpx's
`map_exceptions`). Messages keep the DBAPI's first line only: the rest quotes the statement and
its parameters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from ic3sync.db import engine as engine_module
from ic3sync.errors import DatabaseError

REASON_LIMIT = 300


def db_reason(exc: BaseException) -> str:
    """The first line of the driver's message, which names the problem."""
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:REASON_LIMIT]


def unreachable_message(url: str) -> str:
    """map_db_errors' message for the database at `url`: it names the database, and for a
    SQLite file what SQLite's "unable to open database file" leaves out (a missing folder, a
    folder given for the file)."""
    message = f"cannot reach the database {engine_module.redact_url(url)}: {{reason}}"
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return message
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return message
    path = Path(database)
    if path.is_dir():
        return message + f" ({path} is a folder: name the database file in it)"
    if not path.parent.is_dir():
        return message + f" (the folder {path.parent} does not exist)"
    return message


def connection_lost(exc: BaseException) -> bool:
    """The connection went away (or never came): retrying on a new one may succeed."""
    return isinstance(exc, sa.exc.DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError)
    )


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE PostgreSQL gave the error behind `exc`, if it gave one."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None)


def sqlite_locked(exc: BaseException) -> bool:
    return exc.__class__ is sa.exc.OperationalError and "database is locked" in str(exc.orig)


def locked_message(exc: BaseException) -> str:
    waited = engine_module.SQLITE_BUSY_TIMEOUT_MS / 1000
    return (
        f"the SQLite database file stayed locked by another program for {waited:g} s "
        f"({db_reason(exc)}); close whatever holds it and run the sync again"
    )


@contextmanager
def map_db_errors(
    message: str = "database unreachable: {reason}",
    *,
    catch: type[sa.exc.SQLAlchemyError] | tuple[type[sa.exc.SQLAlchemyError], ...] = (
        sa.exc.OperationalError
    ),
) -> Iterator[None]:
    """Raise DatabaseError(message) for the errors in `catch`; `{reason}` in the message is the
    DBAPI's first line. A SQLite file locked by another program says so instead."""
    try:
        yield
    except catch as exc:
        if sqlite_locked(exc):
            raise DatabaseError(locked_message(exc)) from None
        raise DatabaseError(message.format(reason=db_reason(exc))) from None
