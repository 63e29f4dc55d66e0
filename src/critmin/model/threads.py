"""Threads for batched solves: the markets of a batch shared out over the CPUs.

The compiled kernels release the GIL (``nogil=True``), so plain Python threads run them in
parallel: work shared out over threads runs through Numba's dispatchers
(:func:`critmin.model.compiled.releasing_gil`; the ahead-of-time build's exports release the
GIL too, but checking their arguments in Python made them slower on threads), work on one
thread through whichever :mod:`critmin.model.compiled` chose (the same numbers). Work is
split by market, never inside one: every market is set up and solved whole
by one thread, by the same compiled code as on its own, so the numbers do not depend on the
number of threads or on which thread solved what (:func:`critmin.model.solver.solve_batch`).
A batch is handed over once (:func:`solve_shared`): its markets, longest first, are cut into
chunks of decreasing work (:func:`guided_chunks`) that the threads take as they come free, and
the thread that takes a chunk builds, fills, solves and levels its stacks, one compiled call
per market for the fill and one per stack for the Newton iteration and the levels: a dispatch
costs a few microseconds under the GIL, a market tens to thousands of microseconds without
it. The setup steps of very large batches (:func:`fill_stacks`, :func:`count_sizes`,
:func:`levels_threaded`) share their work statically, longest job first to the least loaded
thread (Graham 1969, "LPT": :func:`longest_first`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from critmin.model.compiled import levels_batch, newton_markets, releasing_gil
from critmin.model.core import (
    Market,
    ResolvedPolicy,
    Stack,
    StackBuilder,
    market_counts,
)
from critmin.model.kernel_tuples import EvalBuf, Levels

__all__ = [
    "SolvedStack",
    "batch_threads",
    "count_sizes",
    "empty_evaluation",
    "fill_stacks",
    "guided_chunks",
    "levels_threaded",
    "longest_first",
    "market_costs",
    "newton_stacks",
    "run_threads",
    "shared_setup",
    "solve_shared",
    "stack_builders",
    "stack_levels",
    "windows",
    "worth_sharing",
]

_POOL: ThreadPoolExecutor | None = None
_POOL_PID = 0
MIN_SHARED_NS = 300_000.0
"""Batches estimated (:func:`market_costs`) below this many nanoseconds of work run on
one thread: waking a helper thread and waiting for it costs tens of microseconds."""
MIN_SHARED_ENTRIES = 50_000
"""Batches whose dense inputs have fewer entries than this (``sum n^2``) are set up on one
thread (for the same reason)."""
MERGE_PAIRS = 8_000
"""Padding pairs that cost about what one more stack costs on a thread (:func:`merge_parts`):
a stack's allocation and calls take tens of microseconds, a padding pair a few nanoseconds
(filled, levelled, zeroed). In-process alternations of 100 batches on 2 threads: merging
within 2,000 to 16,000 pairs made (b) 8-12% and (d) 6-9% faster than no merging; 32,000
was slower on (d)."""
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


def count_sizes(
    members: Sequence[int],
    markets: Sequence[Market],
    resolved: Sequence[ResolvedPolicy],
    threads: int,
) -> list[tuple[int, int, int]]:
    """Open pairs, producer slots and quotas of markets ``members``
    (:func:`critmin.model.kernels.market_sizes`, which releases the GIL), counted on
    ``threads`` threads (longest first, by ``n^2``), or on this thread where they are fewer
    than :data:`MIN_SHARED_COUNT` entries."""
    if sum(markets[k].n ** 2 for k in members) < MIN_SHARED_COUNT:
        threads = 1
    if threads <= 1:
        return [market_counts(markets[k], resolved[k]) for k in members]
    counts: list[Any] = [None] * len(members)
    share = longest_first([float(markets[k].n) ** 2 for k in members], threads)
    sizes_kernel = releasing_gil("market_sizes")

    def count(t: int) -> None:
        for pos in share[t]:
            counts[pos] = market_counts(markets[members[pos]], resolved[members[pos]], sizes_kernel)

    run_threads(count, threads)
    return counts


def stack_builders(
    groups: Sequence[list[int]],
    markets: Sequence[Market],
    resolved: Sequence[ResolvedPolicy],
    counts: Sequence[tuple[int, int, int]],
) -> list[StackBuilder]:
    """One :class:`critmin.model.core.StackBuilder` per group of market indices (its arrays
    allocated, not filled), from every market's sizes ``counts`` (:func:`count_sizes`, in the
    order of the groups' members)."""
    builders = []
    start = 0
    for grp in groups:
        builders.append(
            StackBuilder(
                [markets[k] for k in grp],
                [resolved[k] for k in grp],
                list(counts[start : start + len(grp)]),
            )
        )
        start += len(grp)
    return builders


