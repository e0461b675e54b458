"""Guesses at the admin token, slowed down per client address: the dashboard's login and the
admin API's bearer check take the same secret, so they count wrong tokens in one throttle."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

from fastapi import Request

# Wrong tokens a client may give before it must wait; each further one doubles the wait.
FREE_FAILURES = 5
MAX_WAIT_S = 15 * 60
# Clients remembered at once: enough for any office, too few to exhaust memory.
MAX_CLIENTS = 10_000


class TokenThrottle:
    """Per client: FREE_FAILURES wrong tokens, then a wait that doubles with each failure
    (up to MAX_WAIT_S); a right token clears the count. While a client waits, none of its
    tokens is tried, the right one included: an answer that differed would tell a guess."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # client -> (failures, not before (monotonic))
        self._clients: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def wait_s(self, client: str) -> int:
        """Seconds the client must still wait before its next try; 0 when it may try now."""
        with self._lock:
            _, until = self._clients.get(client, (0, 0.0))
        return max(0, math.ceil(until - time.monotonic()))

    def failed(self, client: str) -> int:
        """Count a failure; the seconds the client must now wait."""
        with self._lock:
            failures, _ = self._clients.pop(client, (0, 0.0))
            failures += 1
            over = failures - FREE_FAILURES
            wait = 0 if over <= 0 else min(MAX_WAIT_S, 2**over)
            self._clients[client] = (failures, time.monotonic() + wait)
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)
        return wait

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)


def token_throttle(request: Request) -> TokenThrottle:
    """The app's one throttle (create_app makes it)."""
    throttle: TokenThrottle = request.app.state.token_throttle
    return throttle


def client_address(request: Request) -> str:
    """The client's address: the connection's, or X-Forwarded-For's when uvicorn trusts the
    proxy that sent it (IC3_TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"
