"""The `ic3sync` command line. Thin: it reads settings, calls sync.py and friends, and turns
their errors into messages and exit codes (0 ok, 3 some assets failed, 1 fatal, 130 cancelled).
"""

from __future__ import annotations

import errno
import gc
import json
import logging
import os
import secrets
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from ic3sync.errors import (
    AssetNotFound,
    AssetSyncFailed,
    ConfigError,
    Ic3SyncError,
    ImportFileError,
    NoAssetMatches,
)
from ic3sync.interrupt import say_on_interrupt
from ic3sync.model import (
    INT64_MAX,
    INT64_MIN,
    AssetSelection,
    Observers,
    RunObserver,
    clean_asset_id,
    no_match_result,
)
from ic3sync.terminal import (
    RichProgress,
    escape,
    make_console,
    print_changes,
    print_summary,
    stop_on_signals,
)

# Every command pays for what this module loads before it starts, and `ic3sync --help` or the
# simulator need neither the database layer nor the sync: each command loads what it uses.
if TYPE_CHECKING:
    from rich.console import Console

    from ic3sync.bootstrap import Wiring
    from ic3sync.export import Format

EXIT_OK, EXIT_FATAL, EXIT_SOME_FAILED, EXIT_CANCELLED = 0, 1, 3, 130

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    # A traceback's local variables could include settings and so the token.
    pretty_exceptions_show_locals=False,
    # Plain help: rich's panels label every flag "<bool>" and draw boxes into pipes.
    rich_markup_mode=None,
    help="Sync the Innomaint CMMS asset detail into the IC3 asset register.",
)
out = make_console()
err = make_console(stderr=True)

# The environment variables each command reads, named in its help (a .env file works too).
_DATABASE = ("IC3_DATABASE_URL", "IC3_LOG_FORMAT")
_VENDOR = (
    "INNOMAINT_API_URL",
    "INNOMAINT_API_TOKEN",
    "INNOMAINT_RATE_MS",
    "INNOMAINT_TIMEOUT_S",
    "INNOMAINT_MAX_RETRIES",
    "INNOMAINT_TIMEZONE",
    "IC3_DB_RETRY_S",
)
_NOTIFY = (
    "IC3_NOTIFY_WEBHOOK_URL",
    "IC3_NOTIFY_EMAIL_TO",
    "IC3_SMTP_URL",
    "IC3_NOTIFY_ON",
    "IC3_NOTIFY_TIMEOUT_S",
    "IC3_PUBLIC_URL",
)
_RUN = (*_VENDOR, "INNOMAINT_MAX_RESPONSE_MB", "INNOMAINT_MAX_CONSECUTIVE_FAILURES")
_AFTER_RUN = (*_NOTIFY, "IC3_LOG_RETENTION_DAYS")
_SERVICE = ("IC3_ADMIN_TOKEN", "IC3_TRUSTED_PROXIES", "IC3_SYNC_CRON", "IC3_TIMEZONE")
ENV_READ: dict[str, tuple[str, ...]] = {
    "migrate": _DATABASE,
    "import-assets": _DATABASE,
    "sync": _DATABASE + _RUN + _AFTER_RUN,
    "sync-one": _DATABASE + _RUN + _AFTER_RUN,
    "serve": _DATABASE + _RUN + _AFTER_RUN + _SERVICE,
    "simulator": ("INNOMAINT_API_TOKEN", "IC3_LOG_FORMAT"),
    "demo": (*_DATABASE, "INNOMAINT_TIMEZONE", "IC3_DB_RETRY_S"),
    "notify-test": (*_NOTIFY, "IC3_LOG_FORMAT"),
    "prune": (*_DATABASE, "IC3_LOG_RETENTION_DAYS"),
    "changes": (*_DATABASE, "IC3_TIMEZONE"),
    "export": (*_DATABASE, "IC3_TIMEZONE"),
}


