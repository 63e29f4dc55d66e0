"""Solve a linked chain (:mod:`critmin.model.chain`) and account for welfare stage by stage.

:func:`solve_chain` runs the compiled safeguarded semismooth Newton iteration of
:mod:`critmin.model.chain_kernels` on all stages at once (analytic Jacobian, float64 LU,
trust region, non-monotone line search that tries the first floor kink); if it fails, once
more with full Newton steps. It never raises on non-convergence: the solution says so.

Welfare per stage and country (USD), the single market's formulas with the chain's links:

* consumer surplus of the *other use* only, ``dCS_j = -H_j (1 - delta_j) E_j (P_j^(1-eta) - 1)
  / (1 - eta)`` (``H_j`` the demand shift: the area left of the shifted demand curve between
  the baseline and the new price) (the input bought by the next stage is valued in that stage's producer surplus,
  not twice);
* producer surplus over value added: input link ``(1 - a_i) R_i (A_i w_i^(1+eps) - 1) /
  (1 + eps)``; otherwise ``R_i (A_i H_i pt_i^(1+eps) - 1) / (1 + eps)`` (``H``: the host's
  output for a by-product, else 1) — the area left of the supply curve;
* tariff and levy revenue, quota rent and subsidy cost as in :mod:`critmin.model.welfare`.

A chain's welfare is the sum over its stages: each stage's buyers of the input are its next
stage's producers, whose surplus already nets the input's price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import numpy as np

from critmin.model.chain import ChainSetup, ChainStage, chain_setup
from critmin.model.compiled import (
    AT_ROUNDING,
    ROUNDING_RESIDUAL,
    buyer_revenue,
    newton_chain_flat,
)
from critmin.model.core import FloatArray, Market, ModelInputError, Policy
from critmin.model.kernel_tuples import ChainEval
from critmin.model.solution import fixed_supply_causes
from critmin.model.solver import _blas

__all__ = ["ChainSolution", "PairFlows", "StageSolution", "solve_chain", "warm_up_chains"]


@dataclass(frozen=True, eq=False)
class PairFlows:
    """A stage's quantities on its open pairs (baseline-value units), as the solver has
    them: ``flat`` the pair's seller x ``n`` + buyer, ``q`` its quantity, ``alt`` whether it is
    the non-qualifying share's (a price-gap or origin-rule stage sells each pair twice). The
    dense ``(n, n)`` matrices are built from them on first access (:attr:`StageSolution.q`):
    a path of yearly solves reads none of them (two ``n^2`` sums per stage and solve, about
    7% of a lithium path's time)."""

    n: int
    flat: np.ndarray
    q: FloatArray
    alt: np.ndarray

    def dense(self, nonqualifying_only: bool = False) -> FloatArray:
        """``(n, n)``: the pairs' quantities summed per seller and buyer (all of them, or
        the non-qualifying share's only); 0 where no pair."""
        n = self.n
        if nonqualifying_only:
            flat, q = self.flat[self.alt], self.q[self.alt]
        else:
            flat, q = self.flat, self.q
        return np.asarray(np.bincount(flat, weights=q, minlength=n * n), dtype=np.float64).reshape(
            n, n
        )


@dataclass(frozen=True, eq=False)
class StageSolution:
    """One solved stage, per country (``n``): prices relative to the baseline, quantities in
    baseline-value units or relative to the baseline, welfare in USD.

    ``pi`` producer price, ``e`` export-tax equivalent of a quota, ``pi_s`` price received
    (subsidy included), ``w`` value-added price (input link; else ``pi_s``), ``P`` composite
    price, ``D`` composite demand (other use plus the next stage's input, baseline 1),
    ``D_other`` the other use's demand, ``S`` supply, ``input_bought`` the next stage's
    purchases of this stage's composite (baseline-value units, = input share x baseline sales
    x the next stage's output), ``q`` ``(n, n)`` quantities (baseline-value units, qualifying
    and non-qualifying shares together), ``q_nonqualifying`` the non-qualifying share's (both
    built from ``flows``, the pairs' quantities, on first access).
    """

    name: str
    pi: FloatArray
    e: FloatArray
    pi_s: FloatArray
    w: FloatArray
    P: FloatArray
    D: FloatArray
    D_other: FloatArray
    S: FloatArray
    exports: FloatArray
    baseline_exports: FloatArray
    R: FloatArray
    E: FloatArray
    input_share: FloatArray
    input_bought: FloatArray
    flows: PairFlows
    dCS: FloatArray
    dPS: FloatArray
    tariff_revenue: FloatArray
    quota_rent: FloatArray
    subsidy_cost: FloatArray
    welfare: FloatArray

    V: FloatArray
    converged: bool = False
    iterations: int = 0
    max_residual: float = math.nan
    message: str = ""

    @cached_property
    def q(self) -> FloatArray:
        """``(n, n)`` quantities, qualifying and non-qualifying shares together."""
        return self.flows.dense()

    @cached_property
    def q_nonqualifying(self) -> FloatArray:
        """``(n, n)`` quantities of the non-qualifying share."""
        return self.flows.dense(nonqualifying_only=True)

    @property
    def x(self) -> FloatArray:
        """Quantities relative to the baseline per trading pair (1 where no baseline trade)."""
        return np.divide(self.q, self.V, out=np.ones_like(self.q), where=self.V > 0)


@dataclass(frozen=True, eq=False)
class ChainSolution:
    """A solved chain: one :class:`StageSolution` per stage, in order."""

    stages: list[StageSolution]
    converged: bool
    iterations: int
    max_residual: float
    message: str
    notes: list[str]

    @property
    def welfare(self) -> FloatArray:
        """Welfare change per country summed over the stages (USD)."""
        return np.asarray(sum(s.welfare for s in self.stages), dtype=np.float64)


def _expm1_ratio(lnx: FloatArray, k: FloatArray) -> FloatArray:
    """``(exp(k lnx) - 1) / k`` elementwise (exactly 0 at ``lnx = 0``)."""
    return np.asarray(np.expm1(k * lnx) / k, dtype=np.float64)


def _unpack(
    stages: list[ChainStage],
    cs: ChainSetup,
    z: FloatArray,
    ev: ChainEval,
    converged: bool = False,
    iterations: int = 0,
    max_residual: float = math.nan,
    message: str = "",
) -> list[StageSolution]:
    """Per-stage, per-country levels and welfare from the solution ``z`` and its evaluation
    (each stage's solution carrying the solve's ``converged`` ... ``message``)."""
    a = cs.arrays
    n = cs.n
    out: list[StageSolution] = []
    lnS_all = np.asarray(ev.lnS)
    for s, st in enumerate(stages):
        m = st.market
        g0, g1 = int(a.sstart[s]), int(a.sstart[s + 1])
        p0, p1 = int(a.pstart[s]), int(a.pstart[s + 1])
        ctry = a.scountry[g0:g1]
        pi = np.ones(n)
        e = np.zeros(n)
        lnpt = np.zeros(n)
        lnS = np.zeros(n)
        X = np.zeros(n)
        fixed = a.su[g0:g1] < 0
        su = a.su[g0:g1]
        with np.errstate(over="ignore"):
            pi[ctry[~fixed]] = np.exp(z[su[~fixed]])
            pi[ctry[fixed]] = 0.0
            has_q = a.sq[g0:g1] >= 0
            e[ctry[has_q]] = np.expm1(z[a.sq[g0:g1][has_q]])
        lnpt[ctry] = ev.lnpt[g0:g1]
        lnS[ctry] = lnS_all[g0:g1]
        X[ctry] = ev.X[g0:g1]
        pi_s = np.where(fixed_mask(n, ctry, fixed), 0.0, np.exp(lnpt))
        Ssup = np.exp(lnS)
        Ssup[ctry[fixed]] = 0.0
        lnP = np.asarray(ev.lnP[s])
        unsupplied = (cs.E[s] > 0) & ~a.supplied[s]
        P = np.where(unsupplied, np.inf, np.exp(lnP))
        D = np.where(unsupplied, 0.0, np.exp(ev.lnD[s]))
        H = np.asarray(st.demand_shift, dtype=np.float64)
        D_other = np.where(unsupplied, 0.0, H * np.exp(-m.eta * lnP))
        delta = a.delta[s]
        # the pairs' quantities (dense on first access: StageSolution.q)
        pc = cs.pair_country[p0:p1]
        pj = a.pj[p0:p1]
        pq = np.asarray(ev.q[p0:p1])
        flows = PairFlows(n, pc * n + pj, pq, cs.pair_alt[p0:p1])
        # value-added price (input link) for producer surplus
        ash = cs.input_share[s]
        w = np.exp(lnpt)
        if st.link == "input":
            with np.errstate(invalid="ignore", over="ignore"):
                Pin = np.exp(np.asarray(ev.lnP[s - 1]))
                w = np.where(ash > 0, (np.exp(lnpt) - ash * Pin) / (1.0 - ash), w)
        # welfare
        k = 1.0 + m.eps
        R = cs.R[s]
        E = cs.E[s]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            one_m = 1.0 - m.eta
            HE = E if (H == 1.0).all() else H * E
            if m.eta == 1.0:
                dCS = -(1.0 - delta) * HE * lnP
            else:
                dCS = -(1.0 - delta) * HE * np.expm1(one_m * lnP) / one_m
            dCS = np.where(
                unsupplied, -np.inf if m.eta <= 1 else -(1 - delta) * HE / (m.eta - 1), dCS
            )
            dCS = np.where(E > 0, dCS, 0.0)
            if st.link == "input":
                lnw = np.log(np.maximum(w, 1e-300))
                ln_total = np.log(np.asarray(st.supply_shift, dtype=float)) + k * lnw
                dPS = (1.0 - ash) * R * np.expm1(ln_total) / k
            else:
                host = np.zeros(n)
                if st.link == "byproduct":
                    hs = a.host[g0:g1]
                    host[ctry[hs >= 0]] = lnS_all[hs[hs >= 0]]
                ln_total = np.log(np.asarray(st.supply_shift, dtype=float)) + host + k * lnpt
                dPS = R * np.expm1(ln_total) / k
            dPS = np.where(R > 0, dPS, 0.0)
            # no output: all of the surplus is lost, over value added for an input link
            va = 1.0 - ash if st.link == "input" else np.ones(n)
            idle = ctry[fixed]
            dPS[idle] = -va[idle] * R[idle] / k[idle]
        revenue_new = buyer_revenue(pc, pj, pq, cs.pair_t1[p0:p1], cs.pair_F[p0:p1], pi, e, n)
        tariff_revenue = revenue_new - cs.rev0[s]
        quota_rent = pi * e * X
        subsidy_cost = (np.exp(lnpt) - pi) * Ssup * R
        subsidy_cost = np.where(R > 0, subsidy_cost, 0.0)
        welfare = dCS + dPS + tariff_revenue + quota_rent - subsidy_cost
        nxt = a.nxt[s]
        bought = np.zeros(n)
        has_next = (nxt >= 0) & (delta > 0)
        bought[has_next] = delta[has_next] * E[has_next] * np.exp(lnS_all[nxt[has_next]])
        out.append(
            StageSolution(
                name=st.name or m.name,
                pi=pi,
                e=e,
                pi_s=pi_s,
                w=w,
                P=P,
                D=D,
                D_other=D_other,
                S=Ssup,
                exports=X,
                baseline_exports=cs.X0[s],
                R=R,
                E=E,
                input_share=ash,
                input_bought=bought,
                flows=flows,
                dCS=np.asarray(dCS, dtype=float),
                dPS=np.asarray(dPS, dtype=float),
                tariff_revenue=np.asarray(tariff_revenue, dtype=float),
                quota_rent=quota_rent,
                subsidy_cost=subsidy_cost,
                welfare=np.asarray(welfare, dtype=float),
                V=m.V,
                converged=converged,
                iterations=iterations,
                max_residual=max_residual,
                message=message,
            )
        )
    return out


def fixed_mask(n: int, ctry: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """Countries (``n``) whose producer slot is fixed (sells on no open pair)."""
    out = np.zeros(n, dtype=bool)
    out[ctry[fixed]] = True
    return out


def _newton(a: Any, tol: float, max_iter: int, pure: bool) -> tuple[Any, ChainEval, int, int]:
    """:func:`critmin.model.chain_kernels.newton_chain` (``z``, its evaluation, iterations,
    status), called through ``newton_chain_flat``, whose plain tuple Numba returns without
    running Python code (a Ctrl-C then cannot land inside the return)."""
    z, iterations, status, *fields = newton_chain_flat(a, tol, max_iter, pure)
    return z, ChainEval(*fields), int(iterations), int(status)


def solve_chain(
    stages: list[ChainStage],
    *,
    tol: float = 1e-12,
    max_iter: int = 100,
    setup: ChainSetup | None = None,
) -> ChainSolution:
    """Solve every stage of a chain as one system (see :mod:`critmin.model.chain`).

    ``setup``: the chain's flat arrays when the caller has them already
    (:func:`critmin.model.chain.reshift` of an earlier :func:`chain_setup` of the same chain);
    default: computed from ``stages``."""
    if not (math.isfinite(tol) and tol > 0):
        raise ModelInputError(f"tol: expected a positive tolerance, got {tol}")
    cs = setup if setup is not None else chain_setup(list(stages))
    N = cs.arrays.zslot.shape[0]
    with _blas(N):
        z, ev, iterations, status = _newton(cs.arrays, tol, max_iter, False)
        if status not in (1, AT_ROUNDING):
            z2, ev2, it2, status2 = _newton(cs.arrays, tol, max_iter, True)
            iterations += it2
            if status2 == 1 or np.abs(ev2.F).max(initial=0.0) < np.abs(ev.F).max(initial=0.0):
                z, ev, status = z2, ev2, status2
    resid = float(np.abs(np.asarray(ev.F)).max(initial=0.0))
    representable = bool((np.abs(z) < 700.0).all())
    rounded = status == AT_ROUNDING and resid <= max(tol, ROUNDING_RESIDUAL)
    converged = bool(np.isfinite(resid) and (resid <= tol or rounded) and representable)
    if converged and resid > tol:
        message = (
            f"converged in {iterations} iterations to the limit of float64 rounding (max "
            f"residual {resid:.1e}, above the tolerance {tol:.0e}: changing the unknowns in "
            "their last digits moves it more)"
        )
    elif converged:
        message = f"converged in {iterations} iteration{'' if iterations == 1 else 's'} (max residual {resid:.1e})"
    else:
        why = "line search failed" if status == 2 else "iteration limit reached"
        message = (
            (
                f"did not converge after {iterations} iterations (Newton, then full Newton "
                f"steps): {why}; max residual {resid:.1e}"
            )
            + _far_floors(list(stages), cs)
            + _fixed_supply(list(stages), cs)
        )
    solved = _unpack(list(stages), cs, z, ev, converged, int(iterations), resid, message)
    return ChainSolution(
        stages=solved,
        converged=converged,
        iterations=int(iterations),
        max_residual=resid,
        message=message,
        notes=list(cs.notes),
    )


FAR_FLOOR = 5.0
"""A floor at least this many times the baseline price is named when a chain does not converge
(:func:`_far_floors`)."""


def _far_floors(stages: list[ChainStage], cs: ChainSetup) -> str:
    """The possible cause of a chain that did not converge, where its policy sets floors at
    least :data:`FAR_FLOOR` times the baseline price: ``"; possible cause: ..."`` naming the
    stages and the highest ratio of each (a levy floor over the baseline buyer price, a subsidy
    floor over the baseline producer price), else ``""``. A sweep of 384 floors on the bundled
    chains (docs/performance.md, "Session 18") left unsolved only levy floors from about 15
    and producer subsidies from about 6 times the market price: far from anything the model's
    constant elasticities were estimated on, and possibly without an equilibrium."""
    far = []
    for k, (st, rp) in enumerate(zip(stages, cs.policies, strict=True)):
        with np.errstate(divide="ignore", invalid="ignore"):
            levy = np.where(rp.levy_floor > 0, rp.levy_floor / (1.0 + st.market.t0), 0.0)
        ratio = max(float(levy.max(initial=0.0)), float(rp.subsidy_floor.max(initial=0.0)))
        if ratio >= FAR_FLOOR:
            far.append(f"{st.name or f'stage {k + 1}'} up to {ratio:,.0f} times")
    if not far:
        return ""
    return (
        "; possible cause: floors far above the baseline price ("
        + ", ".join(far)
        + "), where the equilibrium may not exist or lies beyond what the solver can reach"
    )


def _fixed_supply(stages: list[ChainStage], cs: ChainSetup) -> str:
    """The causes :func:`critmin.model.solution.fixed_supply_causes` names for each stage of a
    chain that did not converge, each after its stage's name: ``"; stage: cause"``, else
    ``""``. A stage whose producers have supply elasticity 0 and sell only under a levy floor
    (the lithium chain with ``supply_elasticity = 0`` and a refined floor: Burundi's few
    thousand dollars of lithium carbonate, all sold into the zone) leaves the whole chain
    without a solution."""
    out = ""
    for k, (st, rp) in enumerate(zip(stages, cs.policies, strict=True)):
        for cause in fixed_supply_causes(st.market, rp):
            out += f"; {st.name or f'stage {k + 1}'}: {cause}"
    return out


@cache
def warm_up_chains() -> None:
    """Load the compiled chain solver into this process (from Numba's cache; compiled on the
    first use on a machine), so that timed solves measure the solve alone. Runs once."""
    V = np.array([[2.0, 1.0], [1.0, 2.0]])
    m = Market(V=V, t0=np.zeros((2, 2)), sigma=3.0, eta=0.5, eps=np.ones(2))
    solve_chain(
        [
            ChainStage(m, Policy(t1=np.full((2, 2), 0.1), export_cap=np.array([0.9, np.inf]))),
            ChainStage(m, link="input", input_share=np.full(2, 0.3)),
        ]
    )
