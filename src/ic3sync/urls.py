"""URLs as they may be printed: never with the user name and password some carry, nor the
value of a query parameter that holds a secret (`?password=`, `sslpassword=`, `api_key=`)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# scheme://userinfo@ anywhere in a text: what a log line or a library's message may quote.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]*@")
# A query parameter whose name says it holds a secret, and its value up to the next parameter.
_SECRET_PARAM = re.compile(r"(?i)([?&;][^=&;#?\s]*(?:pass|secret|token|key)[^=&;#?\s]*=)[^&;#\s]*")


def without_credentials(url: str) -> str:
    """`url` without `user:password@` and with its secret query values masked, for messages,
    pages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return strip_credentials(url)
    if "@" in parts.netloc:
        parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
    if parts.query:
        parts = parts._replace(query=mask_secret_params("?" + parts.query)[1:])
    return urlunsplit(parts)


def strip_credentials(text: str) -> str:
    """`text` with the userinfo of every URL in it removed and every secret query value
    masked."""
    return mask_secret_params(_USERINFO.sub(r"\1", text))


def mask_secret_params(text: str) -> str:
    """`text` with the value of every secret query parameter in it masked."""
    return _SECRET_PARAM.sub(rf"\1{MASK}", text)
