"""One place that makes engines: SQLite gets the pragmas a long-running writer needs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ic3sync.errors import ConfigError
from ic3sync.urls import mask_secret_params

SQLITE_BUSY_TIMEOUT_MS = 10_000
# The URL forms PostgreSQL's documentation and hosting panels hand out; psycopg 3 is the only
# PostgreSQL driver shipped, so each of them means it.
PSYCOPG_ALIASES = {"postgres", "postgresql", "postgres+psycopg"}
SUPPORTED = "postgresql://user:pass@host:5432/db or sqlite:///path/to/file.db"


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"IC3_DATABASE_URL is not a database URL: {redact_url(url)}") from None
    if parsed.drivername in PSYCOPG_ALIASES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = sa.create_engine(
                parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
            )
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            sa.event.listen(engine, "begin", _sqlite_begin)
            return engine
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("connect_args", {"connect_timeout": 10})
        return sa.create_engine(parsed, **kwargs)
    except (sa.exc.NoSuchModuleError, ImportError):
        # An unknown dialect, or a driver that is not installed (mysql://, postgresql+psycopg2).
        raise ConfigError(
            f"IC3_DATABASE_URL uses the database driver {parsed.drivername!r}, which ic3sync "
            f"does not support: use {SUPPORTED}"
        ) from None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL lets the admin service read while a sync writes.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
    # SQLAlchemy, not pysqlite, says where a transaction begins (_sqlite_begin): pysqlite would
    # begin one only before the first write, so a read before it ran outside the transaction.
    dbapi_conn.isolation_level = None


# A connection's execution option: its transactions take SQLite's write lock as they begin, so
# what they read before writing cannot be changed by another writer first (a sync's asset).
WRITE_LOCK_AT_BEGIN = "ic3sync_sqlite_immediate"


def _sqlite_begin(conn: sa.Connection) -> None:
    immediate = conn.get_execution_options().get(WRITE_LOCK_AT_BEGIN, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def redact_url(url: str) -> str:
    """The URL without its password, in the userinfo or a query parameter, for messages."""
    try:
        return mask_secret_params(make_url(url).render_as_string(hide_password=True))
    except Exception:
        return "<unparseable URL>"
