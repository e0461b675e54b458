"""The dashboard's request checks: the session login, the Host a token-less service answers at,
and the Origin every state change must come from."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from fastapi import Depends, Request

from ic3sync.api.dashboard.sessions import session_alive
from ic3sync.api.deps import AppSettings, foreign_host, own_origin, sent_origin
from ic3sync.config import Settings

log = logging.getLogger("ic3sync.dashboard")


class LoginRequired(Exception):
    """No valid session while IC3_ADMIN_TOKEN is set."""


class Refused(Exception):
    """A request the dashboard will not serve (foreign Origin, foreign Host)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def session_secret(settings: Settings) -> str:
    """Derived from the admin token, so sessions survive a restart and end when the token
    changes; without a token (loopback only) a per-process secret serves the flash messages."""
    if settings.admin_token is None:
        return secrets.token_hex(32)
    key = settings.admin_token.get_secret_value().encode()
    return hmac.new(key, b"ic3sync dashboard session", hashlib.sha256).hexdigest()


def check_host(request: Request, settings: AppSettings) -> None:
    if foreign_host(request, settings):
        raise Refused(
            403, "without IC3_ADMIN_TOKEN the dashboard answers only at localhost or 127.0.0.1"
        )


def require_session(request: Request, settings: AppSettings) -> None:
    check_host(request, settings)
    if settings.admin_token is not None and not session_alive(request, settings):
        raise LoginRequired()


def check_origin(request: Request) -> None:
    """Every state change must come from a page of this dashboard: the Origin header (or,
    from a browser that omits it, the Referer) must be this server's own origin."""
    origin = sent_origin(request)
    if origin != own_origin(request):
        log.warning("refused a %s %s from origin %r", request.method, request.url.path, origin)
        raise Refused(403, "this form was not sent from a page of this dashboard; reload it")


LoggedIn = Depends(require_session)
SameOrigin = [Depends(check_origin), Depends(require_session)]


def safe_next(target: str | None) -> str:
    # Only a path of this site: "//host" or "https://host" would make the login an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
