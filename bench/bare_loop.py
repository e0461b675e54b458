#!/usr/bin/env python3
"""The bare loop: the least any sequential client must do per asset on this machine, the floor
that ic3sync's wall time is measured against (bench/run.py).

Per asset: wait until R after the previous request's start (no margin), one keep-alive HTTP POST
with TCP_NODELAY (http.client), read the body; with --db, one trivial durable commit (an
autocommit one-row INSERT: one round trip and one WAL flush on PostgreSQL, one WAL append on
SQLite with synchronous=NORMAL). No JSON parsing unless --parse, no mapping, no other SQL.

    python bench/bare_loop.py --url URL --token T --register ids.csv [--rate-ms R] [--db URL]
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import socket
import sqlite3
import sys
import time
import urllib.parse
from collections.abc import Callable


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--register", required=True, help="a CSV with a cmms_asset_id column")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--rate-ms", type=float, default=0)
    ap.add_argument("--db", default="", help="postgresql://... or sqlite:///path")
    ap.add_argument("--parse", action="store_true", help="also decode each answer's JSON")
    a = ap.parse_args()

    with open(a.register, newline="", encoding="utf-8") as f:
        ids = [row["cmms_asset_id"] for row in csv.DictReader(f)]
    if a.limit:
        ids = ids[: a.limit]

    u = urllib.parse.urlsplit(a.url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=15)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + a.token}

    commit: Callable[[str], object] | None = None
    if a.db.startswith("sqlite:"):
        db = sqlite3.connect(a.db.split("sqlite:///", 1)[1], isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS bare_commit (id INTEGER PRIMARY KEY, v TEXT)")
        cur = db.cursor()

        def commit(v: str) -> object:
            return cur.execute("INSERT INTO bare_commit (v) VALUES (?)", (v,))
    elif a.db:
        import psycopg

        pg = psycopg.connect(a.db, autocommit=True, prepare_threshold=0)
        pg.execute("CREATE TABLE IF NOT EXISTS bare_commit (id BIGSERIAL PRIMARY KEY, v TEXT)")
        pcur = pg.cursor()

        def commit(v: str) -> object:
            return pcur.execute("INSERT INTO bare_commit (v) VALUES (%s)", (v,))

    rate = a.rate_ms / 1000.0
    start = time.monotonic()
    last_start = None
    for serial in ids:
        if last_start is not None and rate > 0:
            due = last_start + rate
            while (rem := due - time.monotonic()) > 0:
                time.sleep(rem)
        last_start = time.monotonic()
        body = json.dumps({"serialnumber": serial}).encode()
        conn.request("POST", u.path, body=body, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        if resp.status != 200:
            raise SystemExit(f"HTTP {resp.status} for {serial!r}")
        if a.parse:
            json.loads(raw)
        if commit is not None:
            commit(serial)
    loop_s = time.monotonic() - start
    print(json.dumps({"total": len(ids), "success": len(ids), "loop_s": loop_s}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
