"""What an attempt's outcome means: an answer's status, charset, compression and the vendor's
reason, or httpx's error when none came, turned into an AssetResponse or a VendorError."""

from __future__ import annotations

import codecs
import email.message
import json
from collections.abc import Callable

import httpx

from ic3sync.controls import one_line
from ic3sync.errors import (
    VendorAuthError,
    VendorError,
    VendorRejected,
    VendorTransient,
    http_kind,
)
from ic3sync.innomaint.models import AssetResponse, parse_response
from ic3sync.innomaint.safe_text import DEFAULT_MAX_FIELD_CHARS
from ic3sync.retrying import parse_retry_after

MESSAGE_LIMIT = 200
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})
# Keys under which Innomaint (and the proxies in front of it) put a human-readable reason.
_MESSAGE_KEYS = ("message", "msg", "error", "detail", "error_description")
# The codings a vendor could compress an answer with. None was asked for (identity), and none is
# undone: the size cap counts what is read off the wire.
_COMPRESSIONS = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress"})

Clean = Callable[[str], str]


def compression(headers: httpx.Headers) -> str | None:
    """The compression the answer says it is in, if any (one of ours: the vendor's own text
    never reaches a message)."""
    codings = {c.strip().lower() for c in (headers.get("Content-Encoding") or "").split(",")}
    return min(codings & _COMPRESSIONS, default=None)


def interpret(
    status: int,
    headers: httpx.Headers,
    content: bytes,
    attempts: int,
    redact: Clean,
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS,
) -> AssetResponse:
    """The asset's detail, or the VendorError the answer amounts to; `redact` takes the token
    out of every text of the vendor's before it goes anywhere, and no string of the answer is
    longer than `max_field_chars`."""
    label = status_label(status)
    if status in AUTH_STATUSES:
        raise VendorAuthError(
            f"Innomaint rejected the API token (HTTP {status}); check INNOMAINT_API_TOKEN",
            http_status=status,
            attempts=attempts,
        )
    if status in TRANSIENT_STATUSES:
        retry_after = None
        if status == 429:
            retry_after = parse_retry_after(headers.get("Retry-After"))
        raise VendorTransient(
            label,
            kind=http_kind(status),
            http_status=status,
            attempts=attempts,
            retry_after=retry_after,
        )
    if status != 200:
        message = vendor_message(headers, content, redact)
        raise VendorRejected(
            f"{label}: {message}" if message else label,
            kind=http_kind(status),
            http_status=status,
            attempts=attempts,
        )
    if (coding := compression(headers)) is not None:
        raise VendorRejected(
            f"unreadable answer: compressed ({coding}), though identity was asked for",
            kind="bad_answer",
            http_status=status,
            attempts=attempts,
        )
    text = content.decode(text_encoding(headers), errors="replace")
    try:
        # Every decoded string is redacted, not the raw text alone: "\/" or "\u0061" escapes
        # would carry the token past a search of the raw text (rule 8).
        return parse_response(
            text, http_status=status, clean=redact, max_field_chars=max_field_chars
        )
    except VendorError as exc:
        raise VendorRejected(
            trimmed(redact(exc.reason)), kind=exc.kind, http_status=status, attempts=attempts
        ) from None


def unanswered(
    exc: httpx.HTTPError, detail: str, attempts: int, timeout_s: float, public_url: str
) -> VendorError:
    """The VendorError of an attempt that got no answer to interpret; `detail` is httpx's text,
    already cleaned."""
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return VendorTransient(
            f"no answer within {timeout_s:g} s ({name})", kind="timeout", attempts=attempts
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return VendorRejected(
            f"cannot call {public_url!r}: {detail}", kind="connection", attempts=attempts
        )
    if isinstance(exc, httpx.TransportError):
        reason = f"connection error ({name})"
        return VendorTransient(
            f"{reason}: {detail}" if detail else reason, kind="connection", attempts=attempts
        )
    reason = f"unreadable answer ({name})"
    return VendorRejected(
        f"{reason}: {detail}" if detail else reason, kind="bad_answer", attempts=attempts
    )


def vendor_message(headers: httpx.Headers, content: bytes, clean: Clean) -> str:
    """The reason the vendor gave in a JSON or plain-text body, cleaned and trimmed."""
    if compression(headers) is not None:
        return ""
    text = ""
    try:
        payload = json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        payload = None
    if isinstance(payload, dict):
        for key in _MESSAGE_KEYS:
            value = payload.get(key)
            if isinstance(value, str) and value.strip():
                text = value
                break
    elif (headers.get("content-type") or "").startswith("text/plain"):
        text = content.decode(text_encoding(headers), errors="replace")
    return trimmed(clean(text))


def trimmed(text: str) -> str:
    """One line of at most MESSAGE_LIMIT characters, no control character left. Trim only
    what is already redacted: a cut could otherwise leave part of the token behind."""
    return one_line(text)[:MESSAGE_LIMIT]


def status_label(status: int) -> str:
    phrase = httpx.codes.get_reason_phrase(status)
    return f"HTTP {status} {phrase}" if phrase else f"HTTP {status}"


def text_encoding(headers: httpx.Headers) -> str:
    """The charset of the Content-Type when Python knows it, else UTF-8 (as httpx decides)."""
    content_type = headers.get("Content-Type") or ""
    if ";" in content_type:  # no parameter, no charset
        message = email.message.Message()
        message["content-type"] = content_type
        charset = message.get_content_charset(failobj=None)
        if charset:
            try:
                codecs.lookup(charset)
            except LookupError:
                pass
            else:
                return charset
    return "utf-8"
