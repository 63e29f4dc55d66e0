"""Export controls as they happen: destination quotas, licensing and leaky bans -> model arrays.

Called by :func:`critmin.scenario.resolution.build_policy` for the instruments that need the
model's quota groups (:class:`critmin.model.quota_groups.QuotaGroup`, docs/controls.md):

* ``export_quota`` with ``importers`` other than ``"all"``: a cap of ``share_of_baseline`` x
  the exporter's baseline exports to those destinations, with its own export-tax equivalent;
* ``export_licensing``: in an annual model a licence regime is a quota at ``grant_share`` x
  baseline exports to the destinations (a share by destination gives one group per share;
  a share of 0 is a ban, 1 no constraint);
* ``export_ban`` with ``leak_via``: the banned pair ``i -> j`` stays open at an extra ad valorem
  cost ``leak_cost`` (the detour through a third country ``k``), capped at ``leak_share`` x the
  vias' baseline exports to ``j`` (``sum_k V_kj``): what the intermediaries' trade can hide.
  The routed flow is attributed to the vias in proportion to ``V_kj``.

Where several of these cover the same pair, the lowest cap per pair applies; pairs with the
same exporter and cap form one group (a joint cap over their destinations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from critmin.baseline import ProductBaseline
from critmin.errors import ScenarioError
from critmin.model.quota_groups import QuotaGroup
from critmin.scenario.spec import (
    ExportBanPolicy,
    ExportLicensingPolicy,
    ExportQuotaPolicy,
    Scenario,
    Selector,
)

__all__ = ["ControlArrays", "LeakRoute", "is_control", "market_shifts", "resolve_controls"]


@dataclass(frozen=True)
class LeakRoute:
    """A leaky banned pair: origin and destination indices and the vias' shares."""

    origin: int
    destination: int
    vias: tuple[tuple[int, float], ...]


@dataclass
class ControlArrays:
    """What the controls add to a market's policy."""

    groups: list[QuotaGroup] = field(default_factory=list)
    trade_cost: np.ndarray | None = None
    banned: np.ndarray | None = None
    via_tariff: dict[tuple[int, int], float] = field(default_factory=dict)
    routes: list[LeakRoute] = field(default_factory=list)


def is_control(pol: object) -> bool:
    """Whether ``build_policy`` hands this policy to :func:`resolve_controls`."""
    if isinstance(pol, ExportLicensingPolicy):
        return True
    if isinstance(pol, ExportQuotaPolicy):
        return pol.importers != "all"
    if isinstance(pol, ExportBanPolicy):
        return pol.leak_via is not None
    return False


def _grant_shares(
    pol: ExportLicensingPolicy,
    base: ProductBaseline,
    cols: np.ndarray,
    select: Callable[[Selector, str], np.ndarray],
    fname: str,
) -> np.ndarray:
    """Grant share per destination (nan off the policy's destinations)."""
    share = np.full(base.n, np.nan)
    if isinstance(pol.grant_share, dict):
        default = pol.grant_share.get("default")
        if default is not None:
            share[cols] = default
        for code, value in pol.grant_share.items():
            if code == "default":
                continue
            mask = select([code], f"{fname}.grant_share") & cols
            share[mask] = value
    else:
        share[cols] = pol.grant_share
    return share


