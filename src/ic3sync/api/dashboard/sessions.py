"""Dashboard logins held by the server: the signed cookie carries a random session id, the
database says whether that session still lives (a logout or a new admin token ends it), the
cookie is `Secure` on https, and failed logins from one client are slowed down."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict
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

# Failed logins a client may make before it must wait; each further one doubles the wait.
FREE_FAILURES = 5
MAX_WAIT_S = 15 * 60
# Clients remembered at once: enough for any office, too few to exhaust memory.
MAX_CLIENTS = 10_000


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


class LoginThrottle:
    """Per client: FREE_FAILURES wrong tokens, then a wait that doubles with each failure
    (up to MAX_WAIT_S); a good login clears the count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # client -> (failures, not before (monotonic))
        self._clients: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def wait_s(self, client: str) -> int:
        """Seconds the client must still wait before its next try; 0 when it may try now."""
        with self._lock:
            _, until = self._clients.get(client, (0, 0.0))
        return max(0, math.ceil(until - time.monotonic()))

    def failed(self, client: str) -> int:
        """Count a failure; the seconds the client must now wait."""
        with self._lock:
            failures, _ = self._clients.pop(client, (0, 0.0))
            failures += 1
            over = failures - FREE_FAILURES
            wait = 0 if over <= 0 else min(MAX_WAIT_S, 2**over)
            self._clients[client] = (failures, time.monotonic() + wait)
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)
        return wait

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)
