"""A local stand-in for the Innomaint asset-detail API: deterministic data, fault knobs, stats.

It is a real HTTP/1.1 server with keep-alive (stdlib ThreadingHTTPServer), so the client under
test goes through the same sockets, headers and timeouts as against Innomaint.

Fault specs are in faults.py, the answers in payloads.py, the handling of each request in
handler.py and what is measured of the requests in stats.py."""

from __future__ import annotations

import signal
import threading
from types import TracebackType
from typing import Any, Self

from ic3sync.innomaint.simulator.drift import Drift
from ic3sync.innomaint.simulator.faults import SimulatorConfig
from ic3sync.innomaint.simulator.handler import SimulatorHTTPServer
from ic3sync.innomaint.simulator.payloads import json_bytes
from ic3sync.innomaint.simulator.stats import RequestStats

ENDPOINT_PATH = "/api/public/api/restapicontroller/assetmanagement/getAssetIDDetailByAssetID"
# The simulator's own control paths, beside the one endpoint it stands in for.
CONTROL_PATHS = ("/__stats", "/__reset", "/__release", "/__sim/drift")


class Simulator:
    """The simulator on (host, port) in a background thread; port 0 picks a free port."""

    def __init__(
        self, config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0, drift: int = 0
    ) -> None:
        self.config = config
        # `drift` assets change values on each pass over the register, drawn from the seed.
        self.drift = Drift(drift, config.seed)
        self.host = host
        self._requested_port = port
        self.request_stats = RequestStats()
        # Set by POST /__release: the `held` assets are answered from then on.
        self.released = threading.Event()
        self._server: SimulatorHTTPServer | None = None
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
        self._server = SimulatorHTTPServer((self.host, self._requested_port), self)
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

    @staticmethod
    def knows(path: str) -> bool:
        """Whether `path` is the endpoint or a control path: anything else is a 404, so a
        wrong INNOMAINT_API_URL fails a rehearsal as it would fail against Innomaint."""
        return path == ENDPOINT_PATH or path in CONTROL_PATHS

    @staticmethod
    def not_found_body(path: str) -> bytes:
        message = f"no such endpoint: {path}; the asset detail is at {ENDPOINT_PATH}"
        return json_bytes({"status": False, "response_code": 404, "message": message})

    def answer(self, serialnumber: str) -> bytes:
        """The body of a plain answer for an id, with the values drift gave it."""
        return self.drift.body(serialnumber)

    def drift_now(self, count: int | None = None) -> dict[str, Any]:
        """POST /__sim/drift: change `count` assets (default the --drift count, or 1) now."""
        changed = self.drift.drift(count if count is not None else self.drift.per_pass or 1)
        return {"status": True, "drifted": changed}

    def stats(self) -> dict[str, Any]:
        return self.request_stats.snapshot()

    def reset(self) -> None:
        """Clear the stats, and with them how often each transient fault was served."""
        self.request_stats.reset()

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


def serve_forever(config: SimulatorConfig, host: str, port: int, drift: int = 0) -> None:
    """Serve until SIGINT or SIGTERM, printing the URL to use as INNOMAINT_API_URL."""
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        with Simulator(config, host, port, drift) as simulator:
            print(f"Innomaint simulator listening on {simulator.url}", flush=True)
            # A timed wait keeps the main thread returning to the interpreter, where signal
            # handlers run.
            while not stop.wait(0.5):
                pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
