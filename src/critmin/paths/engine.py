"""One path: a recursive-dynamic sequence of yearly equilibria of the floored chain.

Each year ``t`` (``t = 0`` the calibrated base year) solves the linked chain
(:func:`critmin.model.chain_solver.solve_chain`; a product is a one-stage chain) with

* **demand** of every buyer's other use shifted by ``H_t = (1 + g)^t exp(sd_H z^H_t -
  sd_H^2 / 2)``: the curated growth ``g`` of the mineral (:mod:`critmin.paths.inputs`) times a
  world demand shock of mean 1 (``z`` standard normal, ``sd_H`` fitted to price history);
* **capacity** ``A_{i,t}`` of every producer ``i`` at stage ``s`` (the model's supply shift)
  following the capacity rule::

      ln A_{i,t} = ln A_{i,t-1} + ln(1 + g) + kappa_s ln pt_{i, t - L_s}

  investors build for the published demand outlook, plus a share ``kappa_s`` of the log gap
  between the price they received ``L_s`` years earlier (subsidy included) and the base year's
  (before the first year: the base year's, i.e. 0). ``L_s`` and ``kappa_s`` are the stage's lead
  time and adjustment speed (``capacity_lead_times.csv``): mines slower than refineries, so a
  floor announced in 2026 brings mine output from 2026 + L_mine. A year's output shock
  ``exp(sd_A z^A_{s,t} - sd_A^2 / 2)`` (mean 1) multiplies capacity for that year only;
* the **policy** of the mechanism from ``start_year`` on (before it: the scenario's own);
* the **disruptions** that fire that year (export bans).

With no growth, no shocks and no policy change every year is the static solve (``pt = 1``, so
``A`` stays 1).

Mechanisms (the floor ``F``, USD/t, at the floored stage; ``p_i`` a producer's market price):

* ``variable_levy``: non-member -> member buyer prices held at ``F`` by a variable tariff;
  zone buyers pay, members collect the levy; fiscal cost 0.
* ``producer_subsidy`` (contract for difference): zone producers receive ``max(p_i, F)``;
  fiscal cost ``sum_i (F - p_i)+ x covered volume_i``. With ``cfd_volume_cap_t`` below zone
  output the payment is inframarginal (the marginal tonne earns the market price, so supply is
  solved without the floor) and the covered volume is the cap, shared pro rata; that payment
  is zone producers' income beside the market (added to their surplus change, which the
  uncapped floor's price already holds); the contract ends after ``cfd_term_years``.
* ``price_gap``: zone buyers buying from zone producers pay ``F`` and the state refunds them the
  gap: the floor reaches the share of zone producers' sales that goes to zone buyers (baseline
  shares, as a rule-of-origin share in :class:`critmin.model.chain.ChainStage`); fiscal cost
  ``sum_i phi_i (F - p_i)+ x volume_i``.
* ``offtake``: a zone agency buys at ``F`` into a stockpile while the market price is below
  ``F``, the stock is below its target (``stockpile_target_days`` of zone demand) and the budget
  lasts. The volume is the one-step estimate that lifts the price to the floor, ``O = Q (eta +
  eps) ln(F / p)`` (``Q`` world demand, t), capped by the target and the remaining budget; it is
  added to zone buyers' demand. On a disruption or when the price exceeds both
  ``release_price_ratio`` x the base-year price and ``F`` the agency releases up to ``release_days`` of
  zone demand (never more than it holds), sold at the market price. Fiscal cost = purchases at
  ``F`` - release revenue. The agency buys under contracts with zone producers (as the US
  Department of Defense's NdPr offtake with MP Materials, 2025): the tonnes come through the
  market, at the market price ``p``, and the premium ``(F - p)+ x`` the tonnes bought is zone
  producers' income beside the market (added to their surplus change, as a capped CfD's
  payment). Zone buyers' surplus is that of their own demand ``H``: the market
  carries ``f x H`` (``f > 1`` with purchases, ``f < 1`` with releases, which the buyers also
  consume at the market price), and the surplus is linear in the shift, so it is the market's
  ``dCS / f`` at the floored stage.

Every mechanism's fiscal cost (``"none"`` too) adds the year's zone subsidy cost at every
stage: the floor's own under ``producer_subsidy`` (uncapped) and ``price_gap``, and the
scenario's own producer subsidies in every path, which are paid whatever the mechanism.

Shortfall counts only what disruptions remove: in a year with a disruption, the zone's
consumption of the floored product (market purchases plus releases) against the same year
solved without the disruption (same floor, same capacity, same shocks), ``max(Q_ref - Q, 0)``;
0 in every other year, whatever the floor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from critmin.model.chain import ChainSetup, ChainStage, chain_setup, reshift
from critmin.model.chain_solver import ChainSolution, solve_chain
from critmin.model.core import Policy
from critmin.parallel import Cancelled
from critmin.paths.setup import PathModel
from critmin.scenario.paths_settings import PathsSettings

__all__ = [
    "SCALARS",
    "STAGE_SERIES",
    "YearSolver",
    "central_inputs",
    "draw_inputs",
    "market_price",
    "simulate_path",
    "zone_other_use_value",
]

DAYS = 365.0
MIN_DEMAND_FACTOR = 0.05
"""A release never cuts zone buyers' market demand below this share (numerical guard)."""

