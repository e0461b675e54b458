"""The runs on the dashboard: the run list, a run's page with its log, and the run actions
(start, cancel, re-run the failed assets)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from ic3sync.api import present
from ic3sync.api.dashboard.checks import LoggedIn, SameOrigin
from ic3sync.api.dashboard.errors import page_router
from ic3sync.api.dashboard.overview import (
    LIVE_RUNNING_MS,
    cancellable,
    overview_context,
    with_form,
)
from ic3sync.api.dashboard.templating import flash, is_live, render, see_other
from ic3sync.api.deps import AppSettings, Manager, Reads
from ic3sync.api.params import INT32_MAX, INT64_MAX, RunId
from ic3sync.api.reads import ReadModels
from ic3sync.config import Settings
from ic3sync.errors import (
    EMPTY_REGISTER,
    AssetNotFound,
    Ic3SyncError,
    NoAssetMatches,
    RunInProgress,
    RunNotCancellable,
)
from ic3sync.model import LOG_STATUSES, RUN_STATUSES, TRIGGERS, AssetSelection
from ic3sync.runs import RunManager

log = logging.getLogger("ic3sync.dashboard")

RUNS_PER_PAGE = 25
LOG_PER_PAGE = 100
# A run's page shows this many of its changes; the API, `ic3sync changes` and the export
# give all of them.
RUN_CHANGES_SHOWN = 500

router = page_router()


# --- starting, cancelling, re-running --------------------------------------------------------


def _int_field(value: str, name: str, *, minimum: int = 0, maximum: int = INT32_MAX) -> int | None:
    """A whole number typed in a form; ValueError says which field and why."""
    value = value.strip().replace(",", "")
    if not value:
        return None
    # isascii: isdigit() alone admits '²' and other digits int() refuses.
    if not (value.isascii() and value.isdigit()) or not minimum <= int(value) <= maximum:
        raise ValueError(f"{name} must be a whole number from {minimum:,} to {maximum:,}")
    return int(value)


def start_refusal(exc: Ic3SyncError) -> tuple[int, dict[str, Any]]:
    """The status and message of a refused start, in words and with a link where one helps."""
    if isinstance(exc, RunInProgress):
        link = f"/runs/{exc.run_id}" if exc.run_id is not None else None
        which = f"run {exc.run_id}" if exc.run_id is not None else "another run"
        text = (
            f"A sync is already running ({which}). Only one runs at a time: "
            "watch it or cancel it, then start this one."
        )
        return 409, {"text": text, "link": link, "link_text": f"Go to {which}"}
    if isinstance(exc, AssetNotFound):
        return 404, {"text": str(exc), "link": None, "link_text": None}
    if isinstance(exc, NoAssetMatches):
        if exc.selection:
            text = f"No asset matches {exc.selection}: no run was started."
        else:
            text = f"No run was started: {EMPTY_REGISTER}."
        return 200, {"text": text, "link": None, "link_text": None}
    return 503, {"text": f"The sync was not started: {exc}", "link": None, "link_text": None}


@router.post("/runs", dependencies=SameOrigin)
def start_run(
    request: Request,
    reads: Reads,
    manager: Manager,
    settings: AppSettings,
    customer_id: Annotated[str, Form()] = "",
    batch: Annotated[str, Form()] = "",
    offset: Annotated[str, Form()] = "",
    only_failed: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "customer_id": customer_id,
        "batch": batch,
        "offset": offset,
        "only_failed": only_failed,
    }
    try:
        selection = AssetSelection(
            batch=_int_field(batch, "Batch", minimum=1),
            offset=_int_field(offset, "Offset") or 0,
            customer_id=_int_field(customer_id, "Customer", maximum=INT64_MAX),
            only_failed=bool(only_failed),
        )
    except ValueError as exc:
        error = {"text": str(exc), "link": None, "link_text": None}
        return _refused_start(request, reads, manager, settings, form, 400, error)
    try:
        handle = manager.start(selection, trigger="dashboard")
    except Ic3SyncError as exc:
        status, error = start_refusal(exc)
        return _refused_start(request, reads, manager, settings, form, status, error)
    log.info("dashboard started run %s", handle.run_id, extra={"run_id": handle.run_id})
    return see_other(f"/runs/{handle.run_id}")


def _refused_start(
    request: Request,
    reads: ReadModels,
    manager: RunManager,
    settings: Settings,
    form: dict[str, str],
    status: int,
    error: dict[str, Any],
) -> HTMLResponse:
    # The page again, not a redirect: the form keeps what was typed and the status tells why.
    context = with_form(reads, overview_context(reads, manager, settings), form)
    context["start_error"] = error
    return render(request, "overview.html", context, status=status)


@router.post("/runs/{run_id}/cancel", dependencies=SameOrigin)
def cancel_run(request: Request, manager: Manager, run_id: RunId) -> Response:
    try:
        run = manager.cancel(run_id)
    except RunNotCancellable as exc:
        flash(request, "error", str(exc))
    else:
        if run.status == "running":
            flash(request, "info", f"Run {run_id} is stopping after the asset in flight.")
        else:
            flash(request, "ok", f"Run {run_id} is {run.status}.")
    return see_other(f"/runs/{run_id}")


@router.post("/runs/{run_id}/rerun-failed", dependencies=SameOrigin)
def rerun_failed(request: Request, reads: Reads, manager: Manager, run_id: RunId) -> Response:
    run = reads.get_run(run_id)
    # The register's failed assets within the run's customer: a batch or offset would count
    # over the failed ones only, so they are not carried over.
    selection = AssetSelection(customer_id=run.filters.customer_id, only_failed=True)
    try:
        handle = manager.start(selection, trigger="dashboard")
    except Ic3SyncError as exc:
        _, error = start_refusal(exc)
        flash(request, "error", error["text"], error["link"])
        return see_other(f"/runs/{run_id}")
    return see_other(f"/runs/{handle.run_id}")


# --- reading ------------------------------------------------------------------------------


@router.get("/runs", dependencies=[LoggedIn])
def runs_page(
    request: Request,
    reads: Reads,
    status: Annotated[str, Query()] = "",
    trigger: Annotated[str, Query()] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    # Unknown values from a hand-edited URL mean "any", not an error page.
    run_status = status if status in RUN_STATUSES else None
    run_trigger = trigger if trigger in TRIGGERS else None

    def fetch(n: int) -> Any:
        return reads.list_runs(
            status=run_status,  # type: ignore[arg-type]
            trigger=run_trigger,  # type: ignore[arg-type]
            limit=RUNS_PER_PAGE,
            offset=(n - 1) * RUNS_PER_PAGE,
        )

    result, pages = page_of(fetch, page, RUNS_PER_PAGE)
    context = {
        "runs": result.items,
        "pager": pages,
        "status": run_status or "",
        "trigger": run_trigger or "",
        "statuses": RUN_STATUSES,
        "triggers": TRIGGERS,
    }
    return render(request, "runs.html", context)


def page_of(fetch: Callable[[int], Any], page: int, per_page: int) -> tuple[Any, Any]:
    """One page of a listing and its pager; a page past the end shows the last one."""
    result = fetch(page)
    pages = present.pager(page, per_page, result.total)
    if pages.page != page:
        result = fetch(pages.page)
    return result, pages


@router.get("/runs/{run_id}", dependencies=[LoggedIn])
def run_page(
    request: Request,
    reads: Reads,
    run_id: RunId,
    status: Annotated[str, Query()] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    run = reads.get_run(run_id)
    log_status = status if status in LOG_STATUSES else None
    # No asset id holds a control character, and PostgreSQL refuses a NUL in a query.
    search = "".join(c for c in q if ord(c) >= 32 and ord(c) != 127).strip() or None

    def fetch(n: int) -> Any:
        return reads.run_log(
            run_id,
            status=log_status,
            search=search,
            limit=LOG_PER_PAGE,
            offset=(n - 1) * LOG_PER_PAGE,
        )

    rows, pages = page_of(fetch, page, LOG_PER_PAGE)
    context = {
        "run": run,
        "reasons": present.group_reasons(reads.failure_groups(run_id)),
        "rows": rows.items,
        "pager": pages,
        "status": log_status or "",
        "q": search or "",
        "live_ms": LIVE_RUNNING_MS,
        "cancellable": cancellable(run),
        "left": reads.left_by_batch(run),
    }
    if is_live(request):
        return render(request, "_run_live.html", context)
    changes = reads.run_changes(run_id, limit=RUN_CHANGES_SHOWN)
    context["changes"] = changes
    context["changed_columns"] = present.by_column(changes.items)
    return render(request, "run.html", context)
