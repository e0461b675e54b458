"""Fault specs of the simulator: which answer it serves for which serialnumber.

Faults are chosen per serialnumber, from an explicit mapping (usually a JSON file, see
`load_faults`) or, for ids not in it, from a seeded random mix (`fault_rate`, `seed`). Kinds:

    transient (retried by the client; each served `times` times, default 1, then the asset is OK)
      rate_limited      429 with Retry-After: `retry_after` (seconds, default 1, or an HTTP-date)
      unavailable       503
      bad_gateway       502
      gateway_timeout   504
      timeout           no answer for `ms` (default 3000), then the normal answer
      reset             the connection is reset without an answer
    permanent (every request)
      not_found         404          bad_request   400          unauthorized  401
      status_false      200 with "status": false                non_json      200 with HTML
    data (every request; a 200 the client accepts)
      other_serial      the answer is about another serialnumber
      empty_fields      most values "" or null
      string_numbers    every number sent as a string
      bad_numbers       counts "abc", durations "x:y", availability "n/a"
      slow              the normal answer after `ms` (default 500)
      held              the normal answer once POST /__release is called (or after `max_s`,
                        default 60): a test decides when the vendor answers
    hostile (every request)
      drip              the normal answer, one byte every `interval_s` (default 2)
      echo_token        the normal answer with the request's token inside values, in JSON
                        escapes ("\\/", "\\u0061") as a PHP vendor writes them
      oversized         a barcode of `mb` MB (default 50), streamed; `length` 0 sends no
                        Content-Length (the body ends when the connection closes)
    hostile values (every request; see simulator/hostile.py)
      surrogates        every text ends in a lone surrogate ("\\ud800", broken UTF-16)
      nul               every text holds a NUL
      control_chars     every text ends in CR/LF, a forged log line, terminal escapes
      huge_values       every text, numbers included, is `mb` MB long (default 1)
      huge_serial       the serialnumber is `mb` MB long (default 1)
      echo_forms        the texts echo the request's token in every form of token_forms()
      echo_message      "status": false, the message echoing the token in form number `form`

The random mix picks a kind with these weights (see RANDOM_MIX): unavailable 25, rate_limited 15,
bad_gateway 10, gateway_timeout 10, reset 10, not_found 10, status_false 10, bad_request 5,
non_json 5. So about 70 % of faulty ids recover on a retry and 30 % fail for good.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ic3sync.errors import ConfigError

# kind -> {parameter: default}; `times` is how often a transient fault is served per id.
KINDS: dict[str, dict[str, Any]] = {
    "rate_limited": {"retry_after": 1, "times": 1},
    "unavailable": {"times": 1},
    "bad_gateway": {"times": 1},
    "gateway_timeout": {"times": 1},
    "timeout": {"ms": 3000, "times": 1},
    "reset": {"times": 1},
    "not_found": {},
    "bad_request": {},
    "unauthorized": {},
    "status_false": {},
    "non_json": {},
    "other_serial": {},
    "empty_fields": {},
    "string_numbers": {},
    "bad_numbers": {},
    "slow": {"ms": 500},
    "held": {"max_s": 60},
    "drip": {"interval_s": 2},
    "echo_token": {},
    "oversized": {"mb": 50, "length": 1},
    "surrogates": {},
    "nul": {},
    "control_chars": {},
    "huge_values": {"mb": 1},
    "huge_serial": {"mb": 1},
    "echo_forms": {},
    "echo_message": {"form": 0},
}
TRANSIENT_KINDS = frozenset(
    {"rate_limited", "unavailable", "bad_gateway", "gateway_timeout", "timeout", "reset"}
)
RANDOM_MIX: dict[str, int] = {
    "unavailable": 25,
    "rate_limited": 15,
    "bad_gateway": 10,
    "gateway_timeout": 10,
    "reset": 10,
    "not_found": 10,
    "status_false": 10,
    "bad_request": 5,
    "non_json": 5,
}


def normalise_fault(serialnumber: str, spec: Any, *, source: str = "faults") -> dict[str, Any]:
    """`spec` ("kind" or {"kind": ..., params}) as a dict with every parameter filled in."""
    where = f"{source}: fault for {serialnumber!r}"
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, Mapping):
        raise ConfigError(f'{where}: expected a kind name or an object with a "kind"')
    kind = spec.get("kind")
    if kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise ConfigError(f"{where}: unknown kind {kind!r}; known kinds: {known}")
    params = dict(KINDS[kind])
    for name, value in spec.items():
        if name == "kind":
            continue
        if name not in params:
            allowed = ", ".join(sorted(params)) or "none"
            raise ConfigError(f"{where}: {kind} takes no {name!r} (parameters: {allowed})")
        if name == "retry_after" and isinstance(value, str) and value.strip():
            pass  # an HTTP-date, sent as given
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where}: {name} must be a number >= 0, got {value!r}")
        elif name == "times" and (value < 1 or value != int(value)):
            raise ConfigError(f"{where}: times must be a whole number >= 1, got {value!r}")
        params[name] = value
    return {"kind": kind, **params}


def normalise_faults(faults: Mapping[str, Any], *, source: str = "faults") -> dict[str, Any]:
    if not isinstance(faults, Mapping):
        raise ConfigError(f"{source}: expected a JSON object mapping serialnumbers to faults")
    return {str(k): normalise_fault(str(k), spec, source=source) for k, spec in faults.items()}


def load_faults(path: Path) -> dict[str, Any]:
    """Per-id faults from a JSON file: {"A-1": "not_found", "A-2": {"kind": "slow", "ms": 50}}."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the faults file ({exc.strerror})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from None
    return normalise_faults(raw, source=str(path))


@dataclass
class SimulatorConfig:
    token: str
    faults: dict[str, Any] = field(default_factory=dict)
    fault_rate: float = 0.0
    seed: int = 0
    latency_ms: float = 0.0

    def __post_init__(self) -> None:
        if not self.token:
            raise ConfigError("the simulator needs a token to check requests against")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ConfigError(f"fault_rate must be between 0 and 1, got {self.fault_rate}")
        self.faults = normalise_faults(self.faults)

    def __repr__(self) -> str:
        return (
            f"SimulatorConfig(token='***', faults={len(self.faults)} ids, "
            f"fault_rate={self.fault_rate}, seed={self.seed}, latency_ms={self.latency_ms})"
        )

    def fault_for(self, serialnumber: str) -> dict[str, Any] | None:
        """The fault planned for an id: its explicit one, else the seeded mix's, else None."""
        if serialnumber in self.faults:
            return self.faults[serialnumber]
        if self.fault_rate <= 0:
            return None
        digest = hashlib.sha256(f"{self.seed}\0{serialnumber}".encode()).digest()
        if int.from_bytes(digest[:8]) / 2**64 >= self.fault_rate:
            return None
        ticket = int.from_bytes(digest[8:16]) % sum(RANDOM_MIX.values())
        for kind, weight in RANDOM_MIX.items():
            if ticket < weight:
                return normalise_fault(serialnumber, kind)
            ticket -= weight
        raise AssertionError("unreachable: the ticket is below the total weight")
