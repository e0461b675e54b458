"""The overview at `/`: the run going, the last full run and apart the latest other one, the
register's health, the
chart of the last runs, the schedule, where notices go, and the form that starts a run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ic3sync.api import present
from ic3sync.api.dashboard.checks import LoggedIn
from ic3sync.api.dashboard.errors import page_router
from ic3sync.api.dashboard.templating import is_live, render
from ic3sync.api.deps import AppSettings, Manager, Reads
from ic3sync.api.reads import ReadModels
from ic3sync.config import Settings
from ic3sync.db.views import RunView
from ic3sync.errors import ConfigError
from ic3sync.runs import RunManager
from ic3sync.schedule import Scheduler

CHART_RUNS = 30
# Polling of the live parts of a page, in ms: quick while a run goes, slow to notice a run
# started elsewhere (the CLI, the schedule, another server).
LIVE_RUNNING_MS = 1000
LIVE_IDLE_MS = 5000
# The overview counts the changes of these last days.
RECENT_CHANGE_DAYS = 7

router = page_router()


def next_scheduled(settings: Settings) -> datetime | None:
    if not settings.sync_cron:
        return None
    try:
        return Scheduler(settings.sync_cron, settings.timezone, lambda: None).next_time()
    except ConfigError:
        return None


def cancellable(run: RunView) -> bool:
    # Any running run: one of another process (the CLI, another server) reads the request
    # from its row between assets.
    return run.status == "running"


def _same_run(run: RunView, other: RunView | None) -> bool:
    return other is not None and run.run_id == other.run_id


def overview_context(reads: ReadModels, manager: RunManager, settings: Settings) -> dict[str, Any]:
    runs = reads.list_runs(limit=CHART_RUNS).items
    running = next((r for r in runs if r.status == "running"), None)
    latest = next((r for r in runs if r.status != "running"), None)
    # "The last run" is the last full one (rule 15): a sync-one or a batch after it is the
    # latest activity, told apart. One run goes at a time, so two rows hold a finished one.
    full = reads.list_runs(scope="full", limit=2).items
    finished = next((r for r in full if r.status != "running"), None)
    return {
        "running": running,
        "cancellable": running is not None and cancellable(running),
        "finished": finished,
        "latest": None if latest is None or _same_run(latest, finished) else latest,
        "health": reads.register_health(),
        "chart": present.runs_chart(runs),
        "next_run": next_scheduled(settings),
        "cron": settings.sync_cron,
        # Where notices go (hosts and counts only, never a URL's path or a password).
        "notify_to": manager.notifications.describe(),
        "notify_on": settings.notify_on,
        "retention_days": settings.log_retention_days,
        "live_ms": LIVE_RUNNING_MS if running else LIVE_IDLE_MS,
        "stale_warning": reads.stale_warning(settings.stale_after_h)[1],
        "schedule_events": manager.schedule_events(),
    }


def _recent_changes(reads: ReadModels) -> dict[str, Any]:
    since = datetime.now(UTC) - timedelta(days=RECENT_CHANGE_DAYS)
    return {
        "recent_changes": reads.change_counts(since=since),
        "recent_days": RECENT_CHANGE_DAYS,
    }


def with_form(
    reads: ReadModels, context: dict[str, Any], form: dict[str, str] | None = None
) -> dict[str, Any]:
    """The overview's context with what its start form needs, `form` holding what was typed."""
    return {
        **context,
        **_recent_changes(reads),
        "customers": reads.register_customers(),
        "form": form or {"customer_id": "", "batch": "", "offset": "0", "only_failed": ""},
        "start_error": None,
    }


@router.get("/", dependencies=[LoggedIn])
def overview(request: Request, reads: Reads, manager: Manager, settings: AppSettings) -> Response:
    context = overview_context(reads, manager, settings)
    if is_live(request):
        return render(request, "_overview_live.html", context)
    return render(request, "overview.html", with_form(reads, context))
