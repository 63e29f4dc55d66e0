"""The ``critmin`` command: a thin layer over the library (one module per command group)."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from types import FrameType
from typing import NoReturn

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
    except SystemExit as done:
        leave(done)
    except BaseException as exc:
        if not caused_by_interrupt(exc):
            raise
        sys.stderr.write("critmin: interrupted\n")
        sys.stderr.flush()
        raise SystemExit(EXIT_INTERRUPTED) from None


def leave(done: SystemExit) -> NoReturn:
    """End the process with the command's exit status, skipping the interpreter's teardown
    when nothing else runs.

    A normal exit clears every module and frees every object one by one; after a simulation
    (Numba's compiled code and type registries, the model's arrays) that costs 0.3-0.4 s of
    CPU, a quarter of ``critmin simulate``. When the main thread is the only thread, the
    process ends the way a normal exit would, minus that teardown: the ``atexit`` handlers
    run (logging, temporary files, ``weakref.finalize``, multiprocessing's clean-up), stdout
    and stderr are flushed, then ``os._exit``. With other threads alive (a worker pool, Dask)
    or a status that is not a number, it exits normally (``SystemExit``)."""
    code = done.code if done.code is not None else 0
    if not isinstance(code, int) or threading.active_count() > 1:
        raise done
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream
            stream.flush()
    os._exit(code)
