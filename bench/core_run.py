#!/usr/bin/env python3
"""ic3sync's sync without its extras, as a process of its own: run_sync with the client the CLI
builds, change detection off, no notifications, no progress. bench/run.py sets it beside
`ic3sync sync --json` (everything on) to show what the extras cost. Reads the same environment
as the CLI (IC3_DATABASE_URL, INNOMAINT_*) and prints the run's result as JSON."""

from __future__ import annotations

import json
import sys
import threading

from ic3sync import bootstrap
from ic3sync.sync import run_options, run_sync


def main() -> int:
    settings = bootstrap.load_settings()
    wiring = bootstrap.bootstrap(settings)
    with wiring.clients(cancel=threading.Event()) as client:
        result = run_sync(
            wiring.engine,
            client,
            trigger="cli",
            detect_changes=False,
            **run_options(settings),
        )
    print(json.dumps(result.as_dict()))
    return 0 if result.status == "completed" and not result.failed else 1


if __name__ == "__main__":
    sys.exit(main())
