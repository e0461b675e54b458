"""A TCP proxy in a thread, between a process and its database: for the fault tests, which cut
the database away from a process under test, and for the benchmark, which puts a network's delay
between the sync and PostgreSQL. Not used by the sync itself.

`cut()` drops every open connection (both ends see a reset) and refuses new ones until
`restore()`; the real server is never touched, so other tests sharing it carry on.
`delay_s` holds every chunk that long in each direction: a database across a network.
"""

from __future__ import annotations

import contextlib
import queue
import select
import socket
import struct
import threading
import time
from types import TracebackType
from typing import Self


class TcpProxy:
    def __init__(
        self, target_port: int, target_host: str = "127.0.0.1", *, delay_s: float = 0.0
    ) -> None:
        self.target = (target_host, target_port)
        self.delay_s = delay_s
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._up = threading.Event()
        self._up.set()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self.connections = 0
        self.cuts = 0
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self.cut()
        self._thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def up(self) -> bool:
        return self._up.is_set()

    def cut(self) -> None:
        """Reset every connection through the proxy and refuse new ones."""
        self._up.clear()
        self.cuts += 1
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _reset(sock)

    def restore(self) -> None:
        self._up.set()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._up.is_set():
                _reset(client)  # a refused connection, as from a host that is down
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                # The timeout was for connecting: a connection may then sit idle for as long
                # as it lasts (a run's lock connection does), never cut by the proxy alone.
                server.settimeout(None)
                for sock in (client, server):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._pairs.append((client, server))
                self.connections += 1
            if self.delay_s:
                for src, dst in ((client, server), (server, client)):
                    lane: queue.Queue[tuple[float, bytes]] = queue.Queue()
                    threading.Thread(target=self._read, args=(src, lane), daemon=True).start()
                    threading.Thread(
                        target=self._deliver, args=(lane, dst, (client, server)), daemon=True
                    ).start()
            else:
                threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _read(self, src: socket.socket, lane: queue.Queue[tuple[float, bytes]]) -> None:
        # Each chunk is stamped when it arrives and delivered delay_s later, so chunks sent
        # together stay together: latency, as on a wire, not a delay per chunk in series.
        try:
            while data := src.recv(65536):
                lane.put((time.monotonic() + self.delay_s, data))
        except OSError:
            pass
        lane.put((0.0, b""))

    def _deliver(
        self,
        lane: queue.Queue[tuple[float, bytes]],
        dst: socket.socket,
        pair: tuple[socket.socket, socket.socket],
    ) -> None:
        try:
            while True:
                due, data = lane.get()
                if not data:
                    return
                if (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
                dst.sendall(data)
        except OSError:
            return
        finally:
            for sock in pair:
                _reset(sock)
            with self._lock:
                if pair in self._pairs:
                    self._pairs.remove(pair)

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 0.5)
                if self._closing.is_set():
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            _reset(a)
            _reset(b)
            with self._lock:
                if (a, b) in self._pairs:
                    self._pairs.remove((a, b))


def _reset(sock: socket.socket) -> None:
    # Linger 0 turns close() into a RST: the peer sees the connection die, not end politely.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # shutdown() wakes a thread of this proxy blocked reading the socket; close() alone would not.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