def resolve_controls(
    policies: list[tuple[int, object]],
    base: ProductBaseline,
    select: Callable[[Selector, str], np.ndarray],
    notes: list[str],
    t1: np.ndarray | None = None,
) -> ControlArrays:
    """Quota groups, trade costs, extra bans and leak routes of one market.

    ``policies``: the scenario's control policies with their indices; ``select`` the
    scenario's country selector for this market; ``t1`` the scenario tariffs so far: a leaked
    pair pays the vias' tariff into the destination (their average, weighted as the routed
    flow is split), not the origin's (``via_tariff``)."""
    n = base.n
    V = base.V
    offdiag = ~np.eye(n, dtype=bool)
    pair_cap = np.full((n, n), np.inf)
    banned = np.zeros((n, n), dtype=bool)
    cost = np.zeros((n, n))
    routes: list[LeakRoute] = []
    via_tariff: dict[tuple[int, int], float] = {}
    tariffs = base.t0 if t1 is None else t1
    for k, pol in policies:
        fname = f"policy[{k}]"
        rows = select(pol.exporters, f"{fname}.exporters")  # type: ignore[attr-defined]
        cols = select(pol.importers, f"{fname}.importers")  # type: ignore[attr-defined]
        pairs = np.outer(rows, cols) & offdiag
        if not (pairs & (V > 0)).any():
            notes.append(
                f"{fname} ({pol.type}): no baseline trade from the exporters to the "  # type: ignore[attr-defined]
                "importers selected in this market: it does nothing here"
            )
            continue
        if isinstance(pol, ExportQuotaPolicy):
            pair_cap = np.where(pairs, np.minimum(pair_cap, pol.share_of_baseline), pair_cap)
        elif isinstance(pol, ExportLicensingPolicy):
            share = _grant_shares(pol, base, cols, select, fname)
            cap = np.where(pairs, share[None, :], np.inf)
            pair_cap = np.minimum(pair_cap, np.where(np.isnan(cap), np.inf, cap))
        elif isinstance(pol, ExportBanPolicy):
            assert pol.leak_via is not None
            via = select(pol.leak_via, f"{fname}.leak_via")
            through_banned = via & cols & ~rows
            if through_banned.any():
                codes = ", ".join(base.countries[i] for i in np.flatnonzero(through_banned))
                raise ScenarioError(
                    f"{fname}.leak_via",
                    f"{codes} {'is' if through_banned.sum() == 1 else 'are'} a banned destination "
                    "of this ban: leakage must go through a third country (neither the exporter "
                    "nor a banned destination)",
                )
            if pol.leak_share <= 0:
                raise ScenarioError(
                    f"{fname}.leak_share",
                    "leak_via needs leak_share > 0 (the share of the vias' exports to the "
                    "destination that routed goods may take)",
                )
            for i in np.flatnonzero(rows):
                for j in np.flatnonzero(cols):
                    if i == j or V[i, j] <= 0:
                        continue
                    vias = via.copy()
                    vias[[i, j]] = False
                    through = np.where(vias, V[:, j], 0.0)
                    total = float(through.sum())
                    if total <= 0:
                        banned[i, j] = True
                        notes.append(
                            f"{fname}.leak_via: no via country exports this product to "
                            f"{base.countries[j]}; the ban on {base.countries[i]} -> "
                            f"{base.countries[j]} cannot leak"
                        )
                        continue
                    pair_cap[i, j] = min(pair_cap[i, j], pol.leak_share * total / V[i, j])
                    cost[i, j] = max(cost[i, j], pol.leak_cost)
                    shares = tuple(
                        (int(v), float(through[v] / total)) for v in np.flatnonzero(through > 0)
                    )
                    routes.append(LeakRoute(int(i), int(j), shares))
                    via_tariff[(int(i), int(j))] = float(sum(w * tariffs[v, j] for v, w in shares))
    banned |= (pair_cap == 0) & (V > 0) & offdiag
    groups: list[QuotaGroup] = []
    capped = np.isfinite(pair_cap) & (pair_cap > 0) & offdiag
    for i in np.flatnonzero(capped.any(axis=1)):
        for value in np.unique(pair_cap[i][capped[i]]):
            dest = capped[i] & (pair_cap[i] == value)
            if value >= 1.0 and not cost[i][dest].any():
                # a cap at or above baseline exports may still bind when prices abroad rise
                notes.append(
                    f"{base.countries[i]}: an export cap or licence grant share of {value:g} "
                    "allows at least the baseline exports; it is applied (it binds only if "
                    "exports would rise above it)"
                )
            groups.append(
                QuotaGroup(int(i), dest, float(value), f"{base.countries[i]} cap {value:g}")
            )
            continue
            groups.append(
                QuotaGroup(int(i), dest, float(value), f"{base.countries[i]} cap {value:g}")
            )
    leak_pairs = {(r.origin, r.destination): r.vias for r in routes}
    # a leaky pair is its own group (its cap is the vias' trade, not a share of its own)
    split: list[QuotaGroup] = []
    for g in groups:
        dest_idx = [int(d) for d in np.flatnonzero(g.destinations)]
        own = [d for d in dest_idx if (g.exporter, d) in leak_pairs]
        rest = g.destinations.copy()
        for d in own:
            rest[d] = False
            one = np.zeros(n, dtype=bool)
            one[d] = True
            split.append(
                QuotaGroup(
                    g.exporter,
                    one,
                    g.cap,
                    f"leak {base.countries[g.exporter]} -> {base.countries[d]}",
                    via=leak_pairs[(g.exporter, d)],
                )
            )
        if rest.any():
            split.append(QuotaGroup(g.exporter, rest, g.cap, g.label))
    return ControlArrays(
        groups=split,
        trade_cost=cost if cost.any() else None,
        banned=banned,
        routes=routes,
        via_tariff=via_tariff,
    )


def market_shifts(
    scenario: Scenario,
    base: ProductBaseline,
    select: Callable[[Selector, str], np.ndarray],
    notes: list[str],
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Demand and supply shifters ``a_j``, ``k_i`` of the scenario's ``[[shock]]`` tables for
    this market (``None`` where there is no shock); shocks on the same country multiply."""
    demand = np.ones(base.n)
    supply = np.ones(base.n)
    for k, shock in enumerate(scenario.shock):
        if shock.products is not None and base.product_id not in shock.products:
            continue
        mask = select(shock.countries, f"shock[{k}].countries")
        if shock.type == "demand":
            hit = mask & (base.V.sum(axis=0) > 0)
            demand[hit] *= 1.0 + shock.change
        else:
            hit = mask & (base.V.sum(axis=1) > 0)
            supply[hit] *= 1.0 + shock.change
        if not hit.any():
            notes.append(
                f"shock[{k}] ({shock.type}): none of the countries selected "
                f"{'buys' if shock.type == 'demand' else 'sells'} this product: it does nothing"
            )
    return (
        demand if (demand != 1.0).any() else None,
        supply if (supply != 1.0).any() else None,
    )
