"""The register, a run's failures and the change history as files people open in Excel: typed
cells (numbers as numbers, dates as dates, durations as hours), a frozen header row and filters.

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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from pydantic import BaseModel

from ic3sync.db import read
from ic3sync.db.schema import DURATION_COLUMNS
from ic3sync.db.views import ChangeRow
from ic3sync.errors import ExportFileError

Format = Literal["xlsx", "csv"]

REGISTER_SHEET = "Register"
FAILURES_SHEET = "Last run's failures"
CHANGES_SHEET = "Changes (last 30 days)"
CHANGES_DAYS = 30

_DATE_FORMAT = "yyyy-mm-dd"
_TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_HOURS_FORMAT = "0.00"
_MONEY_FORMAT = "#,##0.00"
_SECONDS = set(DURATION_COLUMNS.values())


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a sheet: its header, the key of its value in a row, how to convert that
    value for the cell, and the cell's number format."""

    header: str
    key: str
    convert: Callable[[Any], Any] | None = None
    number_format: str | None = None

    def value(self, row: Mapping[str, Any]) -> Any:
        value = row[self.key]
        return value if self.convert is None or value is None else self.convert(value)


def _local(zone: ZoneInfo) -> Callable[[datetime], datetime]:
    # Excel has no time zones: instants are written as wall time in the dashboard's zone.
    def convert(value: datetime) -> datetime:
        # SQLite hands back the UTC instant it stored without its zone.
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(zone).replace(tzinfo=None)

    return convert


def _hours(seconds: int) -> float:
    return seconds / 3600


def _columns(names_and_types: Iterable[tuple[str, Any]], zone: ZoneInfo) -> list[Column]:
    local = _local(zone)
    columns = []
    for name, type_ in names_and_types:
        if name in _SECONDS:
            hours = name.removesuffix("_seconds") + "_hours"
            columns.append(Column(hours, name, _hours, _HOURS_FORMAT))
        elif type_ is datetime or (isinstance(type_, sa.DateTime) and type_.timezone):
            columns.append(Column(name, name, local, _TIME_FORMAT))
        elif isinstance(type_, sa.DateTime):
            # A vendor time kept as written (asset_created_at): no instant to convert.
            columns.append(Column(name, name, None, _TIME_FORMAT))
        elif isinstance(type_, sa.Date):
            columns.append(Column(name, name, None, _DATE_FORMAT))
        elif isinstance(type_, sa.Numeric) and type_.scale == 2:
            columns.append(Column(name, name, None, _MONEY_FORMAT))
        else:
            columns.append(Column(name, name))
    return columns


def _register_columns(zone: ZoneInfo) -> list[Column]:
    return _columns(read.register_columns(), zone)


def _record_columns(fields: Sequence[str], zone: ZoneInfo) -> list[Column]:
    """Columns of a read model's fields (LogRow, ChangeRow)."""
    return _columns(((f, datetime if f.endswith("ed_at") else None) for f in fields), zone)


def _dumped(rows: Iterable[BaseModel]) -> Iterator[dict[str, Any]]:
    return (r.model_dump() for r in rows)


FAILURE_FIELDS = (
    "run_id",
    "cmms_asset_id",
    "customer_id",
    "http_status",
    "attempts",
    "error_message",
    "synced_at",
)
CHANGE_FIELDS = (
    "changed_at",
    "cmms_asset_id",
    "run_id",
    "table_name",
    "column_name",
    "old_value",
    "new_value",
    "source",
)


def _text(ws: Any, value: str) -> str | WriteOnlyCell:
    if ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not value.startswith("="):
        return value
    # A vendor string such as "=HYPERLINK(...)" stays text, never a formula. Only these get a
    # cell object of their own: making one per value would double the export's time.
    cell = WriteOnlyCell(ws, value)
    cell.data_type = "s"
    return cell


def _sheet(
    wb: Workbook, title: str, columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]
) -> int:
    """Append one sheet: bold frozen header, filters over every row. The number of rows."""
    ws = wb.create_sheet(title)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, column.header)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    n = 0
    for row in rows:
        out: list[Any] = []
        for column in columns:
            value = column.value(row)
            if isinstance(value, str):
                out.append(_text(ws, value))
            elif value is not None and column.number_format is not None:
                cell = WriteOnlyCell(ws, value)
                cell.number_format = column.number_format
                out.append(cell)
            else:
                out.append(value)
        ws.append(out)
        n += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{n + 1}"
    return n


@dataclass(frozen=True, slots=True)
class ExportCounts:
    register: int
    failures: int
    changes: int
    failures_run_id: int | None


def write_workbook(
    engine: sa.Engine, path: Path, *, zone: ZoneInfo, now: datetime, chunk: int = 2000
) -> ExportCounts:
    """The register, the latest run's failures and the last 30 days' changes as one .xlsx."""
    wb = Workbook(write_only=True)
    with engine.connect() as conn:
        register = _sheet(
            wb, REGISTER_SHEET, _register_columns(zone), read.iter_register(conn, chunk=chunk)
        )
        run_id = read.latest_run_id(conn)
        failures = _sheet(
            wb,
            FAILURES_SHEET,
            _record_columns(FAILURE_FIELDS, zone),
            _dumped(read.iter_failures(conn, run_id, chunk=chunk)) if run_id else (),
        )
        since = now - timedelta(days=CHANGES_DAYS)
        changes = _sheet(
            wb,
            CHANGES_SHEET,
            _record_columns(CHANGE_FIELDS, zone),
            _dumped(read.iter_changes(conn, since=since, chunk=chunk)),
        )
    wb.save(path)
    return ExportCounts(register, failures, changes, run_id)


def write_failures_workbook(engine: sa.Engine, path: Path, run_id: int, *, zone: ZoneInfo) -> int:
    """One run's failures, with their reasons, as an .xlsx; the number of rows."""
    wb = Workbook(write_only=True)
    with engine.connect() as conn:
        n = _sheet(
            wb,
            f"Run {run_id} failures",
            _record_columns(FAILURE_FIELDS, zone),
            _dumped(read.iter_failures(conn, run_id)),
        )
    wb.save(path)
    return n


def write_changes(rows: Iterable[ChangeRow], path: Path, fmt: Format, *, zone: ZoneInfo) -> int:
    """Changes as an .xlsx of one sheet or a .csv; the number of rows."""
    columns = _record_columns(CHANGE_FIELDS, zone)
    if fmt == "csv":
        return _csv(path, columns, _dumped(rows))
    wb = Workbook(write_only=True)
    n = _sheet(wb, "Changes", columns, _dumped(rows))
    wb.save(path)
    return n


def write_register_csv(engine: sa.Engine, path: Path, *, zone: ZoneInfo) -> int:
    """The register sheet as a .csv (one file holds one sheet); the number of rows."""
    with engine.connect() as conn:
        return _csv(path, _register_columns(zone), read.iter_register(conn))


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
        writer.writerow([c.header for c in columns])
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
