"""Ctrl-C outside a run: one line and exit 130, never a traceback.

Installed first thing by the entry point, before the command line's imports (which take most of
a second): an operator who changes their mind early gets a sentence, not a page of import
frames. Commands say what an interruption means at their stage with `say_on_interrupt`; a run
installs its own handler (terminal.stop_on_signals) that finishes the asset in flight.
Only the standard library here: it must load in milliseconds.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

EXIT_CANCELLED = 130

_message = "interrupted before anything started; nothing was written"


def say_on_interrupt(message: str) -> None:
    """What Ctrl-C means from now on, e.g. "interrupted: the import was rolled back"."""
    global _message
    _message = message


def _quiet_exit(signum: int, _frame: FrameType | None) -> None:
    # SystemExit, not KeyboardInterrupt: it unwinds through `with` blocks (a transaction rolls
    # back) and no layer turns it into a traceback or click's bare "Aborted!".
    sys.stderr.write(f"\n{_message}\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_CANCELLED)


def install() -> None:
    signal.signal(signal.SIGINT, _quiet_exit)
