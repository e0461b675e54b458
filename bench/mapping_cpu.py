"""CPU per answer of the mapping (mapping.rows_from_response) and of validating an answer
(innomaint.models.parse_response), the two pure steps of each asset between fetch and write.

The answers are the simulator's: a run's worth of distinct generated ones (each mapped once per
pass, as a run maps each asset once, with any memo of the parsers emptied before each pass so
that it only gains what values repeating across assets give it), then the same with the
simulator's data faults (empty fields, numbers as strings, unparseable numbers), then the real
fixture alone. Times are process CPU (time.process_time), the median of several passes.

    python bench/mapping_cpu.py [--assets 3000] [--repeats 7] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
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


def _bodies(ids: Iterable[str], make: Callable[[str], dict[str, Any]]) -> list[tuple[str, bytes]]:
    return [(sid, json.dumps(make(sid)).encode()) for sid in ids]


def _forget() -> None:
    """Empty every memo the parsers keep, so each pass starts as a run's first asset does."""
    for module in (mapping, parsing):
        for value in vars(module).values():
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and not isinstance(value, type):
                clear()


def _median_us(passes: int, count: int, work: Callable[[], None]) -> tuple[float, float, float]:
    """(median, min, max) CPU µs per item over `passes` runs of `work`, each doing `count`."""
    times = []
    for _ in range(passes):
        _forget()
        started = time.process_time()
        work()
        times.append((time.process_time() - started) / count * 1e6)
    return statistics.median(times), min(times), max(times)


def _map_all(answers: list[Answer], loops: int = 1) -> Callable[[], None]:
    rows_from_response = mapping.rows_from_response

    def work() -> None:
        for _ in range(loops):
            for sid, answer in answers:
                rows_from_response(sid, answer)

    return work


def _validate_all(bodies: list[tuple[str, bytes]]) -> Callable[[], None]:
    def work() -> None:
        for _, body in bodies:
            parse_response(body.decode())

    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of mapping")
    args = parser.parse_args()

    ids = [f"DJB Asset {n:05d}" for n in range(args.assets)]
    generated = _bodies(ids, asset_payload)
    faulted = [
        body
        for kind in ("empty_fields", "string_numbers", "bad_numbers")
        for body in _bodies(ids[: args.assets // 10], DATA_FAULTS[kind])
    ]
    fixture = _bodies([FIXTURE_ID], asset_payload)
    sets = {
        f"generated ({len(generated)} distinct, each once)": (generated, 1),
        f"data faults ({len(faulted)} distinct, each once)": (faulted, 1),
        "the fixture (one answer, 3000 times)": (fixture, 3000),
    }
    print(f"python {sys.version.split()[0]}, mapping from {Path(mapping.__file__).parent}")
    for name, (bodies, loops) in sets.items():
        answers = [(sid, parse_response(body.decode())) for sid, body in bodies]
        med, low, high = _median_us(args.repeats, len(answers) * loops, _map_all(answers, loops))
        print(f"rows_from_response, {name}: {med:.1f} µs (min {low:.1f}, max {high:.1f})")
    med, low, high = _median_us(args.repeats, len(generated), _validate_all(generated))
    print(f"parse_response, generated: {med:.1f} µs (min {low:.1f}, max {high:.1f})")

    if args.profile:
        answers = [(sid, parse_response(body.decode())) for sid, body in generated + faulted]
        _forget()
        profile = cProfile.Profile()
        profile.runcall(_map_all(answers, 3))
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