def _reads(command: str) -> str:
    return "Environment (or .env): " + ", ".join(ENV_READ[command]) + "."


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version as package_version

        print(f"ic3sync {package_version('ic3sync')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Sync the Innomaint CMMS asset detail into the IC3 asset register."""


def _fail(message: str, code: int = EXIT_FATAL) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Our errors become one line on stderr and an exit code, never a traceback."""
    try:
        yield
    except Ic3SyncError as exc:
        _fail(escape(str(exc)))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        _fail(f"cannot listen: {escape(str(exc.strerror))}; is another process on that port?")
    except Exception as exc:
        # SQLAlchemy's errors come only from a command that loaded it to open a database.
        sa_exc = sys.modules.get("sqlalchemy.exc")
        if sa_exc is None or not isinstance(exc, sa_exc.OperationalError):
            raise
        from ic3sync.db.errors import db_reason

        _fail(f"database unreachable: {escape(db_reason(exc))}")


@app.command(epilog=_reads("migrate"))
def migrate() -> None:
    """Create or upgrade the schema to the newest version. Safe to run twice."""
    from ic3sync import bootstrap
    from ic3sync.db import migrate as migrations
    from ic3sync.db.engine import redact_url
    from ic3sync.db.errors import map_db_errors, unreachable_message

    with _errors():
        settings = bootstrap.load_settings()
        engine = bootstrap.open_engine(settings, schema="skip")
        where = redact_url(settings.database_url)
        say_on_interrupt("interrupted during the migration: run `ic3sync migrate` again")
        with map_db_errors(unreachable_message(settings.database_url)):
            before, after = migrations.upgrade(engine)
        if before == after:
            out.print(f"schema already at revision {after} ({where})", highlight=False)
        else:
            out.print(f"schema upgraded {before or 'none'} -> {after} ({where})", highlight=False)


@app.command("import-assets", epilog=_reads("import-assets"))
def import_assets_cmd(
    path: Annotated[Path, typer.Argument(help=".xlsx or .csv asset register")],
) -> None:
    """Load the asset register into ic3_asset_master, upserting on cmms_asset_id."""
    from ic3sync import bootstrap
    from ic3sync.importer import import_assets, import_summary

    with _errors():
        settings = bootstrap.load_settings()
        # The import is one transaction: stopped anywhere, it rolls back whole.
        say_on_interrupt(f"interrupted: the import of {path} stopped; nothing was written")
        try:
            result = import_assets(bootstrap.open_engine(settings), path)
        except ImportFileError as exc:
            _fail(f"{escape(str(exc))}\nnothing was written")
        say_on_interrupt("interrupted after the import had committed")
        out.print(import_summary(path, result), highlight=False, markup=False)


def _exit_code(status: str, failed: int) -> int:
    if status == "aborted":
        return EXIT_FATAL
    if status == "cancelled":
        return EXIT_CANCELLED
    return EXIT_SOME_FAILED if failed else EXIT_OK


@contextmanager
def _after_run(wiring: Wiring) -> Iterator[RunObserver]:
    """What follows a run of this process: its notice (sent in the background while the log
    is pruned, then waited for a bounded time) and the prune. Neither touches the exit code."""
    from ic3sync.db.retention import prune_after_run

    notifications = wiring.notifications()
    ran = _Ran()
    try:
        yield Observers(ran, notifications.observer("cli"))
    finally:
        if ran.run_id is not None:
            prune_after_run(wiring.engine, wiring.settings.log_retention_days)
            notifications.drain()


class _Ran(RunObserver):
    run_id: int | None = None

    def run_started(self, run_id: int, total: int) -> None:
        self.run_id = run_id


def _run_cli_sync(wiring: Wiring, selection: AssetSelection, as_json: bool) -> int:
    from ic3sync.sync import run_options, run_sync

    cancel = threading.Event()
    progress = RichProgress(err) if err.is_terminal else None
    with (
        _after_run(wiring) as after,
        wiring.clients(cancel=cancel) as client,
        stop_on_signals(cancel, err),
    ):
        # What the process holds by now (its imports, mostly) lives until it exits: out of the
        # collector's sight, a run's collections no longer walk it again and again.
        gc.freeze()
        try:
            result = run_sync(
                wiring.engine,
                client,
                trigger="cli",
                selection=selection,
                cancel=cancel,
                observer=Observers(progress, after),
                **run_options(wiring.settings),
            )
        finally:
            if progress:
                progress.stop()
    say_on_interrupt(f"interrupted after run {result.run_id} had ended {result.status}")
    print_summary(result, err if as_json else out)
    if as_json:
        print(json.dumps(result.as_dict()))
    return _exit_code(result.status, result.failed)


@app.command(epilog=_reads("sync"))
def sync(
    batch: Annotated[
        int | None, typer.Option(min=1, max=INT64_MAX, help="at most N assets (default: all)")
    ] = None,
    offset: Annotated[int, typer.Option(min=0, max=INT64_MAX, help="skip the first N assets")] = 0,
    customer_id: Annotated[
        int | None,
        typer.Option("--customer-id", min=INT64_MIN, max=INT64_MAX, help="only this customer"),
    ] = None,
    only_failed: Annotated[
        bool, typer.Option("--only-failed", help="only assets whose latest outcome failed")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the SyncResult as JSON")] = False,
) -> None:
    """One sequential run over the register (or a batch of it)."""
    from ic3sync import bootstrap

    with _errors():
        settings = bootstrap.load_settings()
        settings.require_api_token()
        selection = AssetSelection(
            batch=batch, offset=offset, customer_id=customer_id, only_failed=only_failed
        )
        try:
            code = _run_cli_sync(bootstrap.bootstrap(settings), selection, as_json)
        except NoAssetMatches as exc:
            # Nothing to do is not a failure: a cron job paging with --offset ends here.
            (err if as_json else out).print(escape(str(exc)), highlight=False)
            if as_json:
                print(json.dumps(no_match_result(str(exc))))
            code = EXIT_OK
    raise typer.Exit(code)


@app.command("sync-one", epilog=_reads("sync-one"))
def sync_one_cmd(
    cmms_asset_id: Annotated[
        str, typer.Argument(help="the Innomaint asset id, e.g. 'Delhi Cantt Naraina_BP_01'")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Sync one asset now."""
    from ic3sync import bootstrap
    from ic3sync.sync import run_options, sync_asset

    with _errors():
        settings = bootstrap.load_settings()
        settings.require_api_token()
        wiring = bootstrap.bootstrap(settings)
        with _after_run(wiring) as after, wiring.clients(cancel=threading.Event()) as client:
            try:
                run_id, outcome = sync_asset(
                    wiring.engine,
                    client,
                    cmms_asset_id,
                    trigger="cli",
                    observer=after,
                    **run_options(settings),
                )
            except AssetSyncFailed as exc:
                failed: AssetSyncFailed | None = exc
            else:
                failed = None
        if failed is None:
            payload = {
                "status": "synced",
                "cmms_asset_id": outcome.cmms_asset_id,
                "traceability_id": outcome.traceability_id,
                "run_id": run_id,
                "error": outcome.error,
            }
            code = EXIT_OK
        else:
            payload = {
                "status": "failed",
                "cmms_asset_id": failed.cmms_asset_id,
                "traceability_id": None,
                "run_id": failed.run_id,
                "error": failed.reason,
            }
            code = _exit_code(failed.run_status, failed=1)
        if as_json:
            print(json.dumps(payload))
        elif failed is None:
            out.print(
                f"synced {outcome.cmms_asset_id!r} (traceability_id {outcome.traceability_id}, "
                f"run {run_id})",
                highlight=False,
            )
            if outcome.error:
                out.print(f"note: {escape(outcome.error)}", highlight=False)
        else:
            err.print(f"[red]failed[/] {escape(failed.cmms_asset_id)}: {escape(failed.reason)}")
    raise typer.Exit(code)


@app.command("notify-test", epilog=_reads("notify-test"))
def notify_test() -> None:
    """Send a sample notification to every configured channel and say how each went."""
    from ic3sync import bootstrap
    from ic3sync.notify import Notifications, sample_notice

    with _errors():
        settings = bootstrap.load_settings()
        notifications = Notifications.from_settings(settings)
        if not notifications.configured:
            _fail(
                "no notification is configured: set IC3_NOTIFY_WEBHOOK_URL, or "
                "IC3_NOTIFY_EMAIL_TO with IC3_SMTP_URL"
            )
        deliveries = notifications.deliver(sample_notice(settings.public_url))
    for d in deliveries:
        tries = f"{d.attempts} attempt{'s' if d.attempts != 1 else ''}"
        if d.ok:
            out.print(f"[green]sent[/] {escape(d.where)} ({tries})", highlight=False)
        else:
            err.print(f"[red]failed[/] {escape(d.detail)} ({tries})", highlight=False)
    out.print(f"notifications are sent on: {settings.notify_on}", highlight=False)
    raise typer.Exit(EXIT_OK if all(d.ok for d in deliveries) else EXIT_FATAL)


@app.command("prune", epilog=_reads("prune"))
def prune_cmd(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would go, delete nothing")
    ] = False,
) -> None:
    """Delete sync log and run rows older than IC3_LOG_RETENTION_DAYS.

    Each asset's latest log row stays, and so does the change history."""
    from ic3sync import bootstrap
    from ic3sync.db.errors import map_db_errors
    from ic3sync.db.retention import count_prunable, prune

    with _errors():
        settings = bootstrap.load_settings()
        engine = bootstrap.open_engine(settings)
        days = settings.log_retention_days
        with map_db_errors():
            result = count_prunable(engine, days) if dry_run else prune(engine, days)
        verb = "would delete" if dry_run else "deleted"
        out.print(
            f"{verb} {result.log_rows} log rows and {result.runs} runs older than {days} days "
            f"(before {result.cutoff:%Y-%m-%d %H:%M} UTC) in {result.seconds:.1f} s",
            highlight=False,
            soft_wrap=True,
        )


