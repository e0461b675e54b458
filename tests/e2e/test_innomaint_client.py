"""InnomaintClient as production runs it (no transport given) against real sockets: a vendor
written here, byte by byte, where the simulator cannot misbehave the way a test needs (hang up a
kept-alive connection, lie about a length, drip, speak TLS), and the simulator process where it
can."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import struct
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
from pydantic import SecretStr

from ic3sync.errors import Cancelled, VendorError, VendorRejected, VendorTransient
from ic3sync.innomaint.client import InnomaintClient
from tests.procs import simulator_process

TOKEN = "wire-token-5d1e0c2b9a8f7e6d"
SERIAL = "Delhi Cantt Naraina_BP_01"
FIXTURE = (
    Path(__file__).resolve().parents[1] / "fixtures/asset_detail_Delhi_Cantt_Naraina_BP_01.json"
).read_bytes()
PATH = "/api/getAssetIDDetailByAssetID"


def answer(body: bytes = FIXTURE, *, status: str = "200 OK", headers: str = "") -> bytes:
    length = f"Content-Length: {len(body)}\r\n"
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{length}{headers}\r\n"
    return head.encode() + body


@dataclass
class Request:
    connection: int
    arrived: float
    line: str
    headers: dict[str, str]
    body: bytes


class Conn:
    """One accepted connection, as the vendor's code sees it."""

    def __init__(self, sock: socket.socket, index: int, vendor: Vendor) -> None:
        self.sock = sock
        self.index = index
        self.vendor = vendor
        self.file = sock.makefile("rb")

    def request(self) -> Request | None:
        """The next request, or None when the client closed the connection."""
        line = self.file.readline()
        if not line:
            return None
        arrived = time.monotonic()
        headers: dict[str, str] = {}
        while (header := self.file.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.file.read(int(headers.get("content-length", "0")))
        request = Request(self.index, arrived, line.decode("latin-1").strip(), headers, body)
        with self.vendor.lock:
            self.vendor.requests.append(request)
        return request

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        """Close the connection now: the file made of the socket holds it open until it too is
        closed, and a client could reuse it in between."""
        self.file.close()
        self.sock.close()

    def reset(self) -> None:
        """Close with RST instead of FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


Handler = Callable[[Conn], None]


@dataclass
class Vendor:
    """A TCP server on a free port; `handler` serves each connection in its own thread."""

    handler: Handler
    tls: ssl.SSLContext | None = None
    # Seconds the first connection's TLS handshake waits before it starts (a vendor far away).
    slow_first_handshake_s: float = 0.0
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = "localhost" if self.tls else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}{PATH}"

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                index = self.connections
            threading.Thread(target=self._serve, args=(sock, index), daemon=True).start()

    def _serve(self, sock: socket.socket, index: int) -> None:
        try:
            if self.tls is not None:
                if index == 1:
                    time.sleep(self.slow_first_handshake_s)
                sock = self.tls.wrap_socket(sock, server_side=True)
            self.handler(Conn(sock, index, self))
        except OSError:
            pass  # the client hung up: what several tests do on purpose
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def stop(self) -> None:
        self.closed.set()
        self.listener.close()


@pytest.fixture
def vendor() -> Iterator[Callable[..., Vendor]]:
    started: list[Vendor] = []

    def start(handler: Handler, **options: object) -> Vendor:
        server = Vendor(handler, **options)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def client(url: str, **options: object) -> InnomaintClient:
    settings: dict[str, object] = {
        "url": url,
        "token": SecretStr(TOKEN),
        "rate_ms": 0,
        "backoff_base_s": 0,
        "timeout_s": 5,
        "max_retries": 0,
    }
    settings.update(options)
    return InnomaintClient(**settings)  # type: ignore[arg-type]


def keep_alive(conn: Conn) -> None:
    """A vendor that answers every request on the connection."""
    while conn.request() is not None:
        conn.send(answer())


def drip(conn: Conn) -> None:
    """Headers, then one byte of the body every 50 ms."""
    conn.request()
    conn.send(answer()[: -len(FIXTURE)])
    for byte in FIXTURE:
        conn.send(bytes([byte]))
        time.sleep(0.05)


def drip_head(conn: Conn) -> None:
    """The answer's head one byte every 50 ms: no chunk of a body to check the deadline at."""
    conn.request()
    for byte in answer():
        conn.send(bytes([byte]))
        time.sleep(0.05)


def silent(conn: Conn) -> None:
    """Reads the request and answers nothing."""
    conn.request()
    conn.vendor.closed.wait(30)


def fetch_error(url: str, **options: object) -> VendorError:
    with client(url, **options) as c, pytest.raises(VendorError) as caught:
        c.fetch(SERIAL)
    return caught.value


# Keep-alive and the vendor's hang-ups.


def test_successive_fetches_share_one_kept_alive_connection(vendor) -> None:
    server = vendor(keep_alive)
    with client(server.url) as c:
        fetched = [c.fetch(SERIAL) for _ in range(5)]
    assert [f.attempts for f in fetched] == [1] * 5
    assert (server.connections, len(server.requests)) == (1, 5)
    [line] = {r.line for r in server.requests}
    assert line == f"POST {PATH} HTTP/1.1"
    assert all(json.loads(r.body) == {"serialnumber": SERIAL} for r in server.requests)


def test_a_connection_the_vendor_closed_after_answering_is_replaced_without_an_attempt(
    vendor,
) -> None:
    answered = threading.Event()

    def close_after_one(conn: Conn) -> None:  # says nothing of closing: no Connection: close
        conn.request()
        conn.send(answer())
        conn.close()
        answered.set()

    server = vendor(close_after_one)
    with client(server.url) as c:
        for _ in range(3):
            answered.clear()
            assert c.fetch(SERIAL).attempts == 1
            assert answered.wait(5)
        assert (c.requests_sent, c.retries) == (3, 0)
    assert (server.connections, len(server.requests)) == (3, 3)


def test_a_kept_alive_connection_hung_up_on_reuse_is_sent_again_in_the_same_attempt(
    vendor,
) -> None:
    def hang_up_on_second(conn: Conn) -> None:
        conn.request()
        conn.send(answer())
        conn.request()  # read, then closed unanswered (a FIN): as if it had been idle too long

    server = vendor(hang_up_on_second)
    with client(server.url, rate_ms=400) as c:
        c.fetch(SERIAL)
        second = c.fetch(SERIAL)
        assert (second.attempts, c.retries, c.requests_sent) == (1, 0, 2)
    assert server.connections == 2
    first, hung_up, again = server.requests
    assert (first.connection, hung_up.connection, again.connection) == (1, 1, 2)
    assert again.body == hung_up.body
    # Sent again in its turn (400 ms), not at once (~1 ms): the vendor may have seen the request
    # it hung up on. The slack is the vendor's own clock, a thread a busy machine wakes late.
    assert again.arrived - hung_up.arrived >= 0.35
    # The wait for the turn is not time in HTTP: three local exchanges take a few ms, and the
    # bound leaves a loaded machine 300 ms before it would mistake one for the other.
    assert second.http_ms < 300


def test_a_vendor_that_always_hangs_up_is_sent_each_request_at_most_twice(vendor) -> None:
    def answer_once_then_hang_up(conn: Conn) -> None:
        conn.request()
        if conn.index == 1:
            conn.send(answer())
            conn.request()

    server = vendor(answer_once_then_hang_up)
    with client(server.url, max_retries=1) as c:
        c.fetch(SERIAL)
        with pytest.raises(VendorTransient) as caught:
            c.fetch(SERIAL)
    error = caught.value
    assert (error.kind, error.attempts) == ("connection", 2)
    assert "Server disconnected without sending a response" in error.reason
    # 1 answered; attempt 1: the reused connection and one more; attempt 2: a new connection.
    assert (len(server.requests), server.connections) == (4, 3)


def test_a_reset_on_a_reused_connection_is_a_failed_attempt_not_a_resend(vendor) -> None:
    def reset_on_second(conn: Conn) -> None:
        conn.request()
        conn.send(answer())
        if conn.index == 1:
            conn.request()
            conn.reset()
        else:
            keep_alive(conn)

    server = vendor(reset_on_second)
    with client(server.url, max_retries=1) as c:
        c.fetch(SERIAL)
        assert c.fetch(SERIAL).attempts == 2
        assert c.retries == 1


# One deadline per attempt; a cancel ends the request in flight.


@pytest.mark.parametrize(
    "handler", [drip, drip_head, silent], ids=["drips", "drips its head", "says nothing"]
)
def test_a_vendor_that_drips_or_says_nothing_is_held_to_the_deadline(vendor, handler) -> None:
    server = vendor(handler)
    started = time.monotonic()
    error = fetch_error(server.url, timeout_s=0.5)
    held = time.monotonic() - started
    assert isinstance(error, VendorTransient) and error.kind == "timeout"
    assert error.reason == "no answer within 0.5 s (ReadTimeout) after 1 attempt"
    # The whole drip would take 50 ms a byte, minutes.
    assert 0.5 <= held < 1.5, held


@pytest.mark.parametrize(
    "handler", [drip, drip_head, silent], ids=["drips", "drips its head", "says nothing"]
)
def test_a_cancel_ends_the_request_in_flight(vendor, handler) -> None:
    server = vendor(handler)
    cancel = threading.Event()
    with client(server.url, timeout_s=60, cancel=cancel) as c:
        threading.Timer(0.3, cancel.set).start()
        started = time.monotonic()
        with pytest.raises(Cancelled):
            c.fetch(SERIAL)
    assert time.monotonic() - started < 1.5


def test_a_dripping_simulator_is_held_to_the_deadline(tmp_path) -> None:
    faults = {SERIAL: {"kind": "drip", "interval_s": 0.05}}
    with simulator_process(tmp_path, faults=faults, token=TOKEN) as url:
        started = time.monotonic()
        error = fetch_error(url, timeout_s=0.5)
        held = time.monotonic() - started
        with client(url) as c:
            assert c.fetch("Plant 01_PUMP_01").http_status == 200
    assert error.kind == "timeout" and held < 1.5, (error, held)


# The size cap.


def endless_chunks(conn: Conn) -> None:
    conn.request()
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    conn.send(b"Transfer-Encoding: chunked\r\n\r\n")
    while True:
        conn.send(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")


def endless_until_close(conn: Conn) -> None:
    conn.request()
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    while True:
        conn.send(b"x" * 65536)


@pytest.mark.parametrize(
    "handler", [endless_chunks, endless_until_close], ids=["chunked", "until the close"]
)
def test_an_answer_without_a_length_is_cut_off_at_the_cap(vendor, handler) -> None:
    server = vendor(handler)
    started = time.monotonic()
    error = fetch_error(server.url, max_response_mb=1, timeout_s=10)
    assert isinstance(error, VendorRejected)
    assert (error.kind, error.http_status) == ("too_large", 200)
    assert error.reason == "answer too large: more than INNOMAINT_MAX_RESPONSE_MB (1 MB)"
    assert time.monotonic() - started < 5  # stopped at the cap, not by the deadline


def test_a_declared_length_over_the_cap_is_refused_before_reading(vendor) -> None:
    def announce_100_mb(conn: Conn) -> None:
        conn.request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n{")
        conn.request()  # holds the connection open: reading the body would wait for ever

    server = vendor(announce_100_mb)
    started = time.monotonic()
    error = fetch_error(server.url, max_response_mb=1, timeout_s=10)
    assert (error.kind, error.http_status) == ("too_large", 200)
    assert time.monotonic() - started < 2


def test_a_length_under_the_truth_is_read_no_further_and_the_rest_not_taken_for_an_answer(
    vendor,
) -> None:
    def more_than_declared(conn: Conn) -> None:
        while conn.request() is not None:
            conn.send(answer() + answer() + b"x" * (2 * 1024 * 1024))

    server = vendor(more_than_declared)
    with client(server.url, max_response_mb=1) as c:
        first = c.fetch(SERIAL)
        second = c.fetch(SERIAL)
    assert (first.http_status, first.attempts, second.http_status, second.attempts) == (
        200,
        1,
        200,
        1,
    )
    # The bytes after the declared length were left on the first connection, which was dropped.
    assert server.connections == 2


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"Content-Length: 9000\r\n", "without sending complete message body"),
        (b"Content-Length: +5\r\n", "bad Content-Length"),
        (b"Content-Length: 5\r\nContent-Length: 6\r\n", "conflicting Content-Length"),
    ],
    ids=["longer than sent", "signed", "twice"],
)
def test_a_length_that_does_not_frame_the_answer_is_a_connection_error(
    vendor, head: bytes, reason: str
) -> None:
    def framed(conn: Conn) -> None:
        conn.request()
        conn.send(b"HTTP/1.1 200 OK\r\n" + head + b"\r\n" + FIXTURE[:5])

    error = fetch_error(vendor(framed).url)
    assert isinstance(error, VendorTransient) and error.kind == "connection"
    assert reason in error.reason


