"""Solve markets of the Armington partial-equilibrium model: batches, fallbacks, solutions.

:func:`solve_batch` stacks markets (padded to common sizes, grouped by size), runs the
compiled safeguarded semismooth Newton iteration of :mod:`critmin.model.kernels` on each
(analytic semismooth Jacobian with the flat-row treatment of
:func:`critmin.model.core.newton_system`, trust region in log units, non-monotone Armijo
line search that first tries the first floor kink on the way, Broyden quasi-Newton steps on
the last LU factors near the solution). Markets on which it fails are solved again from the baseline: by the same
iteration with float64 factorisations, then with full Newton steps, then with
Levenberg-Marquardt. Stress tests against an independent ``scipy.optimize.root``
implementation found no case that these attempts miss and the reference solves, outside
near-degenerate corners: ``eta = 0`` with supply elasticities near 0, or with producer-subsidy
floors. Each market then becomes a :class:`Solution`: levels per country and welfare.

The solver never raises on non-convergence: the :class:`Solution` says ``converged=False``
with a message, the number of iterations and the largest residual.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from critmin.model.compiled import (
    LINE_SEARCH_FAILED,
    MAX_STEP_LIMIT,
    levels_batch,
    market_solve,
    newton_batch,
    solve_step,
)
from critmin.model.core import (
    BoolArray,
    Evaluation,
    FloatArray,
    IntArray,
    Market,
    ModelInputError,
    Policy,
    ResolvedPolicy,
    Stack,
    evaluate,
    newton_system,
    stack,
    stack_of,
    unshifted,
)
from critmin.model.kernel_tuples import EvalBuf, Levels
from critmin.model.solution import (
    LOG_RANGE,
    WELFARE_TERMS,
    Solution,
    stack_solutions,
)
from critmin.model.threads import (
    SolvedStack,
    batch_threads,
    count_sizes,
    fill_stacks,
    levels_threaded,
    market_costs,
    newton_stacks,
    shared_setup,
    solve_shared,
    stack_builders,
    stack_levels,
    windows,
    worth_sharing,
)
from critmin.model.welfare import Welfare, assemble_welfare

__all__ = [
    "InnerSolve",
    "Solution",
    "solve",
    "solve_batch",
    "solve_from",
    "solve_inner",
    "solve_unknowns",
    "warm_up",
]

SINGLE_THREAD_BELOW = 1024
"""Systems with fewer unknowns than this are solved with one BLAS thread (see ``_blas``)."""
CHUNK_ELEMENTS = 4_000_000
"""Upper bound on ``batch * n * n`` per stacked solve (memory: ~20 such float arrays)."""


# --------------------------------------------------------------------------------------------


_BLAS_CONTROLS: list[tuple[Callable[[], Any], Callable[[int], Any]]] | None = None


def _blas_controls() -> list[tuple[Callable[[], Any], Callable[[int], Any]]]:
    """Per BLAS library loaded in this process (numpy's and scipy's OpenBLAS; the compiled
    solver calls scipy's), a function that reads its thread count and one that sets it,
    found once with threadpoolctl: OpenBLAS's own C functions where threadpoolctl finds
    them (a call costs well under a microsecond), else threadpoolctl's controller methods."""
    global _BLAS_CONTROLS
    if _BLAS_CONTROLS is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            return []
        controls = []
        for lib in ThreadpoolController().select(user_api="blas").lib_controllers:
            symbol = getattr(lib, "_get_symbol", None)
            direct = None
            if lib.internal_api == "openblas" and lib.threading_layer != "openmp" and symbol:
                get, set_ = symbol("openblas_get_num_threads"), symbol("openblas_set_num_threads")
                direct = (get, set_) if get is not None and set_ is not None else None
            controls.append(direct or (lib.get_num_threads, lib.set_num_threads))
        _BLAS_CONTROLS = controls
    return _BLAS_CONTROLS


class _blas:
    """One BLAS thread for small dense systems (restored on exit).

    For matrices of a few hundred rows multi-threaded BLAS only adds synchronisation: on a
    2-vCPU VM OpenBLAS made a 200 x 200 LU solve 10-100x slower with its default threads.
    Sets the thread count of each library directly (:func:`_blas_controls`: two calls each,
    well under a microsecond; threadpoolctl's ``limit`` context re-inspects every library and
    costs about 0.1 ms). A no-op for large systems and for libraries on one thread already.
    """

    __slots__ = ("before", "controls")

    def __init__(self, n_unknowns: int) -> None:
        self.controls = _blas_controls() if n_unknowns < SINGLE_THREAD_BELOW else []
        self.before: list[Any] = []

    def __enter__(self) -> None:
        self.before = [get() for get, _ in self.controls]
        for (_, set_), k in zip(self.controls, self.before, strict=True):
            if k != 1:
                set_(1)

    def __exit__(self, *exc: object) -> None:
        for (_, set_), k in zip(self.controls, self.before, strict=True):
            if k != 1:
                set_(k)


@dataclass(eq=False)
class _State:
    z: FloatArray
    F: FloatArray
    iterations: IntArray
    done: BoolArray
    failed: BoolArray
    note: list[str]
    last: Evaluation | None = None
    """The evaluation at ``z`` for the whole batch, when the iteration ended on one."""

    @classmethod
    def start(cls, z: FloatArray, F: FloatArray) -> _State:
        """Unknowns ``z`` with residuals ``F``, before any iteration."""
        B = z.shape[0]
        return cls(
            z=z,
            F=F,
            iterations=np.zeros(B, dtype=np.intp),
            done=np.zeros(B, dtype=np.bool_),
            failed=np.zeros(B, dtype=np.bool_),
            note=[""] * B,
        )


def _newton(
    st: Stack, tol: float, max_iter: int, *, pure: bool = False, single: bool = True
) -> _State:
    """Run the compiled safeguarded semismooth Newton iteration
    (:func:`critmin.model.kernels.newton_batch`) on every market of a stack.

    With ``pure`` every finite step is taken in full (still capped by the trust region): the
    fallback for elements on which the safeguarded iteration stalled, since a line search on a
    non-smooth residual can stall where plain Newton steps cross the kinks to the solution.
    With ``single`` the Newton matrices are factored in float32 while that works (see
    :data:`critmin.model.kernels.SINGLE_UNTIL`); without it, in float64 throughout.
    """
    single = single and not pure
    if _own_sized(st):  # one market, not padded
        return _newton_state(*newton_batch(st.arrays, tol, max_iter, pure, single))
    # each market at its own size, as alone (not at the padded size)
    return _newton_state(*newton_stacks([st], tol, max_iter, pure=pure, single=single)[0])


def _own_sized(st: Stack) -> bool:
    """Whether ``st`` is one market at its own sizes (no padding country, slot, quota or
    pair), as :func:`critmin.model.core.stack` builds it for a market alone."""
    return st.own_sized or (
        st.B == 1
        and st.n == int(st.sizes[0])
        and int(st.nvalid[0]) == st.L
        and bool((st.slot_country[0] < st.n).all())
        and bool(st.qmask[0].all())
    )


def _newton_state(z: FloatArray, buf: EvalBuf, iterations: IntArray, status: IntArray) -> _State:
    """The :class:`_State` of a stack solved by the compiled Newton iteration."""
    last = Evaluation(z=z, buf=buf)
    failed = status == LINE_SEARCH_FAILED
    note = [
        "line search failed (no decrease of the residual norm along the Newton direction)"
        if f
        else ""
        for f in failed.tolist()
    ]
    return _State(
        z=z,
        F=last.F,  # the evaluation's own: _retry copies it before it writes
        iterations=iterations,
        done=status == 1,
        failed=failed,
        note=note,
        last=last,
    )


def _levenberg_marquardt(st: Stack, tol: float, max_iter: int) -> _State:
    """Levenberg-Marquardt on ``||F||^2`` from the baseline, batched; the last resort.

    Steps ``d = -(J'J + mu (diag(J'J) + 1e-12))^-1 J'F`` (with the flat-row treatment of
    :func:`critmin.model.core.newton_system`); ``mu`` falls by 3 after a step that lowers the
    residual norm and rises by 4 otherwise (Marquardt 1963; More 1978). Slower than Newton but
    robust where the price level is only weakly determined (``eta = 0`` and supply
    elasticities near 0), which makes Newton steps wander along that direction.
    """
    B, N = st.B, st.N
    z = np.zeros((B, N))
    ev = evaluate(st, z)
    F = ev.F.copy()
    phi = np.sqrt((F * F).sum(axis=1))
    mu = np.full(B, 1e-3)
    state = _State.start(z, F)
    state.failed[~np.isfinite(phi)] = True  # no step can lower an infinite residual norm
    eye = np.eye(N)
    for _ in range(2 * max_iter):
        state.done = np.abs(state.F).max(axis=1, initial=0.0) <= tol
        idx = np.flatnonzero(~state.done & ~state.failed)
        if len(idx) == 0:
            break
        sub = st.subset(idx)
        evk = evaluate(sub, state.z[idx])
        J, rhs = newton_system(sub, evk)
        JT = J.transpose(0, 2, 1)
        A = JT @ J
        dg = np.einsum("bii->bi", A)
        A = A + (mu[idx, None] * (dg + 1e-12))[:, :, None] * eye
        g = np.ascontiguousarray((JT @ rhs[:, :, None])[:, :, 0])
        d = np.stack([solve_step(A[k], g[k]) for k in range(len(idx))])
        big = np.abs(d).max(axis=1)
        d *= np.minimum(1.0, MAX_STEP_LIMIT / np.maximum(big, 1e-300))[:, None]
        zt = state.z[idx] + d
        evt = evaluate(sub, zt)
        pt = np.sqrt((evt.F * evt.F).sum(axis=1))
        ok = np.isfinite(pt) & (pt < phi[idx])
        acc = idx[ok]
        state.z[acc] = zt[ok]
        state.F[acc] = evt.F[ok]
        phi[acc] = pt[ok]
        state.iterations[acc] += 1
        mu[idx] = np.where(ok, np.maximum(mu[idx] / 3.0, 1e-12), mu[idx] * 4.0)
        state.failed[idx[mu[idx] > 1e12]] = True
    state.done = np.abs(state.F).max(axis=1, initial=0.0) <= tol
    return state


def _retry(st: Stack, state: _State, idx: IntArray, tol: float, max_iter: int) -> None:
    """Re-solve elements ``idx`` from the baseline: the same safeguarded Newton iteration with
    float64 factorisations, then with full Newton steps, then Levenberg-Marquardt; keep the
    successes."""
    state.F = state.F.copy()  # not the evaluation's any more
    for attempt in ("float64", "pure", "lm"):
        idx = idx[~state.done[idx]]
        if len(idx) == 0:
            return
        sub = st.subset(idx)
        if attempt == "float64":
            again = _newton(sub, tol, max_iter, single=False)
        elif attempt == "pure":
            again = _newton(sub, tol, max_iter, pure=True)
        else:
            again = _levenberg_marquardt(sub, tol, max_iter)
        for j, b in enumerate(idx):
            state.iterations[b] += again.iterations[j]
            if again.done[j]:
                state.z[b] = again.z[j]
                state.F[b] = again.F[j]
                state.done[b] = True
                state.note[b] = ""


def _welfare(st: Stack, state: _State, lv: Levels) -> Welfare:
    """Welfare terms of every market of a solved stack (arrays ``(B, n)``), from its levels
    ``lv`` (:func:`critmin.model.threads.levels_threaded`, which computes them as
    :func:`critmin.model.welfare.assemble_welfare` does, and says which solutions are
    representable and their largest residuals).

    Where a converged market has a NaN welfare they are computed again by
    :func:`critmin.model.welfare.assemble_welfare` (the same numbers), element by element,
    so that NumPy warns of the invalid operation as it always did; for markets that did not
    converge it stays silent.
    """
    # Degenerate equilibria (sigma near 1 with eta = 0 and a ban removing most of a buyer's
    # supply) can move prices beyond the float range: they then overflow to inf, honestly.
    # The last iterate of a failed solve (e.g. a price driven to 0 while its export-tax
    # equivalent grows without bound) may also produce inf * 0; it is reported as not
    # converged, without a warning.
    done = state.done & lv.representable
    if not (done & lv.invalid).any():
        return Welfare(
            dCS=lv.dCS,
            dPS=lv.dPS,
            tariff_revenue=lv.tariff_revenue,
            quota_rent=lv.quota_rent,
            subsidy_cost=lv.subsidy_cost,
            welfare=lv.welfare,
        )
    n = st.n
    parts = [(np.flatnonzero(done), True), (np.flatnonzero(~done), False)]
    whole = {f: np.empty((st.B, n)) for f in WELFARE_TERMS}
    for rows, warn in parts:
        with np.errstate(over="ignore", invalid="warn" if warn else "ignore"):
            wf = assemble_welfare(
                dCS=lv.dCS[rows],
                dPS=lv.dPS[rows],
                revenue=lv.revenue[rows],
                baseline_revenue=st.rev0[rows, :n],
                pi=lv.pi[rows],
                e=lv.e[rows],
                pi_s=lv.pi_s[rows],
                S=lv.S[rows],
                R=lv.R[rows],
                exports=lv.exports[rows],
            )
        for f in WELFARE_TERMS:
            whole[f][rows] = getattr(wf, f)
    return Welfare(**whole)


def _buckets(sizes: Sequence[int], ratio: float = 0.75) -> list[list[int]]:
    """Group element indices by size so that padding wastes little and memory stays bounded.

    Elements are sorted by ``n`` (largest first); a bucket takes elements down to ``ratio``
    times its largest ``n`` and at most ``CHUNK_ELEMENTS / n^2`` of them.
    """
    order = sorted(range(len(sizes)), key=lambda k: -sizes[k])
    out: list[list[int]] = []
    cur: list[int] = []
    top = 0
    for k in order:
        n = sizes[k]
        if cur and (n < ratio * top or (len(cur) + 1) * top * top > CHUNK_ELEMENTS):
            out.append(cur)
            cur = []
        if not cur:
            top = n
        cur.append(k)
    if cur:
        out.append(cur)
    return out


def _check_options(tol: float, max_iter: int) -> None:
    if not (np.isfinite(tol) and tol > 0):
        raise ModelInputError(f"tol: expected a positive tolerance, got {tol}")
    if max_iter < 0:
        raise ModelInputError(f"max_iter: expected a non-negative integer, got {max_iter}")


_Solved = tuple[list[int], Stack, _State, Evaluation, Levels]
"""A solved stack: its markets (indices into the batch), the stack, the outcome of the
iteration, the evaluation at the solutions and their levels."""


def _solve_window(
    window: list[list[int]],
    markets: Sequence[Market],
    resolved: Sequence[ResolvedPolicy],
    tol: float,
    max_iter: int,
    nthreads: int,
) -> list[_Solved]:
    """Solve the markets of ``window`` (size buckets of market indices) with their levels.

    One market: :func:`_solve_one`. Several of fewer than :data:`SINGLE_THREAD_BELOW`
    unknowns: each thread fills, solves and levels its markets, stack after stack, with one
    hand-over (:func:`critmin.model.threads.solve_shared`; on one thread where the work does
    not pay for a second). Larger systems (whose BLAS may use threads): the stacks are
    filled, then solved stack by stack, then levelled. Markets on which the iteration fails
    are retried on this thread (:func:`_retry`) and their stack levelled again."""
    members = [k for grp in window for k in grp]
    if len(members) == 1:
        k = members[0]
        return [_solve_one(k, markets[k], resolved[k], tol, max_iter)]
    counts = count_sizes(
        members, markets, resolved, nthreads if shared_setup(window, markets) else 1
    )
    n_unknowns = max(ns + nq for _, ns, nq in counts)
    if n_unknowns < SINGLE_THREAD_BELOW:
        costs = market_costs([markets[k] for k in members], counts)
        threads = nthreads if worth_sharing(costs, nthreads) else 1
        with _blas(n_unknowns):
            shared = solve_shared(
                window, markets, resolved, counts, tol, max_iter, LOG_RANGE, threads, costs
            )
            return [_retried(part, tol, max_iter) for part in shared]
    stacks = fill_stacks(stack_builders(window, markets, resolved, counts), nthreads)
    with _blas(n_unknowns):  # one call for every stack (each market at its own size, as alone)
        states = [_newton_state(*res) for res in newton_stacks(stacks, tol, max_iter)]
        for st, state in zip(stacks, states, strict=True):
            if not state.done.all():
                _retry(st, state, np.flatnonzero(~state.done), tol, max_iter)
                state.last = None
    evs = [
        s.last if s.last is not None else evaluate(st, s.z)
        for st, s in zip(stacks, states, strict=True)
    ]
    levels = levels_threaded(
        stacks,
        [s.z for s in states],
        [s.F for s in states],
        [ev.buf for ev in evs],
        LOG_RANGE,
        nthreads,
    )
    return list(zip(window, stacks, states, evs, levels, strict=True))


def _one_call(market: Market, policy: ResolvedPolicy) -> bool:
    """Whether :func:`critmin.model.kernels.market_solve` solves this market alone in one
    call: nothing comes between its fill and the iteration (``eta > 0``: no numeraire; no
    demand or supply shifter) and its system is small enough for one BLAS thread (``N = ns +
    nq <= 2 n`` unknowns below :data:`SINGLE_THREAD_BELOW`)."""
    return (
        market.eta != 0.0
        and 2 * market.n < SINGLE_THREAD_BELOW
        and unshifted(policy.demand_shift)
        and unshifted(policy.supply_shift)
    )


_BASELINE = np.zeros(0)
"""The empty start of :func:`critmin.model.kernels.market_solve`: from the baseline."""


def _solve_one(
    k: int,
    market: Market,
    policy: ResolvedPolicy,
    tol: float,
    max_iter: int,
    start: FloatArray | None = None,
) -> _Solved:
    """Market ``k`` alone: its own stack (no padding), the Newton iteration
    (:func:`critmin.model.kernels.newton_batch`), the retries where it fails, its levels.

    Where nothing comes between the fill and the iteration (no numeraire, ``eta > 0``; no
    shifter) and the system is small enough for one BLAS thread, all of it up to the levels
    is one compiled call (:func:`critmin.model.kernels.market_solve`: the same calls on the
    same arrays, so the same numbers), which starts from ``start`` where given (its unknowns
    ``z``, e.g. the solution under a nearby policy; :func:`solve_from`); elsewhere, and for
    the retries of a market the iteration fails on, from the baseline."""
    if _one_call(market, policy):
        with _blas(2 * market.n):
            blocks, any_floor, z, buf, iterations, status, lv = market_solve(
                market.V,
                market.t0,
                policy.t1,
                policy.banned,
                policy.export_cap,
                policy.levy_floor,
                policy.subsidy_floor,
                market.eps,
                market.sigma,
                market.eta,
                tol,
                max_iter,
                LOG_RANGE,
                _BASELINE if start is None else start,
            )
        st = stack_of([market], blocks, any_floor)
        state = _newton_state(z, buf, iterations, status)
        if state.done[0] and state.last is not None:
            return [k], st, state, state.last, lv
    else:
        st = stack([market], [policy])
        with _blas(st.N):
            state = _newton(st, tol, max_iter)
    if not state.done[0]:
        with _blas(st.N):
            _retry(st, state, np.flatnonzero(~state.done), tol, max_iter)
        state.last = None
    ev = state.last if state.last is not None else evaluate(st, state.z)
    lv = stack_levels(levels_batch, st, state.z, state.F, ev.buf, LOG_RANGE)
    return [k], st, state, ev, lv


def solve_from(
    market: Market,
    policy: ResolvedPolicy,
    start: FloatArray | None,
    *,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> tuple[Solution, FloatArray]:
    """One market under a resolved policy (as :func:`solve_batch` solves it), its Newton iteration
    started from ``start`` where the one-call path takes it (:func:`_solve_one`; ``None``: the
    baseline), and its unknowns ``z`` at the solution, to start the next solve of the same
    market under a nearby policy from (same sizes: the same market, bans and export caps).
    The outer iteration of :func:`critmin.model.quota_groups.solve_groups` solves its inner
    systems so: a step of the group wedges moves the inner solution a little, and from the
    last one the iteration needs 1-3 steps where it needs about 10 from the baseline. The
    solution is the same to the tolerance, not bit for bit; a start on which the iteration
    fails is retried from the baseline."""
    inner, z = solve_inner(market, policy, start, tol=tol, max_iter=max_iter)
    return inner.solution(), z


@dataclass(eq=False)
class InnerSolve:
    """One market solved by :func:`solve_inner`: what an outer iteration around the compiled
    system reads (whether it converged, its Newton steps, the quantities ``q = V x`` of its
    pairs), without building the :class:`Solution` (its welfare, views and message), which
    :meth:`solution` builds, the same object as :func:`solve_from` returns. The outer
    iteration of :func:`critmin.model.quota_groups.solve_groups` solves many inner systems
    for its finite differences and line search, and keeps one."""

    market: Market
    policy: ResolvedPolicy
    tol: float
    parts: _Solved

    @property
    def converged(self) -> bool:
        """As :attr:`Solution.converged`: a finite largest residual within ``tol``, and a
        representable solution."""
        lv = self.parts[4]
        max_res = float(lv.max_residual[0])
        return math.isfinite(max_res) and max_res <= self.tol and bool(lv.representable[0])

    @property
    def iterations(self) -> int:
        """As :attr:`Solution.iterations`."""
        return int(self.parts[2].iterations[0])

    def pair_quantities(self) -> tuple[IntArray, IntArray, FloatArray]:
        """Seller country, buyer country and ``q = V x`` of each open pair (seller after
        seller, then buyer: the pairs of :attr:`Solution.q`, whose other entries are 0)."""
        _, st, _, ev, lv = self.parts
        nv = int(st.nvalid[0])
        return lv.pair_i[0, :nv], st.pj[0, :nv], ev.q[0, :nv]

    def solution(self) -> Solution:
        """The :class:`Solution` (as :func:`solve_from` returns it)."""
        grp, st, state, ev, lv = self.parts
        wf = _welfare(st, state, lv)
        sols = stack_solutions(grp, [self.market], [self.policy], st, ev, state, self.tol, lv, wf)
        return sols[0]


def solve_inner(
    market: Market,
    policy: ResolvedPolicy,
    start: FloatArray | None,
    *,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> tuple[InnerSolve, FloatArray]:
    """:func:`solve_from` without its :class:`Solution` (built on demand:
    :meth:`InnerSolve.solution`): the same solve, the same numbers."""
    _check_options(tol, max_iter)
    parts = _solve_one(0, market, policy, tol, max_iter, start)
    return InnerSolve(market, policy, tol, parts), np.array(parts[2].z[0])


def _retried(part: SolvedStack, tol: float, max_iter: int) -> _Solved:
    """A stack solved by :func:`critmin.model.threads.solve_shared`, its failed markets
    retried (:func:`_retry`) and then the stack evaluated and levelled again."""
    grp, st, res, lv = part
    state = _newton_state(*res)
    ev = Evaluation(z=state.z, buf=res[1])  # the iteration's own last evaluation
    if not state.done.all():
        _retry(st, state, np.flatnonzero(~state.done), tol, max_iter)
        ev = evaluate(st, state.z)
        lv = stack_levels(levels_batch, st, state.z, state.F, ev.buf, LOG_RANGE)
    return grp, st, state, ev, lv


def solve_batch(
    markets: Sequence[Market],
    policies: Sequence[Policy],
    *,
    tol: float = 1e-12,
    max_iter: int = 100,
    group_sizes: bool = True,
    threads: int | None = None,
) -> list[Solution]:
    """Solve many markets at once: pad to a common ``n``, stack, then the compiled Newton
    iteration market by market (:func:`critmin.model.kernels.newton_batch`).

    With ``group_sizes`` (default) markets of very different sizes are stacked in a few
    size buckets so that padding costs little; with ``group_sizes=False`` everything is
    padded to the largest ``n`` (still chunked to bound memory). The results agree either way
    (to rounding) and are returned in the order of the inputs.

    Each market starts from the baseline (``pi = 1``, ``e = 0``). A market on which the
    safeguarded Newton iteration fails is solved again from the baseline, first by the same
    iteration with float64 factorisations, then with full Newton steps, then with
    Levenberg-Marquardt (``2 max_iter`` trials); ``max_iter``
    applies to each attempt and ``Solution.iterations`` counts the steps of all of them.
    ``tol`` bounds every residual: clearing as ``|ln(sales / supply)|``, quotas as a fraction
    of the cap. Non-convergence is reported in the solution, never raised.
    """
    if len(markets) != len(policies):
        raise ModelInputError(
            f"policies: expected one policy per market ({len(markets)}), got {len(policies)}"
        )
    for k, (market, policy) in enumerate(zip(markets, policies, strict=True)):
        # a dict or a number failed with an AttributeError inside the solve
        if not isinstance(market, Market):
            raise ModelInputError(f"markets[{k}]: expected a Market, got {type(market).__name__}")
        if not isinstance(policy, Policy):
            raise ModelInputError(f"policies[{k}]: expected a Policy, got {type(policy).__name__}")
    _check_options(tol, max_iter)
    if any(p.has_groups for p in policies):
        from critmin.model.quota_groups import solve_groups

        plain = [k for k, p in enumerate(policies) if not p.has_groups]
        solved = dict(
            zip(
                plain,
                solve_batch(
                    [markets[k] for k in plain],
                    [policies[k] for k in plain],
                    tol=tol,
                    max_iter=max_iter,
                    group_sizes=group_sizes,
                    threads=threads,
                )
                if plain
                else [],
                strict=True,
            )
        )
        return [
            solved[k] if k in solved else solve_groups(m, p, tol=tol, max_iter=max_iter)  # type: ignore[misc]
            for k, (m, p) in enumerate(zip(markets, policies, strict=True))
        ]
    resolved = [p.resolve(m) for m, p in zip(markets, policies, strict=True)]
    sizes = [m.n for m in markets]
    if len(markets) == 1:  # one market, one thread
        nthreads, todo = 1, [[[0]]]
    else:
        groups = _buckets(sizes) if group_sizes else _buckets(sizes, ratio=0.0)
        nthreads = min(batch_threads(threads), len(markets))
        todo = windows(groups, sizes, CHUNK_ELEMENTS)
    out: list[Solution | None] = [None] * len(markets)
    for window in todo:
        for grp, st, state, ev, lv in _solve_window(
            window, markets, resolved, tol, max_iter, nthreads
        ):
            wf = _welfare(st, state, lv)
            for k, sol in zip(
                grp,
                stack_solutions(grp, markets, resolved, st, ev, state, tol, lv, wf),
                strict=True,
            ):
                out[k] = sol
    return [s for s in out if s is not None]


def solve_unknowns(
    markets: Sequence[Market],
    policies: Sequence[Policy | ResolvedPolicy],
    *,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> tuple[Stack, FloatArray, IntArray, BoolArray]:
    """Markets of one shape (the same countries, pairs and quotas: e.g. parameter draws of one
    market) solved exactly as :func:`solve_batch` solves them, fallbacks included, but left as
    the stack and its unknowns ``z`` ``(B, N)``, with the iterations and whether each converged:
    for callers that reduce solutions in compiled code instead of building :class:`Solution`
    objects (:mod:`critmin.uncertainty`)."""
    _check_options(tol, max_iter)
    if any(isinstance(p, Policy) and (p.has_groups or p.has_shifts) for p in policies):
        raise ModelInputError(
            "solve_unknowns takes no destination quotas, licensing, leakage or market shocks: "
            "solve such markets with solve_batch (critmin.uncertainty solves them one draw at "
            "a time)"
        )
    resolved = [
        p if isinstance(p, ResolvedPolicy) else p.resolve(m)
        for m, p in zip(markets, policies, strict=True)
    ]
    st = stack(list(markets), resolved)
    with _blas(st.N):
        state = _newton(st, tol, max_iter)
        retry = np.flatnonzero(~state.done)
        if len(retry):
            _retry(st, state, retry, tol, max_iter)
    return st, state.z, state.iterations, state.done


@cache
def warm_up() -> None:
    """Load the compiled solver (:mod:`critmin.model.compiled`) into this process.

    With a current ahead-of-time build (``make setup``) the kernels are already loaded and
    this is one small solve. Otherwise the first solve in a process loads them from Numba's
    cache (about 0.3 s); the very first time on a machine, or after the kernels' source
    changed, Numba compiles them: about a minute on a 2-core VM. Later solves take
    milliseconds.
    :func:`critmin.simulation.simulate` calls this before it times its solves, so that
    ``solve_seconds`` measures the solve alone. Runs once per process.
    """
    market = Market(
        V=np.array([[2.0, 1.0], [1.0, 2.0]]),
        t0=np.zeros((2, 2)),
        sigma=3.0,
        eta=0.5,
        eps=np.ones(2),
    )
    solve(market, Policy(t1=np.full((2, 2), 0.1)))


def solve(
    market: Market, policy: Policy | None = None, *, tol: float = 1e-12, max_iter: int = 100
) -> Solution:
    """Solve one market under ``policy`` (``None``: no change). See :func:`solve_batch`."""
    policy = Policy() if policy is None else policy
    return solve_batch([market], [policy], tol=tol, max_iter=max_iter)[0]
