"""One PostgreSQL transaction's statements as one libpq pipeline, driven through psycopg's `pq`
layer: named prepared statements, parameters in text form, one Sync and one wait for the lot.

Why not psycopg's own pipeline mode: it costs about 35 µs of Python per statement (a cursor, its
adapters, a flush and a poll for each), which for the nine statements of an asset was more than
PostgreSQL's own work and as much as the whole HTTP request (`make bench`). Here a statement is
one libpq call. Only db/fastpath.py uses this, for its compiled statements; errors leave as
psycopg's own exception classes, which fastpath wraps as SQLAlchemy does.
"""

from __future__ import annotations

import contextlib
import select
import weakref
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import pq

_STATUS = pq.ExecStatus
# "prepared statement ... does not exist"
UNPREPARED_SQLSTATE = "26000"


class _Session:
    """What this module prepared on one connection. psycopg runs DEALLOCATE ALL after a
    rollback of its own, which takes these statements too: the batch that finds one missing
    fails, and the session moves to a new generation of names, prepared afresh (a name that
    did survive is never prepared twice)."""

    def __init__(self) -> None:
        self.generation = 1
        self.names: set[bytes] = set()

    def name(self, base: bytes) -> bytes:
        return b"%s_%d" % (base, self.generation)

    def lost(self) -> None:
        self.generation += 1
        self.names.clear()


# A session's prepared statements live as long as its connection.
_SESSIONS: weakref.WeakKeyDictionary[Any, _Session] = weakref.WeakKeyDictionary()


# The last time value text() made and what it made: an asset binds the same `now` a dozen times.
_LAST_TIME: tuple[Any, bytes] = (object(), b"")


def text(value: Any) -> bytes | None:
    """A parameter in PostgreSQL's text form; the statement's casts give it its type."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, int | Decimal):
        return str(value).encode()
    if isinstance(value, float):
        return repr(value).encode()
    if isinstance(value, datetime | date | time):
        global _LAST_TIME
        seen, made = _LAST_TIME
        if value is not seen:
            made = value.isoformat().encode()
            _LAST_TIME = (value, made)  # replaced whole: no thread sees a half of it
        return made
    raise TypeError(f"no text form for a parameter of type {type(value).__name__}")


class Pipeline:
    """The statements of one transaction, sent as they come and answered at `sync()`."""

    def __init__(self, driver: psycopg.Connection[Any]) -> None:
        self.driver = driver
        self.pg = driver.pgconn
        self.encoding = driver.info.encoding
        self.session = _SESSIONS.setdefault(driver, _Session())
        self.preparing: set[bytes] = set()
        # One entry per command sent: the name it prepares, or None.
        self.sent: list[bytes | None] = []
        self.open = False

    def command(self, sql: bytes) -> None:
        self._enter()
        self.pg.send_query_params(sql, None)
        self.sent.append(None)

    def execute(self, base: bytes, sql: bytes, params: Sequence[bytes | None]) -> None:
        """Run the statement `sql`, prepared under a name made of `base` (one per statement)."""
        self._enter()
        name = self.session.name(base)
        if name not in self.session.names and name not in self.preparing:
            self.pg.send_prepare(name, sql)
            self.sent.append(name)
            self.preparing.add(name)
        self.pg.send_query_prepared(name, params)
        self.sent.append(None)

    def sync(self) -> None:
        """Send what is queued, wait for every answer, and leave pipeline mode; the first error
        of the batch is raised (the statements after it were skipped by the server)."""
        if not self.open:
            return
        error: psycopg.Error | None = None
        try:
            self.pg.pipeline_sync()
            self._flush()
            while True:
                result = self._next_result()
                if result is None:
                    continue
                status = result.status
                if status == _STATUS.PIPELINE_SYNC:
                    break
                name = self.sent.pop(0)
                if status == _STATUS.FATAL_ERROR:
                    if error is None:
                        error = psycopg.errors.error_from_result(result, encoding=self.encoding)
                elif name is not None and status == _STATUS.COMMAND_OK:
                    self.session.names.add(name)
        except OSError as exc:
            raise psycopg.OperationalError(f"connection lost: {exc}") from None
        finally:
            self.sent.clear()
            self.preparing.clear()
            self.open = False
            if self.pg.status == pq.ConnStatus.OK:
                self.pg.exit_pipeline_mode()
        if error is not None:
            if error.sqlstate == UNPREPARED_SQLSTATE:
                self.session.lost()
            raise error

    def send(self) -> None:
        """Send what is queued without waiting for the answers, which sync() reads."""
        if self.open:
            try:
                self._flush()
            except OSError as exc:
                raise psycopg.OperationalError(f"connection lost: {exc}") from None

    def abandon(self) -> None:
        """After an error outside the pipeline: drain it, ignoring what it answers."""
        with contextlib.suppress(psycopg.Error):
            self.sync()

    def _enter(self) -> None:
        if not self.open:
            self.pg.enter_pipeline_mode()
            self.open = True

    def _flush(self) -> None:
        # The connection is non-blocking: what does not fit in the socket's buffer waits for it.
        while self.pg.flush() == 1:
            readable, _, _ = select.select([self.pg.socket], [self.pg.socket], [])
            if readable:
                self.pg.consume_input()

    def _next_result(self) -> pq.abc.PGresult | None:
        while self.pg.is_busy():
            select.select([self.pg.socket], [], [])
            self.pg.consume_input()
        return self.pg.get_result()
