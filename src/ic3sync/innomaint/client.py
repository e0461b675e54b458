"""The one place that talks HTTP to Innomaint: one deadline per attempt, a size cap on the
answer, rate spacing, retries, error mapping, redaction."""

from __future__ import annotations

import email.utils
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

import httpcore
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
_NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
# Each socket read waits at most this long before the attempt's deadline and the cancel event
# are looked at again: a vendor that drips bytes, or says nothing, cannot outlast either.
READ_SLICE_S = 0.25
MB = 1024 * 1024


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


class _Deadline:
    """The deadline and the cancel event of the request in flight, which the sockets obey."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.at = float("inf")

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def timeout(self, default: float | None) -> float | None:
        """What is left of the attempt as a socket timeout; `default` outside an attempt."""
        return default if self.at == float("inf") else self.remaining()

    def check(self) -> None:
        """httpcore's own errors, so httpx maps them as it maps a real timeout or hang-up."""
        if self.cancel.is_set():
            raise httpcore.ReadError("stopped while waiting for the Innomaint API")
        if time.monotonic() >= self.at:
            raise httpcore.ReadTimeout("the attempt's deadline has passed")

    def check_between_chunks(self) -> None:
        """check(), raising httpx's errors: outside the transport nothing maps httpcore's."""
        try:
            self.check()
        except httpcore.ReadTimeout as exc:
            raise httpx.ReadTimeout(str(exc)) from None
        except httpcore.ReadError as exc:
            raise httpx.ReadError(str(exc)) from None


class _BoundedStream(httpcore.NetworkStream):
    """A socket whose reads come in short slices, between which the deadline and the cancel
    event are checked. A slice that times out has read nothing, so it is simply tried again."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        while True:
            self._deadline.check()
            wait = min(READ_SLICE_S, self._deadline.remaining())
            try:
                return self._inner.read(max_bytes, timeout=max(wait, 0.001))
            except httpcore.ReadTimeout:
                continue

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._deadline.check()
        self._inner.write(buffer, timeout=self._deadline.timeout(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._deadline.timeout(timeout))
        return _BoundedStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    """Opens sockets whose connect and reads all end at the attempt's deadline."""

    def __init__(self, deadline: _Deadline) -> None:
        self._inner = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        self._deadline.check()
        stream = self._inner.connect_tcp(
            host, port, self._deadline.timeout(timeout), local_address, socket_options
        )
        return _BoundedStream(stream, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, self._deadline.timeout(timeout), socket_options
        )
        return _BoundedStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _bounded_transport(deadline: _Deadline) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(socket_options=_NODELAY)
    # httpx builds its pool without a way to pass a network backend; this pool is the one it
    # would build, on sockets that obey the deadline.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        socket_options=_NODELAY,
        network_backend=_BoundedBackend(deadline),
    )
    return transport


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
        self._deadline = _Deadline(self._cancel)
        self._on_retry = on_retry
        self._on_attempt = on_attempt
        self._lock = threading.Lock()
        self._last_start: float | None = None
        self._random = random.Random()
        self._log_filter = _RedactingFilter(secret)
        for name in HTTP_LOGGERS:
            logging.getLogger(name).addFilter(self._log_filter)
        # The token lives in the client's default headers, whose repr httpx masks, so no local
        # variable of a failing frame holds it in a traceback that shows locals.
        self._http = httpx.Client(
            # A request is headers then body: without TCP_NODELAY the body can wait on an ACK.
            transport=transport or _bounded_transport(self._deadline),
            timeout=httpx.Timeout(timeout_s),
            headers={
                "Authorization": f"Bearer {secret}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                # The size cap counts what is read off the wire: no compression to multiply it.
                "Accept-Encoding": "identity",
                "User-Agent": "ic3sync",
            },
            follow_redirects=False,
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
        self._http.close()
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
                response, status = self._retrying(self._attempt, call)
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

    # -- one attempt -------------------------------------------------------------------------

    def _attempt(self, call: _Call) -> tuple[AssetResponse, int]:
        self._wait_for_turn()
        call.attempts += 1
        self.requests_sent += 1
        body = json.dumps({"serialnumber": call.serialnumber}).encode()
        started = time.perf_counter()
        # One deadline covers connecting, sending and reading the whole answer (rule 9).
        self._deadline.at = time.monotonic() + self.timeout_s
        try:
            with self._http.stream("POST", self.url, content=body) as response:
                content = self._read_capped(response, call.attempts)
        except httpx.HTTPError as exc:
            if self._cancel.is_set():
                raise Cancelled("stopped while calling the Innomaint API") from None
            raise self._transport_error(exc, call.attempts) from None
        finally:
            self._deadline.at = float("inf")
            elapsed = time.perf_counter() - started
            call.http_ms += elapsed * 1000.0
            if self._on_attempt is not None:
                self._on_attempt(elapsed)
        return self._interpret(response, content, call.attempts), response.status_code

    def _read_capped(self, response: httpx.Response, attempts: int) -> bytes:
        """The body, read chunk by chunk and never past INNOMAINT_MAX_RESPONSE_MB."""
        cap = int(self.max_response_mb * MB)
        too_large = VendorRejected(
            f"answer too large: more than INNOMAINT_MAX_RESPONSE_MB ({self.max_response_mb:g} MB)",
            kind="too_large",
            http_status=response.status_code,
            attempts=attempts,
        )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise too_large
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > cap:
                raise too_large
            # A transport of tests (no sockets of ours) is held to the deadline here.
            self._deadline.check_between_chunks()
        return bytes(body)

    def _interpret(self, response: httpx.Response, content: bytes, attempts: int) -> AssetResponse:
        status = response.status_code
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
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise VendorTransient(
                label,
                kind=http_kind(status),
                http_status=status,
                attempts=attempts,
                retry_after=retry_after,
            )
        if status != 200:
            message = self._vendor_message(response, content)
            raise VendorRejected(
                f"{label}: {message}" if message else label,
                kind=http_kind(status),
                http_status=status,
                attempts=attempts,
            )
        text = content.decode(response.encoding or "utf-8", errors="replace")
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

    def _vendor_message(self, response: httpx.Response, content: bytes) -> str:
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
        elif response.headers.get("content-type", "").startswith("text/plain"):
            text = content.decode(response.encoding or "utf-8", errors="replace")
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
