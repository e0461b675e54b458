"""`ic3sync attention`: what needs a person, as the dashboard's /attention shows it: assets
failing full run after full run, assets never synced, and the fields whose last value from
Innomaint could not be used, with examples to fix at the source."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from ic3sync.cli.exits import errors_as_exit_codes, out
from ic3sync.wording import counted

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ic3sync.db.read.attention import Attention

# What the text lists of each part; --json gives as many, and the dashboard's page too.
NEVER_SHOWN = 10
# db.read.attention.FAILING_RUNS, which this module does not load before the command runs.
DEFAULT_FAILING_RUNS = 3


def attention(
    failing_runs: Annotated[
        int,
        typer.Option(
            "--failing-runs",
            min=1,
            max=1000,
            help="list the assets that failed at least this many full runs in a row",
        ),
    ] = DEFAULT_FAILING_RUNS,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of text")] = False,
) -> None:
    """What needs a person: assets failing full run after full run (since when, and why),
    assets never synced, and each field whose last value could not be used (stored as NULL),
    with a few of its assets: the list to correct in the CMMS."""
    from ic3sync import bootstrap
    from ic3sync.db import read
    from ic3sync.schedule import parse_timezone

    with errors_as_exit_codes():
        settings = bootstrap.load_settings()
        zone = parse_timezone(settings.timezone)
        engine = bootstrap.open_engine(settings)
        with engine.connect() as conn:
            found = read.needs_attention(conn, failing_runs=failing_runs)
    if as_json:
        # print(), not rich: JSON for machines is never wrapped nor coloured.
        print(json.dumps(found.model_dump(mode="json"), ensure_ascii=False))
        return
    _print(found, zone)


def _print(found: Attention, zone: ZoneInfo) -> None:
    from rich.text import Text

    from ic3sync.api.present import local_time, reason_kind

    k = found.failing_runs
    runs = "full run" if k == 1 else f"{k} full runs"
    out.print(
        f"Failing {runs} in a row or more: {counted(found.failing_total, 'asset')}",
        highlight=False,
    )
    for f in found.failing:
        line = Text(f"  {f.cmms_asset_id}", style="bold")
        line.append(
            f"  {counted(f.runs, 'run')} since {local_time(f.since, zone)}: "
            f"{reason_kind(f.error_kind, f.http_status)} (run {f.last_run_id})",
            style="",
        )
        out.print(line, highlight=False, soft_wrap=True)
        if f.error_message:
            out.print(Text(f"    {f.error_message}", style="dim"), highlight=False, soft_wrap=True)
    if found.failing_total > len(found.failing):
        out.print(f"  and {found.failing_total - len(found.failing):,} more", highlight=False)

    out.print(f"Never synced: {counted(found.never_synced_total, 'asset')}", highlight=False)
    shown = found.never_synced[:NEVER_SHOWN]
    if shown:
        more = found.never_synced_total - len(shown)
        listed = ", ".join(n.cmms_asset_id for n in shown) + (f" and {more:,} more" if more else "")
        out.print(Text(f"  {listed}"), highlight=False, soft_wrap=True)

    if not found.unusable:
        out.print("Every value of each asset's latest sync could be used.", highlight=False)
        return
    out.print("Values Innomaint sent that could not be used (stored as NULL):", highlight=False)
    for u in found.unusable:
        out.print(Text(f"  {u.field}: {counted(u.assets, 'asset')}"), highlight=False)
        for e in u.examples:
            out.print(
                Text(f"    {e.cmms_asset_id}: {e.problem}", style="dim"),
                highlight=False,
                soft_wrap=True,
            )
