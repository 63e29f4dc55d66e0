"""Threads for batched solves: the markets of a batch shared out over the CPUs.

The compiled kernels release the GIL (``nogil=True``), so plain Python threads run them in
parallel: Numba's dispatchers do (:func:`critmin.model.compiled.releasing_gil`), the exports
of the ahead-of-time build do not, so work shared out over threads runs through the former
and work on one thread through whichever :mod:`critmin.model.compiled` chose (the same
numbers). Work is split by market, never inside one: every market is set up and solved whole
by one thread, by the same compiled code as on its own, so the numbers do not depend on the
number of threads or on which thread solved what (:func:`critmin.model.solver.solve_batch`).
The split is static, longest job first to the least loaded thread (Graham 1969, "LPT"), with
one compiled call per thread and stack: a dispatch costs a few microseconds under the GIL, a
market tens to thousands of microseconds without it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from critmin.model.compiled import alloc_eval, levels_batch, newton_markets, releasing_gil
from critmin.model.core import (
    Market,
    ResolvedPolicy,
    Stack,
    StackBuilder,
    market_counts,
    stack,
)
from critmin.model.kernel_tuples import Levels

__all__ = [
    "batch_threads",
    "builder_costs",
    "fill_and_solve",
    "fill_stacks",
    "levels_threaded",
    "longest_first",
    "newton_stacks",
    "run_threads",
    "shared_setup",
    "stack_all",
    "stack_builders",
    "windows",
]

_POOL: ThreadPoolExecutor | None = None
_POOL_PID = 0
MIN_SHARED_NS = 300_000.0
"""Batches estimated (:func:`builder_costs`) below this many nanoseconds of work run on
one thread: waking a helper thread and waiting for it costs tens of microseconds."""
MIN_SHARED_ENTRIES = 50_000
"""Batches whose dense inputs have fewer entries than this (``sum n^2``) are set up on one
thread (for the same reason)."""
MIN_SHARED_COUNT = 2_000_000
"""Batches whose dense inputs have fewer entries than this (``sum n^2``) have their sizes
counted (:func:`stack_builders`) on one thread: a count costs about 0.4 ns per entry, and
waking a helper thread for it and waiting for it costs about 0.25 ms on 2 cores (measured
with ``benchmarks/bench_batch_steps.py``)."""


def batch_threads(threads: int | None = None) -> int:
    """Threads for a batched solve: ``threads`` if given (at least 1); else every CPU this
    process may run on, or 1 in a worker process of a pool (``multiprocessing`` or Dask
    workers: the pool already spreads the work over the CPUs)."""
    if threads is not None:
        return max(1, int(threads))
    if multiprocessing.parent_process() is not None:
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _pool(helpers: int) -> ThreadPoolExecutor:
    """The process's helper threads (at least ``helpers``), started on first use and kept:
    starting threads costs more than solving a small batch. A forked child starts its own
    (the parent's threads do not exist in it)."""
    global _POOL, _POOL_PID
    if _POOL is None or _POOL._max_workers < helpers or os.getpid() != _POOL_PID:
        _POOL = ThreadPoolExecutor(max_workers=helpers, thread_name_prefix="critmin-solve")
        _POOL_PID = os.getpid()
    return _POOL


def longest_first(costs: Sequence[float], threads: int) -> list[list[int]]:
    """Job indices per thread: jobs by decreasing ``cost``, each to the thread with the least
    work so far (within 4/3 of the best split; Graham 1969). Each list is in index order."""
    load = [0.0] * threads
    share: list[list[int]] = [[] for _ in range(threads)]
    for k in sorted(range(len(costs)), key=lambda k: -costs[k]):
        t = load.index(min(load))
        load[t] += costs[k]
        share[t].append(k)
    return [sorted(s) for s in share]


def run_threads(work: Callable[[int], None], threads: int) -> None:
    """``work(t)`` for ``t = 0 .. threads - 1`` at the same time: ``t = 0`` on the calling
    thread, the others on the helper threads. Returns when all are done; an exception in any
    is raised here (after the others finished)."""
    pending: list[Future[None]] = (
        [_pool(threads - 1).submit(work, t) for t in range(1, threads)] if threads > 1 else []
    )
    try:
        work(0)
    finally:
        for fut in pending:
            fut.result()


def stack_all(
    groups: Sequence[list[int]],
    markets: Sequence[Market],
    resolved: Sequence[ResolvedPolicy],
    threads: int,
) -> list[Stack]:
    """One :class:`critmin.model.core.Stack` per group of market indices, built on
    ``threads`` threads: first every market's sizes
    (:func:`critmin.model.kernels.market_sizes`), then the stacks' arrays, then every
    market's rows (:func:`critmin.model.kernels.market_fill`; both release the GIL and cost
    ~ ``n^2``, a scan of the dense inputs). Each market is counted and filled by one call,
    as without threads. On one thread, stack after stack (:func:`critmin.model.core.stack`)."""
    if threads <= 1 or not shared_setup(groups, markets):
        # stack by stack, so that a market's inputs are still in the caches when it is
        # filled after its stack's sizes are known
        return [stack([markets[k] for k in grp], [resolved[k] for k in grp]) for grp in groups]
    return fill_stacks(stack_builders(groups, markets, resolved, threads), threads)


def fill_stacks(builders: Sequence[StackBuilder], threads: int) -> list[Stack]:
    """The stacks of ``builders`` (:func:`stack_builders`), every market's rows filled
    (:func:`critmin.model.kernels.market_fill`) on ``threads`` threads, longest first by
    ``n^2`` (on one thread where the inputs are small: :data:`MIN_SHARED_ENTRIES`)."""
    entries = [float(m.n) ** 2 for b in builders for m in b.markets]
    if threads <= 1 or len(entries) <= 1 or sum(entries) < MIN_SHARED_ENTRIES:
        return [builder.finish() for builder in builders if _fill_all(builder)]
    share = longest_first(entries, threads)
    jobs = [(s, b) for s, builder in enumerate(builders) for b in range(len(builder.markets))]
    fill_kernel = releasing_gil("market_fill")

    def fill(t: int) -> None:
        for pos in share[t]:
            s, b = jobs[pos]
            builders[s].fill(b, fill_kernel)

    run_threads(fill, threads)
    return [builder.finish() for builder in builders]


def _fill_all(builder: StackBuilder) -> bool:
    """Fill every market of ``builder`` on this thread (True, for a filter)."""
    for b in range(len(builder.markets)):
        builder.fill(b)
    return True


def shared_setup(groups: Sequence[list[int]], markets: Sequence[Market]) -> bool:
    """Whether setting up the stacks of ``groups`` is worth sharing over threads: more than
    one market, and at least :data:`MIN_SHARED_ENTRIES` entries of dense inputs."""
    members = [k for grp in groups for k in grp]
    return len(members) > 1 and sum(markets[k].n ** 2 for k in members) >= MIN_SHARED_ENTRIES


def stack_builders(
    groups: Sequence[list[int]],
    markets: Sequence[Market],
    resolved: Sequence[ResolvedPolicy],
    threads: int,
) -> list[StackBuilder]:
    """One :class:`critmin.model.core.StackBuilder` per group of market indices (its arrays
    allocated, not filled), every market's sizes (:func:`critmin.model.kernels.market_sizes`,
    which releases the GIL) counted on ``threads`` threads (longest first, by ``n^2``), or on
    this thread where they are fewer than :data:`MIN_SHARED_COUNT` entries."""
    members = [k for grp in groups for k in grp]
    if sum(markets[k].n ** 2 for k in members) < MIN_SHARED_COUNT:
        threads = 1
    counts: list[Any] = [None] * len(members)
    share = longest_first([float(markets[k].n) ** 2 for k in members], threads)
    sizes_kernel = releasing_gil("market_sizes") if threads > 1 else None

    def count(t: int) -> None:
        for pos in share[t]:
            counts[pos] = market_counts(markets[members[pos]], resolved[members[pos]], sizes_kernel)

    run_threads(count, threads)
    builders = []
    start = 0
    for grp in groups:
        builders.append(
            StackBuilder(
                [markets[k] for k in grp],
                [resolved[k] for k in grp],
                counts[start : start + len(grp)],
            )
        )
        start += len(grp)
    return builders


def fill_and_solve(
    builders: Sequence[StackBuilder], tol: float, max_iter: int, threads: int
) -> tuple[list[Stack], list[tuple[Any, Any, Any, Any]]] | None:
    """Fill every market's rows and solve it (as :func:`stack_all`, then
    :func:`newton_stacks`), without a barrier between the two: each thread fills its
    markets of a stack (:func:`critmin.model.kernels.market_fill`,
    :meth:`critmin.model.core.StackBuilder.finish_row`) and solves them right after
    (:func:`critmin.model.kernels.newton_markets`), while their pair lists are still in the
    caches. Each market is filled and solved whole by one thread, by the same calls as
    without threads, so the numbers do not depend on ``threads``. Markets go longest first
    (:func:`builder_costs`: fill and Newton together) to the least loaded thread.

    ``None`` (nothing done) where sharing does not pay (less than :data:`MIN_SHARED_NS` of
    estimated Newton work, or fewer than two markets or threads)."""
    costs = [c for builder in builders for c in builder_costs(builder)]
    if threads <= 1 or len(costs) <= 1 or sum(costs) < MIN_SHARED_NS:
        return None
    jobs = [(s, b) for s, builder in enumerate(builders) for b in range(len(builder.markets))]
    mine = _shares(costs, jobs, len(builders), threads)
    which = [[np.array(bs, dtype=np.intp) for bs in per] for per in mine]
    early = [builder.assemble() for builder in builders]  # views: rows are read once filled
    arrays = [st.arrays for st in early]
    outs = _newton_outputs(early)
    fill_kernel = releasing_gil("market_fill")
    newton_kernel = releasing_gil("newton_markets")

    def work(t: int) -> None:
        for s, builder in enumerate(builders):
            if not len(which[t][s]):
                continue
            for b in mine[t][s]:
                builder.fill(b, fill_kernel)
                builder.finish_row(b)
            newton_kernel(
                arrays[s], early[s].sizes, tol, max_iter, False, True, which[t][s], *outs[s]
            )

    run_threads(work, threads)
    stacks = [builder.assemble() for builder in builders]  # any_floor of every fill
    return stacks, outs


def builder_costs(builder: StackBuilder) -> list[float]:
    """Rough cost (ns) of filling and solving each market of a stack before its fill, from
    its sizes (every producer slot and quota counted an unknown: an upper bound), fitted to
    the Newton time of each market of bench_solver's cases (b) and (d) on one thread (see
    docs/performance.md, "Quasi-Newton steps and the factored evaluation"): the Newton
    matrix (the dense float32 product ``N x n x N``, about 0.018 ns per multiply-add) and
    its float32 LU (``N^3``, 0.11 ns), about 58 ns per pair (the evaluations: most markets
    form one matrix and take seven or eight evaluations), about 34 us per market, plus
    about 2 ns per entry of the dense inputs for the fill."""
    out = []
    for m, (L, ns, nq) in zip(builder.markets, builder.counts, strict=True):
        N = float(ns + nq)
        n = float(m.n)
        out.append(0.018 * N * N * n + 0.11 * N**3 + 58.0 * L + 34_000.0 + 2.0 * n * n)
    return out


def newton_stacks(
    stacks: Sequence[Stack],
    tol: float,
    max_iter: int,
    *,
    pure: bool = False,
    single: bool = True,
) -> list[tuple[Any, Any, Any, Any]]:
    """The compiled Newton iteration from the baseline on every market of ``stacks``, on this
    thread, each market at its own size (:func:`critmin.model.kernels.newton_markets`: the
    numbers of the market solved alone), one compiled call per stack; per stack ``z``, the
    evaluation at ``z``, iterations and status (as :func:`critmin.model.kernels.newton_batch`
    returns them). ``pure`` and ``single`` as in :func:`critmin.model.solver._newton`. On
    several threads, :func:`fill_and_solve` fills and solves the markets of a batch."""
    outs = _newton_outputs(stacks)
    for st, out in zip(stacks, outs, strict=True):
        every = np.arange(st.B, dtype=np.intp)
        newton_markets(st.arrays, st.sizes, tol, max_iter, pure, single, every, *out)
    return outs


def _newton_outputs(stacks: Sequence[Stack]) -> list[tuple[Any, Any, Any, Any]]:
    """Per stack, zeroed space for what :func:`critmin.model.kernels.newton_markets` writes:
    solutions ``z``, the evaluation at them, iterations and status."""
    return [
        (
            np.zeros((st.B, st.N)),
            alloc_eval(st.B, st.L, st.n + 1, st.ns, st.nq),
            np.zeros(st.B, dtype=np.intp),
            np.zeros(st.B, dtype=np.intp),
        )
        for st in stacks
    ]


def _shares(
    costs: Sequence[float], jobs: Sequence[tuple[int, int]], stacks: int, threads: int
) -> list[list[list[int]]]:
    """Per thread and stack, the markets it takes (``jobs``: stack and market of each cost),
    longest first to the least loaded thread (:func:`longest_first`)."""
    mine: list[list[list[int]]] = [[[] for _ in range(stacks)] for _ in range(threads)]
    for t, share in enumerate(longest_first(costs, threads)):
        for k in share:
            s, b = jobs[k]
            mine[t][s].append(b)
    return mine


def windows(groups: list[list[int]], sizes: Sequence[int], limit: int) -> list[list[list[int]]]:
    """Consecutive size buckets (lists of market indices) taken together while their stacks
    stay within ``limit`` elements (``batch * n * n`` summed: memory), so that the threads
    share out the markets of several buckets at once."""
    out: list[list[list[int]]] = []
    total = 0
    for grp in groups:
        top = max(sizes[k] for k in grp)
        elements = len(grp) * top * top
        if out and total + elements <= limit:
            out[-1].append(grp)
            total += elements
        else:
            out.append([grp])
            total = elements
    return out


def levels_threaded(
    stacks: Sequence[Stack],
    zs: Sequence[Any],
    Fs: Sequence[Any],
    bufs: Sequence[Any],
    log_range: float,
    threads: int,
) -> list[Levels]:
    """Levels, surplus changes and revenue of every market of solved stacks (solutions
    ``zs``, their residuals ``Fs``, their evaluations ``bufs``; representable where every
    ``|z| < log_range``): one compiled call per
    stack (:func:`critmin.model.kernels.levels_batch`, which releases the GIL), the stacks
    shared out over ``threads`` threads."""
    out: list[Levels | None] = [None] * len(stacks)

    def work(t: int) -> None:
        for s in share[t]:
            st, e = stacks[s], bufs[s]
            out[s] = kernel(
                st.arrays,
                st.sizes,
                zs[s],
                Fs[s],
                e.nu,
                e.X,
                e.lnP,
                e.q,
                e.f_check,
                st.eps_country,
                st.floor_country,
                st.pt1,
                st.pF,
                st.rev0,
                log_range,
            )

    if threads > 1 and len(stacks) > 1:
        share = longest_first([float(st.B * st.L) for st in stacks], threads)
        kernel = releasing_gil("levels_batch")
        run_threads(work, threads)
    else:
        share = [list(range(len(stacks)))]
        kernel = levels_batch
        work(0)
    return [lv for lv in out if lv is not None]