# What each format writes, and the names of the other's files: Excel refuses to open a workbook
# called .csv, and opens CSV text called .xlsx only to call it corrupt.
_WRITES: dict[Format, str] = {"xlsx": "a workbook", "csv": "CSV text"}
_NAMED_FOR_THE_OTHER: dict[Format, tuple[str, ...]] = {
    "xlsx": (".csv",),
    "csv": (".xlsx", ".xlsm", ".xls"),
}


def _one_file(csv_path: Path | None, xlsx_path: Path | None) -> tuple[Path, Format] | None:
    if csv_path is not None and xlsx_path is not None:
        _fail("give --csv or --xlsx, not both")
    fmt: Format
    if xlsx_path is not None:
        path, fmt = xlsx_path, "xlsx"
    elif csv_path is not None:
        path, fmt = csv_path, "csv"
    else:
        return None
    if path.suffix.lower() in _NAMED_FOR_THE_OTHER[fmt]:
        other: Format = "csv" if fmt == "xlsx" else "xlsx"
        _fail(
            f"--{fmt} writes {_WRITES[fmt]}, but {path} is named for {_WRITES[other]}: "
            f"name it .{fmt}"
        )
    return path, fmt


def _told_beside(path: Path) -> Console:
    """Where to say what was written to `path`: standard error when `path` is standard output
    (`--csv /dev/stdout | ...`), so the line never ends up in the data."""
    try:
        if os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno())):
            return err
    except (OSError, ValueError):  # no such file, or no standard output to compare with
        pass
    return out