SCALARS = (
    "price_usd_per_t",
    "zone_price_usd_per_t",
    "fiscal_cost_usd",
    "levy_revenue_usd",
    "zone_consumer_surplus_usd",
    "zone_producer_surplus_usd",
    "outside_producer_surplus_usd",
    "outside_consumer_surplus_usd",
    "stockpile_t",
    "purchases_t",
    "releases_t",
    "shortfall_t",
    "zone_demand_t",
    "converged",
)
STAGE_SERIES = ("price_usd_per_t", "zone_price_usd_per_t", "supply_t", "demand_t")


def draw_inputs(seed: int, draw: int, T: int, S: int, E: int) -> tuple[np.ndarray, np.ndarray]:
    """The standard normals ``(T, 1 + S)`` (demand, then each stage's output) and uniforms
    ``(T, E)`` (events) of one draw: a stream of its own (``default_rng([seed, draw])``), so a
    draw's path does not depend on how the draws are chunked."""
    rng = np.random.default_rng([seed, draw])
    return rng.standard_normal((T, 1 + S)), rng.random((T, E))


CENTRAL_U = float(np.nextafter(1.0, 0.0))
"""The central path's event uniform: an event fires where ``u < probability``, so with ``u``
the largest float below 1 only a probability of 1 fires (0.5 fired every probability above
one half: a 10-60% yearly ban became a ban in every year of the central path)."""


def central_inputs(T: int, S: int, E: int) -> tuple[np.ndarray, np.ndarray]:
    """The central path: no shocks; an event fires only where its probability is 1
    (:data:`CENTRAL_U`). Solve it with ``sd = (0, 0)``: with zero normals and a fitted ``sd``
    a year's multipliers are ``exp(-sd^2 / 2)``, not 1."""
    return np.zeros((T, 1 + S)), np.full((T, E), CENTRAL_U)


def market_price(sol: ChainSolution, s: int, uv: float) -> float:
    """Stage ``s``'s market price in USD/t: producer prices weighted by baseline sales,
    ``uv sum_i R_i pi_i / sum_i R_i`` (NaN without producers)."""
    st = sol.stages[s]
    R = st.R
    ok = R > 0
    return float((R[ok] * st.pi[ok]).sum() / R[ok].sum() * uv) if ok.any() else math.nan


def _zone_price(sol: ChainSolution, s: int, uv: float, members: np.ndarray) -> float:
    st = sol.stages[s]
    ok = members & (st.E > 0) & np.isfinite(st.P)
    return float((st.E[ok] * st.P[ok]).sum() / st.E[ok].sum() * uv) if ok.any() else math.nan


def _zone_use_value(sol: ChainSolution, s: int, members: np.ndarray) -> float:
    """Members' purchases of stage ``s`` (baseline-value units, USD of the base year): their
    other use plus their producers' input for the next stage, ``sum_j E_j D_j`` with
    ``D_j = H_j (1 - delta_j) P_j^(-eta) + delta_j S^next_j`` (:mod:`critmin.model.chain`).
    The zone's demand in days of cover, its releases and its shortfall are counted on it."""
    st = sol.stages[s]
    return float(np.nan_to_num(st.E[members] * st.D[members]).sum())


