"""The dashboard's pages at `/`: the overview, runs, a run's log, an asset; starting, cancelling
and re-running syncs; the login. Errors of these routes become pages, never JSON."""

from __future__ import annotations

import hmac
import logging
import os
import tempfile
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.background import BackgroundTask

from ic3sync.api import present
from ic3sync.api.dashboard.checks import (
    LoggedIn,
    LoginRequired,
    Refused,
    SameOrigin,
    check_host,
    check_origin,
    safe_next,
    session_secret,
)
from ic3sync.api.dashboard.sessions import (
    LoginThrottle,
    SchemeSessions,
    end_session,
    session_alive,
    start_session,
)
from ic3sync.api.dashboard.templating import (
    SECURITY_HEADERS,
    asset_url,
    flash,
    is_live,
    render,
    see_other,
)
from ic3sync.api.deps import AppSettings, Manager, Reads
from ic3sync.api.params import INT32_MAX, INT64_MAX, RunId
from ic3sync.api.reads import ReadModels
from ic3sync.config import Settings
from ic3sync.db.errors import db_reason
from ic3sync.db.views import RunView
from ic3sync.errors import (
    EMPTY_REGISTER,
    AssetNotFound,
    AssetSyncFailed,
    ConfigError,
    Ic3SyncError,
    NoAssetMatches,
    RunInProgress,
    RunNotCancellable,
    RunNotFound,
)
from ic3sync.model import LOG_STATUSES, RUN_STATUSES, TRIGGERS, AssetSelection, clean_asset_id
from ic3sync.runs import RunManager
from ic3sync.schedule import Scheduler, parse_timezone

log = logging.getLogger("ic3sync.dashboard")

RUNS_PER_PAGE = 25
LOG_PER_PAGE = 100
CHART_RUNS = 30
# Polling of the live parts of a page, in ms: quick while a run goes, slow to notice a run
# started elsewhere (the CLI, the schedule, another server).
LIVE_RUNNING_MS = 1000
LIVE_IDLE_MS = 5000
# The change history on pages; the API, `ic3sync changes` and the export give all of it.
TIMELINE_SHOWN = 100
RUN_CHANGES_SHOWN = 500
RECENT_CHANGE_DAYS = 7
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- errors as pages -----------------------------------------------------------------------


