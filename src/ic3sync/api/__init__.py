"""The admin HTTP service: FastAPI app, routes, auth and the uvicorn server around them."""

from ic3sync.api.app import create_app

__all__ = ["create_app"]
