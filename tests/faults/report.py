"""Render faults/results.json as the Markdown table of docs/reliability.md:
`python -m tests.faults.report [faults/results.json]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

COLUMNS = ("recovered", "logged", "duplicates", "half_written", "leaks", "tracebacks")
HEADER = ("recovered", "logged", "duplicates", "half-written", "leaks", "tracebacks")


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| fault family | faults injected (per kind) | " + " | ".join(HEADER) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in HEADER) + " |",
    ]
    for name, fam in report["families"].items():
        kinds = ", ".join(f"{kind} {n}" for kind, n in fam["injected"].items())
        cells = " | ".join(str(fam[c]) for c in COLUMNS)
        lines.append(f"| {name} | **{fam['injected_total']}**: {kinds} | {cells} |")
    totals = report["totals"]
    cells = " | ".join(f"**{totals[c]}**" for c in COLUMNS)
    lines.append(f"| **all** | **{totals['injected']}** | {cells} |")
    return "\n".join(lines)


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "faults/results.json")
    print(markdown(json.loads(path.read_text())))
