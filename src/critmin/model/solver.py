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
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

import numpy as np

from critmin.model.compiled import (
    LINE_SEARCH_FAILED,
    MAX_STEP_LIMIT,
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
)
from critmin.model.kernel_tuples import EvalBuf, Levels
from critmin.model.threads import (
    batch_threads,
    fill_and_solve,
    fill_stacks,
    levels_threaded,
    newton_stacks,
    shared_setup,
    stack_all,
    stack_builders,
    windows,
)
from critmin.model.welfare import Welfare, assemble_welfare

__all__ = ["Solution", "solve", "solve_batch", "solve_unknowns", "warm_up"]

SINGLE_THREAD_BELOW = 1024
"""Systems with fewer unknowns than this are solved with one BLAS thread (see ``_blas``)."""
LOG_RANGE = 700.0
"""A solution with a log price (or ``ln(1+e)``) beyond this cannot be represented in float64
levels; it is reported as not converged with an explanation."""
CHUNK_ELEMENTS = 4_000_000
"""Upper bound on ``batch * n * n`` per stacked solve (memory: ~20 such float arrays)."""


@dataclass(frozen=True, eq=False)
class _Levels:
    """What a :class:`Solution` needs to build its dense ``n x n`` arrays on first access."""

    market: Market
    policy: ResolvedPolicy
    pair_i: IntArray  # seller and buyer of every active pair
    pair_j: IntArray
    pair_q: FloatArray  # q = V x on the active pairs, as the solver evaluated it
    lnP: FloatArray
    E: FloatArray  # baseline expenditure per buyer


@dataclass(frozen=True, eq=False)
class Solution:
    """The solved market: prices and quantities relative to the baseline, welfare in USD.

    Prices (baseline = 1): ``pi`` producer prices (0 for a producer that lost every buyer),
    ``e`` export-tax equivalents of quotas, ``P`` composite prices (``inf`` for a buyer with no
    supplier left), ``pi_s`` producer prices incl. subsidy. Quantities (baseline = 1): ``D``
    composite demand, ``S`` supply. Values in baseline-value units (USD at baseline prices):
    ``exports``, ``baseline_exports``. Welfare (USD): ``dCS``, ``dPS``, ``tariff_revenue``
    (change), ``quota_rent``, ``subsidy_cost``, ``welfare``.

    The ``n x n`` arrays are built on first access (a 200-country market has 40,000 pairs,
    of which the solver only touches the few thousand that trade): ``b`` buyer prices incl.
    tariffs/levies, ``c`` buyer prices relative to the baseline buyer price (``b / (1+t0)``),
    ``x`` quantities per pair (0 where banned), ``q = V x``.

    ``max_residual`` is the largest residual of the system: clearing as ``|ln(sales / supply)|``
    (a relative gap) and quota complementarity as a fraction of the cap. ``unsupplied`` /
    ``stranded`` flag buyers that lost every supplier and producers that lost every buyer.
    """

    pi: FloatArray
    e: FloatArray
    P: FloatArray
    D: FloatArray
    S: FloatArray
    pi_s: FloatArray
    exports: FloatArray
    baseline_exports: FloatArray
    converged: bool
    iterations: int
    max_residual: float
    message: str
    dCS: FloatArray
    dPS: FloatArray
    tariff_revenue: FloatArray
    quota_rent: FloatArray
    subsidy_cost: FloatArray
    welfare: FloatArray
    unsupplied: BoolArray
    stranded: BoolArray
    levels: _Levels = field(repr=False)
    countries: tuple[str, ...] | None = None
    name: str = ""
    groups: Any = None  # a quota_groups.GroupSolution when the policy has destination quotas

    @property
    def n(self) -> int:
        """Number of countries."""
        return int(self.pi.shape[0])

    @cached_property
    def banned(self) -> BoolArray:
        """``(n, n)`` pairs removed from trade: the policy's bans and caps of 0 on exports."""
        policy = self.levels.policy
        banned = policy.banned.copy()
        cap0 = np.flatnonzero(policy.export_cap == 0.0)
        if cap0.size:
            domestic = policy.banned[cap0, cap0]
            banned[cap0] = True
            banned[cap0, cap0] = domestic
        return banned

    @cached_property
    def b(self) -> FloatArray:
        """Buyer prices ``pi_i (1 + e_i [i != j]) (1 + t1_ij)``, floored at the levy floor."""
        with np.errstate(over="ignore", invalid="ignore"):  # a failed solve's last iterate
            return _buyer_prices(self.pi, self.e, self.levels.policy)

    @cached_property
    def c(self) -> FloatArray:
        """Buyer prices relative to the baseline buyer price, ``b / (1 + t0)``."""
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(self.b / (1.0 + self.levels.market.t0), dtype=np.float64)

    @cached_property
    def x(self) -> FloatArray:
        """Quantities relative to the baseline, ``x_ij = D_j (c_ij / P_j)^(-sigma)``.

        Defined for every open pair, also those without baseline trade (what a pair would
        sell per unit of baseline value); 0 where banned, from a stranded seller or to an
        unsupplied buyer; 1 for buyers without baseline demand. On trading pairs it is the
        solver's own ``q / V``, so ``V x`` reproduces the cleared sales exactly.
        """
        lv = self.levels
        m = lv.market
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            x = np.full((m.n, m.n), -np.inf)
            c = self.c
            np.log(c, out=x, where=c > 0)
            x *= -m.sigma
            x += -m.eta * lv.lnP + m.sigma * lv.lnP + np.log(lv.policy.demand_shift)
            np.minimum(x, 700.0, out=x)
            np.exp(x, out=x)
        x[:, lv.E <= 0] = 1.0
        x[self.banned] = 0.0
        x[self.stranded, :] = 0.0
        x[:, self.unsupplied] = 0.0
        x[lv.pair_i, lv.pair_j] = lv.pair_q / m.V[lv.pair_i, lv.pair_j]
        return x

    @cached_property
    def q(self) -> FloatArray:
        """Quantities in baseline-value units, ``q = V x`` (0 off the trading pairs)."""
        lv = self.levels
        q = np.zeros((lv.market.n, lv.market.n))
        q[lv.pair_i, lv.pair_j] = lv.pair_q
        return q


