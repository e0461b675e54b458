"""The commands that look after the database itself: migrate, import-assets and prune."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ic3sync.cli.exits import errors_as_exit_codes, fail, out
from ic3sync.errors import ImportFileError
from ic3sync.interrupt import say_on_interrupt
from ic3sync.terminal import escape
from ic3sync.wording import counted


def migrate() -> None:
    """Create or upgrade the schema to the newest version. Safe to run twice."""
    from ic3sync import bootstrap
    from ic3sync.db import migrate as migrations
    from ic3sync.db.engine import redact_url
    from ic3sync.db.errors import map_db_errors, unreachable_message

    with errors_as_exit_codes():
        settings = bootstrap.load_settings()
        engine = bootstrap.open_engine(settings, schema="skip")
        where = redact_url(settings.database_url)
        say_on_interrupt("interrupted during the migration: run `ic3sync migrate` again")
        with map_db_errors(unreachable_message(settings.database_url)):
            current, head = migrations.upgrade_plan(engine)
            if current == head:
                out.print(f"schema already at revision {head} ({where})", highlight=False)
                return
            out.print(
                f"upgrading the schema from revision {current or 'none'} to {head} ({where})",
                highlight=False,
            )
            before, after = migrations.upgrade(engine)
        out.print(f"schema upgraded {before or 'none'} -> {after} ({where})", highlight=False)


def _known_encoding(value: str | None) -> str | None:
    from ic3sync.importer.files import encoding_name

    if value is None:
        return None
    try:
        encoding_name(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def import_assets_command(
    path: Annotated[Path, typer.Argument(help=".xlsx or .csv asset register")],
    sheet: Annotated[
        str | None,
        typer.Option(
            "--sheet",
            metavar="NAME",
            help="the workbook's sheet to read (default: the first with an asset id header)",
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            callback=_known_encoding,
            help="a CSV file's encoding: utf-8 (default), or cp1252 for Excel's "
            '"CSV (Comma delimited)"',
        ),
    ] = None,
    sheet_wins: Annotated[
        bool,
        typer.Option(
            "--sheet-wins",
            help="take the sheet's values even for the columns Innomaint sends (customer, "
            "location, criticality) of assets that have synced; recorded as register changes",
        ),
    ] = False,
) -> None:
    """Load the asset register into ic3_asset_master, upserting on cmms_asset_id."""
    from ic3sync import bootstrap
    from ic3sync.importer import import_assets, import_summary

    with errors_as_exit_codes():
        settings = bootstrap.load_settings()
        # The import is one transaction: stopped anywhere, it rolls back whole.
        say_on_interrupt(f"interrupted: the import of {path} stopped; nothing was written")
        try:
            result = import_assets(
                bootstrap.open_engine(settings),
                path,
                sheet=sheet,
                encoding=encoding,
                sheet_wins=sheet_wins,
            )
        except ImportFileError as exc:
            fail(f"{escape(str(exc))}\nnothing was written")
        say_on_interrupt("interrupted after the import had committed")
        out.print(import_summary(path, result), highlight=False, markup=False)


def prune_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would go, delete nothing")
    ] = False,
) -> None:
    """Delete sync log and run rows older than IC3_LOG_RETENTION_DAYS.

    Each asset's latest log row stays, and so does the change history."""
    from ic3sync import bootstrap
    from ic3sync.db.errors import map_db_errors
    from ic3sync.db.retention import count_prunable, prune

    with errors_as_exit_codes():
        settings = bootstrap.load_settings()
        engine = bootstrap.open_engine(settings)
        days = settings.log_retention_days
        with map_db_errors():
            result = count_prunable(engine, days) if dry_run else prune(engine, days)
        verb = "would delete" if dry_run else "deleted"
        out.print(
            f"{verb} {counted(result.log_rows, 'log row')} and {counted(result.runs, 'run')} "
            f"older than {counted(days, 'day')} "
            f"(before {result.cutoff:%Y-%m-%d %H:%M} UTC) in {result.seconds:.1f} s",
            highlight=False,
            soft_wrap=True,
        )
