"""A local stand-in for the Innomaint asset-detail API, for demos, tests and benchmarks: fault
specs (faults.py), generated payloads (payloads.py) and the HTTP server (server.py)."""

from ic3sync.innomaint.simulator.faults import (
    KINDS,
    RANDOM_MIX,
    TRANSIENT_KINDS,
    SimulatorConfig,
    load_faults,
    normalise_faults,
)
from ic3sync.innomaint.simulator.payloads import BUILDING_COUNT, FIXTURE_ID, asset_payload
from ic3sync.innomaint.simulator.server import ENDPOINT_PATH, Simulator, serve_forever

__all__ = [
    "BUILDING_COUNT",
    "ENDPOINT_PATH",
    "FIXTURE_ID",
    "KINDS",
    "RANDOM_MIX",
    "TRANSIENT_KINDS",
    "Simulator",
    "SimulatorConfig",
    "asset_payload",
    "load_faults",
    "normalise_faults",
    "serve_forever",
]
