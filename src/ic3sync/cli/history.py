"""The commands that read what the syncs left: changes (the field history) and export (the
synced register as a file)."""

from __future__ import annotations

import enum
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ic3sync.cli.exits import err, errors_as_exit_codes, fail, out
from ic3sync.cli.options import fits_int64
from ic3sync.errors import AssetNotFound
from ic3sync.model import clean_asset_id
from ic3sync.terminal import print_changes
from ic3sync.wording import counted

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from rich.console import Console

    from ic3sync.export import Format

# What each format writes, and the suffixes of the other format's files: Excel refuses to open a
# workbook called .csv, and opens CSV text called .xlsx only to call it corrupt.
_WHAT_IT_WRITES: dict[Format, str] = {"xlsx": "a workbook", "csv": "CSV text"}
_SUFFIXES_OF_THE_OTHER_FORMAT: dict[Format, tuple[str, ...]] = {
    "xlsx": (".csv",),
    "csv": (".xlsx", ".xlsm", ".xls"),
}


def _one_file(csv_path: Path | None, xlsx_path: Path | None) -> tuple[Path, Format] | None:
    if csv_path is not None and xlsx_path is not None:
        fail("give --csv or --xlsx, not both")
    fmt: Format
    if xlsx_path is not None:
        path, fmt = xlsx_path, "xlsx"
    elif csv_path is not None:
        path, fmt = csv_path, "csv"
    else:
        return None
    if path.suffix.lower() in _SUFFIXES_OF_THE_OTHER_FORMAT[fmt]:
        other: Format = "csv" if fmt == "xlsx" else "xlsx"
        fail(
            f"--{fmt} writes {_WHAT_IT_WRITES[fmt]}, but {path} is named for "
            f"{_WHAT_IT_WRITES[other]}: name it .{fmt}"
        )
    return path, fmt


def _console_to_report_writing(path: Path) -> Console:
    """Where to say what was written to `path`: standard error when `path` is standard output
    (`--csv /dev/stdout | ...`), so the line never ends up in the data."""
    try:
        if os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno())):
            return err
    except (OSError, ValueError):  # no such file, or no standard output to compare with
        pass
    return out


class Source(enum.StrEnum):
    """The sources of a change, as `--source` takes them (model.CHANGE_SOURCES)."""

    cmms = "cmms"
    register = "register"


CsvPath = Annotated[Path | None, typer.Option("--csv", help="write a .csv file here")]
XlsxPath = Annotated[Path | None, typer.Option("--xlsx", help="write an .xlsx workbook here")]


def _check_column(column: str) -> None:
    """A column the history never records is a typo, not an empty answer."""
    import difflib

    from ic3sync.db.changes import TRACKED_COLUMNS
    from ic3sync.importer.sheet import VALUE_FIELDS

    known = TRACKED_COLUMNS | set(VALUE_FIELDS)
    if column in known:
        return
    close = difflib.get_close_matches(column, sorted(known), n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise typer.BadParameter(
        f"{column!r} is not a column the change history records{hint}", param_hint="--column"
    )


def changes(
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
            help="only changes at or after this date (and time), in IC3_TIMEZONE",
        ),
    ] = None,
    asset: Annotated[str | None, typer.Option("--asset", help="only this asset's changes")] = None,
    column: Annotated[
        str | None, typer.Option(help="only this column (criticality, upto.ticket_count, ...)")
    ] = None,
    customer_id: Annotated[
        int | None,
        typer.Option("--customer-id", callback=fits_int64, help="only this customer's assets"),
    ] = None,
    source: Annotated[
        Source | None,
        typer.Option("--source", help="only a sync's changes (cmms) or an import's (register)"),
    ] = None,
    csv_path: CsvPath = None,
    xlsx_path: XlsxPath = None,
    limit: Annotated[
        int,
        typer.Option(
            min=1,
            callback=fits_int64,
            help="rows shown in the table, newest first (files take all)",
        ),
    ] = 50,
) -> None:
    """What the syncs (source cmms) and imports (source register) changed: a table here, or
    every matching change in a file."""
    from ic3sync import bootstrap
    from ic3sync.db import read
    from ic3sync.export import write_changes, written_whole
    from ic3sync.schedule import parse_timezone

    target = _one_file(csv_path, xlsx_path)
    if column is not None:
        _check_column(column)
    with errors_as_exit_codes():
        settings = bootstrap.load_settings()
        zone = parse_timezone(settings.timezone)
        engine = bootstrap.open_engine(settings)
        cmms_asset_id = clean_asset_id(asset) if asset is not None else None
        filters: dict[str, Any] = {
            "since": since.replace(tzinfo=zone) if since is not None else None,
            "column": column,
            "customer_id": customer_id,
            "cmms_asset_id": cmms_asset_id,
            "source": source.value if source is not None else None,
        }
        with engine.connect() as conn:
            if cmms_asset_id is not None and read.find_asset(conn, cmms_asset_id) is None:
                raise AssetNotFound(cmms_asset_id)
            if target is None:
                page = read.list_changes(conn, limit=limit, **filters)
                print_changes(page, zone, out)
                return
            path, fmt = target
            with written_whole(path) as part:
                n = write_changes(read.iter_changes(conn, **filters), part, fmt, zone=zone)
        _console_to_report_writing(path).print(
            f"wrote {counted(n, 'change')} to {path}", highlight=False
        )