CsvPath = Annotated[Path | None, typer.Option("--csv", help="write a .csv file here")]
XlsxPath = Annotated[Path | None, typer.Option("--xlsx", help="write an .xlsx workbook here")]


@app.command(epilog=_reads("changes"))
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
        typer.Option(
            "--customer-id", min=INT64_MIN, max=INT64_MAX, help="only this customer's assets"
        ),
    ] = None,
    csv_path: CsvPath = None,
    xlsx_path: XlsxPath = None,
    limit: Annotated[
        int,
        typer.Option(
            min=1, max=INT64_MAX, help="rows shown in the table, newest first (files take all)"
        ),
    ] = 50,
) -> None:
    """What the syncs changed: a table here, or every matching change in a file."""
    from ic3sync import bootstrap
    from ic3sync.db import read as queries
    from ic3sync.export import write_changes, written_whole
    from ic3sync.schedule import parse_timezone

    target = _one_file(csv_path, xlsx_path)
    with _errors():
        settings = bootstrap.load_settings()
        zone = parse_timezone(settings.timezone)
        engine = bootstrap.open_engine(settings)
        cmms_asset_id = clean_asset_id(asset) if asset is not None else None
        filters: dict[str, Any] = {
            "since": since.replace(tzinfo=zone) if since is not None else None,
            "column": column,
            "customer_id": customer_id,
            "cmms_asset_id": cmms_asset_id,
        }
        with engine.connect() as conn:
            if cmms_asset_id is not None and queries.find_asset(conn, cmms_asset_id) is None:
                raise AssetNotFound(cmms_asset_id)
            if target is None:
                page = queries.list_changes(conn, limit=limit, **filters)
                print_changes(page, zone, out)
                return
            path, fmt = target
            with written_whole(path) as part:
                n = write_changes(queries.iter_changes(conn, **filters), part, fmt, zone=zone)
        _told_beside(path).print(f"wrote {n} changes to {path}", highlight=False)


