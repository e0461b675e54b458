"""CPU per answer of the mapping (mapping.rows_from_response) and of validating an answer
(innomaint.models.parse_response), the two pure steps of each asset between fetch and write.

The answers are the simulator's: a run's worth of distinct generated ones, then some with the
simulator's data faults (empty fields, numbers as strings, unparseable numbers), then the real
fixture over and over (the case most kind to a memory of values: every value is known after the
first answer). Each pass maps each answer once, as a run maps each asset once, after emptying
every memory the mapping keeps of converted values, so a pass gains only what values repeating
across its answers give it. Times are process CPU (time.process_time), the median of several
passes. With --instructions, each set is counted in user-space instructions instead, by
`perf stat` around a process that maps it N times less one that maps it 0 times: a count the
load of a shared machine does not move, as it does CPU time.

    python bench/mapping_cpu.py [--assets 3000] [--repeats 7] [--profile] [--instructions]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ic3sync import mapping, parsing
from ic3sync.innomaint.models import AssetResponse, parse_response
from ic3sync.innomaint.simulator import FIXTURE_ID, asset_payload
from ic3sync.innomaint.simulator.payloads import DATA_FAULTS

Answer = tuple[str, AssetResponse]
SETS = ("generated", "faults", "fixture")
COUNTED_PASSES = 4


def _bodies(ids: Iterable[str], make: Callable[[str], dict[str, Any]]) -> list[tuple[str, str]]:
    return [(sid, json.dumps(make(sid))) for sid in ids]


def _set(name: str, assets: int) -> list[tuple[str, str]]:
    """(requested id, body) of each answer of a set, in the order a pass maps them."""
    ids = [f"DJB Asset {n:05d}" for n in range(assets)]
    if name == "generated":
        return _bodies(ids, asset_payload)
    if name == "faults":
        kinds = ("empty_fields", "string_numbers", "bad_numbers")
        return [b for kind in kinds for b in _bodies(ids[: assets // 10], DATA_FAULTS[kind])]
    return _bodies([FIXTURE_ID], asset_payload) * assets


def _answers(bodies: list[tuple[str, str]]) -> list[Answer]:
    parsed: dict[str, AssetResponse] = {}  # the fixture's one body is validated once
    return [
        (sid, parsed.get(body) or parsed.setdefault(body, parse_response(body)))
        for sid, body in bodies
    ]


def _forget() -> None:
    """Empty every memory the mapping and the parsers keep, so a pass starts as a run does."""
    for module in (mapping, parsing):
        for value in vars(module).values():
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and not isinstance(value, type):
                clear()


def _map_all(answers: list[Answer]) -> Callable[[], None]:
    rows_from_response = mapping.rows_from_response

    def work() -> None:
        _forget()
        for sid, answer in answers:
            rows_from_response(sid, answer)

    return work


def _validate_all(bodies: list[tuple[str, str]]) -> Callable[[], None]:
    def work() -> None:
        for _, body in bodies:
            parse_response(body)

    return work


def _median_us(passes: int, count: int, work: Callable[[], None]) -> tuple[float, float, float]:
    """(median, min, max) CPU µs per item over `passes` runs of `work`, each doing `count`."""
    times = []
    for _ in range(passes):
        started = time.process_time()
        work()
        times.append((time.process_time() - started) / count * 1e6)
    return statistics.median(times), min(times), max(times)


def _instructions(name: str, assets: int, passes: int) -> int:
    command = [sys.executable, __file__, "--assets", str(assets), "--map-only", name]
    done = subprocess.run(
        ["perf", "stat", "-x,", "-e", "instructions:u", *command, "--passes", str(passes)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stderr.strip().splitlines()[-1].split(",")[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of mapping")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions (perf) instead of time"
    )
    parser.add_argument("--map-only", choices=SETS, help=argparse.SUPPRESS)
    parser.add_argument("--passes", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.map_only:  # the process --instructions counts
        work = _map_all(_answers(_set(args.map_only, args.assets)))
        for _ in range(args.passes):
            work()
        return

    print(f"python {sys.version.split()[0]}, mapping from {Path(mapping.__file__).parent}")
    for name in SETS:
        bodies = _set(name, args.assets)
        label = f"rows_from_response, {name} ({len(bodies)} answers)"
        if args.instructions:
            base = _instructions(name, args.assets, 0)
            counted = _instructions(name, args.assets, COUNTED_PASSES) - base
            print(f"{label}: {counted / COUNTED_PASSES / len(bodies) / 1000:.1f}k instructions")
            continue
        answers = _answers(bodies)
        med, low, high = _median_us(args.repeats, len(answers), _map_all(answers))
        print(f"{label}: {med:.1f} µs (min {low:.1f}, max {high:.1f})")
    if not args.instructions:
        generated = _set("generated", args.assets)
        med, low, high = _median_us(args.repeats, len(generated), _validate_all(generated))
        print(f"parse_response, generated: {med:.1f} µs (min {low:.1f}, max {high:.1f})")

    if args.profile:
        answers = _answers(_set("generated", args.assets) + _set("faults", args.assets))
        profile = cProfile.Profile()
        for _ in range(3):
            profile.runcall(_map_all(answers))
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
