"""Request bodies beyond MAX_BODY_BYTES are refused with 413 before anything parses them: a
declared Content-Length at once, a streamed body as soon as its bytes pass the limit."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The largest form or JSON the dashboard and the admin API take is a few hundred bytes.
MAX_BODY_BYTES = 64 * 1024
_DETAIL = f"the request body is larger than {MAX_BODY_BYTES // 1024} KB"


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413, detail=_DETAIL)


class BodyLimit:
    """ASGI middleware: the outermost layer, so no session, form or JSON parser sees more."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                await _refuse(send)
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # Raised inside the app's read of the body: FastAPI passes an
                    # HTTPException through as it is, and it answers 413.
                    raise BodyTooLarge()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(send)


async def _refuse(send: Send) -> None:
    body = json.dumps({"detail": _DETAIL}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
