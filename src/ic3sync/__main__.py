"""`ic3sync` and `python -m ic3sync`: a quiet Ctrl-C first, then the command line."""

from __future__ import annotations

from ic3sync import interrupt


def main() -> None:
    interrupt.install()
    from ic3sync.cli import app

    app()


if __name__ == "__main__":
    main()
