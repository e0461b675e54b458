"""The README's "Your first real sync", run as written: its shell block, command by command,
against the simulator, with `.env` made from `.env.example` in the working directory. Only the
placeholders change (the token, the database URL, the API's URL, the serve port), so the front
door cannot drift from what the commands do."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

import httpx
import openpyxl
import pytest
import sqlalchemy as sa

from ic3sync.db.engine import make_engine
from ic3sync.db.schema import asset_master, sync_run
from tests.helpers import TOKEN
from tests.procs import free_port, ic3sync_cmd, simulator_process, stop, wait_http

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Your first real sync"
ASSETS = [
    "Delhi Cantt Naraina_BP_01",
    "Delhi Cantt Naraina_BP_02",
    "Khyala Phase 2_CL_01",
    "Okhla STP Ph4_VFD_01",
    "Sonia Vihar WTP_SLP_04",
]


def readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end != -1 else len(text)]


def fenced(section: str, language: str) -> list[str]:
    """The lines of every ```language block of `section`."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```", section, re.S | re.M)
    return [line for block in blocks for line in block.splitlines()]


def shell_commands() -> list[list[str]]:
    commands = [shlex.split(line, comments=True) for line in fenced(readme_section(), "sh")]
    return [words for words in commands if words]


def env_lines(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if re.match(r"[A-Z0-9_]+=", line))
    return {key: value for key, value in pairs}


def filled_in(example: str, values: dict[str, str]) -> str:
    """`.env.example` with the values a reader would put in, and no placeholder left."""
    lines = []
    for line in example.splitlines():
        key = line.split("=", 1)[0]
        if not line.startswith("#") and "=" in line and key in values:
            line = f"{key}={values[key]}"
        assert line.startswith("#") or "<" not in line, (
            f".env.example has a placeholder this test does not fill in: {line}"
        )
        lines.append(line)
    return "\n".join(lines) + "\n"


def write_register(path: Path) -> None:
    """A register as people keep one: a title row, then headers in their own words."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["IC3 Asset Register - November 2026"])
    sheet.append(["S.No", "Asset ID", "Asset Name", "Customer ID", "Remarks"])
    for number, asset in enumerate(ASSETS, start=1):
        sheet.append([number, asset, f"Pump {number}", 24463, "checked"])
    book.save(path)


def a_clean_environment() -> dict[str, str]:
    """Nothing of the developer's shell: the settings come from `.env` alone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IC3_", "INNOMAINT_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_the_section_runs_the_commands_in_the_order_a_newcomer_needs():
    commands = shell_commands()
    assert commands[0] == ["cp", ".env.example", ".env"]
    assert [words[1] for words in commands[1:]] == ["migrate", "import-assets", "sync", "serve"]
    assert all(words[0] == "ic3sync" for words in commands[1:])
    section = readme_section()
    assert "IC3_DATABASE_URL=postgresql+psycopg://" in section


def test_every_setting_the_section_names_is_in_env_example():
    shown = env_lines("\n".join(fenced(readme_section(), "ini")))
    example = env_lines((ROOT / ".env.example").read_text(encoding="utf-8"))
    assert shown, "the section shows no .env lines"
    assert set(shown) <= set(example)
    for key, value in shown.items():
        assert example[key] == value, f"{key}: README shows {value}, .env.example {example[key]}"


def test_env_example_holds_no_real_token_and_env_is_ignored_by_git():
    example = env_lines((ROOT / ".env.example").read_text(encoding="utf-8"))
    assert re.fullmatch(r"<[^>]+>", example["INNOMAINT_API_TOKEN"])
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=ROOT, capture_output=True, check=False
    )
    assert ignored.returncode == 0, ".env must be git-ignored"


def test_the_first_real_sync_runs_as_the_readme_says(db_url: str, tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    env = a_clean_environment()
    with simulator_process(tmp_path) as api_url:
        values = {
            "INNOMAINT_API_TOKEN": TOKEN,
            "IC3_DATABASE_URL": db_url,
            "INNOMAINT_API_URL": api_url,
        }
        outputs: dict[str, str] = {}
        for words in shell_commands():
            if words[:1] == ["cp"]:
                assert words == ["cp", ".env.example", ".env"]
                shutil.copyfile(ROOT / ".env.example", work / ".env")
                example = (work / ".env").read_text(encoding="utf-8")
                (work / ".env").write_text(filled_in(example, values), encoding="utf-8")
                continue
            assert words[0] == "ic3sync", f"this test cannot run {shlex.join(words)}"
            if words[1] == "import-assets":
                write_register(work / words[2])
            if words[1] == "serve":
                outputs["serve"] = serve_answers(words[1:], work, env)
                continue
            proc = subprocess.run(
                ic3sync_cmd(*words[1:]),
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                stdin=subprocess.DEVNULL,
            )
            assert proc.returncode == 0, f"{shlex.join(words)}:\n{proc.stdout}{proc.stderr}"
            outputs[words[1]] = proc.stdout + proc.stderr

    assert f"{len(ASSETS)} inserted" in outputs["import-assets"]
    assert "Sync run 1: completed" in outputs["sync"]
    assert TOKEN not in "".join(outputs.values())
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            runs = conn.execute(sa.select(sync_run.c.status, sync_run.c.success)).all()
            synced = conn.execute(
                sa.select(asset_master.c.cmms_asset_id).where(
                    asset_master.c.last_synced_at.is_not(None),
                    asset_master.c.traceability_id.is_not(None),
                )
            ).scalars()
            assert sorted(synced) == sorted(ASSETS)
    finally:
        engine.dispose()
    assert [tuple(run) for run in runs] == [("completed", len(ASSETS))]


def serve_answers(args: list[str], work: Path, env: dict[str, str]) -> str:
    """`ic3sync serve` as written, on a free port: it answers, shows the run, and stops."""
    port = free_port()
    log_path = work / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            ic3sync_cmd(*args, "--port", str(port)),
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz", timeout=30, proc=proc)
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        runs = httpx.get(f"{base}/api/admin/cmms/runs", timeout=10).json()
        assert [run["status"] for run in runs["items"]] == ["completed"]
    except BaseException:
        stop(proc)
        pytest.fail(f"ic3sync serve:\n{log_path.read_text()}")
    # uvicorn ends by raising SIGTERM again once it has shut down cleanly.
    assert stop(proc) in (0, -signal.SIGTERM), log_path.read_text()
    log_text = log_path.read_text()
    assert "Application shutdown complete." in log_text and "Traceback" not in log_text
    return log_text
