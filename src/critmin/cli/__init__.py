"""The ``critmin`` command: a thin layer over the library (one module per command group)."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from types import CodeType, FrameType
from typing import Any, NoReturn

EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT, the shell's convention)."""
EXIT_TERMINATED = 143
"""Exit status after SIGTERM (128 + SIGTERM): ``kill``, ``timeout``, a service manager."""

_terminated: list[bool] = []
"""Set by :func:`_on_sigterm`: the interrupt that stops the command is a SIGTERM."""


def _interrupted_while_starting(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C while the commands are imported (the first 0.1 s of every command, before
    :func:`main` installs its handler): Python's ``KeyboardInterrupt`` printed a traceback of
    the imports and ended the process by SIGINT. Nothing is written yet: one line and exit."""
    sys.stderr.write("critmin: interrupted\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_INTERRUPTED)


_starting = threading.current_thread() is threading.main_thread()
_sigint_before = signal.signal(signal.SIGINT, _interrupted_while_starting) if _starting else None

from critmin.cli import (  # noqa: E402, F401  (register commands)
    assess,
    coalition,
    data,
    paths,
    simulate,
    sweep,
    uncertainty,
)
from critmin.cli.app import Interrupted, app, caused_by_interrupt  # noqa: E402

if _starting:  # what a program importing this module had (main() installs its own)
    signal.signal(signal.SIGINT, _sigint_before)

__all__ = ["EXIT_INTERRUPTED", "EXIT_TERMINATED", "Interrupted", "app", "main"]


def _boxing_frame(code: CodeType) -> bool:
    """Whether ``code`` runs while Numba boxes a compiled call's result: Numba unpickling
    the class of a named tuple the call returns (``numba.core.serialize``), or the named
    tuple's ``__new__`` (compiled from a string)."""
    if code.co_filename.replace(os.sep, "/").endswith("numba/core/serialize.py"):
        return True
    return code.co_filename == "<string>" and code.co_name == "<lambda>"


def _caller_of_boxing(frame: FrameType | None) -> FrameType | None:
    """If ``frame`` (where a signal handler runs) is within Numba boxing a compiled call's
    result (:func:`_boxing_frame`; this module's own frames skipped: a handler may itself be
    interrupted), the frame that made the call; else None. An exception raised while Numba
    boxes crashes the process (a segmentation fault on Ctrl-C in 3 of 14 tries of a chain
    sweep) or comes out of the call as a ``SystemError``."""
    boxing = False
    while frame is not None:
        code = frame.f_code
        if _boxing_frame(code):
            boxing = True
        elif code.co_filename != __file__:
            return frame if boxing else None
        frame = frame.f_back
    return None


def _no_local_trace(frame: FrameType, event: str, arg: object) -> None:
    """The global trace function while a Ctrl-C waits for its frame: no other frame traced."""
    return None


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C: raise :class:`Interrupted`, except while Numba boxes a compiled call's result,
    where raising would crash the process. It is then raised at the next line of the frame
    that made the call (a trace function on that frame alone, removed once it fires), that
    is, as soon as the call has returned: a signal that arrives during a compiled call is
    handled at the first Python code after it, which is the boxing, so delivering it again
    later would mostly land there again."""
    caller = _caller_of_boxing(frame)
    if caller is None:
        raise Interrupted
    _interrupt_at_next_line(caller)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (``kill``, ``timeout``, a service manager stopping the command): stop as on
    Ctrl-C (:func:`_on_sigint`: ``finally`` blocks run, worker processes end, no partial
    file), then one line and status 143. Python's default ended the process at once, with no
    message and temporary files left behind."""
    _terminated.append(True)
    _on_sigint(signum, frame)


def _interrupt_at_next_line(frame: FrameType) -> None:
    """Raise :class:`Interrupted` at the next line ``frame`` runs (a trace function on that
    frame alone, removed once it fires)."""

    def at_next_line(f: FrameType, event: str, arg: object) -> object:
        sys.settrace(None)
        f.f_trace = None
        raise Interrupted

    frame.f_trace_lines = True
    frame.f_trace = at_next_line
    sys.settrace(_no_local_trace)


def _on_unraisable(unraisable: Any) -> None:
    """``sys.unraisablehook``: an exception Python cannot raise (in a ``__del__``, a weakref
    callback or another finalizer the garbage collector runs) is printed with a traceback and
    dropped, so a Ctrl-C that landed there was lost: a traceback, then the command ran on to
    its end (status 0). It is raised again instead, without a word, at the next line of the
    code the finalizer interrupted (not here: an exception in this hook is dropped too);
    anything else is printed as Python does."""
    frame = sys._getframe(0).f_back  # the code the finalizer ran in (None at the very end)
    if caused_by_interrupt(unraisable.exc_value) and frame is not None:
        _interrupt_at_next_line(frame)
        return
    sys.__unraisablehook__(unraisable)


def main() -> None:
    """Entry point of the ``critmin`` console script.

    Ctrl-C stops any command: ``finally`` blocks run (worker threads finish their chunk and
    stop, temporary files are removed; results are only ever written by an atomic rename),
    then one line on stderr and exit status 130, no traceback. SIGTERM does the same, with
    status 143."""
    signal.signal(signal.SIGINT, _on_sigint)
    signal.signal(signal.SIGTERM, _on_sigterm)
    sys.unraisablehook = _on_unraisable
    try:
        app()
    except SystemExit as done:
        leave(done)
    except BaseException as exc:
        if not caused_by_interrupt(exc):
            raise
        word, code = (
            ("terminated", EXIT_TERMINATED) if _terminated else ("interrupted", EXIT_INTERRUPTED)
        )
        sys.stderr.write(f"critmin: {word}\n")
        sys.stderr.flush()
        raise SystemExit(code) from None


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
