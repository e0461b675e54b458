"""Dashboard logins held by the server: the signed cookie carries a random session id, the
database says whether that session still lives (a logout or a new admin token ends it),
and the cookie is `Secure` on https. Wrong tokens are slowed down in throttle.py."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from ic3sync.config import Settings
from ic3sync.db import sessions as rows

SESSION_COOKIE = "ic3sync_session"
# A login lasts a working day, or until its logout or a change of IC3_ADMIN_TOKEN.
SESSION_MAX_AGE_S = 12 * 3600
_KEY = "sid"


def token_mark(settings: Settings) -> str:
    """A fingerprint of the admin token that tells nothing about it."""
    assert settings.admin_token is not None
    key = settings.admin_token.get_secret_value().encode()
    return hmac.new(key, b"ic3sync session mark", hashlib.sha256).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _database(request: Request) -> sa.Engine:
    # The app's own engine: sessions are the dashboard's state, not the run manager's.
    engine: sa.Engine = request.app.state.engine
    return engine


def start_session(request: Request, settings: Settings) -> None:
    """A fresh session after a good login: nothing from before it carries over."""
    session_id = secrets.token_urlsafe(32)
    with _database(request).begin() as conn:
        lasts = timedelta(seconds=SESSION_MAX_AGE_S)
        rows.open_session(conn, session_id, token_mark(settings), _now(), lasts)
    request.session.clear()
    request.session[_KEY] = session_id


def has_session(request: Request) -> bool:
    """Whether the cookie names a session (for the page's logout button; not a check)."""
    return isinstance(request.session.get(_KEY), str)


def session_alive(request: Request, settings: Settings) -> bool:
    session_id = request.session.get(_KEY)
    if not isinstance(session_id, str):
        return False
    with _database(request).connect() as conn:
        return rows.session_alive(conn, session_id, token_mark(settings), _now())


def end_session(request: Request) -> None:
    session_id = request.session.get(_KEY)
    if isinstance(session_id, str):
        with _database(request).begin() as conn:
            rows.end_session(conn, session_id)
    request.session.clear()


class SchemeSessions:
    """Starlette's signed-cookie sessions, with the `Secure` flag when the request came over
    https. The scheme is the connection's, or X-Forwarded-Proto when uvicorn trusts the proxy
    that sent it (IC3_TRUSTED_PROXIES); nobody else can make a request look like https."""

    def __init__(self, app: ASGIApp, secret_key: str) -> None:
        options = {
            "secret_key": secret_key,
            "session_cookie": SESSION_COOKIE,
            "max_age": SESSION_MAX_AGE_S,
            "same_site": "strict",
        }
        self._plain = SessionMiddleware(app, https_only=False, **options)  # type: ignore[arg-type]
        self._secure = SessionMiddleware(app, https_only=True, **options)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        https = scope.get("scheme") in ("https", "wss")
        await (self._secure if https else self._plain)(scope, receive, send)
