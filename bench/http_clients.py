"""What one Innomaint request costs on each HTTP stack, against the real simulator (its own
process, no added latency): the same keep-alive JSON POST with the bearer token, on one
connection, a few thousand times per repeat. Prints a table: the median over the repeats of the
wall time and of this process's CPU time per request. The simulator's own work is in the wall
figure and the same for every row; the CPU figure is the client's alone.

    python bench/http_clients.py [--requests 3000] [--repeats 5] [--only NAME,NAME]
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpcore
import httpx
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import TOKEN, SimulatorProcess
from ic3sync.innomaint.client import InnomaintClient

SERIAL = "Bench Site 0001_PUMP_000001"
BODY = json.dumps({"serialnumber": SERIAL}).encode()
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Accept-Encoding": "identity",
    "User-Agent": "ic3sync",
}
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]

Request = Callable[[], bytes]
# A stack: given the simulator's URL, one request and what to close afterwards.
Stack = Callable[[str], tuple[Request, Callable[[], None]]]


def httpx_default(url: str) -> tuple[Request, Callable[[], None]]:
    client = httpx.Client(headers=HEADERS, timeout=15, follow_redirects=False)
    return lambda: client.post(url, content=BODY).content, client.close


def httpx_tuned(url: str) -> tuple[Request, Callable[[], None]]:
    transport = httpx.HTTPTransport(socket_options=NODELAY)
    client = httpx.Client(
        transport=transport, headers=HEADERS, timeout=15, follow_redirects=False, trust_env=False
    )
    return lambda: client.post(url, content=BODY).content, client.close


def httpcore_pool(url: str) -> tuple[Request, Callable[[], None]]:
    pool = httpcore.ConnectionPool(socket_options=NODELAY, max_connections=1)
    headers = [(k.encode(), v.encode()) for k, v in HEADERS.items()]
    headers.append((b"Content-Length", str(len(BODY)).encode()))

    def request() -> bytes:
        return pool.request("POST", url, headers=headers, content=BODY).content

    return request, pool.close


def urllib3_pool(url: str) -> tuple[Request, Callable[[], None]]:
    import urllib3

    parts = urlsplit(url)
    pool = urllib3.HTTPConnectionPool(
        parts.hostname, parts.port, maxsize=1, retries=False, socket_options=NODELAY
    )

    def request() -> bytes:
        return pool.urlopen("POST", parts.path, body=BODY, headers=HEADERS, redirect=False).data

    return request, pool.close


def http_client(url: str) -> tuple[Request, Callable[[], None]]:
    parts = urlsplit(url)
    # http.client sets TCP_NODELAY on the sockets it opens.
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)

    def request() -> bytes:
        conn.request("POST", parts.path, body=BODY, headers=HEADERS)
        return conn.getresponse().read()

    return request, conn.close


def innomaint_client(url: str) -> tuple[Request, Callable[[], None]]:
    """The whole fetch of InnomaintClient, its answer parsed: what the sync pays per asset."""
    client = InnomaintClient(url=url, token=SecretStr(TOKEN), rate_ms=0)
    return lambda: client.fetch(SERIAL).response.response.data.value("serialnumber"), client.close


def innomaint_client_httpx(url: str) -> tuple[Request, Callable[[], None]]:
    """The same fetch over a given httpx transport (TCP_NODELAY set on its sockets)."""
    transport = httpx.HTTPTransport(socket_options=NODELAY)
    client = InnomaintClient(url=url, token=SecretStr(TOKEN), rate_ms=0, transport=transport)
    return lambda: client.fetch(SERIAL).response.response.data.value("serialnumber"), client.close


STACKS: dict[str, Stack] = {
    "httpx.Client (defaults)": httpx_default,
    "httpx.Client (tuned)": httpx_tuned,
    "httpcore.ConnectionPool": httpcore_pool,
    "urllib3.HTTPConnectionPool": urllib3_pool,
    "http.client.HTTPConnection": http_client,
    "InnomaintClient.fetch": innomaint_client,
    "InnomaintClient.fetch (httpx transport)": innomaint_client_httpx,
}


def measure(request: Request, n: int) -> tuple[float, float]:
    """Wall and CPU seconds of n requests."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        request()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", help="comma-separated names of the rows to measure")
    args = parser.parse_args()
    names = [n for n in STACKS if args.only is None or n in args.only.split(",")]
    walls: dict[str, list[float]] = {n: [] for n in names}
    cpus: dict[str, list[float]] = {n: [] for n in names}
    with SimulatorProcess() as sim:
        opened = {name: STACKS[name](sim.url) for name in names}
        try:
            for name, (request, _) in opened.items():
                if not request():
                    raise RuntimeError(f"{name}: an empty answer")
                measure(request, 200)  # warm up: connection open, code paths loaded
            # Interleaved, so a change of the machine's load falls on every stack alike.
            for _ in range(args.repeats):
                for name, (request, _) in opened.items():
                    wall, cpu = measure(request, args.requests)
                    walls[name].append(wall / args.requests)
                    cpus[name].append(cpu / args.requests)
        finally:
            for _, close in opened.values():
                close()
    print(f"{args.requests} requests x {args.repeats} repeats, median per request (ms)")
    print(f"{'stack':<42}{'wall':>8}{'client CPU':>12}")
    for name in names:
        wall = statistics.median(walls[name]) * 1000
        cpu = statistics.median(cpus[name]) * 1000
        print(f"{name:<42}{wall:>8.3f}{cpu:>12.3f}")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
