"""Engines that solve the chunks of a Monte Carlo run: threads in this process, or Dask.

A chunk is ``(task index, first draw, stop)``; every engine calls the same pure function
:func:`critmin.uncertainty.tasks.solve_chunk` and places the results by chunk index, so the
numbers do not depend on the engine, the number of workers or the order chunks finish in.

* **local** (default): a pool of threads in this process. The draws are solved in compiled code
  that releases the GIL (:func:`critmin.model.kernels.solve_draws`), so threads run in
  parallel with nothing to start, copy or pickle, and nothing to leave behind: no worker
  process can outlive the command. BLAS runs on one thread (:func:`single_thread_blas`).
* **dask**: one task per chunk on a Dask cluster (many machines); the product tasks are
  scattered to every worker once.

Ctrl-C: while the local engine runs, SIGINT is recorded instead of interrupting compiled code
(a Python exception raised by a signal handler while a compiled call returns is reported as an
error of that call). The main thread only waits (the chunks run on worker threads, even with
one worker; :func:`critmin.parallel.run_in_threads`) and looks at the record every
:data:`critmin.parallel.WAIT_SECONDS`; it then sets the cancel flag that the compiled loop
reads before every draw, so running chunks stop within one draw, drops the chunks not
started, and re-delivers the signal to the handler installed before (``KeyboardInterrupt`` by
default, the CLI's own handler in ``critmin``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from critmin.parallel import CONNECT_TIMEOUT as PARALLEL_CONNECT_TIMEOUT
from critmin.parallel import dask_client, run_in_threads, single_thread_blas
from critmin.uncertainty.tasks import ProductTask, solve_chunk

Progress = Callable[[int, int], None]
Job = tuple[int, int, int]  # task index, start, stop

CONNECT_TIMEOUT = PARALLEL_CONNECT_TIMEOUT
"""How long to try to reach a Dask scheduler given by address."""


def submission_order(tasks: list[ProductTask], jobs: list[Job]) -> list[int]:
    """Job indices, most expensive first (cost ~ draws x n^2): longest-processing-time-first
    scheduling keeps a big market from running alone at the end. Results are placed by index,
    so the order changes nothing else."""
    return sorted(
        range(len(jobs)), key=lambda k: -(jobs[k][2] - jobs[k][1]) * tasks[jobs[k][0]].n ** 2
    )


def solve_chunk_one_blas_thread(
    task: ProductTask, seed: int, start: int, stop: int
) -> dict[str, np.ndarray]:
    """:func:`solve_chunk` with one BLAS thread (the function a Dask worker runs)."""
    with single_thread_blas():
        return solve_chunk(task, seed, start, stop)


def run_local(
    tasks: list[ProductTask], jobs: list[Job], seed: int, workers: int, progress: Progress | None
) -> list[dict[str, np.ndarray]]:
    """Solve every chunk on ``workers`` threads of this process
    (:func:`critmin.parallel.run_in_threads`: the main thread only waits; on an error or
    Ctrl-C the running chunks stop within a draw, the others are dropped)."""
    results: list[dict[str, np.ndarray] | None] = [None] * len(jobs)
    total = sum(stop - start for _, start, stop in jobs)
    done = 0
    cancel = np.zeros(1, dtype=np.int64)  # read by the compiled loop before every draw
    order = submission_order(tasks, jobs)

    def chunk(k: int) -> Callable[[Callable[[], bool]], dict[str, np.ndarray]]:
        ti, start, stop = jobs[k]
        return lambda stopped: solve_chunk(tasks[ti], seed, start, stop, cancel)

    def finished(i: int, value: dict[str, np.ndarray]) -> None:
        nonlocal done
        k = order[i]
        results[k] = value
        done += jobs[k][2] - jobs[k][1]
        if progress:
            progress(done, total)

    run_in_threads([chunk(k) for k in order], workers, finished, lambda: cancel.fill(1))
    return [r for r in results if r is not None]


def run_dask(
    tasks: list[ProductTask], jobs: list[Job], seed: int, scheduler: Any, progress: Progress | None
) -> tuple[list[dict[str, np.ndarray]], int]:
    """One Dask task per chunk; the product tasks are scattered to every worker once."""
    from distributed import as_completed as dask_completed

    with dask_client(scheduler, timeout=CONNECT_TIMEOUT) as client:
        nworkers = len(client.scheduler_info().get("workers", {}))
        token = uuid.uuid4().hex[:10]
        remote = client.scatter(tasks, broadcast=True, hash=False)
        order = submission_order(tasks, jobs)
        futures = [
            client.submit(
                solve_chunk_one_blas_thread,
                remote[jobs[k][0]],
                seed,
                jobs[k][1],
                jobs[k][2],
                key=f"critmin-uncertainty-{token}-{k}",
                priority=len(jobs) - rank,
            )
            for rank, k in enumerate(order)
        ]
        index = {f.key: k for k, f in zip(order, futures, strict=True)}
        results: list[dict[str, np.ndarray] | None] = [None] * len(jobs)
        total = sum(stop - start for _, start, stop in jobs)
        done = 0
        for fut in dask_completed(futures, loop=client.loop):
            k = index[fut.key]
            results[k] = fut.result()
            done += jobs[k][2] - jobs[k][1]
            if progress:
                progress(done, total)
        del futures, remote
        return [r for r in results if r is not None], nworkers