def export(
    csv_path: CsvPath = None,
    xlsx_path: XlsxPath = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
            help="the register as it stood at the end of this day (in IC3_TIMEZONE), rebuilt "
            "from the change history",
        ),
    ] = None,
) -> None:
    """The synced register as a file: an .xlsx with the sheets Register, Failures of the last
    full run, Changes (last 30 days) and Columns, or the Register sheet alone as a .csv."""
    from ic3sync import bootstrap
    from ic3sync.export import write_register_csv, write_workbook, written_whole
    from ic3sync.schedule import parse_timezone

    target = _one_file(csv_path, xlsx_path)
    if target is None:
        fail("give --xlsx PATH or --csv PATH")
    path, fmt = target
    with errors_as_exit_codes():
        settings = bootstrap.load_settings()
        zone = parse_timezone(settings.timezone)
        engine = bootstrap.open_engine(settings)
        if as_of is not None:
            said = _export_as_of(engine, path, fmt, as_of.date(), zone)
        else:
            with written_whole(path) as part:
                if fmt == "csv":
                    assets = write_register_csv(engine, part, zone=zone)
                    said = f"wrote {counted(assets, 'asset')} to {path}"
                else:
                    counts = write_workbook(engine, part, zone=zone, now=datetime.now(UTC))
                    run = (
                        f"run {counts.failures_run_id}" if counts.failures_run_id else "no run yet"
                    )
                    said = (
                        f"wrote {path}: {counted(counts.register, 'asset')}, "
                        f"{counted(counts.failures, 'failure')} of the last full run ({run}), "
                        f"{counted(counts.changes, 'change')} of the last 30 days, "
                        f"{counted(counts.attention, 'row')} needing attention"
                    )
        _console_to_report_writing(path).print(said, highlight=False, soft_wrap=True)


def _export_as_of(engine: Any, path: Path, fmt: Format, day: date, zone: ZoneInfo) -> str:
    from ic3sync.errors import AsOfDateError
    from ic3sync.export import AS_OF_CANNOT_KNOW, end_of_day, write_register_as_of, written_whole

    now = datetime.now(UTC)
    try:
        end_of_day(day, zone, now=now)
    except AsOfDateError as exc:
        # Refused before a file is made, as a bad value of the option.
        raise typer.BadParameter(str(exc), param_hint="--as-of") from None
    with written_whole(path) as part:
        n = write_register_as_of(engine, part, fmt, day, zone=zone, now=now)
    cannot = "".join(f"\n  - {line}" for line in AS_OF_CANNOT_KNOW)
    return (
        f"wrote {path}: {counted(n, 'asset')} as the register stood at the end of {day} "
        f"({zone.key}), rebuilt from the change history. It cannot know:{cannot}"
    )
