"""How a command ends: the consoles it speaks on, its exit code (0 ok, 3 some assets failed,
1 fatal, 130 cancelled), and our errors turned into one line on standard error."""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from ic3sync.errors import Ic3SyncError
from ic3sync.terminal import escape, make_console

EXIT_OK, EXIT_FATAL, EXIT_SOME_FAILED, EXIT_CANCELLED = 0, 1, 3, 130

out = make_console()
err = make_console(stderr=True)


def fail(message: str, code: int = EXIT_FATAL) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


def run_exit_code(status: str, failed: int) -> int:
    """The exit code of a command that ran a sync which ended `status` with `failed` assets."""
    if status == "aborted":
        return EXIT_FATAL
    if status == "cancelled":
        return EXIT_CANCELLED
    return EXIT_SOME_FAILED if failed else EXIT_OK


@contextmanager
def errors_as_exit_codes() -> Iterator[None]:
    """Our errors become one line on stderr and an exit code, never a traceback."""
    try:
        yield
    except Ic3SyncError as exc:
        fail(escape(str(exc)))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        fail(f"cannot listen: {escape(str(exc.strerror))}; is another process on that port?")
    except Exception as exc:
        # SQLAlchemy's errors come only from a command that loaded it to open a database.
        sa_exc = sys.modules.get("sqlalchemy.exc")
        if sa_exc is None or not isinstance(exc, sa_exc.OperationalError):
            raise
        from ic3sync.db.errors import db_reason

        fail(f"database unreachable: {escape(db_reason(exc))}")
