"""The one place that talks HTTP to Innomaint: one deadline per attempt, a size cap on the
answer, rate spacing, retries, error mapping, redaction."""

from __future__ import annotations

import codecs
import email.message
import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

import httpx
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from ic3sync.errors import (
    Cancelled,
    ConfigError,
    VendorAuthError,
    VendorError,
    VendorRejected,
    VendorTransient,
    http_kind,
)
from ic3sync.innomaint.models import AssetResponse, parse_response
from ic3sync.innomaint.wire import (
    Deadline,
    Headers,
    HttpxWire,
    LeanWire,
    TooLarge,
    Unanswered,
    Wire,
)
from ic3sync.urls import strip_userinfo, without_userinfo

if TYPE_CHECKING:
    from ic3sync.config import Settings

log = logging.getLogger("ic3sync.innomaint")

REDACTED = "***"
MESSAGE_LIMIT = 200
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})
# Keys under which Innomaint (and the proxies in front of it) put a human-readable reason.
_MESSAGE_KEYS = ("message", "msg", "error", "detail", "error_description")

OnRetry = Callable[[str, VendorTransient, float], None]
# Told the seconds of every HTTP attempt, whatever came of it (an answer, a timeout, an error).
OnAttempt = Callable[[float], None]


class ClientFactory(Protocol):
    """Makes the client of one run: stopped by `cancel`, reporting retries to `on_retry` and
    each attempt's duration to `on_attempt`."""

    def __call__(
        self,
        *,
        cancel: threading.Event,
        on_retry: OnRetry | None = None,
        on_attempt: OnAttempt | None = None,
    ) -> InnomaintClient: ...


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


# The vendor sees a request when it arrives, and arrival jitters by a fraction of a millisecond
# on either side; this margin keeps the spacing it observes at or above INNOMAINT_RATE_MS.
SPACING_MARGIN_S = 0.001
MB = 1024 * 1024
# The codings a vendor could compress an answer with. None was asked for (identity), and none is
# undone: the size cap counts what is read off the wire.
_COMPRESSIONS = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress"})