SolvedStack = tuple[list[int], Stack, tuple[Any, Any, Any, Any], Levels]
"""A stack solved by :func:`solve_shared`: its markets (indices into the batch), the stack,
what :func:`critmin.model.kernels.newton_markets` wrote (``z``, the evaluation at ``z``,
iterations, status) and the levels at ``z`` (:func:`critmin.model.kernels.levels_batch`)."""


def market_costs(markets: Sequence[Market], counts: Sequence[tuple[int, int, int]]) -> list[float]:
    """Rough cost (ns) of filling, solving and levelling each market, from its sizes
    ``counts`` (:func:`count_sizes`; every producer slot and quota counted an unknown: an
    upper bound), fitted to the Newton time of each market of bench_solver's cases (b) and
    (d) on one thread (see docs/performance.md, "Quasi-Newton steps and the factored
    evaluation"): the Newton matrix (the dense float32 product ``N x n x N``, about 0.018 ns
    per multiply-add) and its float32 LU (``N^3``, 0.11 ns), about 58 ns per pair (the
    evaluations: most markets form one matrix and take seven or eight evaluations), about
    34 us per market, plus about 2 ns per entry of the dense inputs for the fill."""
    out = []
    for m, (L, ns, nq) in zip(markets, counts, strict=True):
        N = float(ns + nq)
        n = float(m.n)
        out.append(0.018 * N * N * n + 0.11 * N**3 + 58.0 * L + 34_000.0 + 2.0 * n * n)
    return out


def worth_sharing(costs: Sequence[float], threads: int) -> bool:
    """Whether work of these ``costs`` (:func:`market_costs`) pays for waking helper threads:
    two threads or more, two markets or more and at least :data:`MIN_SHARED_NS` of work."""
    return threads > 1 and len(costs) > 1 and sum(costs) >= MIN_SHARED_NS


def solve_shared(
    groups: Sequence[list[int]],
    markets: Sequence[Market],
    resolved: Sequence[ResolvedPolicy],
    counts: Sequence[tuple[int, int, int]],
    tol: float,
    max_iter: int,
    log_range: float,
    threads: int,
    costs: Sequence[float] | None = None,
) -> list[SolvedStack]:
    """Fill, solve and level the markets of ``groups`` (size buckets of market indices) on
    ``threads`` threads, one hand-over for all of it. The markets, longest first
    (:func:`market_costs`), are cut into chunks of decreasing work (:func:`guided_chunks`)
    that the threads take one after the other as they come free (a thread that wakes late,
    or runs slower, simply takes fewer); a chunk's markets form stacks by size bucket
    (consecutive buckets merged while that adds little padding: :func:`merge_parts`), and the
    thread that took it builds them, fills them (:func:`critmin.model.kernels.market_fill`,
    :meth:`critmin.model.core.StackBuilder.finish`), runs the Newton iteration on them
    (:func:`critmin.model.kernels.newton_markets`) and their levels
    (:func:`critmin.model.kernels.levels_batch`), while their pair lists are still in the
    caches. ``counts`` are the markets' sizes in the order of the groups' members, ``costs``
    their :func:`market_costs` (computed here if not given). Each market
    is filled, solved and levelled whole by one thread, by the same calls as alone, so the
    numbers depend neither on ``threads`` nor on which markets share a stack. On one thread,
    one chunk of every market, through the compiled module's own kernels (the AOT build's
    when current)."""
    members = [k for grp in groups for k in grp]
    position = {k: pos for pos, k in enumerate(members)}
    pairs = {k: counts[position[k]][0] for k in members}
    if threads > 1:
        if costs is None:
            costs = market_costs([markets[k] for k in members], counts)
        chunks = guided_chunks(costs, members, threads)
    else:
        chunks = [members]
    plan = []
    for chunk in chunks:
        mine = set(chunk)
        plan.append(
            merge_parts([part for grp in groups if (part := [k for k in grp if k in mine])], pairs)
        )
    if threads > 1:
        fill_kernel = releasing_gil("market_fill")
        newton_kernel = releasing_gil("newton_markets")
        levels_kernel = releasing_gil("levels_batch")
    else:  # the compiled module's own (the AOT build's, when current)
        fill_kernel, newton_kernel, levels_kernel = None, newton_markets, levels_batch
    done: list[list[SolvedStack]] = [[] for _ in range(threads)]
    taken = iter(range(len(plan)))  # the next chunk: next() holds the GIL, so each is taken once
    stopped: list[bool] = []

    def work(t: int) -> None:
        try:
            for c in taken:
                if stopped:
                    return
                solve_chunk(t, c)
        except BaseException:  # Ctrl-C or an error: the other threads take no new chunk
            stopped.append(True)
            raise

    def solve_chunk(t: int, c: int) -> None:
        # the chunk's allocations first (Python, under the GIL), then its kernels (without)
        builders = [
            StackBuilder(
                [markets[k] for k in part],
                [resolved[k] for k in part],
                [counts[position[k]] for k in part],
            )
            for part in plan[c]
        ]
        outs = [_newton_space(*builder.shape) for builder in builders]
        for part, builder, out in zip(plan[c], builders, outs, strict=True):
            for b in range(len(part)):
                builder.fill(b, fill_kernel)
            st = builder.finish()
            every = np.arange(st.B, dtype=np.intp)
            newton_kernel(st.arrays, st.sizes, tol, max_iter, False, True, every, *out)
            z, e = out[0], out[1]
            done[t].append((part, st, out, stack_levels(levels_kernel, st, z, e.F, e, log_range)))

    run_threads(work, threads)
    return [solved for mine in done for solved in mine]


