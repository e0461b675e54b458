"""The simulator's HTTP side: the threading server and the handler that answers each request,
with the asset's payload or the fault it was given."""

from __future__ import annotations

import contextlib
import io
import json
import select
import socket
import struct
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from ic3sync.innomaint.simulator.faults import SimulatorConfig
from ic3sync.innomaint.simulator.hostile import HOSTILE_VALUE_FAULTS, hostile_values_body
from ic3sync.innomaint.simulator.payloads import (
    DATA_FAULTS,
    FAULT_STATUS,
    MAINTENANCE_HTML,
    echo_token_body,
    json_bytes,
    ok_body,
    oversized_parts,
)
from ic3sync.innomaint.simulator.stats import RequestStats, StampedReader, stamp_arrivals

if TYPE_CHECKING:
    from ic3sync.innomaint.simulator.server import Simulator

_FILLER = b"x" * 65536


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, SimulatorRequestHandler)
        self.arrival_stamps = stamp_arrivals(self.socket)

    def close_connections(self) -> None:
        # Idle keep-alive connections would otherwise keep their handler threads reading.
        with self.connections_lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class SimulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; without TCP_NODELAY the second waits for an ACK.
    disable_nagle_algorithm = True
    server: SimulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.stamped: StampedReader | None = None
        if self.server.arrival_stamps:
            self.stamped = StampedReader(self.connection)
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

    def _unknown_path(self) -> bool:
        path = self.path.split("?", 1)[0]
        if self.server.simulator.knows(path):
            return False
        self._send(404, self.server.simulator.not_found_body(path))
        return True

    def do_GET(self) -> None:
        if self._unknown_path():
            return
        if self.path.split("?", 1)[0] == "/__stats":
            self._send(200, json_bytes(self.server.simulator.stats()))
        else:
            self._send(405, json_bytes({"status": False, "message": "use POST"}))

    def do_POST(self) -> None:
        if self._unknown_path():
            self.close_connection = True  # its body is left unread
            return
        if self.path.split("?", 1)[0] == "/__sim/drift":
            self._drift()
            return
        if self.path.split("?", 1)[0] == "/__reset":
            self._read_body()
            self.server.simulator.reset()
            self._send(200, json_bytes({"status": True}))
            return
        if self.path.split("?", 1)[0] == "/__release":
            self._read_body()
            self.server.simulator.released.set()
            self._send(200, json_bytes({"status": True}))
            return
        stats = self.server.simulator.request_stats
        stats.begin(None if self.stamped is None else self.stamped.arrived)
        try:
            self._answer(self.server.simulator.config, stats)
        except OSError:
            self.close_connection = True  # the client hung up mid-answer
        finally:
            stats.end()

    def _drift(self) -> None:
        body = self._read_body()
        if body is None:
            return
        try:
            count = json.loads(body or b"{}").get("count")
        except (ValueError, AttributeError):
            count = None
        if count is not None and (not isinstance(count, int) or count < 0):
            self._send(400, json_bytes({"status": False, "message": "count: a whole number"}))
            return
        self._send(200, json_bytes(self.server.simulator.drift_now(count)))

    def _answer(self, config: SimulatorConfig, stats: RequestStats) -> None:
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
            self._send(200, self.server.simulator.answer(serialnumber))
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
        elif kind in HOSTILE_VALUE_FAULTS:
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            self._send(200, hostile_values_body(fault, serialnumber, token))
        elif kind == "oversized":
            parts = oversized_parts(serialnumber, fault["mb"])
            self._send_oversized(*parts, declare_length=bool(fault["length"]))
        elif kind == "slow":
            time.sleep(fault["ms"] / 1000.0)
            self._send(200, ok_body(serialnumber))
        elif kind == "held":
            self.server.simulator.released.wait(fault["max_s"])
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