def zone_other_use_value(sol: ChainSolution, s: int, members: np.ndarray) -> float:
    """Members' *other use* of stage ``s`` (baseline-value units): ``sum_j H_j (1 - delta_j)
    E_j P_j^(-eta) = sum_j (E_j D_j - input bought_j)`` (:mod:`critmin.model.chain`), the part
    of demand that the demand shift ``H`` scales. An offtake's purchases (and releases) are
    carried as a shift ``f`` of it, so they are ``(f - 1)`` times this value: ``E_j
    D_other_j = E_j H_j P_j^(-eta)`` alone (the solver's ``D_other`` index, without ``1 -
    delta_j``) overstated them by ``1 / (1 - delta_j)`` at a stage bought by the next one (an
    ore floor's agency "bought" tonnes that never reached the market)."""
    st = sol.stages[s]
    own = np.nan_to_num(st.E[members] * st.D[members]) - st.input_bought[members]
    return float(np.maximum(own, 0.0).sum())


YEAR_TOL = 1e-10
"""Largest residual of a yearly equilibrium: a relative imbalance of 1e-10 in every market (the
chain solver's default is 1e-12). A chain's years where some producer's value added is nearly
gone stall at 1e-12 to 1e-11, at the rounding level of float64 there (their supply's elasticity
to their own price is about 1e4): a rare-earth chain path with a magnet floor of USD 46,000/t
left 8 of 20 levy draws out at 1e-12, none at this tolerance (docs/paths.md)."""


class YearSolver:
    """The yearly solves of a model's paths: stage templates (policy variant, disruptions,
    price-gap split) and their flat arrays are built once and reused with each year's shifts
    (:func:`critmin.model.chain.reshift`, bit-identical to a fresh setup). One per chunk of
    draws (:func:`critmin.paths.run._draws`): its paths share the templates, which a path of
    ten years otherwise set up again (a fifth of a lithium path's Python). Not shared
    between threads."""

    def __init__(self, model: PathModel) -> None:
        self.m = model
        self._baseline: ChainSolution | None = None
        self.cache: dict[
            tuple[str, tuple[int, ...], bool], tuple[list[ChainStage], ChainSetup]
        ] = {}

    def _template(
        self, variant: str, fired: tuple[int, ...], price_gap: bool
    ) -> tuple[list[ChainStage], ChainSetup]:
        key = (variant, fired, price_gap)
        if key not in self.cache:
            m = self.m
            out = []
            for k, st in enumerate(m.stages):
                mask = None
                if fired:
                    mask = np.logical_or.reduce([m.events[e].banned[k] for e in fired])

                def banned(pol: Policy, mask: np.ndarray | None = mask) -> Policy:
                    if mask is None or not mask.any():
                        return pol
                    base = pol.banned if pol.banned is not None else np.zeros_like(mask)
                    return replace(pol, banned=base | mask)

                kw: dict[str, Any] = {"policy": banned(m.policies[variant][k])}
                if price_gap and k == m.floor_stage:
                    kw["origin_share"] = m.zone_sales_share
                    kw["alt_policy"] = banned(m.policies["none"][k])
                out.append(replace(st, **kw))
            self.cache[key] = (out, chain_setup(out))
        return self.cache[key]

    def baseline(self) -> ChainSolution:
        """The model's stages as they are (no shifts, no event), solved once."""
        if self._baseline is None:
            self._baseline = solve_chain(self.m.stages, tol=YEAR_TOL)
        return self._baseline

    def solve(
        self,
        H: np.ndarray,
        A: np.ndarray,
        variant: str,
        fired: tuple[int, ...],
        price_gap: bool,
    ) -> ChainSolution:
        template, cs = self._template(variant, fired, price_gap)
        moved = [st.with_shifts(A[k], H[k]) for k, st in enumerate(template)]
        return solve_chain(moved, tol=YEAR_TOL, setup=reshift(cs, moved))


