"""Errors of the dashboard's routes as pages (or a short answer to a live refresh), never the
JSON the admin API answers with; and the router whose routes answer so."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute

from ic3sync.api.dashboard.checks import LoginRequired, Refused
from ic3sync.api.dashboard.templating import PAGE_HEADERS, is_live, render, see_other
from ic3sync.db.errors import db_reason
from ic3sync.errors import NOT_IN_REGISTER_HINT, AssetNotFound, Ic3SyncError, RunNotFound

log = logging.getLogger("ic3sync.dashboard")


class PageRoute(APIRoute):
    """A dashboard route: its errors become pages (or a 401 for a live refresh)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                if is_live(request):
                    return HTMLResponse("login required", status_code=401, headers=PAGE_HEADERS)
                # After the login, back to the page asked for (a form's page for a POST).
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                if request.method != "GET":
                    target = urlsplit(request.headers.get("referer", "/")).path or "/"
                return see_other("/login?" + urlencode({"next": target}))
            except RequestValidationError:
                return error_page(request, 404, "Not found", "there is no such page")
            except Refused as exc:
                return error_page(request, exc.status, "Refused", str(exc))
            except AssetNotFound as exc:
                return error_page(
                    request,
                    404,
                    "Not found",
                    str(exc),
                    hint=NOT_IN_REGISTER_HINT,
                )
            except RunNotFound as exc:
                return error_page(request, 404, "Not found", str(exc))
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
                log.error("database error on %s: %s", request.url.path, db_reason(exc))
                return error_page(
                    request,
                    503,
                    "Database unavailable",
                    "the database does not answer; see the "
                    "service log, and try again when it is back",
                )
            except Ic3SyncError as exc:
                return error_page(request, 503, "Not available", str(exc))

        return page


def error_page(
    request: Request, status: int, title: str, message: str, hint: str | None = None
) -> HTMLResponse:
    if is_live(request):
        return HTMLResponse(message, status_code=status, headers=PAGE_HEADERS)
    context = {"title": title, "message": message, "hint": hint}
    return render(request, "error.html", context, status=status)


def page_router() -> APIRouter:
    """A router of dashboard pages: errors as pages, nothing in the OpenAPI document."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)
