"""The dashboard's downloads: the register as a workbook (today's, or as it stood on a past
day), a run's failures and a run's changes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Query
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from ic3sync.api.dashboard.checks import LoggedIn, Refused
from ic3sync.api.dashboard.errors import page_router
from ic3sync.api.deps import AppSettings, Reads
from ic3sync.api.params import RunId
from ic3sync.errors import AsOfDateError
from ic3sync.schedule import parse_timezone

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = page_router()


def _xlsx(write: Callable[[Path], object], filename: str) -> FileResponse:
    """A workbook written to a temporary file, sent, then removed."""
    fd, name = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    path = Path(name)
    try:
        write(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=XLSX_TYPE,
        filename=filename,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get("/runs/{run_id}/failures.xlsx", dependencies=[LoggedIn])
def run_failures_xlsx(reads: Reads, settings: AppSettings, run_id: RunId) -> Response:
    reads.get_run(run_id)  # RunNotFound: a 404 page
    zone = parse_timezone(settings.timezone)
    return _xlsx(
        lambda path: reads.write_failures_workbook(path, run_id, zone=zone),
        f"ic3sync-run-{run_id}-failures.xlsx",
    )


@router.get("/runs/{run_id}/changes.xlsx", dependencies=[LoggedIn])
def run_changes_xlsx(reads: Reads, settings: AppSettings, run_id: RunId) -> Response:
    reads.get_run(run_id)  # RunNotFound: a 404 page
    zone = parse_timezone(settings.timezone)
    return _xlsx(
        lambda path: reads.write_run_changes_workbook(path, run_id, zone=zone),
        f"ic3sync-run-{run_id}-changes.xlsx",
    )


@router.get("/export.xlsx", dependencies=[LoggedIn])
def register_xlsx(
    reads: Reads,
    settings: AppSettings,
    as_of: Annotated[
        str | None,
        Query(
            description="YYYY-MM-DD: the register as it stood at the end of that day "
            "(IC3_TIMEZONE), rebuilt from the change history",
        ),
    ] = None,
) -> Response:
    zone = parse_timezone(settings.timezone)
    now = datetime.now(UTC)
    if as_of is None:
        return _xlsx(
            lambda path: reads.write_register_workbook(path, zone=zone, now=now),
            f"ic3sync-register-{now.astimezone(zone):%Y-%m-%d}.xlsx",
        )
    day = as_of_day(as_of, zone, now)
    return _xlsx(
        lambda path: reads.write_register_as_of(path, day, zone=zone, now=now),
        f"ic3sync-register-as-of-{day.isoformat()}.xlsx",
    )


def as_of_day(text: str, zone: ZoneInfo, now: datetime) -> date:
    """The day of `?as_of=`; Refused (400) naming what is wrong with it."""
    from ic3sync.export import end_of_day

    try:
        if len(text) != 10:  # fromisoformat takes 20261201 and times too
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        shown = text if len(text) <= 20 else text[:20] + "..."
        raise Refused(400, f"as_of={shown!r} is not a date: give it as YYYY-MM-DD") from None
    try:
        end_of_day(day, zone, now=now)
    except AsOfDateError as exc:
        raise Refused(400, f"as_of={text}: {exc}") from None
    return day