def simulate_path(
    model: PathModel,
    settings: PathsSettings,
    mechanism: str,
    years: list[int],
    z: np.ndarray,
    u: np.ndarray,
    sd: tuple[float, float],
    keep: list[ChainSolution] | None = None,
    stopped: Callable[[], bool] | None = None,
    solver: YearSolver | None = None,
) -> dict[str, np.ndarray]:
    """One path of ``mechanism`` (``"none"``: the scenario without the floor): per year the
    :data:`SCALARS` ``(T,)`` and the :data:`STAGE_SERIES` ``(T, S)``; ``keep`` (if given)
    receives each year's final solution. ``stopped`` (if given) is looked at before each
    year; once True the path raises :class:`critmin.parallel.Cancelled` (Ctrl-C).
    ``solver``: the :class:`YearSolver` of ``model`` to solve with (its templates shared with
    the caller's other paths); default: one for this path."""
    m, T, S = model, len(years), len(model.stages)
    n = len(model.countries)
    mem = model.members
    k = model.floor_stage
    uv = [i.unit_value for i in m.info]
    removing = {e for e, ev in enumerate(m.events) if ev.removes_trade}  # others never fire
    F = m.floor_usd_per_t
    g = m.growth.rate if settings.demand_growth else 0.0
    lg = math.log1p(g)
    start = settings.start_year if settings.start_year is not None else years[0]
    sd_H, sd_A = sd if settings.shocks else (0.0, 0.0)
    out = {key: np.full(T, np.nan) for key in SCALARS}
    series = {key: np.full((T, S), np.nan) for key in STAGE_SERIES}
    lnA = np.zeros((S, n))
    hist: list[np.ndarray] = []
    stock = spent = 0.0
    target_days = settings.stockpile_target_days
    y = solver if solver is not None else YearSolver(m)
    if y.m is not m:
        raise ValueError("simulate_path: the solver was made for another model")
    base_price = market_price(y.baseline(), k, uv[k]) if mechanism == "offtake" else 0.0
    eta = m.stages[k].market.eta
    R0 = m.stages[k].market.V.sum(axis=1)
    eps_bar = float((R0 * m.stages[k].market.eps).sum() / R0.sum()) if R0.sum() > 0 else 1.0
    for t, year in enumerate(years):
        if stopped is not None and stopped():
            raise Cancelled("paths: cancelled")
        if t > 0:
            for s in range(S):
                rule = m.info[s].rule
                lnA[s] += lg
                lag = t - rule.lead_time_years
                if lag >= 0:
                    lnA[s] += rule.adjustment_per_year * hist[lag][s]
        demand = (1.0 + g) ** t * math.exp(sd_H * z[t, 0] - 0.5 * sd_H * sd_H)
        H = np.full((S, n), demand)
        A = np.exp(lnA + (sd_A * z[t, 1:] - 0.5 * sd_A * sd_A)[:, None])
        active = mechanism != "none" and year >= start
        if mechanism == "producer_subsidy" and settings.cfd_term_years is not None:
            active = active and year < start + settings.cfd_term_years
        label = {"variable_levy": "levy", "producer_subsidy": "subsidy", "price_gap": "subsidy"}
        pols = label.get(mechanism, "none") if active else "none"
        gap = active and mechanism == "price_gap"
        fired = tuple(
            e
            for e, ev in enumerate(m.events)
            if (ev.year is None or ev.year == year) and u[t, e] < ev.probability and e in removing
        )
        sol = y.solve(H, A, pols, fired, gap)
        fiscal = 0.0
        paid_out = 0.0  # a capped CfD's payment or an offtake's premium: zone producers' income
        bought = released = 0.0
        f = 1.0
        if active and mechanism == "producer_subsidy":
            st = sol.stages[k]
            puv = m.info[k].producer_unit_values
            vol = np.where(mem & (st.R > 0), st.S * st.R / puv, 0.0)
            cap = settings.cfd_volume_cap_t
            if cap is not None and vol.sum() > cap:
                # inframarginal: the year's market is the one without the floor, and so is
                # its reference without the disruption (the shortfall's, below)
                pols = "none"
                sol = y.solve(H, A, pols, fired, False)
                st = sol.stages[k]
                vol = np.where(mem & (st.R > 0), st.S * st.R / puv, 0.0)
                covered = vol * (cap / vol.sum()) if vol.sum() > cap else vol
                fiscal = float((np.maximum(F - st.pi * puv, 0.0) * covered)[mem].sum())
                paid_out = fiscal
            # else: the floor is the stage's subsidy floor, paid as the year's subsidy cost
        Z = _zone_use_value(sol, k, mem)
        zone_t = Z / uv[k]
        ref_Z = Z
        if mechanism == "offtake" and active:
            p = market_price(sol, k, uv[k])
            # a spike: above the trigger, and never below the floor the agency defends (a
            # trigger under F, as the default 1.5 x base price under a floor 56% above it,
            # had it sell stock at prices it was also meant to lift to F)
            spike = p > max(settings.release_price_ratio * base_price, F)
            own = zone_other_use_value(sol, k, mem)  # what a shift of H moves
            if (fired or spike) and stock > 0 and own > 0:
                plan = min(stock, zone_t * settings.release_days / DAYS)
                f = max(1.0 - plan * uv[k] / own, MIN_DEMAND_FACTOR)
                H2 = H.copy()
                H2[k, mem] *= f
                sol = y.solve(H2, A, pols, fired, False)
                after = zone_other_use_value(sol, k, mem)
                released = min(stock, after * (1.0 / f - 1.0) / uv[k])
                stock -= released
                fiscal -= released * market_price(sol, k, uv[k])
            elif not fired and p < F and own > 0:
                room = max(target_days / DAYS * zone_t - stock, 0.0)
                world_t = float((sol.stages[k].E * sol.stages[k].D).sum()) / uv[k]
                left = (settings.offtake_budget_usd - spent) / F
                plan = min(world_t * (eta + eps_bar) * math.log(F / p), room, left)
                if plan > 0:
                    f = 1.0 + plan * uv[k] / own
                    H2 = H.copy()
                    H2[k, mem] *= f
                    sol = y.solve(H2, A, pols, fired, False)
                    after = zone_other_use_value(sol, k, mem)
                    bought = min(after * (1.0 - 1.0 / f) / uv[k], plan)
                    stock += bought
                    spent += bought * F
                    fiscal += bought * F
                    # the agency's contracts are with zone producers: what it pays above the
                    # market price is their income beside the market (as a capped CfD's)
                    paid_out = max(F - market_price(sol, k, uv[k]), 0.0) * bought
            Z = _zone_use_value(sol, k, mem)
            zone_t = Z / uv[k] - bought + released
        shortfall = 0.0
        if fired:
            ref = y.solve(H, A, pols, (), gap)
            ref_Z = _zone_use_value(ref, k, mem)
            shortfall = max(ref_Z / uv[k] - zone_t, 0.0)
        st_list = sol.stages
        if keep is not None:
            keep.append(sol)
        # zone buyers' own demand H: the market carries f x H (the agency's purchases are not
        # theirs; released tonnes are, bought at the market price), and dCS is linear in the shift
        cs_scale = np.ones(n)
        if bought > 0 or released > 0:
            cs_scale[mem] = 1.0 / f
        out["price_usd_per_t"][t] = market_price(sol, k, uv[k])
        out["zone_price_usd_per_t"][t] = _zone_price(sol, k, uv[k], mem)
        # the zone's subsidies this year at every stage: the floor's under producer_subsidy
        # (uncapped) and price_gap, and the scenario's own producer subsidies in every path
        subsidies = float(sum(st.subsidy_cost[mem].sum() for st in st_list))
        out["fiscal_cost_usd"][t] = fiscal + subsidies
        out["levy_revenue_usd"][t] = float(sum(s.tariff_revenue[mem].sum() for s in st_list))
        out["zone_consumer_surplus_usd"][t] = float(
            sum((st.dCS * (cs_scale if j == k else 1.0))[mem].sum() for j, st in enumerate(st_list))
        )
        out["zone_producer_surplus_usd"][t] = (
            float(sum(s.dPS[mem].sum() for s in st_list)) + paid_out
        )
        out["outside_producer_surplus_usd"][t] = float(sum(s.dPS[~mem].sum() for s in st_list))
        out["outside_consumer_surplus_usd"][t] = float(sum(s.dCS[~mem].sum() for s in st_list))
        out["stockpile_t"][t] = stock
        out["purchases_t"][t] = bought
        out["releases_t"][t] = released
        out["shortfall_t"][t] = shortfall
        out["zone_demand_t"][t] = zone_t
        out["converged"][t] = float(sol.converged)
        for s in range(S):
            st = st_list[s]
            series["price_usd_per_t"][t, s] = market_price(sol, s, uv[s])
            series["zone_price_usd_per_t"][t, s] = _zone_price(sol, s, uv[s], mem)
            series["supply_t"][t, s] = float((st.S * st.R).sum()) / uv[s]
            series["demand_t"][t, s] = float((st.E * st.D)[np.isfinite(st.D)].sum()) / uv[s]
        lnpt = np.zeros((S, n))
        for s in range(S):
            st = st_list[s]
            ok = (st.R > 0) & (st.pi_s > 0)
            lnpt[s, ok] = np.log(st.pi_s[ok])
        hist.append(lnpt)
    return {**out, **{f"stage_{key}": v for key, v in series.items()}}