class _PageRoute(APIRoute):
    """Errors of a dashboard route become pages (or a 401 for a live refresh), never the JSON
    the admin API answers with."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                if is_live(request):
                    return HTMLResponse("login required", status_code=401, headers=SECURITY_HEADERS)
                # After the login, back to the page asked for (a form's page for a POST).
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                if request.method != "GET":
                    target = urlsplit(request.headers.get("referer", "/")).path or "/"
                return see_other("/login?" + urlencode({"next": target}))
            except RequestValidationError:
                return _error(request, 404, "Not found", "there is no such page")
            except Refused as exc:
                return _error(request, exc.status, "Refused", str(exc))
            except AssetNotFound as exc:
                return _error(
                    request,
                    404,
                    "Not found",
                    str(exc),
                    hint="To sync it, add it to the asset register and import the register: "
                    "ic3sync import-assets <register.xlsx>. Ids are compared as written, "
                    "spaces included.",
                )
            except RunNotFound as exc:
                return _error(request, 404, "Not found", str(exc))
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
                log.error("database error on %s: %s", request.url.path, db_reason(exc))
                return _error(
                    request,
                    503,
                    "Database unavailable",
                    "the database does not answer; see the "
                    "service log, and try again when it is back",
                )
            except Ic3SyncError as exc:
                return _error(request, 503, "Not available", str(exc))

        return page


def _error(
    request: Request, status: int, title: str, message: str, hint: str | None = None
) -> HTMLResponse:
    if is_live(request):
        return HTMLResponse(message, status_code=status, headers=SECURITY_HEADERS)
    context = {"title": title, "message": message, "hint": hint}
    return render(request, "error.html", context, status=status)


router = APIRouter(route_class=_PageRoute, include_in_schema=False)


# --- login ------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, settings: AppSettings, next: str | None = None) -> Response:
    check_host(request, settings)
    if settings.admin_token is None or session_alive(request, settings):
        return see_other(safe_next(next))
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login", dependencies=[Depends(check_origin)])
def login(
    request: Request,
    settings: AppSettings,
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    check_host(request, settings)
    target = safe_next(next)
    expected = settings.admin_token
    if expected is None:
        return see_other(target)
    throttle: LoginThrottle = request.app.state.login_throttle
    client = _client(request)
    if wait := throttle.wait_s(client):
        return _too_many(request, target, wait)
    if not hmac.compare_digest(token.strip().encode(), expected.get_secret_value().encode()):
        wait = throttle.failed(client)
        log.warning("dashboard login refused: wrong admin token from %s", client)
        if wait:
            return _too_many(request, target, wait)
        context = {"next": target, "error": "That is not the admin token (IC3_ADMIN_TOKEN)."}
        return render(request, "login.html", context, status=401)
    throttle.succeeded(client)
    start_session(request, settings)
    log.info("dashboard login from %s", client)
    return see_other(target)


def _too_many(request: Request, target: str, wait: int) -> Response:
    error = f"Too many wrong tokens from this address: try again in {wait} s."
    response = render(request, "login.html", {"next": target, "error": error}, status=429)
    response.headers["Retry-After"] = str(wait)
    return response


@router.post("/logout", dependencies=[Depends(check_origin)])
def logout(request: Request) -> Response:
    end_session(request)
    return see_other("/login" if request.app.state.settings.admin_token else "/")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- overview -----------------------------------------------------------------------------


def next_scheduled(settings: Settings) -> datetime | None:
    if not settings.sync_cron:
        return None
    try:
        return Scheduler(settings.sync_cron, settings.timezone, lambda: None).next_time()
    except ConfigError:
        return None


def _overview(reads: ReadModels, manager: RunManager, settings: Settings) -> dict[str, Any]:
    runs = reads.list_runs(limit=CHART_RUNS).items
    running = next((r for r in runs if r.status == "running"), None)
    finished = next((r for r in runs if r.status != "running"), None)
    return {
        "running": running,
        "cancellable": running is not None and _cancellable(running),
        "finished": finished,
        "health": reads.register_health(),
        "chart": present.runs_chart(runs),
        "next_run": next_scheduled(settings),
        "cron": settings.sync_cron,
        # Where notices go (hosts and counts only, never a URL's path or a password).
        "notify_to": manager.notifications.describe(),
        "notify_on": settings.notify_on,
        "retention_days": settings.log_retention_days,
        "live_ms": LIVE_RUNNING_MS if running else LIVE_IDLE_MS,
    }


def _recent_changes(reads: ReadModels) -> dict[str, Any]:
    since = datetime.now(UTC) - timedelta(days=RECENT_CHANGE_DAYS)
    return {
        "recent_changes": reads.change_counts(since=since),
        "recent_days": RECENT_CHANGE_DAYS,
    }


@router.get("/", dependencies=[LoggedIn])
def overview(request: Request, reads: Reads, manager: Manager, settings: AppSettings) -> Response:
    context = _overview(reads, manager, settings)
    if is_live(request):
        return render(request, "_overview_live.html", context)
    return render(request, "overview.html", _with_form(reads, context))


def _with_form(
    reads: ReadModels, context: dict[str, Any], form: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        **context,
        **_recent_changes(reads),
        "customers": reads.register_customers(),
        "form": form or {"customer_id": "", "batch": "", "offset": "0", "only_failed": ""},
        "start_error": None,
    }


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


def _start_error(exc: Ic3SyncError) -> tuple[int, dict[str, Any]]:
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
        handle = manager.start(selection, trigger="api")
    except Ic3SyncError as exc:
        status, error = _start_error(exc)
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
    context = _with_form(reads, _overview(reads, manager, settings), form)
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
        handle = manager.start(selection, trigger="api")
    except Ic3SyncError as exc:
        _, error = _start_error(exc)
        flash(request, "error", error["text"], error["link"])
        return see_other(f"/runs/{run_id}")
    return see_other(f"/runs/{handle.run_id}")


# --- runs -------------------------------------------------------------------------------


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

    result, pages = _page_of(fetch, page, RUNS_PER_PAGE)
    context = {
        "runs": result.items,
        "pager": pages,
        "status": run_status or "",
        "trigger": run_trigger or "",
        "statuses": RUN_STATUSES,
        "triggers": TRIGGERS,
    }
    return render(request, "runs.html", context)


def _page_of(fetch: Callable[[int], Any], page: int, per_page: int) -> tuple[Any, Any]:
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

    rows, pages = _page_of(fetch, page, LOG_PER_PAGE)
    context = {
        "run": run,
        "reasons": present.group_reasons(reads.failure_groups(run_id)),
        "rows": rows.items,
        "pager": pages,
        "status": log_status or "",
        "q": search or "",
        "live_ms": LIVE_RUNNING_MS,
        "cancellable": _cancellable(run),
    }
    if is_live(request):
        return render(request, "_run_live.html", context)
    changes = reads.run_changes(run_id, limit=RUN_CHANGES_SHOWN)
    context["changes"] = changes
    context["changed_columns"] = present.by_column(changes.items)
    return render(request, "run.html", context)


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
        headers=SECURITY_HEADERS,
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


@router.get("/export.xlsx", dependencies=[LoggedIn])
def register_xlsx(reads: Reads, settings: AppSettings) -> Response:
    zone = parse_timezone(settings.timezone)
    now = datetime.now(UTC)
    return _xlsx(
        lambda path: reads.write_register_workbook(path, zone=zone, now=now),
        f"ic3sync-register-{now.astimezone(zone):%Y-%m-%d}.xlsx",
    )


def _cancellable(run: RunView) -> bool:
    # Any running run: one of another process (the CLI, another server) reads the request
    # from its row between assets.
    return run.status == "running"


# --- assets -----------------------------------------------------------------------------


@router.get("/assets", dependencies=[LoggedIn])
def find_asset(id: Annotated[str, Query(max_length=500)] = "") -> Response:
    asset_id = id.strip()
    return see_other(asset_url(asset_id) if asset_id else "/")


@router.get("/assets/{cmms_asset_id:path}", dependencies=[LoggedIn])
def asset_page(request: Request, reads: Reads, cmms_asset_id: str) -> Response:
    asset_id = clean_asset_id(cmms_asset_id)
    detail = reads.asset_detail(asset_id, log_limit=20)
    changes = reads.asset_changes(asset_id, limit=TIMELINE_SHOWN)
    context = {
        "d": detail,
        "a": detail.asset,
        "timeline": present.timeline(changes.items),
        "changes_total": changes.total,
        "timeline_shown": TIMELINE_SHOWN,
    }
    return render(request, "asset.html", context)


@router.post("/sync/{cmms_asset_id:path}", dependencies=SameOrigin)
def sync_now(request: Request, manager: Manager, cmms_asset_id: str) -> Response:
    asset_id = clean_asset_id(cmms_asset_id)
    try:
        run_id, outcome = manager.sync_now(asset_id, trigger="api")
    except AssetSyncFailed as exc:
        who = "Innomaint answered" if exc.vendor else "The sync stopped"
        flash(request, "error", f"Not synced. {who}: {exc.reason}", f"/runs/{exc.run_id}")
    except AssetNotFound:
        raise
    except Ic3SyncError as exc:
        _, error = _start_error(exc)
        flash(request, "error", error["text"], error["link"])
    else:
        text = f"Synced now (run {run_id}): traceability id {outcome.traceability_id}."
        if outcome.error:
            text += f" Note: {outcome.error}"
        flash(request, "ok", text, f"/runs/{run_id}")
    return see_other(asset_url(asset_id))


# --- mounting -----------------------------------------------------------------------------


def install(app: FastAPI, settings: Settings) -> None:
    """Mount the dashboard, its static files and the session cookie on the admin app."""
    static = resources.files("ic3sync.api") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.include_router(router)
    app.state.login_throttle = LoginThrottle()
    app.add_middleware(SchemeSessions, secret_key=session_secret(settings))
