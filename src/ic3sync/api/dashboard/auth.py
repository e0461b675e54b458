"""The dashboard's login and logout: a session cookie for whoever gives IC3_ADMIN_TOKEN, with
wrong tokens from one address slowed down (one throttle with the admin API's bearer check)."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import Response

from ic3sync.api.dashboard.checks import check_host, check_origin, safe_next
from ic3sync.api.dashboard.errors import page_router
from ic3sync.api.dashboard.sessions import end_session, session_alive, start_session
from ic3sync.api.dashboard.templating import render, see_other
from ic3sync.api.deps import AppSettings
from ic3sync.api.throttle import client_address, token_throttle

log = logging.getLogger("ic3sync.dashboard")

router = page_router()


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
    throttle = token_throttle(request)
    client = client_address(request)
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
