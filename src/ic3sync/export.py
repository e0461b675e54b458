"""The register, a run's failures and the change history as files people open in Excel (the
sheets themselves are workbook.py's), the register as it stood on a past day, and .csv files
for scripts, headed by database names.

Workbooks are written with openpyxl's write-only mode and the rows are read from the database in
chunks, so the memory an export takes does not grow with the register. A file named on the command
line is written beside its place and takes it only once whole (`written_whole`).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import os
import secrets
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel

from ic3sync import labels
from ic3sync.attention import attention_rows
from ic3sync.db import read
from ic3sync.db.read.as_of import as_of_columns, iter_register_as_of
from ic3sync.db.read.export import RegisterColumn
from ic3sync.db.views import ChangeRow
from ic3sync.errors import AsOfDateError, ExportFileError
from ic3sync.workbook import Book, Column, column, record_columns

Format = Literal["xlsx", "csv"]

REGISTER_SHEET = "Register"
FAILURES_SHEET = "Failures of the last full run"
CHANGES_SHEET = "Changes (last 30 days)"
ATTENTION_SHEET = "Needs attention"
ABOUT_SHEET = "About this file"
CHANGES_DAYS = 30


def register_columns(zone: ZoneInfo, of: Sequence[RegisterColumn] | None = None) -> list[Column]:
    """The register's columns (`of` them: the as-of register has fewer) in the order a planner
    reads them, headed by their labels."""
    by_name = {c.name: c for c in (of if of is not None else read.register_columns())}
    return [
        column(labels.register_label(name), by_name[name].type, zone, by_name[name].source)
        for name in labels.register_order(list(by_name))
    ]


def failure_columns(zone: ZoneInfo) -> list[Column]:
    return record_columns(labels.FAILURES, zone)


def change_columns(zone: ZoneInfo) -> list[Column]:
    return record_columns(labels.CHANGES, zone)


def _dumped(rows: Iterable[BaseModel]) -> Iterator[dict[str, Any]]:
    return (r.model_dump() for r in rows)


def _change_rows(rows: Iterable[ChangeRow]) -> Iterator[dict[str, Any]]:
    for r in rows:
        yield {**r.model_dump(), "field": labels.label(r.column_name)}


@dataclass(frozen=True, slots=True)
class ExportCounts:
    register: int
    failures: int
    changes: int
    failures_run_id: int | None
    attention: int


def write_workbook(
    engine: sa.Engine, path: Path, *, zone: ZoneInfo, now: datetime, chunk: int = 2000
) -> ExportCounts:
    """The register, the last full run's failures, the last 30 days' changes and what needs
    attention as one .xlsx, with the Columns sheet after them. Another sheet of a read model is
    one more call, `book.add(TITLE, record_columns(labels.ITS_LABELS, zone), rows)`, with its
    Labels (header, meaning, database column) in labels.py: its columns join the Columns sheet
    by themselves."""
    book = Book()
    with engine.connect() as conn:
        register = book.add(
            REGISTER_SHEET, register_columns(zone), read.iter_register(conn, chunk=chunk)
        )
        run_id = read.latest_run_id(conn)
        failures = book.add(
            FAILURES_SHEET,
            failure_columns(zone),
            _dumped(read.iter_failures(conn, run_id, chunk=chunk)) if run_id else (),
        )
        since = now - timedelta(days=CHANGES_DAYS)
        changes = book.add(
            CHANGES_SHEET,
            change_columns(zone),
            _change_rows(read.iter_changes(conn, since=since, chunk=chunk)),
        )
        attention = book.add(
            ATTENTION_SHEET, record_columns(labels.ATTENTION, zone), attention_rows(conn)
        )
    book.save(path)
    return ExportCounts(register, failures, changes, run_id, attention)


def write_failures_workbook(engine: sa.Engine, path: Path, run_id: int, *, zone: ZoneInfo) -> int:
    """One run's failures, with their reasons, as an .xlsx; the number of rows."""
    book = Book()
    with engine.connect() as conn:
        n = book.add(
            f"Run {run_id} failures",
            failure_columns(zone),
            _dumped(read.iter_failures(conn, run_id)),
        )
    book.save(path)
    return n


def write_changes(rows: Iterable[ChangeRow], path: Path, fmt: Format, *, zone: ZoneInfo) -> int:
    """Changes as an .xlsx (a sheet, and its Columns) or a .csv; the number of rows."""
    columns = change_columns(zone)
    if fmt == "csv":
        return _csv(path, columns, _change_rows(rows))
    book = Book()
    n = book.add("Changes", columns, _change_rows(rows))
    book.save(path)
    return n