class _RedactingFilter(logging.Filter):
    """Rewrites a record of the HTTP stack with the token and any URL's credentials removed,
    before any handler sees it (httpx logs every request's URL at INFO)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = strip_userinfo(redact(message, self._secret))
        if clean != message:
            record.msg = clean
            record.args = None
        return True


@dataclass(frozen=True, slots=True)
class Fetched:
    response: AssetResponse
    http_status: int
    attempts: int  # 1 + retries used
    http_ms: float  # time spent inside HTTP requests, not in waits


def redact(text: str, secret: str) -> str:
    """`text` with every occurrence of `secret` replaced, so vendor text is safe to log or raise."""
    return text.replace(secret, REDACTED) if secret else text


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP-date); None if unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive one is read as such
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass(slots=True)
class _Call:
    """What one fetch has done so far, across its attempts."""

    serialnumber: str
    attempts: int = 0
    http_ms: float = 0.0


class InnomaintClient:
    """Fetches one asset at a time from getAssetIDDetailByAssetID.

    Every failure leaves as one of the VendorError subclasses with `http_status` and `attempts`
    set and a reason that never contains the token. Requests are serialised by a lock, so even a
    client shared between threads never has two requests in flight (contract rule 1).
    """

    def __init__(
        self,
        *,
        url: str,
        token: SecretStr,
        rate_ms: int = 200,
        timeout_s: float = 15,
        max_retries: int = 3,
        max_response_mb: float = 5,
        max_consecutive_failures: int = 10,
        transport: httpx.BaseTransport | None = None,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 10.0,
        retry_after_cap_s: float = 60.0,
        cancel: threading.Event | None = None,
        on_retry: OnRetry | None = None,
        on_attempt: OnAttempt | None = None,
    ) -> None:
        secret = token.get_secret_value()
        _check_token(secret)
        _check_url(url)
        if rate_ms < 0 or timeout_s <= 0 or max_retries < 0 or max_response_mb <= 0:
            raise ConfigError(
                "INNOMAINT_RATE_MS and INNOMAINT_MAX_RETRIES must be >= 0, "
                "INNOMAINT_TIMEOUT_S and INNOMAINT_MAX_RESPONSE_MB must be > 0"
            )
        self.url = url
        self.max_response_mb = max_response_mb
        self.max_consecutive_failures = max_consecutive_failures
        self.rate_ms = rate_ms
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.retry_after_cap_s = retry_after_cap_s
        self.requests_sent = 0
        self.retries = 0
        self._token = token
        self._cancel = cancel if cancel is not None else threading.Event()
        self._deadline = Deadline(self._cancel)
        self._on_retry = on_retry
        self._on_attempt = on_attempt
        self._lock = threading.Lock()
        self._last_start: float | None = None
        self._random = random.Random()
        self._log_filter = _RedactingFilter(secret)
        for name in HTTP_LOGGERS:
            logging.getLogger(name).addFilter(self._log_filter)
        cap = int(max_response_mb * MB)
        self._wire: Wire
        if transport is None:
            self._wire = LeanWire(url, f"Bearer {secret}", self._deadline, cap)
        else:
            self._wire = HttpxWire(
                url, f"Bearer {secret}", transport, self._deadline, cap, timeout_s
            )
        self._retrying = Retrying(
            stop=stop_after_attempt(max_retries + 1),
            retry=retry_if_exception_type(VendorTransient),
            wait=self._backoff,
            sleep=self._pause,
            before_sleep=self._before_retry,
            reraise=True,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> InnomaintClient:
        """A client configured from INNOMAINT_*; ConfigError when the token is not set."""
        options: dict[str, Any] = {
            "url": settings.api_url,
            "token": settings.require_api_token(),
            "rate_ms": settings.rate_ms,
            "timeout_s": settings.timeout_s,
            "max_retries": settings.max_retries,
            "max_response_mb": settings.max_response_mb,
            "max_consecutive_failures": settings.max_consecutive_failures,
        }
        options.update(kwargs)
        return cls(**options)

    def __repr__(self) -> str:
        return (
            f"InnomaintClient(url={self.public_url!r}, token={self._token!r}, "
            f"rate_ms={self.rate_ms}, timeout_s={self.timeout_s}, max_retries={self.max_retries})"
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._wire.close()
        for name in HTTP_LOGGERS:
            logging.getLogger(name).removeFilter(self._log_filter)

    @property
    def public_url(self) -> str:
        """INNOMAINT_API_URL as it may be printed: without credentials."""
        return without_userinfo(self.url)

    def redact(self, text: str) -> str:
        return redact(text, self._token.get_secret_value())

    def fetch(self, serialnumber: str) -> Fetched:
        """The asset's detail. Raises VendorError (or Cancelled when stopped during a wait)."""
        call = _Call(serialnumber)
        with self._lock:
            try:
                response, status = self._first_then_retrying(call)
            except VendorTransient as exc:
                plural = "attempt" if call.attempts == 1 else "attempts"
                raise VendorTransient(
                    f"{exc.reason} after {call.attempts} {plural}",
                    kind=exc.kind,
                    http_status=exc.http_status,
                    attempts=call.attempts,
                    retry_after=exc.retry_after,
                ) from None
        return Fetched(response, status, call.attempts, call.http_ms)

    def _first_then_retrying(self, call: _Call) -> tuple[AssetResponse, int]:
        """The first attempt called directly, the retries through tenacity only when it failed
        transiently: tenacity costs about 15 µs a call, and nearly every asset needs one attempt.
        Tenacity's first attempt then re-raises the first failure, so its count of attempts,
        its back-off and its stop are those of the whole call."""
        try:
            return self._attempt(call)
        except VendorTransient as exc:
            first: list[VendorTransient] = [exc]

        def again(call: _Call) -> tuple[AssetResponse, int]:
            if first:
                raise first.pop()
            return self._attempt(call)

        return self._retrying(again, call)  # type: ignore[no-any-return]

    # -- one attempt -------------------------------------------------------------------------

    def _attempt(self, call: _Call) -> tuple[AssetResponse, int]:
        self._wait_for_turn()
        call.attempts += 1
        self.requests_sent += 1
        body = json.dumps({"serialnumber": call.serialnumber}).encode()
        started = time.perf_counter()
        waited = 0.0
        # One deadline covers connecting, sending and reading the whole answer (rule 9).
        self._deadline.at = time.monotonic() + self.timeout_s
        try:
            try:
                status, headers, content = self._wire.post(body)
            except Unanswered:
                # The vendor had closed the kept-alive connection: the request goes again, on a
                # new connection, in this attempt and its deadline, and in its turn (the vendor
                # may have seen the first one).
                paused = time.perf_counter()
                self._note_sent()
                self._wait_for_turn()
                waited = time.perf_counter() - paused
                status, headers, content = self._wire.post(body)
        except TooLarge as exc:
            raise VendorRejected(
                "answer too large: more than INNOMAINT_MAX_RESPONSE_MB "
                f"({self.max_response_mb:g} MB)",
                kind="too_large",
                http_status=exc.status,
                attempts=call.attempts,
            ) from None
        except httpx.HTTPError as exc:
            if self._cancel.is_set():
                raise Cancelled("stopped while calling the Innomaint API") from None
            raise self._transport_error(exc, call.attempts) from None
        finally:
            self._deadline.at = float("inf")
            self._note_sent()
            elapsed = time.perf_counter() - started - waited
            call.http_ms += elapsed * 1000.0
            if self._on_attempt is not None:
                self._on_attempt(elapsed)
        return self._interpret(status, headers, content, call.attempts), status

    def _interpret(
        self, status: int, headers: Headers, content: bytes, attempts: int
    ) -> AssetResponse:
        label = _status_label(status)
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
            message = self._vendor_message(headers, content)
            raise VendorRejected(
                f"{label}: {message}" if message else label,
                kind=http_kind(status),
                http_status=status,
                attempts=attempts,
            )
        if (coding := _compression(headers)) is not None:
            raise VendorRejected(
                f"unreadable answer: compressed ({coding}), though identity was asked for",
                kind="bad_answer",
                http_status=status,
                attempts=attempts,
            )
        text = content.decode(_text_encoding(headers), errors="replace")
        try:
            # The raw text is redacted, and so is every decoded string: "\/" or "\u0061"
            # escapes would carry the token past a search of the raw text alone (rule 8).
            return parse_response(self.redact(text), http_status=status, clean=self.redact)
        except VendorError as exc:
            raise VendorRejected(
                self.redact(exc.reason), kind=exc.kind, http_status=status, attempts=attempts
            ) from None

    def _transport_error(self, exc: httpx.HTTPError, attempts: int) -> VendorError:
        # httpx's own text may quote the URL or server output: it goes through redact() and is
        # never chained onto our exception, whose traceback would otherwise print it.
        detail = self._clean(str(exc))
        name = type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            return VendorTransient(
                f"no answer within {self.timeout_s:g} s ({name})", kind="timeout", attempts=attempts
            )
        if isinstance(exc, httpx.UnsupportedProtocol):
            return VendorRejected(
                f"cannot call {self.public_url!r}: {detail}", kind="connection", attempts=attempts
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

    def _vendor_message(self, headers: Headers, content: bytes) -> str:
        if _compression(headers) is not None:
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
            text = content.decode(_text_encoding(headers), errors="replace")
        return self._clean(text)

    def _clean(self, text: str) -> str:
        # Redact before trimming: a cut could otherwise leave part of the token behind.
        return " ".join(strip_userinfo(self.redact(text)).split())[:MESSAGE_LIMIT]

    # -- waiting -----------------------------------------------------------------------------

    def _wait_for_turn(self) -> None:
        """Space request starts at least rate_ms apart; time spent answering counts."""
        if self._last_start is not None and self.rate_ms > 0:
            due = self._last_start + self.rate_ms / 1000.0 + SPACING_MARGIN_S
            while (remaining := due - time.monotonic()) > 0:
                self._pause(remaining)
        if self._cancel.is_set():
            raise Cancelled("stopped before calling the Innomaint API")
        self._last_start = time.monotonic()

    def _note_sent(self) -> None:
        """The turn's start moved to when the request left, if it left later. The vendor counts
        a request from its arrival: a connection opened for it (a TLS handshake, a slow
        connect) or a pause of this process between the turn and the send would otherwise come
        out of the next spacing, which the vendor would see short by as much."""
        sent = self._wire.sent_at
        if self._last_start is not None and sent > self._last_start:
            self._last_start = sent

    def _pause(self, seconds: float) -> None:
        if self._cancel.wait(max(0.0, seconds)):
            raise Cancelled("stopped while waiting to call the Innomaint API")

    def _backoff(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, VendorTransient) and exc.retry_after is not None:
            return min(exc.retry_after, self.retry_after_cap_s)
        # "Equal jitter": half the exponential step is fixed so retries never bunch up at
        # zero, the other half is random so many clients do not retry in lockstep.
        step = min(self.backoff_max_s, self.backoff_base_s * 2 ** (state.attempt_number - 1))
        return step / 2 + self._random.uniform(0, step / 2)

    def _before_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        assert isinstance(exc, VendorTransient)  # the retry predicate admits nothing else
        call = state.args[0]
        wait = state.upcoming_sleep
        self.retries += 1
        log.warning(
            "Innomaint asset %r: %s (attempt %d of %d); retrying in %.2f s",
            call.serialnumber,
            exc.reason,
            state.attempt_number,
            self.max_retries + 1,
            wait,
        )
        if self._on_retry is not None:
            self._on_retry(call.serialnumber, exc, wait)


def _status_label(status: int) -> str:
    phrase = httpx.codes.get_reason_phrase(status)
    return f"HTTP {status} {phrase}" if phrase else f"HTTP {status}"


def _text_encoding(headers: Headers) -> str:
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


def _compression(headers: Headers) -> str | None:
    """The compression the answer says it is in, if any (one of ours: the vendor's own text
    never reaches a message)."""
    codings = {c.strip().lower() for c in (headers.get("Content-Encoding") or "").split(",")}
    return min(codings & _COMPRESSIONS, default=None)


def _check_token(secret: str) -> None:
    if not secret.strip():
        raise ConfigError("INNOMAINT_API_TOKEN is empty: set it to the Innomaint API token")
    if not secret.isascii() or not secret.isprintable() or any(c.isspace() for c in secret):
        raise ConfigError(
            "INNOMAINT_API_TOKEN contains spaces or characters that cannot be sent in an "
            "HTTP header; copy the token again"
        )


def _check_url(url: str) -> None:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        shown = without_userinfo(url)
        raise ConfigError(f"INNOMAINT_API_URL must be an http(s) URL, got {shown!r}")
