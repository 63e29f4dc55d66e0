"""Draws of markets with export controls, one model solution per draw.

Destination quotas, licensing and leaky bans are quota groups, whose export-tax equivalents
:func:`critmin.model.quota_groups.solve_groups` finds around the compiled system (by an outer
iteration on the group wedges). The compiled draws kernel
(:func:`critmin.model.kernels.solve_draws`) does not take them (it takes market shocks), so a
product with any of them, or with an uncertain grant share, is solved draw by draw by the
model's own entry point, :func:`critmin.model.solver.solve_batch`
(one market: exactly what ``critmin simulate`` solves, with the draw's elasticities, the
draw's grant shares and the draw's disruption events), and each solution is reduced to the
key outputs with the definitions of :func:`critmin.model.kernels.draw_outputs`:

* consumer price change: ``E``-weighted mean of ``(P_j - 1) x 100`` over members and over
  the others (``E`` = baseline expenditure; undefined, NaN, where a buyer with baseline
  purchases has no supplier left: its price is unbounded);
* self-sufficiency and watch share: member purchases ``q_ij`` from members and from watch
  countries over all member purchases;
* welfare (zone, outside, world), tariff and levy revenue change and subsidy cost: sums of
  the solution's per-country accounts, which carry the licence rent to the exporter, the
  detour cost of leaked trade and the shocks' shifted surplus measures (NaN skipped);
* zone consumption ``Q = sum_{j in zone} E_j D_j`` (``D_j = a_j P_j^-eta``, 0 unsupplied).

Each draw is solved from the baseline by itself, so its numbers do not depend on the other
draws of its chunk, the engine or the thread (bit for bit). A draw takes what one
``critmin simulate`` solve of the market takes (milliseconds; some tens of milliseconds with
quota groups, which solve the inner system a few times per outer iteration).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from critmin.model.compiled import DRAW_OUTPUTS
from critmin.model.core import Market, Policy
from critmin.model.solver import Solution, solve_batch

if TYPE_CHECKING:
    from critmin.uncertainty.tasks import ProductTask


def _nansum(x: np.ndarray) -> float:
    return float(np.where(np.isnan(x), 0.0, x).sum())


def solution_outputs(
    sol: Solution, E: np.ndarray, members: np.ndarray, watch: np.ndarray
) -> np.ndarray:
    """The key outputs ``(DRAW_OUTPUTS,)`` of one solved market (module docstring)."""
    out = np.empty(DRAW_OUTPUTS)
    P = sol.P
    dP = np.where(np.isfinite(P), (P - 1.0) * 100.0, np.nan)
    dP[E <= 0] = 0.0  # no baseline purchases: no weight in the means
    outside = ~members
    wz, wo = float(E[members].sum()), float(E[outside].sum())
    out[0] = float((E[members] * dP[members]).sum()) / wz if wz > 0 else np.nan
    out[1] = float((E[outside] * dP[outside]).sum()) / wo if wo > 0 else np.nan
    q = np.where(np.isnan(sol.q), 0.0, sol.q)[:, members]
    demand = float(q.sum())
    own = float(q[members].sum())
    from_watch = float(q[watch].sum())
    out[2] = own / demand if demand > 0 else np.nan
    out[3] = (from_watch / demand if watch.any() else 0.0) if demand > 0 else np.nan
    out[4] = _nansum(sol.welfare[members])
    out[5] = _nansum(sol.welfare[outside])
    out[6] = _nansum(sol.welfare)
    out[7] = _nansum(sol.tariff_revenue)
    out[8] = _nansum(sol.subsidy_cost)
    D = np.where(np.isnan(sol.D), 0.0, sol.D)
    out[9] = float((E[members] * D[members]).sum())
    out[10] = float(sol.max_residual) if sol.converged else np.inf
    return out


def draw_policy(task: ProductTask, shares: np.ndarray, fired: np.ndarray) -> Policy:
    """The draw's policy: the scenario's, with the drawn grant shares ``(K,)`` and the bans
    of the events ``fired`` (bool per event)."""
    assert task.controls is not None
    base = task.controls if task.licensed is None else task.licensed.policy(shares)
    if not fired.any():
        return base
    banned = np.zeros((task.n, task.n), dtype=bool) if base.banned is None else base.banned.copy()
    for e in np.flatnonzero(fired):
        banned |= task.events[e].pairs
    return dataclasses.replace(base, banned=banned)


def solve_by_solutions(
    task: ProductTask,
    fired: np.ndarray,
    sigma: np.ndarray,
    eta: np.ndarray,
    factor: np.ndarray,
    shares: np.ndarray,
    cancel: np.ndarray,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outputs ``(D, DRAW_OUTPUTS)``, iterations and convergence of draws, one solve each.

    ``cancel`` is read before every draw (Ctrl-C); the caller raises when it is set."""
    D = len(sigma)
    out = np.full((D, DRAW_OUTPUTS), np.nan)
    iterations = np.zeros(D, dtype=np.int64)
    ok = np.zeros(D, dtype=np.bool_)
    for d in range(D):
        if cancel[0]:
            break
        eps = task.eps if factor[d] == 1.0 else task.eps * factor[d]
        market = Market(V=task.V, t0=task.t0, sigma=float(sigma[d]), eta=float(eta[d]), eps=eps)
        policy = draw_policy(task, shares[d], fired[d])
        sol = solve_batch([market], [policy], tol=tol, max_iter=max_iter)[0]
        out[d] = solution_outputs(sol, task.E, task.members, task.watch)
        iterations[d] = sol.iterations
        ok[d] = bool(sol.converged)
    return out, iterations, ok
