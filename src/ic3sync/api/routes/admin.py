"""The admin API's common ground: its prefix, and the checks and error answers every one of its
routers shares."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ic3sync.api.deps import check_admin_request, require_admin
from ic3sync.api.schemas import error_responses

PREFIX = "/api/admin/cmms"


def admin_router() -> APIRouter:
    """A router under PREFIX behind the admin token and the Host and Origin checks."""
    return APIRouter(
        prefix=PREFIX,
        dependencies=[Depends(check_admin_request), Depends(require_admin)],
        # Any admin route answers 503 while the database is unreachable.
        responses=error_responses(401, 403, 413, 503),
    )