CHUNK_SHARE = 1.0
MIN_CHUNK_NS = 500_000.0
"""Chunks of :func:`solve_shared`: each takes markets (longest first) until it holds about
``CHUNK_SHARE / threads`` of the work not yet in a chunk, and at least ``MIN_CHUNK_NS``
(a chunk's stacks cost their allocation and calls, tens of microseconds): "guided"
self-scheduling (Polychronopoulos & Kuck 1987), so the first chunks are large and the last
ones small, and the threads, taking them as they come free, end within about a small
chunk of each other. A static split (longest first to the least loaded thread) left the
helper thread, which starts 0.1-0.3 ms after the calling thread (it waits for the GIL, held
by the calling thread until its first kernel) and runs slower on a cold core, finishing
0.4-0.7 ms after it on bench_solver's case (d). The values come from a scan on (b) and (d)
(docs/performance.md, "Chunks taken as the threads come free")."""


def guided_chunks(costs: Sequence[float], members: Sequence[int], threads: int) -> list[list[int]]:
    """``members`` (with their ``costs``) cut into chunks for :func:`solve_shared`: by
    decreasing cost (ties in order), each chunk taking markets until its cost reaches
    ``max(CHUNK_SHARE / threads x the cost not yet in a chunk, MIN_CHUNK_NS)``; every chunk
    lists its markets in the order of ``members``."""
    order = sorted(range(len(members)), key=lambda i: -costs[i])
    left = float(sum(costs))
    chunks: list[list[int]] = []
    current: list[int] = []
    held = 0.0
    target = max(CHUNK_SHARE / threads * left, MIN_CHUNK_NS)
    for i in order:
        current.append(i)
        held += costs[i]
        if held >= target:
            chunks.append(current)
            left -= held
            current, held = [], 0.0
            target = max(CHUNK_SHARE / threads * left, MIN_CHUNK_NS)
    if current:
        chunks.append(current)
    return [[members[i] for i in sorted(chunk)] for chunk in chunks]


def merge_parts(parts: list[list[int]], pairs: dict[int, int]) -> list[list[int]]:
    """Consecutive parts (lists of market indices) merged into one stack while the padding
    this adds (pairs of the stack, ``B x max L``, beyond the markets' own ``pairs``) stays
    within :data:`MERGE_PAIRS`: a stack more costs its allocation, fill call set-up, Newton and
    levels calls (tens of microseconds), a padding pair a few nanoseconds."""
    out: list[list[int]] = []
    for part in parts:
        if out:
            last = out[-1]
            both = last + part
            added = _padding(both, pairs) - _padding(last, pairs) - _padding(part, pairs)
            if added <= MERGE_PAIRS:
                out[-1] = both
                continue
        out.append(list(part))
    return out


