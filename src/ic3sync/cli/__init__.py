"""The `ic3sync` command line, composed here from a module per command group. Thin: it reads
settings, calls the sync and its friends, and turns their errors into messages and exit codes
(exits.py).

Every command pays for what this package loads before it starts, and `ic3sync --help` or the
simulator need neither the database layer nor the sync: each command loads what it uses when it
runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from ic3sync.cli import attention, database, history, notify, serve, sync
from ic3sync.cli import runs as runs_cli
from ic3sync.cli import status as status_cli
from ic3sync.cli.environment import ENV_READ, reads

__all__ = ["ENV_READ", "app"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    # A traceback's local variables could include settings and so the token.
    pretty_exceptions_show_locals=False,
    # Plain help: rich's panels label every flag "<bool>" and draw boxes into pipes.
    rich_markup_mode=None,
    help="Sync the Innomaint CMMS asset detail into the IC3 asset register.",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version as package_version

        print(f"ic3sync {package_version('ic3sync')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Sync the Innomaint CMMS asset detail into the IC3 asset register."""


# Each command's name, in the order `ic3sync --help` lists them; a Typer is a group of them.
_COMMANDS: dict[str, Callable[..., Any] | typer.Typer] = {
    "migrate": database.migrate,
    "import-assets": database.import_assets_command,
    "sync": sync.sync,
    "sync-one": sync.sync_one,
    "runs": runs_cli.app,
    "status": status_cli.status,
    "attention": attention.attention,
    "notify-test": notify.notify_test,
    "prune": database.prune_command,
    "changes": history.changes,
    "export": history.export,
    "serve": serve.serve,
    "simulator": serve.simulator,
    "demo": serve.demo,
}
for _name, _command in _COMMANDS.items():
    if isinstance(_command, typer.Typer):
        app.add_typer(_command, name=_name, epilog=reads(_name))
    else:
        app.command(_name, epilog=reads(_name))(_command)