def write_register_csv(engine: sa.Engine, path: Path, *, zone: ZoneInfo) -> int:
    """The register sheet as a .csv (one file holds one sheet); the number of rows."""
    with engine.connect() as conn:
        return _csv(path, register_columns(zone), read.iter_register(conn))


# --- the register as it stood on a day -----------------------------------------------------

AS_OF_CANNOT_KNOW = (
    "values from before an asset's first sync (the first sync records no change)",
    "values changed without a recorded change (the change history tracks the values "
    "Innomaint sends; the others show as they are today)",
    "assets deleted from the register since (their history went with them)",
    "when each asset was last synced, and the register's own stamps",
)


def end_of_day(day: date, zone: ZoneInfo, *, now: datetime) -> datetime:
    """The moment `day` ended in `zone`. AsOfDateError for a day after today there."""
    today = now.astimezone(zone).date()
    if day > today:
        raise AsOfDateError(f"{day} is in the future: today is {today} in {zone.key}")
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def as_of_title(day: date) -> str:
    return f"{REGISTER_SHEET} on {day.isoformat()}"


def write_register_as_of(
    engine: sa.Engine,
    path: Path,
    fmt: Format,
    day: date,
    *,
    zone: ZoneInfo,
    now: datetime,
    chunk: int = 2000,
) -> int:
    """The register as it stood at the end of `day` in `zone`, rebuilt from the change history:
    a sheet (with an "About this file" sheet saying what it cannot know) or a .csv. The number
    of assets. AsOfDateError for a day in the future."""
    moment = end_of_day(day, zone, now=now)
    columns = register_columns(zone, as_of_columns())
    with engine.connect() as conn:
        rows = iter_register_as_of(conn, moment, chunk=chunk)
        if fmt == "csv":
            return _csv(path, columns, rows)
        book = Book()
        n = book.add(as_of_title(day), columns, rows)
        book.note(
            ABOUT_SHEET,
            [
                f"The register as it stood at the end of {day.isoformat()} ({zone.key}), "
                "rebuilt from the change history (ic3_asset_change): each value as the first "
                "change after that moment found it, or as stored today when nothing changed it "
                "since. Assets added to the register after that day are not in it.",
                "What it cannot know:",
                *(f"- {line}" for line in AS_OF_CANNOT_KNOW),
            ],
        )
    book.save(path)
    return n


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _starts_a_formula(value: str) -> bool:
    # A spreadsheet in an East Asian locale may take a full-width "＝" (or "＋", "－", "＠")
    # as its ASCII twin: NFKC folds each such form into the character it stands for.
    return unicodedata.normalize("NFKC", value[:1]).startswith(_FORMULA_START)


def _csv_value(value: Any) -> Any:
    if isinstance(value, str) and _starts_a_formula(value):
        # A spreadsheet opening the file must show this text, not run it.
        return "'" + value
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _csv(path: Path, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> int:
    n = 0
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        # Database names head a .csv: scripts read it by them (the workbook's Columns sheet
        # maps them to the labels).
        writer.writerow([c.csv_header or c.key for c in columns])
        for row in rows:
            writer.writerow([_csv_value(c.value(row)) for c in columns])
            n += 1
    return n


@contextlib.contextmanager
def written_whole(path: Path) -> Iterator[Path]:
    """The file to write what is meant for `path`: a new one beside it, which takes its place
    only once the block ends without an error. So an export that fails or is interrupted
    leaves neither half a file nor a lost one where `path` held the last export. Anything else
    that exists there, a symbolic link (/dev/stdout, a link to the latest export), a device or
    a pipe, is written through as it is: replacing it would replace the link, not its file.

    ExportFileError, naming `path`, when it cannot be written: a folder, a missing folder, no
    permission, a full disk."""
    if path.is_dir():
        raise ExportFileError(f"{path} is a folder: give the path of a file in it")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        with _naming(path):
            yield path
        return
    part = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    with _naming(path):
        # O_EXCL: never a file someone else made; 0o666 less the umask, as open() would make.
        os.close(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        with _naming(path):
            yield part
            os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """The file system's errors as ExportFileError naming `path` (not the file beside it)."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.errno == errno.ENOENT:
            reason += f" (the folder {path.parent} does not exist)"
        raise ExportFileError(f"cannot write {path}: {reason}") from None
