"""What the simulator measures of the requests it serves: counts per id and per fault, how many
were in flight at once, and the least gap between two requests' starts, each start taken from
the time the kernel stamped the request's arrival where it can."""

from __future__ import annotations

import io
import socket
import struct
import sys
import threading
import time
from collections import Counter
from typing import Any

from ic3sync.innomaint.simulator.faults import TRANSIENT_KINDS


class RequestStats:
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


class StampedReader(io.RawIOBase):
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


def stamp_arrivals(sock: socket.socket) -> bool:
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
