"""What a command of the CLI loads: every `ic3sync` command pays its imports before it starts,
and FastAPI (with Starlette and the app's routes) is for `ic3sync serve` alone."""

from __future__ import annotations

import subprocess
import sys


def _loaded_after(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(out.stdout.split())


def test_the_command_line_does_not_load_the_web_framework_until_it_serves():
    loaded = _loaded_after("import ic3sync.cli")
    assert "ic3sync.cli" in loaded
    assert {"fastapi", "starlette", "ic3sync.api.app"}.isdisjoint(loaded)


def test_the_service_still_finds_its_app_where_it_always_was():
    loaded = _loaded_after("from ic3sync.api import create_app\nassert callable(create_app)")
    assert {"fastapi", "ic3sync.api.app"} <= loaded
