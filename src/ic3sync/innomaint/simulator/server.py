"""A local stand-in for the Innomaint asset-detail API: deterministic data, fault knobs, stats.

It is a real HTTP/1.1 server with keep-alive (stdlib ThreadingHTTPServer), so the client under
test goes through the same sockets, headers and timeouts as against Innomaint.

Fault specs are in faults.py, the answers in payloads.py."""

from __future__ import annotations

import contextlib
import io
import json
import select
import signal
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from ic3sync.innomaint.simulator.faults import TRANSIENT_KINDS, SimulatorConfig
from ic3sync.innomaint.simulator.payloads import (
    DATA_FAULTS,
    FAULT_STATUS,
    MAINTENANCE_HTML,
    echo_token_body,
    json_bytes,
    ok_body,
    oversized_parts,
)

_FILLER = b"x" * 65536

ENDPOINT_PATH = "/api/public/api/restapicontroller/assetmanagement/getAssetIDDetailByAssetID"

# -- stats -------------------------------------------------------------------------------------


class _Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.per_id: Counter[str] = Counter()
            self.faults: Counter[str] = Counter()
            self.fault_hits: Counter[str] = Counter()  # per id, for `times`
            self.in_flight = 0
            self.max_in_flight = 0
            self.first_start: float | None = None
            self.last_start: float | None = None
            self.min_gap_s: float | None = None

    def begin(self, arrived: float | None = None) -> None:
        """A request starts: at `arrived` (monotonic) when the kernel stamped its arrival, else
        now."""
        now = time.monotonic() if arrived is None else arrived
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.last_start is not None:
                gap = now - self.last_start
                self.min_gap_s = gap if self.min_gap_s is None else min(self.min_gap_s, gap)
            else:
                self.first_start = now
            self.last_start = now

    def end(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def asked(self, serialnumber: str, fault: dict[str, Any] | None) -> str | None:
        """Count a request for an id; the fault kind to serve for it now, if any."""
        with self._lock:
            self.per_id[serialnumber] += 1
            if fault is None:
                return None
            kind = fault["kind"]
            if kind in TRANSIENT_KINDS and self.fault_hits[serialnumber] >= fault["times"]:
                return None
            self.fault_hits[serialnumber] += 1
            self.faults[kind] += 1
            return str(kind)

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "per_id": dict(self.per_id),
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "min_gap_ms": None if self.min_gap_s is None else self.min_gap_s * 1000.0,
                # From the first request's start to the last's, on the vendor's clock: how fast a
                # client goes through its assets, whatever it does before and after.
                "span_ms": (
                    None
                    if self.first_start is None or self.last_start is None
                    else (self.last_start - self.first_start) * 1000.0
                ),
                "faults": dict(self.faults),
            }


# -- arrival stamps ----------------------------------------------------------------------------

# Linux's SO_TIMESTAMPNS (and SCM_TIMESTAMPNS, the same number): the kernel stamps each segment
# as it arrives. Python's socket module does not name it.
_SO_TIMESTAMPNS = 35 if sys.platform == "linux" else None
_TIMESPEC = struct.Struct("@qq")


class _StampedReader(io.RawIOBase):
    """A connection's reads, each with the time its bytes arrived as the kernel stamped it.

    The gap between two requests' starts is the figure a rate limit is about. Stamped by the
    handler thread it would carry that thread's own wake-up and parsing (milliseconds on a busy
    machine, either way); the kernel's stamp is when the request reached this host."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.arrived: float | None = None  # monotonic, of the latest read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size, ancillary, _flags, _addr = self._sock.recvmsg_into([buffer], 64)
        stamp = None
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= 16:
                seconds, nanoseconds = _TIMESPEC.unpack_from(data)
                stamp = seconds + nanoseconds / 1e9
        if size:
            # The stamp is on the realtime clock: its age, taken from that clock now, is
            # carried over to the monotonic one the stats use.
            now = time.monotonic()
            self.arrived = now if stamp is None else now - max(0.0, time.time() - stamp)
        return size


def _stamp_arrivals(sock: socket.socket) -> bool:
    """Whether the kernel now stamps what arrives on `sock`. Set on the listening socket, every
    connection it accepts inherits it from the start: a request that arrives before the
    connection's thread runs is stamped too."""
    if _SO_TIMESTAMPNS is None:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


