"""The one place that talks HTTP to Innomaint, through one httpx.Client: one deadline per
attempt, a size cap on the answer, rate spacing, retries, proxies and a CA file, error mapping,
redaction."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

import httpx
from pydantic import SecretStr
from tenacity import RetryCallState

from ic3sync.errors import Cancelled, ConfigError, VendorError, VendorRejected, VendorTransient
from ic3sync.innomaint.answer import compression, interpret, trimmed, unanswered
from ic3sync.innomaint.connection import HTTP_LOGGERS, check_token, check_url, httpx_client
from ic3sync.innomaint.models import AssetResponse
from ic3sync.innomaint.safe_text import DEFAULT_MAX_FIELD_CHARS
from ic3sync.innomaint.watch import Exchange, Watch
from ic3sync.redact import RedactingFilter, Redactor
from ic3sync.retrying import Backoff, retrying
from ic3sync.urls import strip_credentials, without_credentials

if TYPE_CHECKING:
    from ic3sync.config import Settings

log = logging.getLogger("ic3sync.innomaint")

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


MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Fetched:
    response: AssetResponse
    http_status: int
    attempts: int  # 1 + retries used
    http_ms: float  # time spent inside HTTP requests, not in waits


class _TooLarge(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Unanswered(Exception):
    """The vendor hung up a kept-alive connection as it was reused, before a byte of the
    answer: it had closed it while idle (its close crossed the request), so the request may go
    again on a new connection. A reset is not this: it is a transient fault of the vendor's."""


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
        max_field_chars: int = DEFAULT_MAX_FIELD_CHARS,
        ca_file: str | None = None,
        transport: httpx.BaseTransport | None = None,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 10.0,
        retry_after_cap_s: float = 60.0,
        cancel: threading.Event | None = None,
        on_retry: OnRetry | None = None,
        on_attempt: OnAttempt | None = None,
    ) -> None:
        secret = token.get_secret_value()
        check_token(secret)
        check_url(url)
        if rate_ms < 0 or timeout_s <= 0 or max_retries < 0 or max_response_mb <= 0:
            raise ConfigError(
                "INNOMAINT_RATE_MS and INNOMAINT_MAX_RETRIES must be >= 0, "
                "INNOMAINT_TIMEOUT_S and INNOMAINT_MAX_RESPONSE_MB must be > 0"
            )
        self.url = url
        # Parsed once: httpx would parse (and check every character of) a string per request.
        self._target = httpx.URL(url)
        self.max_response_mb = max_response_mb
        self.max_consecutive_failures = max_consecutive_failures
        self.max_field_chars = max_field_chars
        self.rate_ms = rate_ms
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.requests_sent = 0
        self.retries = 0
        self._token = token
        self._cap = int(max_response_mb * MB)
        self._cancel = cancel if cancel is not None else threading.Event()
        self._on_retry = on_retry
        self._on_attempt = on_attempt
        self._lock = threading.Lock()
        self._last_start: float | None = None
        self._redactor = Redactor([secret], min_length=1)
        self._log_filter = RedactingFilter(self._redactor)
        self._watch = Watch(self._cancel)
        self._http = httpx_client(secret, timeout_s, ca_file=ca_file, transport=transport)
        for name in HTTP_LOGGERS:
            logging.getLogger(name).addFilter(self._log_filter)
        self.backoff = Backoff(backoff_base_s, backoff_max_s, retry_after_cap_s=retry_after_cap_s)
        self._retrying = retrying(
            retries=max_retries,
            retry_on=lambda exc: isinstance(exc, VendorTransient),
            backoff=self.backoff,
            sleep=self._pause,
            before_sleep=self._before_retry,
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
            "max_field_chars": settings.max_field_chars,
            "ca_file": settings.ca_file,
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
        self._watch.close()
        self._http.close()
        for name in HTTP_LOGGERS:
            logging.getLogger(name).removeFilter(self._log_filter)

    @property
    def public_url(self) -> str:
        """INNOMAINT_API_URL as it may be printed: without credentials."""
        return without_credentials(self.url)

    def redact(self, text: str) -> str:
        return self._redactor(text)

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
        # Built before the wait, so that the turn ends with the request ready to go out: its
        # building does not lengthen the spacing the vendor sees.
        request, trace = self._request(call.serialnumber)
        self._wait_for_turn()
        call.attempts += 1
        self.requests_sent += 1
        started = time.perf_counter()
        waited = 0.0
        # One deadline covers connecting, sending and reading the whole answer (rule 9).
        deadline = time.monotonic() + self.timeout_s
        failure: VendorError | Cancelled | None = None
        self._watch.arm(deadline)
        try:
            try:
                answer = self._exchange(request, trace, deadline)
            except _Unanswered:
                # Sent again on a new connection, in this attempt and its deadline, and in its
                # turn: the vendor may have seen the first one.
                paused = time.perf_counter()
                request, trace = self._request(call.serialnumber)
                self._wait_for_turn()
                waited = time.perf_counter() - paused
                answer = self._exchange(request, trace, deadline)
        except _TooLarge as exc:
            failure = VendorRejected(
                "answer too large: more than INNOMAINT_MAX_RESPONSE_MB "
                f"({self.max_response_mb:g} MB)",
                kind="too_large",
                http_status=exc.status,
                attempts=call.attempts,
            )
        except (httpx.HTTPError, _Unanswered) as exc:
            if self._cancel.is_set():
                failure = Cancelled("stopped while calling the Innomaint API")
            elif isinstance(exc, _Unanswered):
                failure = self._transport_error(
                    httpx.RemoteProtocolError("Server disconnected without sending a response."),
                    call.attempts,
                )
            else:
                failure = self._transport_error(exc, call.attempts)
        finally:
            self._watch.disarm()
            elapsed = time.perf_counter() - started - waited
            call.http_ms += elapsed * 1000.0
            if self._on_attempt is not None:
                self._on_attempt(elapsed)
        if failure is not None:
            # Raised outside the handler: httpx's frames, whose locals hold the request and
            # its headers, must not ride along as the context of our error.
            raise failure
        status, headers, content = answer
        response = interpret(
            status, headers, content, call.attempts, self.redact, self.max_field_chars
        )
        return response, status

    def _request(self, serialnumber: str) -> tuple[httpx.Request, Exchange]:
        """The POST of one asset's id, and the trace that will tell how it went."""
        trace = Exchange(self._watch)
        request = self._http.build_request(
            "POST",
            self._target,
            content=json.dumps({"serialnumber": serialnumber}).encode(),
            extensions={"trace": trace},
        )
        return request, trace

    def _exchange(
        self, request: httpx.Request, trace: Exchange, deadline: float
    ) -> tuple[int, httpx.Headers, bytes]:
        """Sends `request` and reads the answer whole, within the cap and the deadline,
        checking the cancel event between chunks."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise httpx.ConnectTimeout("the attempt's deadline has passed")
        # httpx's documented request extension: what is left of the attempt's deadline.
        request.extensions["timeout"] = httpx.Timeout(left).as_dict()
        try:
            with contextlib.closing(self._http.send(request, stream=True)) as response:
                status, headers = response.status_code, response.headers
                declared = headers.get("Content-Length") or ""
                if declared.isascii() and declared.isdigit() and int(declared) > self._cap:
                    raise _TooLarge(status)
                if compression(headers) is not None:
                    return status, headers, b""  # refused unread: never inflated
                content = bytearray()
                for chunk in response.iter_bytes():
                    content += chunk
                    if len(content) > self._cap:
                        raise _TooLarge(status)
                    if self._cancel.is_set():
                        raise httpx.ReadError("stopped while reading the Innomaint API")
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("the attempt's deadline has passed")
        except httpx.HTTPError as exc:
            # A connection the watch shut down: the read it woke failed for the watch's cause.
            if self._watch.fired == "deadline":
                raise httpx.ReadTimeout("the attempt's deadline has passed") from None
            reused = trace.sent and not (trace.connected or trace.answered)
            if isinstance(exc, httpx.RemoteProtocolError) and reused and not self._watch.fired:
                raise _Unanswered from None
            raise
        finally:
            if trace.sent_at is not None:
                self._note_sent(trace.sent_at)
        return status, headers, bytes(content)

    def _transport_error(self, exc: httpx.HTTPError, attempts: int) -> VendorError:
        # httpx's own text may quote the URL or server output: it goes through redact() and is
        # never chained onto our exception, whose traceback would otherwise print it.
        return unanswered(exc, self._clean(str(exc)), attempts, self.timeout_s, self.public_url)

    def _clean(self, text: str) -> str:
        return trimmed(strip_credentials(self.redact(text)))

    # -- waiting -----------------------------------------------------------------------------

    def _wait_for_turn(self) -> None:
        """Space request starts at least rate_ms apart; time spent answering counts.

        The turn of a request ends rate_ms after the previous request had wholly left (its
        last byte handed to the network: `_note_sent`), and the request is ready to go out
        when it ends. Whatever moment of a request the vendor counts as its start, its first
        byte's arrival or its last, the previous request's came no later than the last byte
        left, and this one's no earlier than its turn ended: the vendor sees the starts at
        least rate_ms apart with no margin added, up to the variation of the network's own
        delay between the two, which no margin of the client's could bound."""
        if self._last_start is not None and self.rate_ms > 0:
            due = self._last_start + self.rate_ms / 1000.0
            while (remaining := due - time.monotonic()) > 0:
                self._pause(remaining)
        if self._cancel.is_set():
            raise Cancelled("stopped before calling the Innomaint API")
        self._last_start = time.monotonic()

    def _note_sent(self, sent: float) -> None:
        """The turn's start moved to when the request had wholly left, if later. A connection
        opened for it (a TLS handshake, a slow connect) between the turn and the send would
        otherwise come out of the next spacing, which the vendor would see short by as much. A
        transport that sends out of sight (a test's scripted vendor) tells nothing: its
        request counts from its turn."""
        if self._last_start is not None and sent > self._last_start:
            self._last_start = sent

    def _pause(self, seconds: float) -> None:
        if self._cancel.wait(max(0.0, seconds)):
            raise Cancelled("stopped while waiting to call the Innomaint API")

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