def test_a_compressed_answer_is_refused_not_inflated(vendor) -> None:
    def gzipped(conn: Conn) -> None:
        conn.request()
        conn.send(answer(b"\x1f\x8b\x08\x00compressed", headers="Content-Encoding: gzip\r\n"))

    error = fetch_error(vendor(gzipped).url)
    assert (error.kind, error.http_status) == ("bad_answer", 200)
    assert "Content-Encoding" not in error.reason and "compressed (gzip)" in error.reason


def test_an_oversized_simulator_answer_fails_its_asset_and_the_next_one_succeeds(
    tmp_path,
) -> None:
    faults = {
        "Huge_declared": {"kind": "oversized", "mb": 20},
        "Huge_streamed": {"kind": "oversized", "mb": 20, "length": 0},
    }
    with (
        simulator_process(tmp_path, faults=faults, token=TOKEN) as url,
        client(url, max_response_mb=1) as c,
    ):
        for serialnumber in faults:
            with pytest.raises(VendorRejected) as caught:
                c.fetch(serialnumber)
            assert caught.value.kind == "too_large"
            assert c.fetch("Plant 01_PUMP_01").http_status == 200


# The request: as httpx sent it; https; the token.


def test_https_is_verified_and_kept_alive(vendor, monkeypatch, tmp_path) -> None:
    authority = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(tls)
    server = vendor(keep_alive, tls=tls)
    # Unknown to the client: its certificate cannot be verified.
    error = fetch_error(server.url)
    assert error.kind == "connection" and "CERTIFICATE_VERIFY_FAILED" in error.reason
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    with client(server.url, ca_file=str(bundle)) as c:
        assert [c.fetch(SERIAL).attempts for _ in range(3)] == [1, 1, 1]
    assert (server.connections, len(server.requests)) == (2, 3)


