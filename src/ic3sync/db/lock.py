"""The one-run-at-a-time lock, held across processes and released by the OS when a holder dies.

PostgreSQL: a session-level advisory lock on a connection kept open for the run.
SQLite: an exclusive flock on `<database file>.lock`, beside the database.
A crashed holder therefore never leaves the lock stuck; its run row is marked `interrupted`
by the next one to take the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa

# An arbitrary constant shared by every ic3sync process on a database ("ic3s" in ASCII).
ADVISORY_KEY = 0x69633373

# For in-memory SQLite, where no other process can see the database anyway.
_memory_lock = threading.Lock()


class RunLock:
    """`with RunLock(engine) as held:` — `held` is False when another run has the lock."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._conn: sa.Connection | None = None
        self._fd: int | None = None
        self._memory = False
        self.held = False

    def acquire(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            self._conn = self.engine.connect()
            got = self._conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}
            ).scalar()
            self._conn.commit()
            if not got:
                self._conn.close()
                self._conn = None
            self.held = bool(got)
            return self.held
        path = _sqlite_lock_path(self.engine)
        if path is None:
            self._memory = _memory_lock.acquire(blocking=False)
            self.held = self._memory
            return self.held
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        self.held = True
        return True

    def ensure(self) -> bool:
        """After the database went away: True if this holder still has the lock or took it back.

        A PostgreSQL session lock dies with its connection, so a run that rode out an outage
        must take it again, and must stop if another run took it meanwhile.
        """
        if self.engine.dialect.name != "postgresql":
            return self.held  # a file lock or a thread lock does not depend on the database
        if self._conn is None:
            # Lost, and taking it back failed last time (the database was still away).
            return self.acquire()
        try:
            self._conn.execute(sa.text("SELECT 1"))
            self._conn.commit()
            return True
        except sa.exc.DBAPIError:
            pass
        with contextlib.suppress(sa.exc.DBAPIError):
            self._conn.close()
        self._conn = None
        self.held = False
        return self.acquire()

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._conn.commit()
            except sa.exc.DBAPIError:
                pass  # a dead connection has released its session lock already
            finally:
                self._conn.close()
                self._conn = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._memory:
            _memory_lock.release()
            self._memory = False
        self.held = False

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _sqlite_lock_path(engine: sa.Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).resolve().with_name(Path(database).name + ".lock")
