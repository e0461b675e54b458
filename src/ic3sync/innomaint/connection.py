"""How the client reaches Innomaint: the one httpx.Client (headers, proxies from the
environment, the CA file) and the checks of the URL and token it is given."""

from __future__ import annotations

import ssl

import httpx

from ic3sync.errors import ConfigError
from ic3sync.urls import without_credentials

# The loggers of the HTTP stack. A filter on a logger sees only its own records, so each one
# is named: at DEBUG, httpcore logs response headers, where a proxy may echo the token back.
HTTP_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
# The size cap counts what is read off the wire: no compression to multiply it.
REQUEST_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Accept-Encoding": "identity",
    "User-Agent": "ic3sync",
}


def httpx_client(
    token: str,
    timeout_s: float,
    *,
    ca_file: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """The client every request to Innomaint goes through. The token sits in its default
    headers, whose repr httpx masks. With trust_env, HTTP_PROXY, HTTPS_PROXY and NO_PROXY are
    honoured (httpx uses none with a given transport: a test's scripted vendor)."""
    return httpx.Client(
        transport=transport,
        verify=tls_context(ca_file),
        trust_env=True,
        timeout=httpx.Timeout(timeout_s),
        headers={"Authorization": f"Bearer {token}", **REQUEST_HEADERS},
        follow_redirects=False,
        # One request at a time (rule 1), on one kept-alive connection.
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


def tls_context(ca_file: str | None) -> ssl.SSLContext | bool:
    """What the vendor (and a proxy) is verified with: the CA bundle named, or httpx's default."""
    if ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise ConfigError(
            f"INNOMAINT_CA_FILE {ca_file!r} is not a readable CA bundle in PEM "
            f"({type(exc).__name__})"
        ) from None


def check_token(secret: str) -> None:
    if not secret.strip():
        raise ConfigError("INNOMAINT_API_TOKEN is empty: set it to the Innomaint API token")
    if not secret.isascii() or not secret.isprintable() or any(c.isspace() for c in secret):
        raise ConfigError(
            "INNOMAINT_API_TOKEN contains spaces or characters that cannot be sent in an "
            "HTTP header; copy the token again"
        )


def check_url(url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        shown = without_credentials(url)
        raise ConfigError(f"INNOMAINT_API_URL must be an http(s) URL, got {shown!r}")
