"""InnomaintClient against httpx.MockTransport: only the network is replaced."""

from __future__ import annotations

import email.utils
import itertools
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from ic3sync.config import Settings
from ic3sync.errors import (
    Cancelled,
    ConfigError,
    VendorAuthError,
    VendorError,
    VendorRejected,
    VendorTransient,
)
from ic3sync.innomaint.client import InnomaintClient
from ic3sync.redact import redact
from ic3sync.retrying import parse_retry_after

TOKEN = "tok-3f9c1a7e55d04b2a8c6e"
URL = "https://innomaint.test/api/public/api/restapicontroller/assetmanagement/getAssetIDDetailByAssetID"
ASSET = "Delhi Cantt Naraina_BP_01"
FIXTURE = (
    Path(__file__).resolve().parents[1] / "fixtures/asset_detail_Delhi_Cantt_Naraina_BP_01.json"
).read_bytes()

Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def ok() -> httpx.Response:
    return httpx.Response(200, content=FIXTURE, headers={"Content-Type": "application/json"})


class Vendor:
    """A scripted Innomaint: answers with `steps` in turn (the last one repeats) and records
    when each request reached the network."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps) or [ok()]
        self.requests: list[httpx.Request] = []
        self.started: list[float] = []
        # The client whose request starts `spacing` reads, when a test says which.
        self.client: InnomaintClient | None = None
        self.client_starts: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.started.append(time.monotonic())
        if self.client is not None:
            # When the client started this request, on its clock: what its spacing promises.
            self.client_starts.append(self.client._last_start)  # type: ignore[arg-type]
        self.requests.append(request)
        step = self.steps[min(len(self.requests), len(self.steps)) - 1]
        if isinstance(step, Exception):
            raise step
        if callable(step) and not isinstance(step, httpx.Response):
            return step(request)
        return step

    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.started, self.started[1:], strict=False)]

    def spacing(self) -> list[float]:
        """The gaps between the client's starts of the requests this vendor received. Not the
        vendor's own stamps: in one process on a loaded machine, the time between a start and
        its request reaching this handler varies by milliseconds, which shortens some gaps
        seen here below any margin; the e2e tests check the gaps at the simulator's socket.
        Each request reached the vendor after the client had stamped its start."""
        assert len(self.client_starts) == len(self.started)
        assert all(c <= v for c, v in zip(self.client_starts, self.started, strict=True))
        starts = self.client_starts
        return [b - a for a, b in itertools.pairwise(starts)]


def client_for(vendor: Vendor, **options: object) -> InnomaintClient:
    settings: dict[str, object] = {
        "url": URL,
        "token": SecretStr(TOKEN),
        "rate_ms": 0,
        "backoff_base_s": 0,
        "transport": httpx.MockTransport(vendor),
    }
    settings.update(options)
    return InnomaintClient(**settings)  # type: ignore[arg-type]


def fetch_error(vendor: Vendor, **options: object) -> VendorError:
    with client_for(vendor, **options) as client, pytest.raises(VendorError) as caught:
        client.fetch(ASSET)
    return caught.value


def json_response(status: int, body: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


# -- success ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (json_response(400, {"message": "Invalid serialnumber"}), "http_400"),
        (json_response(404, {"message": "Asset not found"}), "http_404"),
        (json_response(422, {}), "http_4xx"),
        (json_response(500, {}), "server_error"),
        (json_response(503, {}), "server_error"),
        (json_response(429, {}), "rate_limited"),
        (json_response(302, {}), "http_other"),
        (json_response(401, {}), "auth"),
        (json_response(403, {}), "auth"),
        (httpx.Response(200, text="<html>maintenance</html>"), "not_json"),
        (json_response(200, [1, 2]), "bad_answer"),
        (json_response(200, {"status": True, "response": {"data": 5}}), "bad_answer"),
        (json_response(200, {"status": False, "message": "No record"}), "status_false"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectError("refused"), "connection"),
        (httpx.RemoteProtocolError("garbage"), "connection"),
        (httpx.DecodingError("bad gzip"), "bad_answer"),
    ],
)
def test_every_failure_carries_its_kind(answer: Step, kind: str) -> None:
    assert fetch_error(Vendor(answer), max_retries=1).kind == kind


def test_a_200_answer_is_parsed_and_counts_one_attempt() -> None:
    vendor = Vendor(ok())
    with client_for(vendor) as client:
        fetched = client.fetch(ASSET)
    assert fetched.response.response.data.value("traceid") == 577833
    assert fetched.response.response.performance is not None
    assert fetched.response.response.performance.value("mtbf") == "8526:06:43"
    assert (fetched.http_status, fetched.attempts) == (200, 1)
    assert fetched.http_ms > 0
    assert (client.requests_sent, client.retries) == (1, 0)


def test_the_request_is_a_json_post_with_the_bearer_token_and_the_serialnumber() -> None:
    vendor = Vendor(ok())
    with client_for(vendor) as client:
        client.fetch(ASSET)
    [request] = vendor.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"serialnumber": ASSET}


def test_one_connection_serves_successive_fetches() -> None:
    vendor = Vendor(ok())
    with client_for(vendor) as client:
        for _ in range(3):
            client.fetch(ASSET)
    assert client.requests_sent == 3


# -- rule 6: what is not retried ----------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_raise_an_auth_error_about_the_token_without_retrying(status: int) -> None:
    vendor = Vendor(json_response(status, {"message": "Unauthenticated."}))
    error = fetch_error(vendor)
    assert type(error) is VendorAuthError
    assert str(error) == (
        f"Innomaint rejected the API token (HTTP {status}); check INNOMAINT_API_TOKEN"
    )
    assert (error.http_status, error.attempts, len(vendor.requests)) == (status, 1, 1)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, "HTTP 400 Bad Request: Invalid serialnumber"),
        (404, "HTTP 404 Not Found: Invalid serialnumber"),
        (500, "HTTP 500 Internal Server Error: Invalid serialnumber"),
        (302, "HTTP 302 Found: Invalid serialnumber"),
    ],
)
def test_other_statuses_are_rejected_with_the_vendor_message_and_not_retried(
    status: int, reason: str
) -> None:
    vendor = Vendor(json_response(status, {"status": False, "message": "Invalid serialnumber"}))
    error = fetch_error(vendor)
    assert type(error) is VendorRejected
    assert error.reason == reason
    assert (error.http_status, error.attempts, len(vendor.requests)) == (status, 1, 1)


def test_a_rejection_without_a_vendor_message_names_only_the_status() -> None:
    error = fetch_error(Vendor(httpx.Response(404, content=b"<html>nope</html>")))
    assert error.reason == "HTTP 404 Not Found"


def test_a_long_vendor_message_is_trimmed_to_200_characters() -> None:
    message = "word " * 100
    error = fetch_error(Vendor(json_response(400, {"message": message})))
    assert error.reason == "HTTP 400 Bad Request: " + " ".join(message.split())[:200]


def test_a_200_that_is_not_json_is_rejected_and_not_retried() -> None:
    vendor = Vendor(httpx.Response(200, content=b"<!DOCTYPE html><html>maintenance</html>"))
    error = fetch_error(vendor)
    assert type(error) is VendorRejected
    assert error.reason == "response is not JSON"
    assert (error.http_status, error.attempts, len(vendor.requests)) == (200, 1, 1)


def test_a_200_with_status_false_is_rejected_with_its_message_and_not_retried() -> None:
    vendor = Vendor(json_response(200, {"status": False, "message": "No such asset"}))
    error = fetch_error(vendor)
    assert type(error) is VendorRejected
    assert error.reason == 'API answered "status": false: No such asset'
    assert (error.http_status, error.attempts, len(vendor.requests)) == (200, 1, 1)


def test_a_rejection_after_a_retry_reports_both_attempts() -> None:
    vendor = Vendor(httpx.Response(503), json_response(404, {"message": "gone"}))
    error = fetch_error(vendor)
    assert type(error) is VendorRejected
    assert (error.http_status, error.attempts) == (404, 2)


# -- rule 6: what is retried --------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_transient_statuses_are_retried_until_an_answer_comes(status: int) -> None:
    vendor = Vendor(httpx.Response(status), httpx.Response(status), ok())
    with client_for(vendor) as client:
        fetched = client.fetch(ASSET)
    assert (fetched.attempts, fetched.http_status) == (3, 200)
    assert (client.requests_sent, client.retries) == (3, 2)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.PoolTimeout("pool timed out"),
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_timeouts_and_connection_errors_are_retried(failure: Exception) -> None:
    vendor = Vendor(failure, ok())
    with client_for(vendor) as client:
        assert client.fetch(ASSET).attempts == 2


def test_a_timeout_reason_names_the_configured_limit() -> None:
    error = fetch_error(Vendor(httpx.ReadTimeout("timed out")), max_retries=0, timeout_s=2.5)
    assert error.reason == "no answer within 2.5 s (ReadTimeout) after 1 attempt"
    assert error.http_status is None


def test_exhausted_retries_raise_the_last_transient_error_with_the_attempt_count() -> None:
    vendor = Vendor(httpx.Response(503))
    error = fetch_error(vendor, max_retries=3)
    assert type(error) is VendorTransient
    assert error.reason == "HTTP 503 Service Unavailable after 4 attempts"
    assert (error.http_status, error.attempts, len(vendor.requests)) == (503, 4, 4)


def test_max_retries_zero_means_exactly_one_attempt() -> None:
    vendor = Vendor(httpx.Response(502), ok())
    error = fetch_error(vendor, max_retries=0)
    assert error.reason == "HTTP 502 Bad Gateway after 1 attempt"
    assert (error.attempts, len(vendor.requests)) == (1, 1)


def test_retry_after_in_seconds_is_honoured() -> None:
    vendor = Vendor(httpx.Response(429, headers={"Retry-After": "0.2"}), ok())
    waits: list[float] = []
    with client_for(vendor, on_retry=lambda *a: waits.append(a[2])) as client:
        client.fetch(ASSET)
    assert waits == [0.2]
    [gap] = vendor.gaps()
    # The upper bound only tells "waited Retry-After, not some other delay": a busy machine
    # may add a little, never seconds.
    assert 0.2 <= gap < 3


def test_retry_after_is_capped() -> None:
    vendor = Vendor(httpx.Response(429, headers={"Retry-After": "3600"}), ok())
    waits: list[float] = []
    with client_for(vendor, retry_after_cap_s=0.1, on_retry=lambda *a: waits.append(a[2])) as c:
        c.fetch(ASSET)
    assert waits == [0.1]
    [gap] = vendor.gaps()
    assert 0.1 <= gap < 3  # an uncapped wait would be an hour


def test_retry_after_as_an_http_date_is_honoured_and_capped() -> None:
    in_an_hour = email.utils.formatdate(time.time() + 3600, usegmt=True)
    vendor = Vendor(httpx.Response(429, headers={"Retry-After": in_an_hour}), ok())
    waits: list[float] = []
    with client_for(vendor, retry_after_cap_s=0.1, on_retry=lambda *a: waits.append(a[2])) as c:
        c.fetch(ASSET)
    assert waits == [0.1]
    assert vendor.gaps()[0] >= 0.1


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_parses_seconds_and_http_dates(header: str | None, seconds: float) -> None:
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    assert parse_retry_after(header, now=now) == seconds


def test_a_429_without_retry_after_falls_back_to_backoff() -> None:
    waits: list[float] = []
    vendor = Vendor(httpx.Response(429), ok())
    with client_for(vendor, backoff_base_s=0.04, on_retry=lambda *a: waits.append(a[2])) as c:
        c.fetch(ASSET)
    assert 0.02 <= waits[0] <= 0.04


def test_backoff_grows_exponentially_with_jitter_up_to_the_maximum() -> None:
    seen: list[tuple[str, VendorTransient, float]] = []
    vendor = Vendor(httpx.Response(503))
    fetch_error(
        vendor,
        max_retries=4,
        backoff_base_s=0.01,
        backoff_max_s=0.03,
        on_retry=lambda *args: seen.append(args),
    )
    steps = [0.01, 0.02, 0.03, 0.03]  # base * 2**n, capped at the maximum
    assert len(seen) == 4
    for (serial, error, wait), step in zip(seen, steps, strict=True):
        assert serial == ASSET
        assert error.http_status == 503
        assert step / 2 <= wait <= step
    for before, after in zip(vendor.gaps(), [w for *_, w in seen], strict=True):
        assert before >= after


def test_retries_are_logged_as_warnings_with_the_serialnumber_and_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ic3sync.innomaint")
    with client_for(Vendor(httpx.Response(504), ok())) as client:
        client.fetch(ASSET)
    [record] = [r for r in caplog.records if r.name == "ic3sync.innomaint"]
    assert record.levelno == logging.WARNING
    assert ASSET in record.getMessage()
    assert "HTTP 504 Gateway Timeout" in record.getMessage()


# -- rate spacing -------------------------------------------------------------------------------


def test_request_starts_are_at_least_rate_ms_apart() -> None:
    vendor = Vendor(ok())
    with client_for(vendor, rate_ms=50) as client:
        vendor.client = client
        for _ in range(5):
            client.fetch(ASSET)
    assert len(vendor.spacing()) == 4
    assert min(vendor.spacing()) >= 0.05


def test_spacing_counts_from_when_the_previous_request_had_left() -> None:
    # The first request leaves 0.2 s after its turn (a connection opened for it); the second
    # is sent at once. Counted from the turns, the vendor would see them 0.05 s apart.
    left: list[float] = []

    def sends(request: httpx.Request) -> httpx.Response:
        if not left:
            time.sleep(0.2)
        trace = request.extensions["trace"]
        trace("http11.send_request_headers.started", {})
        trace("http11.send_request_body.complete", {})
        left.append(time.monotonic())
        return ok()

    with client_for(Vendor(sends), rate_ms=250) as client:
        client.fetch(ASSET)
        client.fetch(ASSET)
    assert left[1] - left[0] >= 0.25


def test_a_slow_answer_counts_toward_the_spacing_so_no_extra_wait_is_added() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        time.sleep(0.3)
        return ok()

    vendor = Vendor(slow)
    with client_for(vendor, rate_ms=250) as client:
        client.fetch(ASSET)
        client.fetch(ASSET)
    [gap] = vendor.gaps()
    # 0.3 + 0.25 would mean a wait after the answer; the 0.2 s between leave a busy machine room.
    assert 0.3 <= gap < 0.5


def test_retries_keep_the_rate_spacing_even_without_backoff() -> None:
    vendor = Vendor(httpx.Response(503), httpx.Response(503), ok())
    with client_for(vendor, rate_ms=40, backoff_base_s=0) as client:
        vendor.client = client
        client.fetch(ASSET)
    assert len(vendor.spacing()) == 2
    assert min(vendor.spacing()) >= 0.04


def test_http_ms_counts_time_in_requests_not_in_waits() -> None:
    vendor = Vendor(ok())
    with client_for(vendor, rate_ms=500) as client:
        vendor.client = client
        client.fetch(ASSET)
        second = client.fetch(ASSET)
    assert vendor.spacing()[0] >= 0.5
    assert second.http_ms < 250  # the 500 ms wait counted in would exceed it however fast


def test_concurrent_callers_are_serialised_into_one_request_at_a_time() -> None:
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def counted(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.01)
        with lock:
            in_flight -= 1
        return ok()

    vendor = Vendor(counted)
    with client_for(vendor, rate_ms=5) as client:
        vendor.client = client
        threads = [threading.Thread(target=client.fetch, args=(ASSET,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert (most, len(vendor.requests)) == (1, 6)
    assert min(vendor.spacing()) >= 0.005


# -- cancellation -------------------------------------------------------------------------------


def test_cancel_during_the_rate_wait_raises_cancelled_and_sends_nothing_more() -> None:
    cancel = threading.Event()
    vendor = Vendor(ok())
    with client_for(vendor, rate_ms=3_600_000, cancel=cancel) as client:
        client.fetch(ASSET)
        threading.Timer(0.05, cancel.set).start()
        started = time.monotonic()
        with pytest.raises(Cancelled):
            client.fetch(ASSET)
    assert time.monotonic() - started < 30  # not the hour of the rate wait
    assert len(vendor.requests) == 1


def test_cancel_during_a_retry_wait_raises_cancelled_without_retrying() -> None:
    cancel = threading.Event()

    def rate_limited(request: httpx.Request) -> httpx.Response:
        # Cancelled once the client is in its wait, however late this answer came.
        threading.Timer(0.05, cancel.set).start()
        return httpx.Response(429, headers={"Retry-After": "3600"})

    vendor = Vendor(rate_limited, ok())
    with client_for(vendor, cancel=cancel, retry_after_cap_s=3600) as client:
        started = time.monotonic()
        with pytest.raises(Cancelled):
            client.fetch(ASSET)
    assert time.monotonic() - started < 30  # not the hour of Retry-After
    assert len(vendor.requests) == 1


def test_a_cancel_set_beforehand_stops_before_the_first_request() -> None:
    cancel = threading.Event()
    cancel.set()
    vendor = Vendor(ok())
    with client_for(vendor, cancel=cancel) as client, pytest.raises(Cancelled):
        client.fetch(ASSET)
    assert vendor.requests == []


# -- rule 8: the token stays secret -------------------------------------------------------------

LEAKY_ANSWERS: dict[str, Step] = {
    "404 echoing the token": json_response(404, {"message": f"bad header Bearer {TOKEN}"}),
    "400 plain text": httpx.Response(
        400, content=f"token {TOKEN} refused".encode(), headers={"Content-Type": "text/plain"}
    ),
    "status false": json_response(200, {"status": False, "message": f"{TOKEN} expired"}),
    "401": json_response(401, {"message": f"invalid token {TOKEN}"}),
    "connection error": httpx.ConnectError(f"proxy said Authorization: Bearer {TOKEN}"),
    "timeout": httpx.ReadTimeout(f"timed out for {TOKEN}"),
    "decode": httpx.DecodingError(f"cannot decode for {TOKEN}"),
    "503": httpx.Response(503, content=TOKEN.encode()),
}


@pytest.mark.parametrize("answer", LEAKY_ANSWERS.values(), ids=LEAKY_ANSWERS.keys())
def test_the_token_appears_in_no_error_and_no_log_line(
    answer: Step, caplog: pytest.LogCaptureFixture
) -> None:
    for name in (None, "httpx", "httpcore", "ic3sync.innomaint"):
        caplog.set_level(logging.DEBUG, logger=name)
    vendor = Vendor(answer)
    with client_for(vendor, max_retries=1) as client:
        with pytest.raises(VendorError) as caught:
            client.fetch(ASSET)
        shown = [
            str(caught.value),
            repr(caught.value),
            caught.value.reason,
            "".join(traceback.format_exception(caught.value)),
            repr(client),
            caplog.text,
            *(r.getMessage() for r in caplog.records),
        ]
    if isinstance(caught.value, VendorTransient):  # the retry warning quoted the vendor's text
        assert any(r.name == "ic3sync.innomaint" for r in caplog.records)
    assert all(TOKEN not in text for text in shown)


def test_the_client_repr_hides_the_token() -> None:
    with client_for(Vendor()) as client:
        assert TOKEN not in repr(client)
        assert "**********" in repr(client)


def test_redact_replaces_every_occurrence_of_the_secret() -> None:
    assert redact(f"a {TOKEN} b {TOKEN}", TOKEN) == "a *** b ***"
    assert redact("nothing here", "") == "nothing here"


# -- construction -------------------------------------------------------------------------------


def test_from_settings_uses_the_contract_variables() -> None:
    settings = Settings(
        _env_file=None,
        api_url=URL,
        api_token=SecretStr(TOKEN),
        rate_ms=75,
        timeout_s=4,
        max_retries=1,
    )
    vendor = Vendor(httpx.Response(503))
    transport = httpx.MockTransport(vendor)
    with InnomaintClient.from_settings(settings, transport=transport, backoff_base_s=0) as client:
        assert (client.url, client.rate_ms, client.timeout_s, client.max_retries) == (
            URL,
            75,
            4,
            1,
        )
        with pytest.raises(VendorTransient):
            client.fetch(ASSET)
    assert len(vendor.requests) == 2


def test_from_settings_without_a_token_refuses_with_the_variable_name() -> None:
    settings = Settings(_env_file=None, api_url=URL, api_token=None)
    with pytest.raises(ConfigError, match="INNOMAINT_API_TOKEN"):
        InnomaintClient.from_settings(settings)


@pytest.mark.parametrize("token", ["", "   ", "two words", "naïve"])
def test_a_token_that_cannot_be_sent_is_refused_up_front(token: str) -> None:
    with pytest.raises(ConfigError, match="INNOMAINT_API_TOKEN") as caught:
        InnomaintClient(url=URL, token=SecretStr(token))
    assert token.strip() == "" or token not in str(caught.value)


@pytest.mark.parametrize("url", ["app.innomaint.com/api", "ftp://innomaint.test/x", "http://"])
def test_a_url_that_is_not_http_is_refused_up_front(url: str) -> None:
    with pytest.raises(ConfigError, match="INNOMAINT_API_URL"):
        InnomaintClient(url=url, token=SecretStr(TOKEN))


# -- hostile answers: size, drips, escapes, credentials in the URL -------------------------------


def test_a_streamed_answer_without_a_length_stops_at_the_size_cap() -> None:
    sent: list[int] = []

    def endless() -> object:
        while True:  # a vendor that never stops sending
            sent.append(65536)
            yield b"x" * 65536

    vendor = Vendor(lambda request: httpx.Response(200, content=endless()))
    error = fetch_error(vendor, max_retries=0, max_response_mb=1)
    assert isinstance(error, VendorRejected) and error.reason.startswith("answer too large")
    assert not error.unreachable
    assert sum(sent) <= 1024 * 1024 + 65536


def test_a_body_that_outlasts_the_deadline_fails_the_attempt_as_a_timeout() -> None:
    def slow() -> object:
        for _ in range(100):
            time.sleep(0.05)
            yield b" "

    vendor = Vendor(lambda request: httpx.Response(200, content=slow()))
    started = time.monotonic()
    error = fetch_error(vendor, max_retries=0, timeout_s=0.3)
    assert isinstance(error, VendorTransient) and "no answer within 0.3 s" in error.reason
    assert error.unreachable and time.monotonic() - started < 1


def test_the_token_in_decoded_values_is_redacted_whatever_the_escapes() -> None:
    token = "tok/en-3f9c1a7e55d04b2a8c6e"
    payload = json.loads(FIXTURE)
    payload["response"]["data"]["barcode"] = "@1"
    payload["response"]["data"]["capacity_rating"] = "@2"
    escaped = "".join(f"\\u{ord(c):04x}" for c in token)
    text = json.dumps(payload).replace("@1", token.replace("/", "\\/")).replace("@2", escaped)
    assert token not in text
    vendor = Vendor(httpx.Response(200, content=text.encode()))
    with client_for(vendor, token=SecretStr(token)) as client:
        data = client.fetch(ASSET).response.response.data
    assert data.value("barcode") == data.value("capacity_rating") == "***"


def test_the_http_log_line_shows_the_url_without_credentials(caplog) -> None:
    url = URL.replace("https://", "https://ops:hunter2secret@")
    caplog.set_level(logging.INFO, logger="httpx")
    with client_for(Vendor(ok()), url=url) as client:
        client.fetch(ASSET)  # httpx logs "HTTP Request: POST <url> ..." at INFO
        assert "hunter2secret" not in repr(client)
    assert "HTTP Request: POST https://innomaint.test/" in caplog.text
    assert "hunter2secret" not in caplog.text


def test_a_bad_url_is_refused_without_printing_its_credentials() -> None:
    with pytest.raises(ConfigError) as caught:
        client_for(Vendor(), url="ftp://ops:hunter2secret@innomaint.test/x")
    assert "hunter2secret" not in str(caught.value)
    assert "ftp://innomaint.test/x" in str(caught.value)
