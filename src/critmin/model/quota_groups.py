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
exporter's sales to a destination ``j`` of the group above the quota may go through third
countries (the vias) at an extra ad valorem cost ``k_r`` and the vias' tariff into ``j``
``tv_r`` instead of its own ``t1_ij``, up to ``L_r`` (baseline-value units: ``leak_share x
sum_v V_vj``). Goods of origin ``i`` are one Armington variety in ``j`` whichever way they
travel, so a leaky pair has one buyer price and carries two flows, the direct ``d_r`` and the
routed ``l_r`` (``q_ij = d_r + l_r``). Relative to the direct landed cost
``pi_i (1 + e_i)(1 + t1_ij)`` the route costs ``kappa_r = (1 + k_r)(1 + tv_r) / (1 + t1_ij)``
and a direct sale ``1 + e_g`` (the licence it uses is worth ``e_g`` elsewhere). So:

* the quota bounds the direct flow only: ``X_g = sum_{j in D_g} q_ij - sum_r l_r <= cap_g X0_g``;
* the route bounds the routed flow: ``0 <= l_r <= L_r``, and the route is used only where it
  pays, ``ln kappa_r <= nu_g``: it fills as ``nu_g`` rises to its cost, is full above it
  (its rent ``r_r = m_r / kappa_r - 1 >= 0``), and at ``nu_g = ln kappa_r`` (the licence and
  the route cost the same: the quota is then held at the route's cost, ``e_g = kappa_r - 1``)
  routes of equal cost are filled to the same share ``phi`` of their caps;
* on a leaky pair the cheaper channel sells first: the routed flow at ``ln kappa_r`` up to
  ``phi_r L_r``, then the direct flow at ``nu_g`` without limit (the group's cap bounds it);
  the pair's price ``mu_r`` is ``nu_g`` where direct sales go on, and below it (down to
  ``ln kappa_r``) where the route alone can serve the destination.

Both are monotone paths solved by one unknown each. The group's: ``t_g`` with ``nu_g(t)``
rising with slope 1 from 0 and flat at each route cost ``c > 0`` while the routes of that cost
fill (``phi`` from 0 to 1 over a length of ``t`` equal to their caps, each at most its pair's
baseline trade, over the group's cap, so that the group's direct exports move at about the
rate of ``t`` on a flat as on a rise; a route with
``kappa < 1`` pays even under a slack quota, as tariff evasion, and is always open; one with
``kappa = 1`` (to :data:`KAPPA_TIE`) has a flat at ``nu = 0`` and opens only as the quota
binds: a route that costs what a direct sale costs carries nothing under a slack quota); without
routes ``nu_g(t) = t``. Its
residual is ``min(t_g, 1 - X_g / (cap_g X0_g))`` (``t >= 0`` is ``nu >= 0``), increasing in
``t``. A leaky pair's: ``s_r`` on its merit-order path in (``mu``, ``Q = quantity / V_ij``):
flat at ``ln kappa_r`` up to ``phi_r L_r / V_ij``, rising to ``nu_g``, flat at ``nu_g``
without end (before the first point the price falls at no supply); the pair clears where
demand meets it, ``G(s) = (q_ij / V_ij - Q(s)) V_ij / X0_g = 0``, decreasing in ``s``. With ``L -> 0`` the
routes vanish and the quota is as without leaks.

The inner system (prices, whole-exporter quotas) is the compiled one of
:mod:`critmin.model.kernels`, with the group wedges (``nu_g``, and ``mu_r`` on a leaky pair)
and trade costs folded into the pairs' scenario tariffs. The outer unknowns ``[t, s]`` are
solved around it by a semismooth Newton iteration with a forward-difference Jacobian (one
batched inner solve per unknown that binds and iteration; groups and routes are few, the
inner solves take milliseconds). Where quotas leak, the paths' kinks call for safeguards: a
group's cap counts a leaky pair's direct flow as its path has it (``Q - phi L / V``, the same
as ``q - l`` at the solution), so that a pair served by its route alone drops out of the cap;
a cap row that nothing moves takes the other piece of ``min(t, h)`` (``t -> 0``); a singular
system takes the least-squares step; steps in ``t`` are at most :data:`MAX_T_STEP`; the
tolerance is :data:`LEAK_TOL`. The accounts are then corrected: the folded tariff would
count ``pi (1 + e_i) ((1 + e_g)(1 + k) - 1) q`` as the buyer's tariff revenue; of it
``pi (1 + e_i) e_g q`` is the exporter's quota rent (licence rent) and
``pi (1 + e_i) (1 + e_g) k q`` the real cost of the detour (nobody's income), so the buyer's
revenue is ``b - pi (1 + e_i)(1 + e_g)(1 + k)`` per unit, the tariff on the landed value. On a
leaky pair (``m_r = exp(mu_r)``) the rent is ``pi (1 + e_i) ((m_r - 1) d_r + r_r l_r)``, the
detour ``pi (1 + e_i)(1 + r_r) k_r l_r``, and the buyer's revenue the direct tariff on
``d_r`` and the vias' tariff on ``l_r``.

Markets without groups and trade costs never come here: their solve is unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from critmin.model.core import (
    BoolArray,
    FloatArray,
    IntArray,
    Market,
    ModelInputError,
    Policy,
    ResolvedPolicy,
)

__all__ = ["GroupLeak", "GroupSolution", "LeakFlow", "QuotaGroup", "group_pairs", "solve_groups"]

FD_STEP = 1e-7
"""Forward-difference step in ``nu`` and ``mu`` for the outer Jacobian (the inner solves are
accurate to about 1e-12, so the derivative is accurate to about 1e-5: enough for Newton's
convergence)."""
MAX_OUTER = 60
OUTER_TOL = 1e-10
LEAK_TOL = 1e-9
"""Outer tolerance where quotas leak: the paths' kinks (a route just full, a pair just served
by its route alone) slow the last digits of the semismooth iteration."""
KAPPA_TIE = 1e-12
"""``|ln kappa|`` below this is a route that costs what the direct sale costs (``kappa = 1``:
no detour cost and the vias' tariff equal to the direct one, up to rounding in the vias'
weighted tariff): it opens only as the quota binds, never under a slack one."""
MAX_LOG_WEDGE = 50.0
MIN_LOG_WEDGE = 20.0
MAX_T_STEP = 1.0
"""Largest Newton step in a group's ``t`` where quotas leak (a factor of e in the licence's
price): the paths have kinks, and a step across many of them is rarely a good one."""


@dataclass(frozen=True, eq=False)
class GroupLeak:
    """A route around a quota group: the exporter's sales to ``destination`` above the quota
    may go through third countries (see the module docstring).

    Attributes:
        destination: the destination's index (one of the group's destinations).
        cap: the most the route carries, baseline-value units (USD at baseline prices), ``> 0``.
        cost: the extra ad valorem cost ``k`` of the detour, ``>= 0``.
        via_tariff: the tariff ``tv`` the routed goods pay into the destination (the vias'),
            ``> -1``.
        vias: the intermediaries' indices and their shares of the routed flow (reporting only).
    """

    destination: int
    cap: float
    cost: float = 0.0
    via_tariff: float = 0.0
    vias: tuple[tuple[int, float], ...] = ()

    def __post_init__(self) -> None:
        where = f"quota leak to #{self.destination}"
        if not (np.isfinite(self.cap) and self.cap > 0):
            raise ModelInputError(
                f"{where}: the cap must be a positive finite value, got {self.cap}"
            )
        if not (np.isfinite(self.cost) and self.cost >= 0):
            raise ModelInputError(f"{where}: the cost must be >= 0, got {self.cost}")
        if not (np.isfinite(self.via_tariff) and self.via_tariff > -1):
            raise ModelInputError(f"{where}: via_tariff must be > -1, got {self.via_tariff}")


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
        leaks: routes around this quota (:class:`GroupLeak`), at most one per destination.
        kind: the instrument behind the cap, for results (``quota``, ``licence``, ``quota and
            licence`` where both give the same cap, ``ban`` for a leaky ban's routed flow).
    """

    exporter: int
    destinations: BoolArray
    cap: float
    label: str = ""
    via: tuple[tuple[int, float], ...] = ()
    leaks: tuple[GroupLeak, ...] = ()
    kind: str = "quota"

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
        leaks = tuple(self.leaks)
        targets = [lk.destination for lk in leaks]
        if len(set(targets)) < len(targets) or not all(
            0 <= j < dest.size and dest[j] for j in targets
        ):
            raise ModelInputError(
                f"quota group {self.label or self.exporter}: each leak must go to a different "
                "destination of the group"
            )
        dest.flags.writeable = False
        object.__setattr__(self, "destinations", dest)
        object.__setattr__(self, "leaks", leaks)


@dataclass(frozen=True, eq=False)
class LeakFlow:
    """A solved route around a quota: ``quantity`` routed and ``direct`` on the pair (both
    baseline-value units), the route's ``cap``, its rent ``r`` (a fraction of the exporter's
    price) and ``value_usd``, the routed flow at the exporter's price including the rent and
    the detour cost, ``pi (1 + e_i)(1 + r)(1 + k) l``."""

    group: int
    exporter: int
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


def _finite_tariffs(t1: FloatArray) -> None:
    """Refuse inner tariffs that are not numbers (a NaN wedge), as :class:`Policy` refuses
    them; otherwise they are the scenario's times the wedges of the groups and the trade
    costs, finite and above -1."""
    if not np.isfinite(t1).all():
        raise ModelInputError("t1: contains NaN; every entry must be a number")


def _resolved_at(rp: ResolvedPolicy, t1: FloatArray) -> ResolvedPolicy:
    """The scenario's resolved policy ``rp`` with the inner system's tariffs ``t1`` (checked
    by the caller: :func:`_finite_tariffs`), read-only like every validated input (the
    compiled kernels are typed on it)."""
    t1 = np.ascontiguousarray(t1, dtype=np.float64)
    t1.flags.writeable = False
    return dataclasses.replace(rp, t1=t1)


@dataclass(frozen=True, eq=False)
class _GroupPath:
    """``nu(t)`` and the routes' fill ``phi(t)`` of one group (module docstring): ``nu``
    rises with slope 1 from ``t = 0`` and stays flat at each route cost ``c >= 0`` while the
    routes of that cost fill (a flat at ``c = 0`` starts at ``t = 0``); routes with
    ``ln kappa < 0`` are always open. ``starts[r]``:
    where route ``r`` starts to fill (``-inf``: always open), over a length ``lengths[r]`` of
    ``t``."""

    lnkappa: FloatArray
    starts: FloatArray
    t_knots: FloatArray
    nu_knots: FloatArray
    lengths: FloatArray

    @classmethod
    def build(cls, lnkappa: FloatArray, size: FloatArray) -> _GroupPath:
        """``size``: each route's cap over the group's, the length of its share of a flat
        (so that the group's direct exports fall at about the rate ``t`` grows)."""
        costs = np.unique(lnkappa[lnkappa >= 0.0])
        t_knots, nu_knots = [0.0], [0.0]
        starts, lengths = np.full(len(lnkappa), -np.inf), np.ones(len(lnkappa))
        for c in costs:
            if c > nu_knots[-1]:
                t_knots.append(t_knots[-1] + (c - nu_knots[-1]))  # rise to c
                nu_knots.append(float(c))
            at_c = lnkappa == c
            starts[at_c] = t_knots[-1]
            lengths[at_c] = max(float(size[at_c].sum()), 1e-12)
            t_knots.append(t_knots[-1] + lengths[at_c][0])  # flat while those routes fill
            nu_knots.append(float(c))
        return cls(lnkappa, starts, np.array(t_knots), np.array(nu_knots), lengths)

    def nu(self, t: float) -> float:
        if len(self.t_knots) == 1 or t <= 0.0:
            return t
        if t >= self.t_knots[-1]:
            return float(self.nu_knots[-1] + (t - self.t_knots[-1]))
        return float(np.interp(t, self.t_knots, self.nu_knots))

    def phi(self, t: float) -> FloatArray:
        return np.asarray(np.clip((t - self.starts) / self.lengths, 0.0, 1.0))


def _pair_path(
    lnkappa: float, route: float, nu: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Knots ``s``, ``mu``, ``Q`` of a leaky pair's merit order: the route (cost
    ``ln kappa``, capacity ``route``, in units of ``V_ij``), then direct sales at ``nu``
    without limit (after the last knot). Without route capacity: direct sales only."""
    if route <= 0.0:
        return np.zeros(1), np.array([nu]), np.zeros(1)
    rise = max(nu - lnkappa, 0.0)
    return (
        np.array([0.0, route, route + rise]),
        np.array([lnkappa, lnkappa, lnkappa + rise]),
        np.array([0.0, route, route]),
    )


def _on_path(s: float, knots: tuple[FloatArray, FloatArray, FloatArray]) -> tuple[float, float]:
    """``mu(s)`` and ``Q(s)``: before the first knot the price falls at no supply, after the
    last the quantity grows at the last price."""
    ks, mu, Q = knots
    if s <= ks[0]:
        return float(mu[0] + (s - ks[0])), 0.0
    if s >= ks[-1]:
        return float(mu[-1]), float(Q[-1] + (s - ks[-1]))
    return float(np.interp(s, ks, mu)), float(np.interp(s, ks, Q))


class _Outer:
    """The outer system: ``t`` per group, ``s`` per leaky pair (module docstring)."""

    def __init__(
        self,
        market: Market,
        groups: tuple[QuotaGroup, ...],
        masks: list[BoolArray],
        t1: FloatArray,
        cost: FloatArray,
        caps: FloatArray,
    ) -> None:
        n = market.n
        self.masks = masks
        self.direct = [mk.copy() for mk in masks]  # group pairs without a route
        self.routes: list[tuple[int, int, int, GroupLeak]] = []  # group, i, j, leak
        for k, g in enumerate(groups):
            for lk in g.leaks:
                i, j = g.exporter, lk.destination
                if not masks[k][i, j]:
                    continue  # no baseline trade or banned: nothing to route
                if cost[i, j] != 0.0:
                    raise ModelInputError(
                        f"quota group {g.label or i}: the pair {market.label(i)} -> "
                        f"{market.label(j)} has a trade cost and a leak: give one of them"
                    )
                self.direct[k][i, j] = False
                self.routes.append((k, i, j, lk))
        self.nq, self.nl = len(groups), len(self.routes)
        self.V = np.array([market.V[i, j] for _, i, j, _ in self.routes])
        self.L = np.array([lk.cap for *_, lk in self.routes]) / np.where(self.V > 0, self.V, 1.0)
        lnkappa = np.array(
            [
                np.log((1 + lk.cost) * (1 + lk.via_tariff) / (1 + t1[i, j]))
                for _, i, j, lk in self.routes
            ]
        )
        self.lnkappa = np.where(np.abs(lnkappa) < KAPPA_TIE, 0.0, lnkappa)
        self.of_group = {
            k: [r for r, rt in enumerate(self.routes) if rt[0] == k]
            for k in sorted({rt[0] for rt in self.routes})
        }
        # the part of a route that can matter is at most the pair's baseline trade
        route_caps = np.minimum([lk.cap for *_, lk in self.routes], self.V)
        self.paths = {
            k: _GroupPath.build(self.lnkappa[rs], route_caps[rs] / max(caps[k], 1e-300))
            for k, rs in self.of_group.items()
        }
        self.n = n
        # the pairs whose wedge can be non-zero, flat (i n + j): each group's direct pairs
        # (in C order), then the leaky pairs; every other pair's wedge is 0
        self.direct_sizes = [int(mk.sum()) for mk in self.direct]
        self.route_flat = np.array([i * n + j for _, i, j, _ in self.routes], dtype=np.intp)
        self.flat = np.concatenate([np.flatnonzero(mk) for mk in self.direct] + [self.route_flat])

    def nu(self, z: FloatArray) -> FloatArray:
        return np.array(
            [self.paths[k].nu(z[k]) if k in self.paths else z[k] for k in range(self.nq)]
        )

    def capacity(self, z: FloatArray) -> FloatArray:
        """Route capacity open at ``z`` (units of ``V_ij``): ``phi L / V``."""
        out = np.zeros(self.nl)
        for k, rs in self.of_group.items():
            out[rs] = self.paths[k].phi(z[k]) * self.L[rs]
        return out

    def pairs(self, z: FloatArray) -> list[tuple[float, float, float]]:
        """Per route: the pair's ``mu``, ``Q`` and the route's open capacity."""
        nu, cap = self.nu(z), self.capacity(z)
        out = []
        for r, (k, *_rest) in enumerate(self.routes):
            knots = _pair_path(self.lnkappa[r], cap[r], nu[k])
            mu, Q = _on_path(z[self.nq + r], knots)
            out.append((mu, Q, cap[r]))
        return out

    def wedge_values(self, z: FloatArray) -> FloatArray:
        """The log wedge on the pairs :attr:`flat`: ``nu_g`` on a group's direct pairs,
        ``mu_r`` on a leaky pair (every other pair's is 0)."""
        nu = z[: self.nq] if not self.paths else self.nu(z)
        mus = [mu for mu, _, _ in self.pairs(z)]
        return np.concatenate([np.repeat(nu, self.direct_sizes), np.asarray(mus, dtype=float)])

    def flows(self, q: FloatArray, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Per route the direct and routed flows (units of ``V_ij``): the route first."""
        share = np.array([q[i, j] for _, i, j, _ in self.routes]) / np.where(
            self.V > 0, self.V, 1.0
        )
        cap = self.capacity(z)
        routed = np.clip(share, 0.0, cap) if self.nl else np.zeros(0)
        return share - routed, routed

    def start(self) -> FloatArray:
        """``t = 0`` and each pair at the baseline: ``Q = 1`` at ``mu = 0``, or the nearest."""
        z = np.zeros(self.nq + self.nl)
        for r, (_, _, cap) in enumerate(self.pairs(z)):
            ks, mus, Qs = _pair_path(self.lnkappa[r], cap, 0.0)
            if len(ks) == 1 or Qs[-1] <= 1.0:
                z[self.nq + r] = ks[-1] + max(1.0 - Qs[-1], 0.0)  # on the direct step
            elif mus[0] == 0.0:
                z[self.nq + r] = 1.0  # on the route's step at mu = 0
            else:
                z[self.nq + r] = ks[-1]  # where the rise reaches mu = 0
        return z


class _PairSums:
    """The quantities of an inner solution summed over each group's pairs, and the leaky
    pairs' own, from its pair lists (:meth:`critmin.model.solver.InnerSolve.pair_quantities`)
    instead of the dense ``(n, n)`` :attr:`Solution.q`: ``q[mask].sum()`` sums the mask's
    entries in C order, zeros included, and so does this (the same entries in the same order:
    the same sums, bit for bit). Where each pair sits in the lists is found at the first call
    (every inner solve of a market has the same pairs: the same bans and caps)."""

    def __init__(self, n: int, masks: list[BoolArray], routes: IntArray) -> None:
        self.n = n
        self.masks = masks
        self.routes = routes  # flat indices i n + j of the leaky pairs
        self.size = -1
        self.groups: list[IntArray] = []
        self.routed: IntArray = np.zeros(0, dtype=np.intp)

    def __call__(
        self, pair_i: IntArray, pair_j: IntArray, q: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Per group the sum of its pairs' ``q``, and each leaky pair's ``q``."""
        if len(q) != self.size:
            at = np.full(self.n * self.n, len(q))  # a pair without trade: the 0 appended
            at[pair_i * self.n + pair_j] = np.arange(len(q))
            self.groups = [at[np.flatnonzero(mk)] for mk in self.masks]
            self.routed = at[self.routes]
            self.size = len(q)
        qx = np.append(q, 0.0)
        return np.array([qx[at].sum() for at in self.groups]), qx[self.routed]


def solve_groups(market: Market, policy: Policy, *, tol: float, max_iter: int) -> object:
    """Solve ``market`` under ``policy`` with its quota groups, their leaks and trade costs
    (see the module docstring); returns a :class:`critmin.model.solver.Solution` with
    ``groups`` set."""
    from critmin.model.solver import InnerSolve, solve_inner  # the inner solve (same package)

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
    outer = _Outer(market, groups, masks, rp.t1, cost, caps)
    nq, N = outer.nq, outer.nq + outer.nl
    base_t1 = ((1.0 + rp.t1) * (1.0 + cost)).ravel()
    # the inner tariffs base_t1 e^w - 1 where the wedge w is 0: the same numbers (x 1.0 is
    # exact); only the pairs of outer.flat move
    still = base_t1 - 1.0
    _finite_tariffs(still)
    moving = base_t1[outer.flat]

    def run(zs: list[FloatArray], start: FloatArray | None) -> list[tuple[InnerSolve, FloatArray]]:
        """The inner solutions at the group unknowns ``zs`` with their own unknowns, each
        solved from ``start`` (the inner unknowns at the last accepted point; ``None``: the
        baseline): a step of the wedges moves the inner solution a little."""
        out: list[tuple[InnerSolve, FloatArray]] = []
        for z in zs:
            # log wedges beyond these (factors of 5e21 and 2e-9) only arise in trial steps
            w = np.clip(outer.wedge_values(z), -MIN_LOG_WEDGE, MAX_LOG_WEDGE)
            moved = moving * np.exp(w) - 1.0
            _finite_tariffs(moved)  # the others were checked once, above
            t1 = still.copy()
            t1[outer.flat] = moved
            inner = _resolved_at(rp, t1.reshape(n, n))
            out.append(solve_inner(market, inner, start, tol=tol, max_iter=max_iter))
        return out

    # the groups' direct pairs (all their pairs where none leaks) and the leaky pairs
    pair_sums = _PairSums(n, outer.direct, outer.route_flat)

    def residual(sol: InnerSolve, z: FloatArray) -> FloatArray:
        """The slack of each cap, ``1 - X / cap`` (0 for a group without trade), then on
        each leaky pair the gap ``G(s) = (q / V - Q(s)) V / X0_g``."""
        X, routed_q = pair_sums(*sol.pair_quantities())
        if not outer.nl:
            return np.asarray(np.where(live, 1.0 - X / np.where(live, caps, 1.0), 0.0))
        # a leaky pair's direct flow as its path has it (the same as q minus the routed flow
        # once G = 0): nothing while the route serves the pair alone
        on_path = outer.pairs(z)
        direct = np.array([max(Q - cap, 0.0) for _, Q, cap in on_path])
        X = X + np.bincount([rt[0] for rt in outer.routes], direct * outer.V, minlength=nq)
        h = np.where(live, 1.0 - X / np.where(live, caps, 1.0), 0.0)
        share = routed_q / outer.V
        # relative to the group's baseline exports, as the cap's slack (the inner solve is
        # accurate to ~1e-12 of a seller's sales, not of a small pair)
        G = (share - np.array([Q for _, Q, _ in on_path])) * pair_weight
        return np.concatenate([h, G])

    pair_weight = outer.V / np.array([max(X0[rt[0]], 1e-300) for rt in outer.routes])

    def gap(z: FloatArray, h: FloatArray) -> FloatArray:
        if not outer.nl:
            return np.minimum(z, h)
        return np.concatenate([np.minimum(z[:nq], h[:nq]), h[nq:]])

    tol_outer = LEAK_TOL if outer.nl else OUTER_TOL
    z = outer.start()
    sol, inner_z = run([z], None)[0]
    h = residual(sol, z)
    iterations = sol.iterations
    F = gap(z, h)
    converged_outer = False
    for _ in range(MAX_OUTER):
        if np.abs(F).max(initial=0.0) <= tol_outer or not sol.converged:
            converged_outer = bool(np.abs(F).max(initial=0.0) <= tol_outer)
            break
        binding = np.concatenate([live & (h[:nq] <= z[:nq]), np.ones(outer.nl, dtype=bool)])
        # a group's t moves its pairs' paths: its column counts even where its row is slack
        cols = [k for k in range(N) if binding[k] or k in outer.paths]
        trials = [z + FD_STEP * np.eye(N)[k] for k in cols]
        sols = [found for found, _ in run(trials, inner_z)]
        J = np.eye(N)
        for c, s, zc in zip(cols, sols, trials, strict=True):
            J[:, c] = (residual(s, zc) - h) / FD_STEP
        rhs = -F
        for r in range(N):
            if not binding[r]:  # a slack cap: the row of t itself
                J[r] = 0.0
                J[r, r] = 1.0
            elif r < nq and outer.nl and not np.abs(J[r]).max() > 1e-12:
                # direct exports that nothing moves (its leaky pairs served by their routes
                # alone, every direct pair gone): the other piece of min(t, h), t -> 0
                J[r] = 0.0
                J[r, r] = 1.0
                rhs = rhs.copy()
                rhs[r] = -z[r]
        try:
            d = np.linalg.solve(J, rhs)
        except np.linalg.LinAlgError:  # e.g. a t that moves nothing while its pairs sit on a
            # rise of their paths: the least-squares step moves the rest
            d = np.linalg.lstsq(J, rhs, rcond=None)[0] if outer.nl else -F
        if outer.nl and np.abs(d[:nq]).max() > MAX_T_STEP:  # stay near the paths' kinks
            d = d * (MAX_T_STEP / np.abs(d[:nq]).max())
        step = 1.0
        norm = np.abs(F).max()
        for _bt in range(30):
            trial_z = z + step * d
            trial_z[:nq] = np.maximum(trial_z[:nq], 0.0)
            trial, trial_inner = run([trial_z], inner_z)[0]
            th = residual(trial, trial_z)
            tF = gap(trial_z, th)
            if trial.converged and np.abs(tF).max() < norm * (1 - 1e-4 * step):
                break
            step *= 0.5
        z, sol, h, F, inner_z = trial_z, trial, th, tF, trial_inner
        iterations += trial.iterations
    else:
        converged_outer = bool(np.abs(F).max(initial=0.0) <= tol_outer)
    return _with_groups(
        market, sol.solution(), groups, outer, z, caps, cost, converged_outer, F, iterations
    )


def _with_groups(
    market: Market,
    sol: object,
    groups: tuple[QuotaGroup, ...],
    outer: _Outer,
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
    nu = outer.nu(z) if outer.paths else z[: outer.nq]
    wedge = np.zeros((n, n))
    for k, mk in enumerate(outer.direct):
        wedge[mk] = np.expm1(nu[k])
    sell = pi[:, None] * np.where(np.eye(n, dtype=bool), 1.0, 1.0 + e_country[:, None])
    rent_pairs = sell * wedge * q
    detour_pairs = sell * (1.0 + wedge) * cost * q
    exports = np.array([q[mk].sum() for mk in outer.direct])
    direct, routed = outer.flows(q, z)
    leaks = []
    for r, ((k, i, j, lk), (mu, _, _)) in enumerate(zip(outer.routes, outer.pairs(z), strict=True)):
        d, l_r = direct[r] * outer.V[r], routed[r] * outer.V[r]
        m = float(np.exp(mu))
        rent_r = m / float(np.exp(outer.lnkappa[r])) - 1.0
        rent_pairs[i, j] = sell[i, j] * ((m - 1.0) * d + rent_r * l_r)
        detour_pairs[i, j] = sell[i, j] * (1.0 + rent_r) * lk.cost * l_r
        wedge[i, j] = rent_pairs[i, j] / (sell[i, j] * q[i, j]) if q[i, j] > 0 else m - 1.0
        exports[k] += d
        value = float(sell[i, j] * (1.0 + rent_r) * (1.0 + lk.cost) * l_r)
        leaks.append(LeakFlow(k, i, lk, float(l_r), float(d), lk.cap, rent_r, value))
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
        e=np.expm1(nu),
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
