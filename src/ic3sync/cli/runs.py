"""`ic3sync runs`: the run history, newest first, and one run's summary with its failures by
kind, for an operator with a shell and no browser."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from ic3sync.cli.environment import reads
from ic3sync.cli.exits import errors_as_exit_codes, fail, out
from ic3sync.cli.options import fits_int64
from ic3sync.model import RUN_SCOPES, RUN_STATUSES

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa
    from rich.table import Table

    from ic3sync.db.views import FailureKind, LogRow, RunPage, RunView

# The assets shown under each kind of failure; --failed lists them all.
FIRST_ASSETS = 5

app = typer.Typer(
    no_args_is_help=False,
    rich_markup_mode=None,
    help="The run history, newest first; `runs show N` for one run.",
)

Json = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def _open() -> tuple[sa.Engine, ZoneInfo]:
    from ic3sync import bootstrap
    from ic3sync.schedule import parse_timezone

    settings = bootstrap.load_settings()
    return bootstrap.open_engine(settings), parse_timezone(settings.timezone)


def _print_json(value: object) -> None:
    # print(), not rich: JSON for machines is never wrapped nor coloured.
    print(json.dumps(value, ensure_ascii=False))


@app.callback(invoke_without_command=True)
def runs(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(help=f"only runs that ended so, or are running: {', '.join(RUN_STATUSES)}"),
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option(help=f"only runs of this scope: {', '.join(RUN_SCOPES)}"),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, callback=fits_int64, help="runs shown")] = 20,
    as_json: Json = False,
) -> None:
    """The latest runs, newest first: trigger, scope, status, counts, start and duration."""
    if ctx.invoked_subcommand is not None:
        return
    if status is not None and status not in RUN_STATUSES:
        fail(f"--status takes one of {', '.join(RUN_STATUSES)}, not {status!r}")
    if scope is not None and scope not in RUN_SCOPES:
        fail(f"--scope takes one of {', '.join(RUN_SCOPES)}, not {scope!r}")
    from ic3sync.db import read

    with errors_as_exit_codes():
        engine, zone = _open()
        with engine.connect() as conn:
            page = read.list_runs(conn, status=status, scope=scope, limit=limit)  # type: ignore[arg-type]
    if as_json:
        _print_json(page.model_dump(mode="json"))
    else:
        _print_runs(page, zone)


@app.command("show", epilog=reads("runs"))
def show(
    run_id: Annotated[int, typer.Argument(min=1, callback=fits_int64, help="the run's id")],
    failed: Annotated[
        bool, typer.Option("--failed", help="list every failed asset with its reason")
    ] = False,
    as_json: Json = False,
) -> None:
    """One run: its summary, and its failures grouped by kind with the first assets of each."""
    from ic3sync.db import read

    with errors_as_exit_codes():
        engine, zone = _open()
        with engine.connect() as conn:
            run = read.get_run(conn, run_id)
            kinds = read.failure_kinds(conn, run_id, first=FIRST_ASSETS)
            failures = list(read.iter_failures(conn, run_id)) if failed else None
    if as_json:
        body = {
            "run": run.model_dump(mode="json"),
            "failure_kinds": [k.model_dump(mode="json") for k in kinds],
        }
        if failures is not None:
            body["failed"] = [f.model_dump(mode="json") for f in failures]
        _print_json(body)
        return
    _print_run(run, kinds, zone, hint=failures is None)
    if failures is not None:
        _print_failed(failures)


def _print_runs(page: RunPage, zone: ZoneInfo) -> None:
    from rich.table import Table
    from rich.text import Text

    from ic3sync.api.present import local_time
    from ic3sync.durations import duration

    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for name in ("run", "trigger", "scope", "status", "total", "synced", "failed", "skipped"):
        numbers = name not in ("trigger", "scope", "status")
        table.add_column(name, no_wrap=True, justify="right" if numbers else "left")
    table.add_column("started", no_wrap=True)
    table.add_column("took", no_wrap=True, justify="right")
    for r in page.items:
        table.add_row(
            str(r.run_id),
            r.trigger,
            r.scope,
            Text(r.status, style=_STATUS_STYLES.get(r.status, "")),
            f"{r.total:,}",
            f"{r.success:,}",
            Text(f"{r.failed:,}", style="red" if r.failed else ""),
            f"{r.skipped:,}",
            local_time(r.started_at, zone),
            duration(r.duration_ms) if r.duration_ms is not None else f"{r.progress_pct:g} %",
        )
    if page.items:
        _print_table(table)
    out.print(f"{len(page.items)} of {page.total} runs", highlight=False)


_STATUS_STYLES = {"completed": "green", "running": "cyan", "aborted": "bold red"}
# Off a terminal nothing limits a line: a table is as wide as its cells, never folded to 80.
_PIPED_WIDTH = 100_000


def _print_table(table: Table) -> None:
    if out.is_terminal:
        out.print(table)
        return
    from rich.console import Console

    Console(file=out.file, width=_PIPED_WIDTH, no_color=True).print(table)


def _print_run(run: RunView, kinds: list[FailureKind], zone: ZoneInfo, *, hint: bool) -> None:
    from rich.text import Text

    from ic3sync.api.present import local_time, reason_kind
    from ic3sync.durations import duration

    head = Text(f"Run {run.run_id}: ")
    head.append(run.status, style=_STATUS_STYLES.get(run.status, ""))
    head.append(f", {run.scope} run started by {run.trigger}")
    out.print(head, highlight=False)
    filters = run.filters.model_dump(exclude_defaults=True)
    if filters:
        said = ", ".join(f"{k} {v}" for k, v in filters.items())
        out.print(Text(f"  filters: {said}"), highlight=False)
    out.print(
        f"  {run.success:,} synced, {run.failed:,} failed, {run.skipped:,} skipped "
        f"of {run.total:,}",
        highlight=False,
    )
    took = duration(run.duration_ms) if run.duration_ms is not None else "running"
    ended = f", ended {local_time(run.finished_at, zone)}" if run.finished_at else ""
    out.print(f"  started {local_time(run.started_at, zone)}{ended}; took {took}", highlight=False)
    if run.status == "running":
        current = f", now at {run.current_asset}" if run.current_asset else ""
        out.print(Text(f"  {run.done:,} done ({run.progress_pct:g} %){current}"), highlight=False)
    if run.error:
        out.print(Text(f"  error: {run.error}", style="red"), highlight=False)
    if not kinds:
        return
    out.print("Failures by kind:", highlight=False)
    for k in kinds:
        more = k.count - len(k.first_assets)
        assets = ", ".join(k.first_assets) + (f" and {more:,} more" if more > 0 else "")
        out.print(Text(f"  {k.count:,} {reason_kind(k.error_kind, None)}: {assets}"))
        if k.example:
            out.print(Text(f"    e.g. {k.example}", style="dim"))
    if hint and sum(k.count for k in kinds) > sum(len(k.first_assets) for k in kinds):
        out.print(f"`ic3sync runs show {run.run_id} --failed` lists them all", highlight=False)


def _print_failed(failures: list[LogRow]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("asset", overflow="fold")
    table.add_column("http", no_wrap=True, justify="right")
    table.add_column("reason", overflow="fold")
    for f in failures:
        http = "" if f.http_status is None else str(f.http_status)
        table.add_row(Text(f.cmms_asset_id), http, Text(f.error_message or ""))
    if failures:
        _print_table(table)
    out.print(f"{len(failures):,} failed assets", highlight=False)
