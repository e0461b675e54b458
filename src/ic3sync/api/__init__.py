"""The admin HTTP service: FastAPI app, routes, auth and the uvicorn server around them.

`create_app` is loaded on first use, so that a command importing a helper of this package
(`ic3sync.api.present`, say) does not load FastAPI with it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ic3sync.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from ic3sync.api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
