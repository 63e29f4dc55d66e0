"""Where batches of solves run: threads of this process, or a Dask cluster.

Shared by the analyses that solve many markets (:mod:`critmin.uncertainty`,
:mod:`critmin.coalition`, :mod:`critmin.paths`):

* :func:`run_in_threads`: jobs on a pool of threads of this process, the main thread only
  waiting, so that Ctrl-C is noticed at once and stops the jobs within one unit of their work
  (:func:`deferred_interrupts`); the solvers' compiled kernels release the GIL, so threads run
  in parallel with nothing to start, copy or pickle, and no worker process can outlive the
  command;
* :func:`single_thread_blas`: one BLAS thread for a block (small solves are fastest that way);
* :func:`dask_client`: a ``distributed.Client`` for a scheduler address (connected with a
  timeout, closed on exit; an address that cannot be reached is a :class:`CritminError`), or the
  client the caller passed, left open;
* :func:`environment` / :func:`one_blas_thread`: environment variables set for a block, e.g. one
  BLAS thread in the processes a Dask worker starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from critmin.errors import CritminError

__all__ = [
    "BLAS_ENV",
    "CONNECT_TIMEOUT",
    "WAIT_SECONDS",
    "Cancelled",
    "collect",
    "dask_client",
    "deferred_interrupts",
    "environment",
    "one_blas_thread",
    "run_in_threads",
    "single_thread_blas",
]

R = TypeVar("R")

WAIT_SECONDS = 0.1
"""The main thread wakes up this often while it waits for jobs (so that Ctrl-C is handled
promptly on every platform)."""

BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
CONNECT_TIMEOUT = "15s"
"""How long to try to reach a Dask scheduler given by address."""


def check_count(value: object, what: str) -> int:
    """``value`` as a whole number of at least 1 (a chunk size, a number of workers), else a
    :class:`CritminError` naming ``what``: a fraction or text failed inside ``range``, and a
    chunk of 0 left the draws without a job (an IndexError where they were gathered)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CritminError(f"{what} must be a whole number of at least 1, got {value!r}")
    return value


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then restore the old values."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def one_blas_thread() -> contextlib.AbstractContextManager[None]:
    """One BLAS thread in the processes started within the block."""
    return environment(dict.fromkeys(BLAS_ENV, "1"))


SCHEDULER_ADDRESS = re.compile(r"(?:[a-z]+://)?(?:\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):\d{1,5}")
"""A Dask scheduler address: ``[protocol://]host:port``."""


def check_scheduler(scheduler: str) -> str:
    """A scheduler address as given, or :class:`CritminError`: a malformed address leaves a
    half-made Dask client whose clean-up prints a traceback at exit, 30 s later, so it is
    checked before any client is made (and before the work, by the commands)."""
    if not SCHEDULER_ADDRESS.fullmatch(scheduler.strip()):
        raise CritminError(
            f"--scheduler must be an address such as tcp://127.0.0.1:8786, got {scheduler!r}"
        )
    return scheduler.strip()