def _buyer_prices(pi: FloatArray, e: FloatArray, policy: ResolvedPolicy) -> FloatArray:
    """Dense ``b_ij = pi_i (1 + e_i [i != j]) (1 + t1_ij)``, floored (exactly ``1 + t1`` at
    ``pi = 1``, ``e = 0``)."""
    bp = 1.0 + policy.t1
    bp *= pi[:, None]
    if e.any():
        with_e = np.repeat((1.0 + e)[:, None], len(e), axis=1)
        np.fill_diagonal(with_e, 1.0)
        bp *= with_e
    if policy.levy_floor.any():
        np.maximum(bp, policy.levy_floor, out=bp)
    return np.asarray(bp, dtype=np.float64)


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


def _fmt(market: Market, idx: IntArray, limit: int = 8) -> str:
    labels = [market.label(int(i)) for i in idx[:limit]]
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return ", ".join(labels) + more


_WELFARE_TERMS = ("dCS", "dPS", "tariff_revenue", "quota_rent", "subsidy_cost", "welfare")
_LEVEL_FIELDS = ("pi", "e", "P", "D", "S", "pi_s", "exports", "baseline_exports")
"""The :class:`Solution` fields that are rows of the stack's levels (same names)."""


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
    whole = {f: np.empty((st.B, n)) for f in _WELFARE_TERMS}
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
        for f in _WELFARE_TERMS:
            whole[f][rows] = getattr(wf, f)
    return Welfare(**whole)


def _unpack(
    market: Market,
    policy: ResolvedPolicy,
    st: Stack,
    b: int,
    ev: Evaluation,
    state: _State,
    tol: float,
    lv: Levels,
    wf: Welfare,
) -> Solution:
    """Turn element ``b`` of a solved stack into a :class:`Solution` (levels + welfare), from
    the stack's levels ``lv`` (:func:`critmin.model.threads.levels_threaded`) and outcome
    welfare ``wf`` (:func:`_welfare`)."""
    # views of the stack's rows (each market owns its rows; nothing writes them later)
    n = market.n
    unsupplied = st.unsupplied[b, :n]
    stranded = lv.stranded[b, :n]
    nvalid = int(st.nvalid[b])  # the valid pairs come first
    flagged = bool(lv.flagged[b])
    representable = bool(lv.representable[b])
    max_res = float(lv.max_residual[b])
    converged = math.isfinite(max_res) and max_res <= tol and representable
    msgs: list[str] = []
    it = int(state.iterations[b])
    if not representable:
        msgs.append(
            "the equilibrium lies beyond the floating-point range (a price or export-tax "
            f"equivalent above e^{LOG_RANGE:.0f}): a degenerate case, typically sigma near 1 "
            "with eta = 0 after a ban that removes most of a buyer's supply; its levels are "
            "not meaningful"
        )
    elif converged:
        msgs.append(f"converged in {it} iterations (max residual {max_res:.1e})")
    else:
        why = state.note[b] or "iteration limit reached"
        msgs.append(
            f"did not converge after {it} iterations (Newton, then restarts in float64, with "
            f"full Newton steps and with Levenberg-Marquardt): {why}; max residual {max_res:.1e}"
        )
        fixed = market.eps == 0.0
        capped = np.isfinite(policy.export_cap) & (policy.export_cap < 1.0)
        trapped = capped & fixed & (np.diag(market.V) == 0.0) & (market.baseline_exports > 0)
        if trapped.any():
            msgs.append(
                "likely cause: export caps below baseline exports on producers with fixed "
                f"supply (eps = 0) and no domestic sales ({_fmt(market, np.flatnonzero(trapped))})"
                ": their unsold output has nowhere to go"
            )
        floored = fixed & (market.R > 0) & ((market.V == 0) | (policy.levy_floor > 0)).all(axis=1)
        if floored.any():
            msgs.append(
                "possible cause: producers with fixed supply (eps = 0) that sell only under levy "
                f"floors ({_fmt(market, np.flatnonzero(floored))}): if the floor price leaves "
                "them with unsold output, no price of theirs can clear it"
            )
        subsidised = (policy.subsidy_floor > 1.0) & (market.eps > 0.0) & (market.R > 0)
        if market.eta == 0.0 and subsidised.any():
            msgs.append(
                "possible cause: demand is fixed (eta = 0) while producer-subsidy floors above "
                f"the baseline price hold supply above its baseline ({_fmt(market, np.flatnonzero(subsidised))})"
                ": the extra output can only be sold if other producers' prices fall to zero"
            )
        fcheck = np.abs(ev.f_check[b, : st.ns])
        if st.numeraire[b].any() and fcheck[st.numeraire[b]].max() > tol:
            msgs.append(
                "with eta = 0 and supply elasticities 0 demand and supply are both fixed, "
                "and this policy leaves no equilibrium"
            )
    if flagged:
        _flag_messages(market, st, b, unsupplied, stranded, msgs)
    rows = {f: getattr(lv, f)[b, :n] for f in _LEVEL_FIELDS}
    rows.update({f: getattr(wf, f)[b, :n] for f in _WELFARE_TERMS})
    return Solution(
        **rows,
        converged=converged,
        iterations=it,
        max_residual=max_res,
        message="; ".join(msgs),
        unsupplied=unsupplied,
        stranded=stranded,
        levels=_Levels(
            market,
            policy,
            lv.pair_i[b, :nvalid],
            st.pj[b, :nvalid],
            ev.q[b, :nvalid],
            ev.lnP[b, :n],
            st.W[b, :n],
        ),
        countries=market.countries,
        name=market.name,
    )


