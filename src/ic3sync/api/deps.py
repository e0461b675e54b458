"""FastAPI dependencies: the run manager of the app, the read models its routes read, the admin
token check, and the Host and Origin checks the admin API and the dashboard share."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
from typing import Annotated, NoReturn
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ic3sync.api.reads import ReadModels
from ic3sync.api.throttle import client_address, token_throttle
from ic3sync.config import Settings
from ic3sync.runs import RunManager

log = logging.getLogger("ic3sync.api")

# Methods that change nothing: a foreign page may cause them but cannot read their answer.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# auto_error=False: a missing header must answer 401 with WWW-Authenticate, not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="the IC3_ADMIN_TOKEN")


def get_manager(request: Request) -> RunManager:
    return request.app.state.manager


def get_reads(request: Request) -> ReadModels:
    return request.app.state.reads


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


# Starts, cancels and syncs now; what a route reads comes from Reads.
Manager = Annotated[RunManager, Depends(get_manager)]
Reads = Annotated[ReadModels, Depends(get_reads)]
AppSettings = Annotated[Settings, Depends(get_settings)]


def require_admin(
    request: Request,
    settings: AppSettings,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """With IC3_ADMIN_TOKEN set, `Authorization: Bearer <it>`; without one the service only
    listens on loopback (server.py), so every local caller is admitted. Wrong tokens count in
    the dashboard login's throttle: the same secret must not be guessed faster here. A missing
    or wrong token is a 401 (the contract's answer), and so is any token from an address that
    must wait, with Retry-After: no token of it is tried then, so none can be told right."""
    expected = settings.admin_token
    if expected is None:
        return
    given = credentials.credentials if credentials is not None else ""
    if not given:
        _refuse_token()
    throttle, client = token_throttle(request), client_address(request)
    if wait := throttle.wait_s(client):
        _refuse_token(wait)
    # compare_digest on bytes: a str with non-ASCII characters would raise TypeError.
    if hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        throttle.succeeded(client)
        return
    wait = throttle.failed(client)
    log.warning("admin API refused: wrong admin token from %s", client)
    _refuse_token(wait)


def _refuse_token(wait: int = 0) -> NoReturn:
    """401; with Retry-After when this address must wait before any token of it is tried."""
    detail = "missing or wrong admin token: send Authorization: Bearer <IC3_ADMIN_TOKEN>"
    headers = {"WWW-Authenticate": "Bearer"}
    if wait:
        detail = f"too many wrong admin tokens from this address: try again in {wait} s"
        headers["Retry-After"] = str(wait)
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers=headers)


def loopback_name(name: str) -> bool:
    """Whether a host name or address (an IPv6 one bracketed or not) is this machine's."""
    name = name.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# A Host header is a name or an address, then perhaps a port: nothing else (no "@", no path).
_HOST_HEADER = re.compile(r"(?P<name>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?")


def loopback_host(host: str) -> bool:
    """Whether a Host header names this machine (localhost or a loopback address). It is
    parsed whole: "127.0.0.1:80@evil.example" is not a host and port, so it names no host."""
    parsed = _HOST_HEADER.fullmatch(host)
    return parsed is not None and loopback_name(parsed["name"])


def foreign_host(request: Request, settings: Settings) -> bool:
    """Without a token the service listens on loopback only; a request under another host
    name is a DNS-rebinding page in the operator's own browser."""
    return settings.admin_token is None and not loopback_host(request.headers.get("host", ""))


def origin_of(value: str) -> str | None:
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def sent_origin(request: Request) -> str | None:
    """The origin a browser says the request comes from: Origin, or else the Referer's."""
    sent = request.headers.get("origin")
    origin = origin_of(sent) if sent and sent != "null" else None
    if origin is None and (referer := request.headers.get("referer")):
        origin = origin_of(referer)
    if origin is None and sent:
        return "null"  # an opaque origin (a sandboxed page): never this service's own
    return origin


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}".lower()


def check_admin_request(request: Request, settings: AppSettings) -> None:
    """The admin API answers at a loopback Host while it has no token, and takes a state
    change from a browser page only when that page is its own. Requests with neither Origin
    nor Referer (curl, scripts) are not a browser's cross-site request, and pass."""
    if foreign_host(request, settings):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="without IC3_ADMIN_TOKEN the admin API answers only at localhost or 127.0.0.1",
        )
    if request.method in SAFE_METHODS:
        return
    origin = sent_origin(request)
    if origin is not None and origin != own_origin(request):
        log.warning("refused a %s %s from origin %r", request.method, request.url.path, origin)
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="a request from a page of another site may not change anything here",
        )
