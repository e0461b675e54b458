"""The dashboard's downloads: the register as a workbook, a run's failures and a run's
changes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from ic3sync.api.dashboard.checks import LoggedIn
from ic3sync.api.dashboard.errors import page_router
from ic3sync.api.deps import AppSettings, Reads
from ic3sync.api.params import RunId
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
def register_xlsx(reads: Reads, settings: AppSettings) -> Response:
    zone = parse_timezone(settings.timezone)
    now = datetime.now(UTC)
    return _xlsx(
        lambda path: reads.write_register_workbook(path, zone=zone, now=now),
        f"ic3sync-register-{now.astimezone(zone):%Y-%m-%d}.xlsx",
    )
