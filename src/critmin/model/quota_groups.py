"""Destination-specific export quotas (quota groups), their leaks, and ad valorem trade costs.

A quota group ``g`` is an exporter ``i_g``, a set of destinations ``D_g`` and a cap ``cap_g``
(a fraction of the group's baseline exports ``X0_g = sum_{j in D_g} V_ij``). It has its own
export-tax equivalent ``e_g >= 0`` that applies only to the group's pairs, complementary to
the cap (DESIGN.md, "The trade model", generalised from one quota per exporter):

* buyer price on a pair of the group: ``b_ij = pi_i (1 + e_i [i != j]) (1 + e_g)
  (1 + k_ij) (1 + t1_ij)``, floored at the levy floor; ``k_ij >= 0`` is an ad valorem trade
  cost (a real resource cost, e.g. the extra cost of routing through a third country);
* cap: ``X_g = sum_{j in D_g} q_ij <= cap_g X0_g``, ``e_g >= 0``, one with equality
  (``min(nu_g, 1 - X_g / (cap_g X0_g)) = 0`` with ``nu_g = ln(1 + e_g)``).

**Leaks of a quota** (:class:`GroupLeak`, docs/controls.md "Leakage and transshipment"). The
exporter's sales to a destination ``j`` above the quota may go through third countries (the
vias) at an extra ad valorem cost ``k`` and the vias' tariff into ``j`` ``tv`` instead of its
own ``t1_ij``, up to ``L`` (baseline-value units: ``leak_share x sum_v V_vj``). Goods of
origin ``i`` are one Armington variety in ``j`` whichever way they travel, so the pair has one
buyer price and carries two flows, the direct ``d`` and the routed ``l`` (``q_ij = d + l``).
A leaky group has one destination (a leaky quota over several destinations is one group per
destination, each at the quota's share of its own pair: with a joint cap, a licence and a
route of equal cost would leave the split between destinations undetermined). With
``m = exp(mu)`` the pair's buyer price over the direct landed cost ``pi_i (1 + e_i)(1 + t1_ij)``
and ``kappa = (1 + k)(1 + tv) / (1 + t1_ij)`` the route's relative cost:

* direct flow ``0 <= d <= cap_g V_ij``, sold when ``m >= 1`` with the quota rent
  ``e_g = m - 1 >= 0`` when it is full;
* routed flow ``0 <= l <= L``, sold when ``m >= kappa`` with the route's rent
  ``r = m / kappa - 1 >= 0`` when it is full.

So the direct flow is bounded by the quota, the routed flow by ``L``, and they face different
costs. The pair's supply is the merit order of the two channels (the cheaper first): a
monotone path in (``mu``, quantity) made of flat steps (a channel filling at its cost) and
vertical ones (the price rising to the next cost, or above the last, once full). The path is
parametrised by one unknown ``s`` per leaky pair (``mu(s)``, ``Q(s)`` piecewise linear, both
non-decreasing, at least one increasing), and the pair clears where demand meets it:
``G(s) = q_ij / V_ij - Q(s) = 0``, strictly decreasing in ``s``. With ``L -> 0`` the route
vanishes and the quota is as without leaks; if the route is slack the destination pays
``kappa`` over the direct landed cost and ``e_g = kappa - 1`` (the leak caps the quota's price
effect). With ``kappa < 1`` (the vias' tariff saves more than the detour costs) the route comes
first in the merit order and pays even under a slack quota: that is tariff evasion, and
:mod:`critmin.simulation` says so in the notes.

The inner system (prices, whole-exporter quotas) is the compiled one of
:mod:`critmin.model.kernels`, with the group wedges (``nu_g``; ``mu(s)`` on a leaky pair) and trade
costs folded into the pairs' scenario tariffs. The outer unknowns (``nu_g``, ``s``) are solved
around it by a semismooth Newton iteration on ``min(nu_g, 1 - X_g / (cap_g X0_g))`` and
``G(s)`` with a forward-difference Jacobian (one batched inner solve per unknown and
iteration; groups are few, the inner solves take milliseconds). The accounts are then
corrected: the folded tariff would count ``pi (1 + e_i) ((1 + e_g)(1 + k) - 1) q`` as the
buyer's tariff revenue; of it ``pi (1 + e_i) e_g q`` is the exporter's quota rent (licence
rent) and ``pi (1 + e_i) (1 + e_g) k q`` the real cost of the detour (nobody's income), so
the buyer's revenue is ``b - pi (1 + e_i)(1 + e_g)(1 + k)`` per unit, the tariff on the
landed value. On a leaky pair the rent is ``pi (1 + e_i) ((m - 1) d + r l)``, the detour
``pi (1 + e_i)(1 + r) k l``, and the buyer's revenue the direct tariff on ``d`` and the vias'
tariff on ``l``.

Markets without groups and trade costs never come here: their solve is unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from critmin.model.core import BoolArray, FloatArray, Market, ModelInputError, Policy

__all__ = ["GroupLeak", "GroupSolution", "LeakFlow", "QuotaGroup", "group_pairs", "solve_groups"]

FD_STEP = 1e-7
"""Forward-difference step in ``nu`` and ``mu`` for the outer Jacobian (the inner solves are
accurate to about 1e-12, so the derivative is accurate to about 1e-5: enough for Newton's
convergence)."""
MAX_OUTER = 60
OUTER_TOL = 1e-10


@dataclass(frozen=True, eq=False)
class GroupLeak:
    """A route around a one-destination quota group: the exporter's sales above the quota may
    go through third countries (see the module docstring).

    Attributes:
        cap: the most the route carries, baseline-value units (USD at baseline prices), ``> 0``.
        cost: the extra ad valorem cost ``k`` of the detour, ``>= 0``.
        via_tariff: the tariff ``tv`` the routed goods pay into the destination (the vias'),
            ``> -1``.
        vias: the intermediaries' indices and their shares of the routed flow (reporting only).
    """

    cap: float
    cost: float = 0.0
    via_tariff: float = 0.0
    vias: tuple[tuple[int, float], ...] = ()

    def __post_init__(self) -> None:
        if not (np.isfinite(self.cap) and self.cap > 0):
            raise ModelInputError(
                f"quota leak: the cap must be a positive finite value, got {self.cap}"
            )
        if not (np.isfinite(self.cost) and self.cost >= 0):
            raise ModelInputError(f"quota leak: the cost must be >= 0, got {self.cost}")
        if not (np.isfinite(self.via_tariff) and self.via_tariff > -1):
            raise ModelInputError(f"quota leak: via_tariff must be > -1, got {self.via_tariff}")


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
        leak: a route around the quota (:class:`GroupLeak`); only for a group of one
            destination.
    """

    exporter: int
    destinations: BoolArray
    cap: float
    label: str = ""
    via: tuple[tuple[int, float], ...] = ()
    leak: GroupLeak | None = None

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
        if self.leak is not None and dest.sum() != 1:
            raise ModelInputError(
                f"quota group {self.label or self.exporter}: a leak needs a group of exactly "
                "one destination"
            )
        dest.flags.writeable = False
        object.__setattr__(self, "destinations", dest)


@dataclass(frozen=True, eq=False)
class LeakFlow:
    """A solved route around a quota: ``quantity`` routed and ``direct`` on the pair (both
    baseline-value units), the route's ``cap``, its rent ``r`` (a fraction of the exporter's
    price) and ``value_usd``, the routed flow at the exporter's price including the rent and
    the detour cost, ``pi (1 + e_i)(1 + r)(1 + k) l``."""

    group: int
    exporter: int
    destination: int
    route: GroupLeak
    quantity: float
    direct: float
    cap: float
    rent: float
    value_usd: float


@dataclass(frozen=True, eq=False)
class GroupSolution:
    """What the groups add to a :class:`critmin.model.solver.Solution` (``Solution.groups``).

    ``e``: export-tax equivalent per group; ``exports`` / ``caps``: the group's direct exports
    and cap (baseline-value units); ``pair_wedge``: ``(n, n)`` ``e_g`` on each group pair, 0
    elsewhere (on a leaky pair the average rent over its direct and routed flows, so that
    ``pi (1 + e_i)(1 + pair_wedge) q`` is what the exporter receives); ``trade_cost``:
    ``(n, n)`` ad valorem cost per pair; ``detour_cost``: USD lost to trade costs per buyer;
    ``leaks``: the routes around the quotas (:class:`LeakFlow`)."""

    groups: tuple[QuotaGroup, ...]
    e: FloatArray
    exports: FloatArray
    caps: FloatArray
    pair_wedge: FloatArray
    trade_cost: FloatArray
    detour_cost: FloatArray
    leaks: tuple[LeakFlow, ...] = ()


def group_pairs(market: Market, group: QuotaGroup, banned: BoolArray) -> BoolArray:
    """``(n, n)`` mask of the group's trading pairs (baseline trade, not banned)."""
    mask = np.zeros((market.n, market.n), dtype=np.bool_)
    mask[group.exporter] = group.destinations & (market.V[group.exporter] > 0)
    mask &= ~banned
    return mask


def _policy_at(policy: Policy, t1: FloatArray) -> Policy:
    return dataclasses.replace(policy, t1=t1, quota_groups=(), trade_cost=None)


@dataclass(frozen=True, eq=False)
class _MeritPath:
    """The supply of a leaky pair in (``mu``, quantity / ``V_ij``): the direct channel (cost
    0, capacity ``cap_g``) and the route (cost ``ln kappa``, capacity ``L / V_ij``), the
    cheaper first. Knots ``s``, ``mu``, ``Q``; before the first knot the price falls at no
    supply, after the last it rises at full supply."""

    s: FloatArray
    mu: FloatArray
    Q: FloatArray
    direct_first: bool
    lnkappa: float

    @classmethod
    def build(cls, direct_cap: float, route_cap: float, lnkappa: float) -> _MeritPath:
        direct_first = lnkappa >= 0.0
        (c1, k1), (c2, k2) = (0.0, direct_cap), (lnkappa, route_cap)
        if not direct_first:
            (c1, k1), (c2, k2) = (c2, k2), (c1, k1)
        s = np.cumsum([0.0, k1, c2 - c1, k2])
        mu = np.array([c1, c1, c2, c2])
        Q = np.array([0.0, k1, k1, k1 + k2])
        return cls(s, mu, Q, direct_first, lnkappa)

    def at(self, s: float) -> tuple[float, float]:
        """``mu(s)`` and ``Q(s)``."""
        if s <= self.s[0]:
            return float(self.mu[0] + (s - self.s[0])), 0.0
        if s >= self.s[-1]:
            return float(self.mu[-1] + (s - self.s[-1])), float(self.Q[-1])
        return float(np.interp(s, self.s, self.mu)), float(np.interp(s, self.s, self.Q))

    def start(self) -> float:
        """The point of the path at the baseline price (``mu = 0``, the cost of the direct
        channel) nearest to the baseline quantity (``Q = 1``)."""
        if self.direct_first:  # the first step is at mu = 0 (and the second too if kappa = 1)
            top = self.Q[1] if self.mu[2] > 0.0 else self.Q[3]
            return float(min(1.0, top))  # s = Q on these steps
        return float(self.s[2] + np.clip(1.0 - self.Q[2], 0.0, self.Q[3] - self.Q[2]))

    def split(self, quantity: float) -> tuple[float, float]:
        """Direct and routed flows of ``quantity`` (relative to ``V_ij``), the cheaper
        channel filled first."""
        first = min(max(quantity, 0.0), float(self.Q[1]))
        second = max(quantity - first, 0.0)
        return (first, second) if self.direct_first else (second, first)


def solve_groups(market: Market, policy: Policy, *, tol: float, max_iter: int) -> object:
    """Solve ``market`` under ``policy`` with its quota groups, their leaks and trade costs
    (see the module docstring); returns a :class:`critmin.model.solver.Solution` with
    ``groups`` set."""
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
    paths = _paths(market, groups, masks, rp.t1, cost, live)
    leaky = np.array([k in paths for k in range(len(groups))], dtype=bool)
    base_t1 = (1.0 + rp.t1) * (1.0 + cost)

    def t1_at(z: FloatArray) -> FloatArray:
        wedge = np.zeros((n, n))
        for k, mk in enumerate(masks):
            wedge[mk] = paths[k].at(z[k])[0] if k in paths else z[k]
        return np.asarray(base_t1 * np.exp(wedge) - 1.0)

    def run(zs: list[FloatArray]) -> list[object]:
        pols = [_policy_at(policy, t1_at(z)) for z in zs]
        return list(solve_batch([market] * len(zs), pols, tol=tol, max_iter=max_iter))

    def residual(sol: object, z: FloatArray) -> FloatArray:
        """The slack of each cap, ``1 - X / cap`` (0 for a group without trade), and on a
        leaky pair the gap ``G(s) = q / V - Q(s)``."""
        q = sol.q  # type: ignore[attr-defined]
        X = np.array([q[mk].sum() for mk in masks])
        h = np.where(live, 1.0 - X / np.where(live, caps, 1.0), 0.0)
        for k, path in paths.items():
            h[k] = X[k] / X0[k] - path.at(z[k])[1]
        return np.asarray(h)

    def gap(z: FloatArray, h: FloatArray) -> FloatArray:
        return np.where(leaky, h, np.minimum(z, h))

    nq = len(groups)
    z = np.array([paths[k].start() if k in paths else 0.0 for k in range(nq)])
    sol = run([z])[0]
    h = residual(sol, z)
    iterations = int(sol.iterations)  # type: ignore[attr-defined]
    F = gap(z, h)
    converged_outer = False
    for _ in range(MAX_OUTER):
        if np.abs(F).max(initial=0.0) <= OUTER_TOL or not sol.converged:  # type: ignore[attr-defined]
            converged_outer = bool(np.abs(F).max(initial=0.0) <= OUTER_TOL)
            break
        binding = leaky | (live & (h <= z))
        cols = [k for k in range(nq) if binding[k]]
        trials = [z + FD_STEP * np.eye(nq)[k] for k in cols]
        sols = run(trials) if trials else []
        J = np.eye(nq)
        for c, s, zc in zip(cols, sols, trials, strict=True):
            J[:, c] = (residual(s, zc) - h) / FD_STEP
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
            trial_z = np.where(leaky, z + step * d, np.maximum(z + step * d, 0.0))
            trial = run([trial_z])[0]
            th = residual(trial, trial_z)
            tF = gap(trial_z, th)
            if trial.converged and np.abs(tF).max() < norm * (1 - 1e-4 * step):  # type: ignore[attr-defined]
                break
            step *= 0.5
        z, sol, h, F = trial_z, trial, th, tF
        iterations += int(trial.iterations)  # type: ignore[attr-defined]
    else:
        converged_outer = bool(np.abs(F).max(initial=0.0) <= OUTER_TOL)
    return _with_groups(
        market, sol, groups, masks, paths, z, caps, cost, converged_outer, F, iterations
    )


def _paths(
    market: Market,
    groups: tuple[QuotaGroup, ...],
    masks: list[BoolArray],
    t1: FloatArray,
    cost: FloatArray,
    live: BoolArray,
) -> dict[int, _MeritPath]:
    """The merit-order path of every leaky group with trade."""
    out = {}
    for k, g in enumerate(groups):
        if g.leak is None or not live[k]:
            continue
        i, j = g.exporter, int(np.flatnonzero(g.destinations)[0])
        if cost[i, j] != 0.0:
            raise ModelInputError(
                f"quota group {g.label or i}: the pair {market.label(i)} -> {market.label(j)} "
                "has a trade cost and a leak: give one of them"
            )
        kappa = (1.0 + g.leak.cost) * (1.0 + g.leak.via_tariff) / (1.0 + t1[i, j])
        out[k] = _MeritPath.build(g.cap, g.leak.cap / market.V[i, j], float(np.log(kappa)))
    return out


def _with_groups(
    market: Market,
    sol: object,
    groups: tuple[QuotaGroup, ...],
    masks: list[BoolArray],
    paths: dict[int, _MeritPath],
    z: FloatArray,
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
    e_group = np.expm1(z)
    wedge = np.zeros((n, n))
    for k, mk in enumerate(masks):
        if k not in paths:
            wedge[mk] = e_group[k]
    sell = pi[:, None] * np.where(np.eye(n, dtype=bool), 1.0, 1.0 + e_country[:, None])
    rent_pairs = sell * wedge * q
    detour_pairs = sell * (1.0 + wedge) * cost * q
    exports = np.array([q[mk].sum() for mk in masks])
    leaks = []
    for k, path in paths.items():
        g = groups[k]
        leak = g.leak
        assert leak is not None
        i, j = g.exporter, int(np.flatnonzero(g.destinations)[0])
        V = float(market.V[i, j])
        mu = path.at(z[k])[0]
        m = float(np.exp(mu))
        direct, routed = (V * x for x in path.split(float(q[i, j]) / V))
        rent_r = m / float(np.exp(path.lnkappa)) - 1.0
        rent_pairs[i, j] = sell[i, j] * ((m - 1.0) * direct + rent_r * routed)
        detour_pairs[i, j] = sell[i, j] * (1.0 + rent_r) * leak.cost * routed
        wedge[i, j] = rent_pairs[i, j] / (sell[i, j] * q[i, j]) if q[i, j] > 0 else m - 1.0
        e_group[k] = max(m - 1.0, 0.0) if direct > 0 else 0.0
        exports[k] = direct
        value = float(sell[i, j] * (1.0 + rent_r) * (1.0 + leak.cost) * routed)
        leaks.append(LeakFlow(k, i, j, leak, routed, direct, leak.cap, rent_r, value))
    rent = rent_pairs.sum(axis=1)
    diverted = (rent_pairs + detour_pairs).sum(axis=0)
    detour = detour_pairs.sum(axis=0)
    residual = float(np.abs(F).max(initial=0.0))
    max_res = max(float(sol.max_residual), residual)  # type: ignore[attr-defined]
    message = sol.message  # type: ignore[attr-defined]
    if not converged and sol.converged:  # type: ignore[attr-defined]
        message = f"the destination quotas did not converge (largest gap {residual:.2e})"
    info = GroupSolution(
        groups=groups,
        e=e_group,
        exports=exports,
        caps=caps,
        pair_wedge=wedge,
        trade_cost=cost,
        detour_cost=detour,
        leaks=tuple(leaks),
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
