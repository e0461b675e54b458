"""Errors of ic3sync as HTTP answers: one JSON shape, `{"detail": ...}`, never a traceback."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ic3sync.api.headers import add_security_headers
from ic3sync.db.errors import db_reason
from ic3sync.errors import (
    AssetNotFound,
    AssetSyncFailed,
    ConfigError,
    DatabaseError,
    Ic3SyncError,
    RunInProgress,
    RunNotCancellable,
    RunNotFound,
    ServiceStopping,
)

log = logging.getLogger("ic3sync.api")


def _body(status: int, detail: str, **extra: object) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


def _ic3sync_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, RunInProgress):
        return _body(409, str(exc), run_id=exc.run_id)
    if isinstance(exc, RunNotCancellable):
        return _body(409, str(exc), run_id=exc.run_id)
    if isinstance(exc, RunNotFound):
        return _body(404, str(exc), run_id=exc.run_id)
    if isinstance(exc, AssetNotFound):
        return _body(404, str(exc))
    if isinstance(exc, AssetSyncFailed):
        status = 502 if exc.vendor else 503
        return _body(status, exc.reason, run_id=exc.run_id, cmms_asset_id=exc.cmms_asset_id)
    if isinstance(exc, ConfigError | DatabaseError | ServiceStopping):
        return _body(503, str(exc))
    log.error("unhandled %s on %s: %s", type(exc).__name__, request.url.path, exc)
    return _body(500, "internal error; the service log has the details")


def _database_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("database error on %s: %s", request.url.path, db_reason(exc))
    return _body(503, "the database is unavailable; see the service log")


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s", request.url.path)
    response = _body(500, "internal error; the service log has the details")
    # Starlette answers this one outside every middleware, SecurityHeaders included.
    add_security_headers(response.headers, request.url.path)
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(Ic3SyncError, _ic3sync_error)
    app.add_exception_handler(sa.exc.OperationalError, _database_error)
    app.add_exception_handler(sa.exc.InterfaceError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
