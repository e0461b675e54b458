"""Ends the request in flight when its attempt's deadline passes or the run is cancelled.

httpx bounds each read by a timeout fixed when the request starts, and the client checks the
deadline and the cancel event between the chunks it reads. Neither ends a read that waits: a
vendor that says nothing after its head, or drips its head, would hold the run past the
deadline, and a cancel until the read's timeout. The watch shuts the connection down (httpcore's
documented `network_stream` and its `get_extra_info`), which wakes that read at once.

Both learn of a request through httpx's trace extension: `Exchange` is the trace of one request,
which hands the watch its connection and tells the client when the request had left."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

Cause = Literal["deadline", "cancel"]
# shutdown()'s "both directions" (SHUT_RDWR).
_BOTH_WAYS = 2


class Watch:
    def __init__(self, cancel: threading.Event) -> None:
        self._cancel = cancel
        self._lock = threading.Lock()
        self._armed = threading.Condition(self._lock)
        self._deadline: float | None = None
        self._stream: Any = None
        self._closed = False
        self.fired: Cause | None = None
        self._thread = threading.Thread(target=self._run, name="innomaint-watch", daemon=True)
        self._thread.start()

    def arm(self, deadline: float) -> None:
        with self._lock:
            self._deadline = deadline
            self.fired = None
            self._armed.notify()

    def disarm(self) -> None:
        with self._lock:
            self._deadline = None

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        """httpx's trace: the network stream of each connection opened, the TLS one over the
        TCP one it wraps (which it takes the file descriptor of)."""
        if event.endswith((".connect_tcp.complete", ".start_tls.complete")):
            with self._lock:
                self._stream = info.get("return_value")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._deadline = None
            self._armed.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._deadline is None and not self._closed:
                    self._armed.wait()
                if self._closed:
                    return
                deadline = self._deadline
            assert deadline is not None
            cancelled = self._cancel.wait(max(0.0, deadline - time.monotonic()))
            with self._lock:
                if self._deadline != deadline:  # that attempt is over
                    continue
                self.fired = "cancel" if cancelled else "deadline"
                self._deadline = None
                stream = self._stream
            if stream is not None:
                _shut(stream)


def _shut(stream: Any) -> None:
    connection = stream.get_extra_info("socket")
    if connection is not None:
        with contextlib.suppress(OSError):  # already closed: nothing left to wake
            connection.shutdown(_BOTH_WAYS)


@dataclass(slots=True)
class Exchange:
    """What httpx's trace tells of one request: when the last of it had left (None from a
    transport that sends out of sight), whether a connection was opened for it, and whether its
    answer's head came."""

    watch: Watch
    sent_at: float | None = None
    sent: bool = False
    connected: bool = False
    answered: bool = False

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        self.watch(event, info)
        if event.endswith(".connect_tcp.complete"):
            self.connected = True
        elif event.endswith(".send_request_headers.started"):
            self.sent = True
        elif event.endswith(".send_request_body.complete"):
            # Stamped once the whole request is out: it cannot reach the vendor after this.
            self.sent_at = time.monotonic()
        elif event.endswith(".receive_response_headers.complete"):
            self.answered = True
