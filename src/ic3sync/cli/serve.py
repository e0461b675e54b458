"""The commands that start servers: serve (the HTTP service), simulator (the stand-in
Innomaint API) and demo (the whole job against a simulator of its own)."""

from __future__ import annotations

import errno
import logging
import secrets
from pathlib import Path
from typing import Annotated

import typer

from ic3sync.cli.exits import errors_as_exit_codes, out
from ic3sync.errors import ConfigError


def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port to listen on")] = 9090,
) -> None:
    """The HTTP admin service."""
    from ic3sync import bootstrap
    from ic3sync.api.server import run_server

    with errors_as_exit_codes():
        run_server(bootstrap.load_settings(logging.INFO), host=host, port=port)


def simulator(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="port to listen on (0: any free one)")
    ] = 9191,
    token: Annotated[
        str | None,
        typer.Option(help="token to accept (default: INNOMAINT_API_TOKEN)", show_default=False),
    ] = None,
    faults: Annotated[
        Path | None, typer.Option(help="JSON file of per-asset fault behaviours")
    ] = None,
    fault_rate: Annotated[
        float, typer.Option(min=0, max=1, help="share of ids given a random fault")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="seed of the random fault mix and of --drift")] = 0,
    drift: Annotated[
        int,
        typer.Option(
            min=0,
            max=1_000_000,
            help="assets whose values (criticality, counts, person in charge) change on each "
            "pass over the register",
        ),
    ] = 0,
    latency_ms: Annotated[float, typer.Option(min=0, help="added to every answer")] = 0.0,
) -> None:
    """A local stand-in for the Innomaint API, for demos, tests and benchmarks."""
    from ic3sync import bootstrap
    from ic3sync.innomaint.simulator import SimulatorConfig, load_faults, serve_forever

    with errors_as_exit_codes():
        settings = bootstrap.load_settings(logging.INFO)
        secret = token or (settings.api_token.get_secret_value() if settings.api_token else None)
        if not secret:
            raise ConfigError(
                "the simulator needs a token to accept: set INNOMAINT_API_TOKEN or pass --token"
            )
        config = SimulatorConfig(
            token=secret,
            faults=load_faults(faults) if faults else {},
            fault_rate=fault_rate,
            seed=seed,
            latency_ms=latency_ms,
        )
        try:
            serve_forever(config, host, port, drift)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise ConfigError(
                f"cannot listen on {host}:{port}: the port is taken (another simulator?); "
                "choose another with --port"
            ) from None


def demo(
    # INNOMAINT_RATE_MS's range: the demo's settings take the value without checking it again.
    rate_ms: Annotated[
        int, typer.Option(min=0, max=3_600_000, help="request spacing for the demo")
    ] = 20,
) -> None:
    """The whole job on the embedded default, against a local simulator."""
    from ic3sync import bootstrap
    from ic3sync.demo import run_demo

    with errors_as_exit_codes():
        settings = bootstrap.load_settings()
        raise typer.Exit(
            run_demo(settings, rate_ms=rate_ms, console=out, token=secrets.token_urlsafe(24))
        )