def test_a_slow_handshake_does_not_shorten_the_spacing_the_vendor_sees(
    vendor, monkeypatch, tmp_path
) -> None:
    # The first request waits 150 ms for its connection's handshake, the second goes on the
    # kept-alive connection at once. Counted from before the handshake, its turn would come
    # 150 ms early: the vendor would see the two requests 50 ms apart at a rate of 200.
    authority = trustme.CA()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(tls)
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    server = vendor(keep_alive, tls=tls, slow_first_handshake_s=0.15)
    with client(server.url, rate_ms=200, ca_file=str(bundle)) as c:
        assert [c.fetch(SERIAL).attempts for _ in range(2)] == [1, 1]
    first, second = server.requests
    assert (first.connection, second.connection) == (1, 1)
    # The slack is the vendor's own clock, a thread a busy machine wakes late (without the turn
    # counted from the send, the gap is about 50 ms).
    assert (second.arrived - first.arrived) * 1000 >= 180


def test_the_token_reaches_no_error_and_no_log_line_when_the_vendor_echoes_it(
    vendor, caplog
) -> None:
    caplog.set_level(logging.DEBUG)

    def echo(conn: Conn) -> None:
        request = conn.request()
        assert request is not None
        text = f"bad {request.headers['authorization']}".encode()
        conn.send(answer(text, status="400 Bad Request", headers=f"X-Echo: {TOKEN}\r\n"))

    with client(vendor(echo).url) as c:
        error = caught(c)
        shown = [repr(c), str(error), repr(error), caplog.text]
    shown += traceback.format_exception(error)
    assert error.reason == "HTTP 400 Bad Request"  # JSON it is not: no message taken from it
    assert all(TOKEN not in text for text in shown)


def test_the_token_is_in_no_local_variable_of_a_failure(vendor) -> None:
    def refuse_then_reset(conn: Conn) -> None:
        conn.request()
        conn.send(answer(b'{"message": "no"}', status="400 Bad Request"))
        conn.request()
        conn.reset()

    server = vendor(refuse_then_reset)
    with client(server.url) as c:
        errors = [caught(c), caught(c)]
    assert [e.kind for e in errors] == ["http_400", "connection"]
    shown: list[str] = []
    for error in errors:
        chain: BaseException | None = error
        while chain is not None:  # the whole chain, with every frame's local variables
            shown += traceback.TracebackException.from_exception(
                chain, capture_locals=True
            ).format()
            chain = chain.__cause__ or chain.__context__
    assert all(TOKEN not in text for text in shown)


def caught(c: InnomaintClient) -> VendorError:
    """The fetch's error, caught here so that the first frame of its traceback is this one, not
    a test's holding the vendor and what it recorded."""
    try:
        c.fetch(SERIAL)
    except VendorError as error:
        return error
    raise AssertionError("the fetch succeeded")