# -- the server --------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)
        self.arrival_stamps = _stamp_arrivals(self.socket)

    def close_connections(self) -> None:
        # Idle keep-alive connections would otherwise keep their handler threads reading.
        with self.connections_lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; without TCP_NODELAY the second waits for an ACK.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.stamped: _StampedReader | None = None
        if self.server.arrival_stamps:
            self.stamped = _StampedReader(self.connection)
            plain, self.rfile = self.rfile, io.BufferedReader(self.stamped)
            plain.close()  # the file only; the connection stays open
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):  # the client went away; nothing left to flush to
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # thousands of requests a second: access logs would drown the caller's output

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/__stats":
            self._send(200, json_bytes(self.server.simulator.stats()))
        else:
            self._send(405, json_bytes({"status": False, "message": "use POST"}))

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] == "/__reset":
            self._read_body()
            self.server.simulator.reset()
            self._send(200, json_bytes({"status": True}))
            return
        stats = self.server.simulator._stats
        stats.begin(None if self.stamped is None else self.stamped.arrived)
        try:
            self._answer(self.server.simulator.config, stats)
        except OSError:
            self.close_connection = True  # the client hung up mid-answer
        finally:
            stats.end()

    def _answer(self, config: SimulatorConfig, stats: _Stats) -> None:
        body = self._read_body()
        if body is None:
            return
        if self.headers.get("Authorization", "") != f"Bearer {config.token}":
            stats.count_fault("wrong_token")
            self._send(401, json_bytes({"status": False, "message": "Unauthenticated."}))
            return
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        serialnumber = request.get("serialnumber") if isinstance(request, dict) else None
        if not isinstance(serialnumber, str) or not serialnumber:
            stats.count_fault("missing_serialnumber")
            message = 'the body must be JSON with a "serialnumber"'
            self._send(400, json_bytes({"status": False, "message": message}))
            return
        fault = config.fault_for(serialnumber)
        kind = stats.asked(serialnumber, fault)
        if config.latency_ms > 0:
            time.sleep(config.latency_ms / 1000.0)
        if kind is None:
            self._send(200, ok_body(serialnumber))
            return
        assert fault is not None
        self._serve_fault(kind, fault, serialnumber)

    def _serve_fault(self, kind: str, fault: dict[str, Any], serialnumber: str) -> None:
        if kind in FAULT_STATUS:
            status, message = FAULT_STATUS[kind]
            headers = {"Retry-After": str(fault["retry_after"])} if kind == "rate_limited" else {}
            body = {"status": False, "response_code": status, "message": message}
            self._send(status, json_bytes(body), headers=headers)
        elif kind == "status_false":
            body = {
                "status": False,
                "response_code": 200,
                "message": f"No asset found for serial number {serialnumber}",
                "response": {},
            }
            self._send(200, json_bytes(body))
        elif kind == "non_json":
            self._send(200, MAINTENANCE_HTML, content_type="text/html; charset=utf-8")
        elif kind in DATA_FAULTS:
            self._send(200, json_bytes(DATA_FAULTS[kind](serialnumber)))
        elif kind == "drip":
            self._drip(ok_body(serialnumber), fault["interval_s"])
        elif kind == "echo_token":
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            self._send(200, echo_token_body(serialnumber, token))
        elif kind == "oversized":
            parts = oversized_parts(serialnumber, fault["mb"])
            self._send_oversized(*parts, declare_length=bool(fault["length"]))
        elif kind == "slow":
            time.sleep(fault["ms"] / 1000.0)
            self._send(200, ok_body(serialnumber))
        elif kind == "timeout":
            if self._client_left_within(fault["ms"] / 1000.0):
                self.close_connection = True
            else:
                self._send(200, ok_body(serialnumber))
        elif kind == "reset":
            # Linger 0 makes close() send RST instead of FIN: a reset, not a clean hang-up.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        else:
            raise AssertionError(f"fault kind without a handler: {kind}")

    def _drip(self, body: bytes, interval_s: float) -> None:
        self._headers(200, len(body), "application/json", None)
        self.wfile.flush()
        for index in range(len(body)):
            self.wfile.write(body[index : index + 1])
            self.wfile.flush()
            time.sleep(interval_s)

    def _send_oversized(
        self, head: bytes, filler: int, tail: bytes, *, declare_length: bool
    ) -> None:
        if declare_length:
            self._headers(200, len(head) + filler + len(tail), "application/json", None)
        else:
            # Without a length the body ends when the connection does.
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
        self.wfile.write(head)
        while filler > 0:
            chunk = _FILLER[: min(filler, len(_FILLER))]
            self.wfile.write(chunk)
            filler -= len(chunk)
        self.wfile.write(tail)

    def _client_left_within(self, seconds: float) -> bool:
        """Wait up to `seconds`; True as soon as the client closes the connection.

        A client that timed out hangs up; noticing it ends this request, so the stats' in-flight
        count is not inflated by answers nobody waits for.
        """
        readable, _, _ = select.select([self.connection], [], [], seconds)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            self._send(411, json_bytes({"status": False, "message": "Content-Length required"}))
            return None
        return self.rfile.read(int(length))

    def _send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._headers(status, len(body), content_type, headers)
        self.wfile.write(body)

    def _headers(
        self, status: int, length: int, content_type: str, headers: Mapping[str, str] | None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()


class Simulator:
    """The simulator on (host, port) in a background thread; port 0 picks a free port."""

    def __init__(self, config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self.host = host
        self._requested_port = port
        self._stats = _Stats()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The endpoint to use as INNOMAINT_API_URL."""
        return self.base_url + ENDPOINT_PATH

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"innomaint-simulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def stats(self) -> dict[str, Any]:
        return self._stats.snapshot()

    def reset(self) -> None:
        """Clear the stats, and with them how often each transient fault was served."""
        self._stats.reset()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "stopped"
        return f"Simulator({where}, {self.config!r})"


def serve_forever(config: SimulatorConfig, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, printing the URL to use as INNOMAINT_API_URL."""
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        with Simulator(config, host, port) as simulator:
            print(f"Innomaint simulator listening on {simulator.url}", flush=True)
            # A timed wait keeps the main thread returning to the interpreter, where signal
            # handlers run.
            while not stop.wait(0.5):
                pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