def _padding(part: list[int], pairs: dict[int, int]) -> int:
    """Padding pairs of a stack of these markets: ``B x max L - sum L``."""
    own = [pairs[k] for k in part]
    return len(own) * max(own) - sum(own)


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
    several threads, :func:`solve_shared` fills, solves and levels the markets of a batch."""
    outs = _newton_outputs(stacks)
    for st, out in zip(stacks, outs, strict=True):
        every = np.arange(st.B, dtype=np.intp)
        newton_markets(st.arrays, st.sizes, tol, max_iter, pure, single, every, *out)
    return outs


def _newton_outputs(stacks: Sequence[Stack]) -> list[tuple[Any, Any, Any, Any]]:
    """Per stack, space for what :func:`critmin.model.kernels.newton_markets` writes:
    solutions ``z``, the evaluation at them, iterations and status (zeroed; the evaluation
    uninitialised, :func:`critmin.model.core.empty_evaluation`)."""
    return [_newton_space(st.B, st.n, st.L, st.ns, st.nq) for st in stacks]


def _newton_space(B: int, n: int, L: int, ns: int, nq: int) -> tuple[Any, Any, Any, Any]:
    """Space for :func:`critmin.model.kernels.newton_markets` on a stack of these sizes
    (markets, countries, pairs, producer slots, quotas): ``z``, the evaluation, iterations
    and status."""
    return (
        np.zeros((B, ns + nq)),
        empty_evaluation(B, L, n + 1, ns, nq),
        np.zeros(B, dtype=np.intp),
        np.zeros(B, dtype=np.intp),
    )


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
            out[s] = stack_levels(kernel, stacks[s], zs[s], Fs[s], bufs[s], log_range)

    if threads > 1 and len(stacks) > 1:
        share = longest_first([float(st.B * st.L) for st in stacks], threads)
        kernel = releasing_gil("levels_batch")
        run_threads(work, threads)
    else:
        share = [list(range(len(stacks)))]
        kernel = levels_batch
        work(0)
    return [lv for lv in out if lv is not None]


def stack_levels(
    kernel: Callable[..., Levels], st: Stack, z: Any, F: Any, e: Any, log_range: float
) -> Levels:
    """The levels of every market of a solved stack (solutions ``z``, residuals ``F``, the
    evaluation ``e`` at ``z``) by ``kernel``: :func:`critmin.model.kernels.levels_batch`, or
    the same function from :func:`critmin.model.compiled.releasing_gil`."""
    return kernel(
        st.arrays,
        st.sizes,
        z,
        F,
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


_EVAL_ROWS = {
    **dict.fromkeys(("lnc_hat", "K", "theta", "q", "lnc", "work", "scratch"), "L"),
    **dict.fromkeys(("lnP", "m", "T"), "n1"),
    **dict.fromkeys(("Q", "X", "nu"), "ns1"),
    **dict.fromkeys(("f_check", "S", "dS"), "ns"),
    "F": "N",
    "h": "nq",
}
_EVAL_LAYOUT = tuple(
    (_EVAL_ROWS[name], np.bool_ if name == "K" else np.float64) for name in EvalBuf._fields
)
"""The length and type of each row of an :class:`EvalBuf` (its fields in order), as
:func:`critmin.model.kernels.alloc_eval` allocates them: pairs ``L``, buyers ``n1``, slots
``ns`` or ``ns1 = ns + 1``, unknowns ``N = ns + nq``, quotas ``nq``."""


def empty_evaluation(B: int, L: int, n1: int, ns: int, nq: int) -> EvalBuf:
    """Uninitialised space for an evaluation of ``B`` markets, as
    :func:`critmin.model.kernels.alloc_eval` allocates it (the kernels write every entry), but
    without a compiled call: that would release the GIL, and another thread would take it
    in between (:func:`solve_shared`)."""
    length = {"L": L, "n1": n1, "ns": ns, "ns1": ns + 1, "N": ns + nq, "nq": nq}
    return EvalBuf._make([np.empty((B, length[k]), dtype=t) for k, t in _EVAL_LAYOUT])
