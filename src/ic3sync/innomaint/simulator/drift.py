"""Values that change between two syncs: on each pass over the register (an id asked again),
or on demand, the simulator picks assets with a seeded draw and changes their answers, so a
rehearsal shows a change history that is not fake."""

from __future__ import annotations

import random
import threading
from collections import Counter

from ic3sync.innomaint.simulator.payloads import drifted_payload, json_bytes, ok_body


class Drift:
    """`per_pass` assets changed at each new pass over the ids asked; the same seed and the
    same requests give the same changes."""

    def __init__(self, per_pass: int = 0, seed: int = 0) -> None:
        self.per_pass = per_pass
        self.seed = seed
        self._lock = threading.Lock()
        self._asked: set[str] = set()  # every id answered, the pool drift picks from
        self._this_pass: set[str] = set()
        self._rounds = 0
        self._times: Counter[str] = Counter()  # id -> how often its values drifted

    def body(self, serialnumber: str) -> bytes:
        """The answer for an id as it stands now; an id asked twice starts a new pass."""
        with self._lock:
            if serialnumber in self._this_pass:
                self._this_pass.clear()
                if self.per_pass:
                    self._advance(self.per_pass)
            self._this_pass.add(serialnumber)
            self._asked.add(serialnumber)
            times = self._times[serialnumber]
        return json_bytes(drifted_payload(serialnumber, times)) if times else ok_body(serialnumber)

    def drift(self, count: int) -> list[str]:
        """Change `count` of the assets asked so far, now; the ids changed."""
        with self._lock:
            return self._advance(count)

    def _advance(self, count: int) -> list[str]:
        self._rounds += 1
        draw = random.Random(f"{self.seed}:{self._rounds}")
        chosen = draw.sample(sorted(self._asked), min(count, len(self._asked)))
        self._times.update(chosen)
        return sorted(chosen)
