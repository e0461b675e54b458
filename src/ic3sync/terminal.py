"""What a person sees of a run on a terminal: the progress bar, the summary, and Ctrl-C."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ic3sync.controls import printable
from ic3sync.durations import duration
from ic3sync.model import AssetOutcome, AssetRef, RunObserver, SyncResult

if TYPE_CHECKING:
    from ic3sync.db.views import ChangePage


def make_console(*, stderr: bool = False) -> Console:
    """A console for the command line. Off a terminal (a pipe, a file, a cron or CI log) lines
    are written whole: rich would otherwise break them at 80 columns, mid-path or mid-command,
    and people and scripts search them as written."""
    console = Console(stderr=stderr)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, soft_wrap=True)


def escape(text: str) -> str:
    """Text we did not write (asset ids, vendor reasons) as it may be printed in rich markup:
    its brackets are no markup, its control characters are shown escaped, never executed."""
    return printable(text).replace("[", r"\[")


class RichProgress(RunObserver):
    """The progress bar of a run on a terminal: done/total, current asset, failures, ETA."""

    def __init__(self, console: Console) -> None:
        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("[bold]run {task.fields[run_id]}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed[/]"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[current]}", markup=False),
            console=console,
            transient=False,
        )
        self.task: TaskID | None = None
        self.failed = 0

    def run_started(self, run_id: int, total: int) -> None:
        self.bar.start()
        self.task = self.bar.add_task("sync", total=total, run_id=run_id, failed=0, current="")

    def asset_started(self, index: int, asset: AssetRef) -> None:
        if self.task is not None:
            self.bar.update(self.task, current=printable(asset.cmms_asset_id[:40]))

    def asset_done(self, index: int, outcome: AssetOutcome) -> None:
        if outcome.status == "failed":
            self.failed += 1
        if self.task is not None:
            self.bar.update(self.task, advance=1, failed=self.failed)

    def stop(self) -> None:
        if self.task is not None:
            self.bar.update(self.task, current="")
        self.bar.stop()


@contextmanager
def stop_on_signals(cancel: threading.Event, console: Console) -> Iterator[None]:
    """Ctrl-C or SIGTERM: finish or roll back the asset in flight, then stop the run."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        if cancel.is_set():  # a second Ctrl-C: the operator really means it
            raise KeyboardInterrupt
        cancel.set()
        console.print(
            f"\n{signal.Signals(signum).name}: stopping after the asset in flight...",
            highlight=False,
        )

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def print_summary(result: SyncResult, console: Console) -> None:
    table = Table(title=f"Sync run {result.run_id}: {result.status}", title_justify="left")
    for name in ("total", "success", "failed", "skipped", "duration"):
        table.add_column(name, justify="right")
    table.add_row(
        str(result.total),
        f"[green]{result.success}[/]",
        f"[red]{result.failed}[/]" if result.failed else "0",
        str(result.skipped),
        duration(result.duration_ms),
    )
    console.print(table)
    if result.error:
        console.print(f"[bold red]run stopped:[/] {escape(result.error)}")
    if result.errors and not console.is_terminal:
        # A table folds long ids and reasons at the console's width; a log wants whole lines.
        console.print("First failures:", highlight=False)
        for line in result.errors[:10]:
            console.print(f"  {escape(line)}", highlight=False)
    elif result.errors:
        failures = Table(title="First failures", title_justify="left", show_lines=False)
        failures.add_column("asset", overflow="fold")
        failures.add_column("reason", overflow="fold")
        for line in result.errors[:10]:
            asset, _, reason = line.partition(": ")
            failures.add_row(Text(printable(asset)), Text(printable(reason)))
        console.print(failures)
        if result.failed > 10:
            console.print(
                f"... and {result.failed - 10} more: "
                f"SELECT * FROM cmms_sync_log WHERE run_id = {result.run_id} "
                "AND status = 'failed'",
                highlight=False,
            )


def print_changes(page: ChangePage, zone: ZoneInfo, console: Console) -> None:
    from ic3sync.api.present import local_time

    """A page of changes as a table, newest first, and how many more there are."""
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    for name in ("changed at", "asset", "column", "old", "new", "source", "run"):
        # Times, columns and runs are read whole; long ids and values fold.
        table.add_column(
            name, overflow="fold", no_wrap=name in ("changed at", "column", "source", "run")
        )
    for c in page.items:
        table.add_row(
            local_time(c.changed_at, zone),
            Text(printable(c.cmms_asset_id)),
            Text(printable(c.column_name)),
            Text("" if c.old_value is None else printable(c.old_value), style="red"),
            Text("" if c.new_value is None else printable(c.new_value), style="green"),
            c.source,
            "" if c.run_id is None else str(c.run_id),
        )
    if page.items:
        console.print(table)
    shown = len(page.items)
    more = f"; --csv or --xlsx writes all {page.total}" if page.total > shown else ""
    console.print(f"{shown} of {page.total} changes{more}", highlight=False)
