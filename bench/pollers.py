#!/usr/bin/env python3
"""Operators watching a run: CLIENTS threads, each logged in to the dashboard with the admin
token, each polling `GET /api/admin/cmms/runs` and the newest run's page (`/runs/{id}`, whole
the first time, then its live part, as the page's own script asks for it) once every PERIOD
seconds. A process of its own, so that its work never shares a GIL with what it loads.
Runs until its standard input closes, then prints what it saw as one line of JSON.

    python bench/pollers.py --base http://127.0.0.1:PORT --token ADMIN_TOKEN [--clients 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from typing import Any

import httpx


class Poller(threading.Thread):
    def __init__(self, base: str, token: str, period_s: float, first_s: float) -> None:
        super().__init__(daemon=True)
        self.base, self.token, self.period_s, self.first_s = base, token, period_s, first_s
        self.latencies_ms: list[float] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def _get(self, http: httpx.Client, path: str, **headers: str) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = http.get(path, headers=headers)
        except httpx.HTTPError as exc:
            self.failures.append(f"{path}: {exc!r}")
            return None
        self.latencies_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            self.failures.append(f"{path}: HTTP {response.status_code}")
            return None
        return response

    def run(self) -> None:
        bearer = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.base, timeout=30) as http:
            login = http.post(
                "/login", data={"token": self.token, "next": "/"}, headers={"Origin": self.base}
            )
            if login.status_code != 303:
                self.failures.append(f"/login: HTTP {login.status_code}")
                return
            seen: set[int] = set()
            due = time.monotonic() + self.first_s
            while not self.stop.wait(max(0.0, due - time.monotonic())):
                due += self.period_s
                runs = self._get(http, "/api/admin/cmms/runs?limit=5", **bearer)
                items = runs.json()["items"] if runs is not None else []
                if not items:
                    continue
                run_id = int(items[0]["run_id"])
                if run_id in seen:
                    self._get(http, f"/runs/{run_id}", **{"X-Live": "1"})
                else:
                    seen.add(run_id)
                    self._get(http, f"/runs/{run_id}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--period-s", type=float, default=1.0)
    a = ap.parse_args()
    # Spread over one period, as people who opened the page at different moments.
    pollers = [
        Poller(a.base, a.token, a.period_s, a.period_s * i / a.clients) for i in range(a.clients)
    ]
    for p in pollers:
        p.start()
    print("polling", flush=True)
    sys.stdin.read()
    for p in pollers:
        p.stop.set()
    for p in pollers:
        p.join(timeout=30)
    latencies = sorted(x for p in pollers for x in p.latencies_ms)
    failures = [f for p in pollers for f in p.failures]
    out: dict[str, Any] = {
        "clients": a.clients,
        "period_s": a.period_s,
        "requests": len(latencies) + len(failures),
        "failed": len(failures),
        "failures": failures[:5],
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99)], 1) if latencies else None,
    }
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