def _flag_messages(
    market: Market, st: Stack, b: int, unsupplied: BoolArray, stranded: BoolArray, msgs: list[str]
) -> None:
    """The notes of a market with a numeraire, unsupplied buyers or stranded producers."""
    numeraire = np.zeros(market.n, dtype=np.bool_)
    if st.numeraire[b].any():
        numeraire[st.slot_country[b, st.numeraire[b]]] = True
    if numeraire.any():
        msgs.append(
            "price level not determined (eta = 0 and every supply elasticity 0 among the "
            f"producers trading with {_fmt(market, np.flatnonzero(numeraire))}): prices are "
            "normalised so that this producer's price is unchanged"
        )
    if unsupplied.any():
        msgs.append(
            f"buyers with no supplier left: {_fmt(market, np.flatnonzero(unsupplied))} "
            "(composite price infinite, demand 0)"
        )
    if stranded.any():
        msgs.append(
            f"producers with no buyer left: {_fmt(market, np.flatnonzero(stranded))} "
            "(producer price 0, no sales)"
        )


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
        members = [k for grp in window for k in grp]
        fused = None
        if nthreads > 1 and len(members) > 1:
            # each thread fills its markets and solves them, no barrier between the two
            builders = stack_builders(
                window, markets, resolved, nthreads if shared_setup(window, markets) else 1
            )
            n_unknowns = max(b.N for b in builders)
            if n_unknowns < SINGLE_THREAD_BELOW:
                with _blas(n_unknowns):
                    fused = fill_and_solve(builders, tol, max_iter, nthreads)
            stacks = fused[0] if fused is not None else fill_stacks(builders, nthreads)
        else:
            stacks = stack_all(window, markets, resolved, nthreads)
        n_unknowns = max(st.N for st in stacks)
        with _blas(n_unknowns):
            if fused is not None:
                states = [_newton_state(*res) for res in fused[1]]
            elif len(stacks) == 1:
                states = [_newton(stacks[0], tol, max_iter)]
            else:  # one call for every stack (each market at its own size, as alone)
                states = [_newton_state(*res) for res in newton_stacks(stacks, tol, max_iter)]
            for st, state in zip(stacks, states, strict=True):
                if not state.done.all():
                    _retry(st, state, np.flatnonzero(~state.done), tol, max_iter)
                    state.last = None
        evs = [
            s.last if s.last is not None else evaluate(st, s.z)
            for st, s in zip(stacks, states, strict=True)
        ]
        heavy = len(members) * max(sizes) >= 2_000  # else a few ms at most: one thread
        levels = levels_threaded(
            stacks,
            [s.z for s in states],
            [s.F for s in states],
            [ev.buf for ev in evs],
            LOG_RANGE,
            nthreads if heavy else 1,
        )
        for grp, st, state, ev, lv in zip(window, stacks, states, evs, levels, strict=True):
            wf = _welfare(st, state, lv)
            for b, k in enumerate(grp):
                out[k] = _unpack(markets[k], resolved[k], st, b, ev, state, tol, lv, wf)
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
    return solve_batch([market], [policy or Policy()], tol=tol, max_iter=max_iter)[0]