@app.command(epilog=_reads("export"))
def export(csv_path: CsvPath = None, xlsx_path: XlsxPath = None) -> None:
    """The synced register as a file: an .xlsx with the sheets Register, Last run's failures
    and Changes (last 30 days), or the Register sheet alone as a .csv."""
    from ic3sync import bootstrap
    from ic3sync.export import write_register_csv, write_workbook, written_whole
    from ic3sync.schedule import parse_timezone

    target = _one_file(csv_path, xlsx_path)
    if target is None:
        _fail("give --xlsx PATH or --csv PATH")
    path, fmt = target
    with _errors():
        settings = bootstrap.load_settings()
        zone = parse_timezone(settings.timezone)
        engine = bootstrap.open_engine(settings)
        with written_whole(path) as part:
            if fmt == "csv":
                said = f"wrote {write_register_csv(engine, part, zone=zone)} assets to {path}"
            else:
                counts = write_workbook(engine, part, zone=zone, now=datetime.now(UTC))
                run = f"run {counts.failures_run_id}" if counts.failures_run_id else "no run yet"
                said = (
                    f"wrote {path}: {counts.register} assets, {counts.failures} failures of the "
                    f"last run ({run}), {counts.changes} changes of the last 30 days"
                )
        _told_beside(path).print(said, highlight=False, soft_wrap=True)


@app.command(epilog=_reads("serve"))
def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port to listen on")] = 9090,
) -> None:
    """The HTTP admin service."""
    from ic3sync import bootstrap
    from ic3sync.api.server import run_server

    with _errors():
        run_server(bootstrap.load_settings(logging.INFO), host=host, port=port)


@app.command(epilog=_reads("simulator"))
def simulator(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="port to listen on (0: any free one)")
    ] = 9191,
    token: Annotated[
        str | None,
        typer.Option(help="token to accept (default: INNOMAINT_API_TOKEN)", show_default=False),
    ] = None,
    faults: Annotated[
        Path | None, typer.Option(help="JSON file of per-asset fault behaviours")
    ] = None,
    fault_rate: Annotated[
        float, typer.Option(min=0, max=1, help="share of ids given a random fault")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="seed of the random fault mix")] = 0,
    latency_ms: Annotated[float, typer.Option(min=0, help="added to every answer")] = 0.0,
) -> None:
    """A local stand-in for the Innomaint API, for demos, tests and benchmarks."""
    from ic3sync import bootstrap
    from ic3sync.innomaint.simulator import SimulatorConfig, load_faults, serve_forever

    with _errors():
        settings = bootstrap.load_settings(logging.INFO)
        secret = token or (settings.api_token.get_secret_value() if settings.api_token else None)
        if not secret:
            raise ConfigError(
                "the simulator needs a token to accept: set INNOMAINT_API_TOKEN or pass --token"
            )
        config = SimulatorConfig(
            token=secret,
            faults=load_faults(faults) if faults else {},
            fault_rate=fault_rate,
            seed=seed,
            latency_ms=latency_ms,
        )
        serve_forever(config, host, port)


@app.command(epilog=_reads("demo"))
def demo(
    # INNOMAINT_RATE_MS's range: the demo's settings take the value without checking it again.
    rate_ms: Annotated[
        int, typer.Option(min=0, max=3_600_000, help="request spacing for the demo")
    ] = 20,
) -> None:
    """The whole job on the embedded default, against a local simulator."""
    from ic3sync import bootstrap
    from ic3sync.demo import run_demo

    with _errors():
        settings = bootstrap.load_settings()
        raise typer.Exit(
            run_demo(settings, rate_ms=rate_ms, console=out, token=secrets.token_urlsafe(24))
        )


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