@contextlib.contextmanager
def dask_client(scheduler: Any, timeout: str = CONNECT_TIMEOUT) -> Iterator[Any]:
    """A Dask client: connected to ``scheduler`` if it is an address (and closed on exit), else
    ``scheduler`` itself (a ``distributed.Client``, left open)."""
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise CritminError(
            "--scheduler needs dask[distributed]: pip install 'dask[distributed]'"
        ) from exc
    if not isinstance(scheduler, str):
        yield scheduler
        return
    scheduler = check_scheduler(scheduler)
    try:
        client = Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise CritminError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from None
    try:
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def single_thread_blas() -> Iterator[None]:
    """Run the block with one BLAS thread (small batched solves are fastest that way, and the
    result is then the same on every machine configuration)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals :func:`deferred_interrupts` records: Ctrl-C, and ``kill``/``timeout``/a service
manager (the CLI stops on SIGTERM as on Ctrl-C)."""


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[Callable[[], None]]:
    """Record SIGINT and SIGTERM during the block; the ``check()`` it yields re-delivers a
    recorded one to its previous handler (at a point where raising is safe). Only in the main
    thread (the only one that receives signals); elsewhere ``check()`` does nothing.

    Why: a Python exception raised by a signal handler while a compiled call returns is
    reported as an error of that call, or worse (a process interrupted so while it returned
    from Numba's compiled code has been seen to crash); and one raised while a worker process
    is being started (``ProcessPoolExecutor.submit`` writing its start-up data to the new
    process's pipe) left that process waiting for the rest of its data, unknown to the pool,
    and the command waiting for it: `critmin coalition` sent SIGTERM on a loaded machine hung
    until killed."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    hits: list[int] = []
    previous: dict[int, Any] = {signum: signal.getsignal(signum) for signum in DEFERRED_SIGNALS}

    def record(signum: int, frame: Any) -> None:
        hits.append(signum)

    def check() -> None:
        if hits:
            signum = hits[0]
            hits.clear()
            signal.signal(signum, previous[signum])
            signal.raise_signal(signum)  # the previous handler runs (and raises) here
            signal.signal(signum, record)  # it did not raise: carry on

    for deferred in DEFERRED_SIGNALS:
        signal.signal(deferred, record)
    try:
        yield check
    finally:
        for restored, handler in previous.items():
            signal.signal(restored, handler)


def collect(
    pending: dict[Future[R], int], finished: Callable[[int, R], None], check: Callable[[], None]
) -> None:
    """Wait for the futures ``pending`` (future -> its job's index), waking every
    :data:`WAIT_SECONDS`: ``finished(k, value)`` for each as it completes (an error is raised
    here), ``check()`` after each wake (:func:`deferred_interrupts`: a recorded Ctrl-C is
    raised there). ``pending`` is emptied."""
    while pending:
        done, _ = wait(pending, timeout=WAIT_SECONDS, return_when=FIRST_COMPLETED)
        for fut in done:
            finished(pending.pop(fut), fut.result())
        check()


class Cancelled(CritminError):
    """A job of :func:`run_in_threads` stopped because the run was cancelled (Ctrl-C, or an
    error in another job); never reaches the caller, who gets that reason instead."""


def run_in_threads(
    jobs: Sequence[Callable[[Callable[[], bool]], R]],
    workers: int,
    finished: Callable[[int, R], None],
    on_cancel: Callable[[], None] | None = None,
) -> None:
    """Run ``jobs`` on ``workers`` threads of this process, in their order; ``finished(k,
    value)`` receives each job's result on the calling thread as it comes (in any order: place
    results by ``k``). Each job is called with ``stopped``, a function that turns True once the
    run is cancelled: a job should look at it between units of its work (a solve, a draw) and
    raise :class:`Cancelled` then (or return), so that a cancelled run ends within one unit.

    The calling thread only waits, waking every :data:`WAIT_SECONDS`. Ctrl-C (SIGINT) there is
    recorded, not raised (:func:`deferred_interrupts`); the run is then cancelled: jobs not
    started are dropped, running ones stop at their next look, and the signal is re-delivered
    to the handler installed before (``KeyboardInterrupt`` by default; the CLI's prints one
    line and exits 130). An error in a job cancels the run the same way and is raised here.
    BLAS runs on one thread (:func:`single_thread_blas`): the jobs' systems are small, and the
    threads are the parallelism. Even one worker is a thread, so the caller stays free to
    notice Ctrl-C at once. ``on_cancel`` (if given) is called when the run is cancelled, for
    jobs that look at a flag of their own (compiled code reading an array)."""
    if not jobs:
        return
    cancel = threading.Event()
    pool = ThreadPoolExecutor(
        max_workers=max(1, min(workers, len(jobs))), thread_name_prefix="critmin-job"
    )
    completed = False
    with single_thread_blas(), deferred_interrupts() as check:
        try:
            collect(
                {pool.submit(job, cancel.is_set): k for k, job in enumerate(jobs)}, finished, check
            )
            completed = True
        finally:  # Ctrl-C or an error: running jobs stop at their next look, others are dropped
            if not completed:
                cancel.set()
                if on_cancel is not None:
                    on_cancel()
            pool.shutdown(wait=True, cancel_futures=True)
