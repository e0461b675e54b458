"""The commands that run a sync: sync (the register, or a batch of it) and sync-one."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from ic3sync.cli.exits import EXIT_OK, err, errors_as_exit_codes, fail, out, run_exit_code
from ic3sync.cli.options import fits_int64
from ic3sync.errors import NOT_IN_REGISTER_HINT, AssetNotFound, AssetSyncFailed, NoAssetMatches
from ic3sync.interrupt import say_on_interrupt
from ic3sync.model import (
    AssetSelection,
    RunObserver,
    SyncResult,
    no_match_result,
)
from ic3sync.terminal import RichProgress, escape, print_summary, stop_on_signals

if TYPE_CHECKING:
    from ic3sync.bootstrap import Wiring
    from ic3sync.sync import Fetcher


def _run_cli_sync(wiring: Wiring, selection: AssetSelection, as_json: bool) -> int:
    from ic3sync.db.selection import count_matching_before_a_run

    cancel = threading.Event()
    progress = RichProgress(err) if err.is_terminal else None
    # Counted before the run, as the API counts it: an only-failed run's assets leave the
    # filter as they succeed, so no offset would point at the next ones (none is told).
    batched = selection.batch is not None and not selection.only_failed
    matching = count_matching_before_a_run(wiring.engine, selection) if batched else 0
    with wiring.clients(cancel=cancel) as client, stop_on_signals(cancel, err):
        try:
            result = _run(wiring, client, selection, cancel, progress)
        finally:
            if progress:
                progress.stop()
    say_on_interrupt(f"interrupted after run {result.run_id} had ended {result.status}")
    console = err if as_json else out
    print_summary(result, console)
    if batched and result.status == "completed":
        console.print(left_after_batch(matching, selection, result.total), highlight=False)
    if as_json:
        print(json.dumps(result.as_dict()))
    return run_exit_code(result.status, result.failed)


def left_after_batch(matching: int, selection: AssetSelection, taken: int) -> str:
    """What the batch left for later, and the command of the next batch."""
    from ic3sync.db.selection import left_after

    left, next_offset = left_after(matching, selection, taken)
    if next_offset is None:
        return "Nothing left after this batch."
    command = f"ic3sync sync --batch {selection.batch} --offset {next_offset}"
    if selection.customer_id is not None:
        command += f" --customer-id {selection.customer_id}"
    plural = "" if left == 1 else "s"
    return f"{left:,} asset{plural} left after this batch; the next batch: {command}"


def _run(
    wiring: Wiring,
    client: Fetcher,
    selection: AssetSelection,
    cancel: threading.Event,
    observer: RunObserver | None,
) -> SyncResult:
    """The command line's run, on the one path every front end takes (runs.py)."""
    from ic3sync.runs import run_and_follow_up

    return run_and_follow_up(
        wiring.engine,
        client,
        wiring.settings,
        wiring.notifications(),
        trigger="cli",
        selection=selection,
        cancel=cancel,
        observer=observer,
        wait_for_notice=True,
    )


def sync(
    batch: Annotated[
        int | None, typer.Option(min=1, callback=fits_int64, help="at most N assets (default: all)")
    ] = None,
    offset: Annotated[
        int, typer.Option(min=0, callback=fits_int64, help="skip the first N assets")
    ] = 0,
    customer_id: Annotated[
        int | None,
        typer.Option("--customer-id", callback=fits_int64, help="only this customer"),
    ] = None,
    only_failed: Annotated[
        bool, typer.Option("--only-failed", help="only assets whose latest outcome failed")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the SyncResult as JSON")] = False,
) -> None:
    """One sequential run over the register (or a batch of it)."""
    from ic3sync import bootstrap

    with errors_as_exit_codes():
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


def sync_one(
    cmms_asset_id: Annotated[
        str, typer.Argument(help="the Innomaint asset id, e.g. 'Delhi Cantt Naraina_BP_01'")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Sync one asset now."""
    from ic3sync import bootstrap
    from ic3sync.sync import asset_synced, one_asset
    from ic3sync.sync.run import recording_outcomes

    with errors_as_exit_codes():
        settings = bootstrap.load_settings()
        settings.require_api_token()
        wiring = bootstrap.bootstrap(settings)
        selection = one_asset(cmms_asset_id)
        cancel = threading.Event()
        with wiring.clients(cancel=cancel) as client:
            recorder, outcomes = recording_outcomes(None)
            try:
                result = _run(wiring, client, selection, cancel, recorder)
            except AssetNotFound as exc:
                fail(f"{escape(str(exc))}\n{NOT_IN_REGISTER_HINT}")
            try:
                run_id, outcome = asset_synced(selection, result, outcomes)
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
            code = run_exit_code(failed.run_status, failed=1)
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
