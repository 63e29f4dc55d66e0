"""The ``critmin`` command: a thin layer over the library (one module per command group)."""

from __future__ import annotations

import signal
import sys
from types import FrameType

from critmin.cli import assess, data, simulate, uncertainty  # noqa: F401  (register commands)
from critmin.cli.app import app

__all__ = ["EXIT_INTERRUPTED", "Interrupted", "app", "main"]

EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT, the shell's convention)."""


class Interrupted(BaseException):
    """Ctrl-C, raised by :func:`main`'s SIGINT handler. Not a ``KeyboardInterrupt``, which
    the command-line framework would turn into "Aborted!" and status 1; not an ``Exception``,
    so that no ``except Exception`` on the way swallows it."""


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
        if not _interrupted(exc):
            raise
        sys.stderr.write("critmin: interrupted\n")
        sys.stderr.flush()
        raise SystemExit(EXIT_INTERRUPTED) from None


def _interrupted(exc: BaseException | None) -> bool:
    """Whether ``exc`` is Ctrl-C, or an error it caused: the handler can run while compiled
    code is returning (Numba then reports "a result with an exception set", a SystemError
    chained to the interrupt)."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, Interrupted):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
