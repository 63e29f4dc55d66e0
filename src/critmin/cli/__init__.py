"""The ``critmin`` command: a thin layer over the library (one module per command group)."""

from __future__ import annotations

import signal
import sys
from types import FrameType

from critmin.cli import (  # noqa: F401  (register commands)
    assess,
    coalition,
    data,
    paths,
    simulate,
    sweep,
    uncertainty,
)
from critmin.cli.app import Interrupted, app, caused_by_interrupt

__all__ = ["EXIT_INTERRUPTED", "Interrupted", "app", "main"]

EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT, the shell's convention)."""


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    raise Interrupted


def main() -> None:
    """Entry point of the ``critmin`` console script.

    Ctrl-C stops any command: ``finally`` blocks run (worker threads finish their chunk and
    stop, temporary files are removed; results are only ever written by an atomic rename),
    then one line on stderr and exit status 130, no traceback."""
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        app()
    except BaseException as exc:
        if not caused_by_interrupt(exc):
            raise
        sys.stderr.write("critmin: interrupted\n")
        sys.stderr.flush()
        raise SystemExit(EXIT_INTERRUPTED) from None
