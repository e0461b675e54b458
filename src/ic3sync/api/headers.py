"""The security headers of every answer the service gives, set in one place: JSON, pages,
files and errors alike. An answer that sets one itself (a page's Content-Security-Policy) keeps
its own."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_HEADERS = {
    # A browser must not guess HTML or script in JSON or CSV that holds vendor text.
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Nothing the service answers may load or run anything, unless it says otherwise (pages).
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    # Runs, assets and failures are admin data: no proxy or browser cache keeps a copy.
    "Cache-Control": "no-store",
}
# The service's own scripts, stylesheets and icons, the same for everyone: cacheable.
STATIC_PREFIXES = ("/static/", "/docs-assets/")


def add_security_headers(headers: MutableHeaders, path: str) -> None:
    for name, value in DEFAULT_HEADERS.items():
        if name == "Cache-Control" and path.startswith(STATIC_PREFIXES):
            continue
        headers.setdefault(name, value)


class SecurityHeaders:
    """ASGI middleware that adds DEFAULT_HEADERS to every HTTP answer lacking them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_security_headers(MutableHeaders(scope=message), path)
            await send(message)

        await self.app(scope, receive, send_with_headers)
