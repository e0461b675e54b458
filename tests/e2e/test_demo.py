"""`ic3sync demo` as a newcomer runs it, output piped to a file: it syncs the sample register,
every line is whole, and its closing hints lead to the simulator, never the real Innomaint."""

from __future__ import annotations

from pathlib import Path

from ic3sync.config import DEFAULT_API_URL
from ic3sync.db.engine import make_engine
from ic3sync.demo import try_it_commands
from tests.helpers import table_rows
from tests.procs import base_env, run_cli

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_demo_runs_and_its_hints_lead_to_the_simulator(tmp_path):
    env = base_env(f"sqlite:///{tmp_path / 'demo.db'}")
    env.pop("INNOMAINT_API_TOKEN")
    # A company proxy in the environment (here one that answers nothing) is not for the
    # demo's simulator on this machine.
    env.update(HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="")
    proc = run_cli("demo", env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any(
        line.startswith("2. imported examples/asset_register.xlsx (sheet ") for line in lines
    )
    assert "Sync run 1: completed" in proc.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        run = table_rows(engine, "cmms_sync_run")[0]
    finally:
        engine.dispose()
    assert (run["trigger"], run["scope"]) == ("demo", "full")
    hints = lines[
        lines.index(
            'Try the service against the simulator (README.md, "Try it against the simulator"):'
        )
        + 1 :
    ]
    assert [line.strip() for line in hints] == try_it_commands()
    assert DEFAULT_API_URL.split("/api/")[0] not in proc.stdout
    assert "--only-failed" not in proc.stdout


def test_the_readme_gives_the_same_three_commands():
    text = README.read_text()
    section = text[text.index("## Try it against the simulator") :]
    start = section.index("```console\n") + len("```console\n")
    block = section[start : section.index("\n```", start)]
    assert block.splitlines() == try_it_commands()
