"""Destination-specific export quotas (quota groups) and ad valorem trade costs.

A quota group ``g`` is an exporter ``i_g``, a set of destinations ``D_g`` and a cap ``cap_g``
(a fraction of the group's baseline exports ``X0_g = sum_{j in D_g} V_ij``). It has its own
export-tax equivalent ``e_g >= 0`` that applies only to the group's pairs, complementary to
the cap (DESIGN.md, "The trade model", generalised from one quota per exporter):

* buyer price on a pair of the group: ``b_ij = pi_i (1 + e_i [i != j]) (1 + e_g)
  (1 + k_ij) (1 + t1_ij)``, floored at the levy floor; ``k_ij >= 0`` is an ad valorem trade
  cost (a real resource cost, e.g. the extra cost of routing through a third country);
* cap: ``X_g = sum_{j in D_g} q_ij <= cap_g X0_g``, ``e_g >= 0``, one with equality
  (``min(nu_g, 1 - X_g / (cap_g X0_g)) = 0`` with ``nu_g = ln(1 + e_g)``).

The inner system (prices, whole-exporter quotas) is the compiled one of
:mod:`critmin.model.kernels`, with the group wedges and trade costs folded into the pairs'
scenario tariffs. The group wedges are solved around it by a semismooth Newton iteration on
``nu`` with a forward-difference Jacobian (one batched inner solve per group and iteration;
groups are few, the inner solves take milliseconds). The accounts are then corrected: the
folded tariff would count ``pi (1 + e_i) ((1 + e_g)(1 + k) - 1) q`` as the buyer's tariff
revenue; of it ``pi (1 + e_i) e_g q`` is the exporter's quota rent (licence rent) and
``pi (1 + e_i) (1 + e_g) k q`` the real cost of the detour (nobody's income), so the buyer's
revenue is ``b - pi (1 + e_i)(1 + e_g)(1 + k)`` per unit, the tariff on the landed value.

Markets without groups and trade costs never come here: their solve is unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from critmin.model.core import BoolArray, FloatArray, Market, ModelInputError, Policy

__all__ = ["GroupSolution", "QuotaGroup", "group_pairs", "solve_groups"]

FD_STEP = 1e-7
"""Forward-difference step in ``nu`` for the group Jacobian (the inner solves are accurate to
about 1e-12, so the derivative is accurate to about 1e-5: enough for Newton's convergence)."""
MAX_OUTER = 60


@dataclass(frozen=True, eq=False)
class QuotaGroup:
    """An export quota of one exporter on a set of destinations.

    Attributes:
        exporter: the exporter's index.
        destinations: ``(n,)`` bool, the destinations the cap covers (the exporter itself is
            never one).
        cap: the cap as a fraction of the group's baseline exports (``> 0``; a cap of 0 is a
            ban: give it as banned pairs).
        label: a name for messages and results.
        via: for a group that stands for goods routed through third countries (a leaky ban),
            the intermediaries' indices and their shares of the routed flow (reporting only).
    """

    exporter: int
    destinations: BoolArray
    cap: float
    label: str = ""
    via: tuple[tuple[int, float], ...] = ()

    def __post_init__(self) -> None:
        dest = np.asarray(self.destinations, dtype=np.bool_).copy()
        if dest.ndim != 1:
            raise ModelInputError("quota group destinations: expected a 1-d mask")
        if not (np.isfinite(self.cap) and self.cap > 0):
            raise ModelInputError(
                f"quota group {self.label or self.exporter}: the cap must be a positive finite "
                f"fraction of baseline exports, got {self.cap} (a cap of 0 is a ban)"
            )
        if 0 <= self.exporter < dest.size:
            dest[self.exporter] = False
        else:
            raise ModelInputError(f"quota group exporter index {self.exporter} is out of range")
        dest.flags.writeable = False
        object.__setattr__(self, "destinations", dest)


@dataclass(frozen=True, eq=False)
class GroupSolution:
    """What the groups add to a :class:`critmin.model.solver.Solution` (``Solution.groups``).

    ``e``: export-tax equivalent per group; ``exports`` / ``caps``: the group's exports and cap
    (baseline-value units); ``pair_wedge``: ``(n, n)`` ``e_g`` on each group pair, 0 elsewhere;
    ``trade_cost``: ``(n, n)`` ad valorem cost per pair; ``detour_cost``: USD lost to trade
    costs per buyer."""

    groups: tuple[QuotaGroup, ...]
    e: FloatArray
    exports: FloatArray
    caps: FloatArray
    pair_wedge: FloatArray
    trade_cost: FloatArray
    detour_cost: FloatArray


def group_pairs(market: Market, group: QuotaGroup, banned: BoolArray) -> BoolArray:
    """``(n, n)`` mask of the group's trading pairs (baseline trade, not banned)."""
    mask = np.zeros((market.n, market.n), dtype=np.bool_)
    mask[group.exporter] = group.destinations & (market.V[group.exporter] > 0)
    mask &= ~banned
    return mask


def _policy_at(policy: Policy, t1: FloatArray) -> Policy:
    return dataclasses.replace(policy, t1=t1, quota_groups=(), trade_cost=None)


def solve_groups(market: Market, policy: Policy, *, tol: float, max_iter: int) -> object:
    """Solve ``market`` under ``policy`` with its quota groups and trade costs (see the module
    docstring); returns a :class:`critmin.model.solver.Solution` with ``groups`` set."""
    from critmin.model.solver import solve_batch  # the inner solve (same package)

    rp = policy.resolve(market)
    n = market.n
    cost = np.zeros((n, n)) if policy.trade_cost is None else np.asarray(policy.trade_cost)
    if cost.shape != (n, n):
        raise ModelInputError(f"trade_cost: expected shape {(n, n)}, got {cost.shape}")
    groups = tuple(policy.quota_groups)
    masks = [group_pairs(market, g, rp.banned) for g in groups]
    if any(g.destinations.size != n for g in groups):
        raise ModelInputError(f"quota group destinations: expected {n} entries")
    overlap = np.zeros((n, n), dtype=np.int64)
    for mk in masks:
        overlap += mk
    if (overlap > 1).any():
        i, j = np.argwhere(overlap > 1)[0]
        raise ModelInputError(
            f"quota groups overlap on the pair {market.label(int(i))} -> {market.label(int(j))}: "
            "each pair may be under at most one destination quota"
        )
    X0 = np.array([market.V[mk].sum() for mk in masks])
    caps = np.array([g.cap for g in groups]) * X0
    live = np.array([X0[k] > 0 for k in range(len(groups))], dtype=bool)
    base_t1 = (1.0 + rp.t1) * (1.0 + cost)

    def t1_at(nu: FloatArray) -> FloatArray:
        wedge = np.zeros((n, n))
        for k, mk in enumerate(masks):
            wedge[mk] = nu[k]
        return np.asarray(base_t1 * np.exp(wedge) - 1.0)

    def run(nus: list[FloatArray]) -> list[object]:
        pols = [_policy_at(policy, t1_at(nu)) for nu in nus]
        return list(solve_batch([market] * len(nus), pols, tol=tol, max_iter=max_iter))

    def residual(sol: object) -> FloatArray:
        q = sol.q  # type: ignore[attr-defined]
        X = np.array([q[mk].sum() for mk in masks])
        return np.where(live, 1.0 - X / np.where(live, caps, 1.0), 0.0)

    nq = len(groups)
    nu = np.zeros(nq)
    sol = run([nu])[0]
    h = residual(sol)
    iterations = int(sol.iterations)  # type: ignore[attr-defined]
    F = np.minimum(nu, h)
    converged_outer = False
    for _ in range(MAX_OUTER):
        if np.abs(F).max(initial=0.0) <= 1e-10 or not sol.converged:  # type: ignore[attr-defined]
            converged_outer = bool(np.abs(F).max(initial=0.0) <= 1e-10)
            break
        binding = live & (h <= nu)
        trials = [nu + FD_STEP * np.eye(nq)[k] for k in range(nq) if binding[k]]
        sols = run(trials) if trials else []
        J = np.eye(nq)
        cols = [k for k in range(nq) if binding[k]]
        for c, s in zip(cols, sols, strict=True):
            J[:, c] = (residual(s) - h) / FD_STEP
        for r in range(nq):
            if not binding[r]:
                J[r] = 0.0
                J[r, r] = 1.0
        try:
            d = np.linalg.solve(J, -F)
        except np.linalg.LinAlgError:
            d = -F
        step = 1.0
        norm = np.abs(F).max()
        for _bt in range(30):
            trial_nu = np.maximum(nu + step * d, 0.0)
            trial = run([trial_nu])[0]
            th = residual(trial)
            tF = np.minimum(trial_nu, th)
            if trial.converged and np.abs(tF).max() < norm * (1 - 1e-4 * step):  # type: ignore[attr-defined]
                break
            step *= 0.5
        nu, sol, h, F = trial_nu, trial, th, tF
        iterations += int(trial.iterations)  # type: ignore[attr-defined]
    else:
        converged_outer = bool(np.abs(F).max(initial=0.0) <= 1e-10)
    return _with_groups(market, sol, groups, masks, nu, caps, cost, converged_outer, F, iterations)


def _with_groups(
    market: Market,
    sol: object,
    groups: tuple[QuotaGroup, ...],
    masks: list[BoolArray],
    nu: FloatArray,
    caps: FloatArray,
    cost: FloatArray,
    converged: bool,
    F: FloatArray,
    iterations: int,
) -> object:
    """The inner solution with the accounts corrected for the folded wedges and costs."""
    n = market.n
    pi = sol.pi  # type: ignore[attr-defined]
    e_country = sol.e  # type: ignore[attr-defined]
    q = sol.q  # type: ignore[attr-defined]
    wedge = np.zeros((n, n))
    for k, mk in enumerate(masks):
        wedge[mk] = np.expm1(nu[k])
    sell = pi[:, None] * np.where(np.eye(n, dtype=bool), 1.0, 1.0 + e_country[:, None])
    rent_pairs = sell * wedge * q
    detour_pairs = sell * (1.0 + wedge) * cost * q
    rent = rent_pairs.sum(axis=1)
    diverted = (rent_pairs + detour_pairs).sum(axis=0)
    detour = detour_pairs.sum(axis=0)
    exports = np.array([q[mk].sum() for mk in masks])
    residual = float(np.abs(F).max(initial=0.0))
    max_res = max(float(sol.max_residual), residual)  # type: ignore[attr-defined]
    message = sol.message  # type: ignore[attr-defined]
    if not converged and sol.converged:  # type: ignore[attr-defined]
        message = f"the destination quotas did not converge (largest gap {residual:.2e})"
    info = GroupSolution(
        groups=groups,
        e=np.expm1(nu),
        exports=exports,
        caps=caps,
        pair_wedge=wedge,
        trade_cost=cost,
        detour_cost=detour,
    )
    return dataclasses.replace(
        sol,  # type: ignore[type-var]
        tariff_revenue=sol.tariff_revenue - diverted,  # type: ignore[attr-defined]
        quota_rent=sol.quota_rent + rent,  # type: ignore[attr-defined]
        welfare=sol.welfare - diverted + rent,  # type: ignore[attr-defined]
        converged=bool(sol.converged and converged),  # type: ignore[attr-defined]
        iterations=iterations,
        max_residual=max_res,
        message=message,
        groups=info,
    )
