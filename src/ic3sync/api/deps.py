"""FastAPI dependencies: the run manager of the app, and the admin token check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ic3sync.config import Settings
from ic3sync.runs import RunManager

# auto_error=False: a missing header must answer 401 with WWW-Authenticate, not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="the IC3_ADMIN_TOKEN")


def get_manager(request: Request) -> RunManager:
    return request.app.state.manager


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


Manager = Annotated[RunManager, Depends(get_manager)]
AppSettings = Annotated[Settings, Depends(get_settings)]


def require_admin(
    settings: AppSettings,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """With IC3_ADMIN_TOKEN set, `Authorization: Bearer <it>`; without one the service only
    listens on loopback (server.py), so every local caller is admitted."""
    expected = settings.admin_token
    if expected is None:
        return
    given = credentials.credentials if credentials is not None else ""
    # compare_digest on bytes: a str with non-ASCII characters would raise TypeError.
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong admin token: send Authorization: Bearer <IC3_ADMIN_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )
