"""Run a scenario: resolve it into markets, solve each, account for welfare.

``simulate(path_or_dict)`` returns a :class:`SimulationResult`; ``.to_dict()`` is the results
contract of DESIGN.md (keys are stable; extensions are additive).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from critmin.model.solver import Solution, solve, warm_up
from critmin.numbers import finite_or_none as _num
from critmin.scenario.chains import resolve_single_markets
from critmin.scenario.no_effect import no_instrument_notes
from critmin.scenario.resolution import ResolvedProduct, zone_codes
from critmin.scenario.spec import Scenario, load_scenario
from critmin.util import numerical_warnings
from critmin.world import World


def _pct(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (x - 1.0) * 100.0


def zone_shares(
    V: np.ndarray, x: np.ndarray, members: np.ndarray, watch: np.ndarray
) -> dict[str, float | None]:
    """Share of member demand (baseline-price quantities) met by members and by watch countries."""
    q = V * x
    demand = q[:, members].sum()
    if demand <= 0:
        return {"self_sufficiency": None, "watch_share": None}
    return {  # None when the sums overflow (a solution beyond floating point)
        "self_sufficiency": _num(q[np.ix_(members, members)].sum() / demand),
        "watch_share": _num(q[np.ix_(watch, members)].sum() / demand) if watch.any() else 0.0,
    }


def _finite_list(x: np.ndarray, keep: np.ndarray | None = None) -> list[float | None]:
    """``x`` as Python floats, ``None`` where not finite (or where ``keep`` is False): the
    vectorised :func:`critmin.numbers.finite_or_none`."""
    ok = np.isfinite(x) if keep is None else np.isfinite(x) & keep
    values: list[float | None] = x.tolist()
    if not ok.all():
        for k in np.flatnonzero(~ok).tolist():
            values[k] = None
    return values


def country_records(
    rp: ResolvedProduct, sol: Solution, E: np.ndarray, R: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Per country with baseline sales or purchases: price, quantity and welfare changes
    (percentages are ``(level - 1) x 100``; a price of a country that neither sells nor buys
    is ``None``). Built column by column, then zipped into records."""
    sells, buys = R > 0, E > 0
    rows = np.flatnonzero(sells | buys)
    columns = [
        _finite_list(_pct(sol.pi)[rows], sells[rows]),
        _finite_list(_pct(sol.pi_s)[rows], sells[rows]),
        _finite_list(_pct(sol.P)[rows], buys[rows]),
        _finite_list(_pct(sol.S)[rows], sells[rows]),
        _finite_list(_pct(sol.D)[rows], buys[rows]),
        _finite_list(sol.dCS[rows]),
        _finite_list(sol.dPS[rows]),
        _finite_list(sol.tariff_revenue[rows]),
        _finite_list(sol.quota_rent[rows]),
        _finite_list(sol.subsidy_cost[rows]),
        _finite_list(sol.welfare[rows]),
        R[rows].astype(np.float64).tolist(),
        E[rows].astype(np.float64).tolist(),
        rp.members[rows].tolist(),
        rp.watch[rows].tolist(),
    ]
    codes = [rp.baseline.countries[k] for k in rows.tolist()]
    return {
        c: {
            "producer_price_change_pct": a,
            "producer_received_price_change_pct": b,
            "consumer_price_change_pct": d,
            "supply_change_pct": e,
            "demand_change_pct": f,
            "consumer_surplus_change_usd": g,
            "producer_surplus_change_usd": h,
            "tariff_revenue_change_usd": i,
            "quota_rent_usd": j,
            "subsidy_cost_usd": k,
            "welfare_change_usd": m,
            "baseline_sales_usd": n,
            "baseline_purchases_usd": o,
            "member": r,
            "watch": w,
        }
        for c, (a, b, d, e, f, g, h, i, j, k, m, n, o, r, w) in zip(
            codes, zip(*columns, strict=True), strict=True
        )
    }


def flow_records(
    rp: ResolvedProduct, sol: Solution, price: np.ndarray | None = None
) -> list[dict[str, Any]]:
    """Every pair with baseline trade (seller after seller, then buyer): baseline and new
    value (``pi_i V_ij x_ij``, USD), the quantity change ``(x_ij - 1) x 100``, and the value
    and price change at the export price (:func:`export_prices`, customs-comparable; pass it
    as ``price`` when already computed)."""
    base = rp.baseline
    V = base.V
    banned = rp.policy.banned  # None: nothing banned (resolving would build n x n defaults)
    ii, jj = np.nonzero(V)
    x = sol.x[ii, jj]
    v = V[ii, jj]
    price = export_prices(sol) if price is None else price
    codes = np.asarray(base.countries, dtype=object)
    columns = [
        codes[ii].tolist(),
        codes[jj].tolist(),
        v.tolist(),
        _finite_list(sol.pi[ii] * v * x),
        _finite_list((x - 1) * 100),
        banned[ii, jj].tolist() if banned is not None else [False] * len(ii),
        # customs-comparable: at the export price incl. the quotas' export-tax equivalents
        _finite_list(price[ii, jj] * v * x),
        _finite_list((price[ii, jj] - 1) * 100),
    ]
    return [  # a dict display per record: about 2x dict(zip(keys, values))
        {
            "exporter": a,
            "importer": b,
            "baseline_value_usd": c,
            "value_usd": d,
            "quantity_change_pct": e,
            "banned": f,
            "export_value_usd": g,
            "export_price_change_pct": h,
        }
        for a, b, c, d, e, f, g, h in zip(*columns, strict=True)
    ]


def watch_to_zone(
    rp: ResolvedProduct,
    sol: Solution,
    price: np.ndarray | None = None,
    exported: np.ndarray | None = None,
) -> dict[str, float | None]:
    """Share of the watch countries' exports (at export prices) that go to zone members
    (``price``: :func:`export_prices`, ``exported``: :func:`exported_quantities`, when
    already computed)."""
    V = rp.baseline.V
    off = ~np.eye(len(V), dtype=bool)
    rows = rp.watch
    q = exported_quantities(sol) if exported is None else exported
    after = (export_prices(sol) if price is None else price) * q
    out: dict[str, float | None] = {}
    for key, val in (("before", np.where(off, V, 0.0)), ("after", after)):
        total = float(val[rows].sum())
        out[f"watch_exports_to_zone_share_{key}"] = (
            _num(float(val[np.ix_(rows, rp.members)].sum()) / total) if total > 0 else None
        )
    return out


def export_prices(sol: Solution) -> np.ndarray:
    """``(n, n)`` export (border) prices relative to the baseline: ``pi_i (1 + e_i)(1 + e_g)``
    off the diagonal, with the whole-exporter and destination quotas' export-tax equivalents
    (what customs records as the export unit value), ``pi_i`` at home."""
    n = len(sol.pi)
    groups = getattr(sol, "groups", None)  # chain stage solutions have no destination quotas
    wedge = groups.pair_wedge if groups is not None else np.zeros((n, n))
    price = (sol.pi * (1.0 + sol.e))[:, None] * (1.0 + wedge)
    np.fill_diagonal(price, sol.pi)
    return np.asarray(price)


def exported_quantities(sol: Solution) -> np.ndarray:
    """``(n, n)`` exports in baseline-value units: ``q`` off the diagonal (NaN as 0), 0 at home."""
    q = np.nan_to_num(sol.q)
    np.fill_diagonal(q, 0.0)
    return q


def customs_records(
    rp: ResolvedProduct,
    sol: Solution,
    price: np.ndarray | None = None,
    exported: np.ndarray | None = None,
) -> dict[str, dict[str, Any]]:
    """Per exporter: exports at export prices before and after (customs-comparable: the
    quota's export-tax equivalent is in the price) and the export unit value change (%)
    (``price`` and ``exported`` as in :func:`watch_to_zone`)."""
    V = rp.baseline.V
    off = ~np.eye(len(V), dtype=bool)
    q = exported_quantities(sol) if exported is None else exported
    before = np.where(off, V, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        after = ((export_prices(sol) if price is None else price) * q).sum(axis=1)
        sold = q.sum(axis=1)
        unit = np.where(sold > 0, after / sold, np.nan)
    rows = np.flatnonzero(before > 0)
    codes = [rp.baseline.countries[i] for i in rows.tolist()]
    return {
        c: {
            "export_value_usd_before": b,
            "export_value_usd_after": a,
            "export_price_change_pct": u,
        }
        for c, b, a, u in zip(
            codes,
            before[rows].tolist(),
            _finite_list(after[rows]),
            _finite_list((unit[rows] - 1.0) * 100.0),
            strict=True,
        )
    }


def leakage_records(rp: ResolvedProduct, sol: Solution) -> list[dict[str, Any]]:
    """Routed flows of leaky bans and quotas (docs/controls.md): origin, via, destination and
    value (USD at export prices including the detour cost, split over the vias in proportion
    to their baseline exports to the destination); the restriction (``ban``, or the quota
    group's kind: ``quota``, ``licence``, ``quota and licence``); the route's use of its cap; and
    ``leaked_share_of_cut``, the routed quantity over the cut the restriction makes on the
    pair (a ban's: the pair's baseline trade; a quota's: ``(1 - share)`` x it)."""
    info = getattr(sol, "groups", None)
    if info is None:
        return []
    codes = rp.baseline.countries
    V = rp.baseline.V
    price = export_prices(sol)
    routes = []  # restriction, origin, destination, vias, value, use of the cap, routed qty
    for k, g in enumerate(info.groups):
        if g.via:
            i, j = g.exporter, int(np.flatnonzero(g.destinations)[0])
            value = float(price[i, j] * (1.0 + info.trade_cost[i, j]) * sol.q[i, j])
            use = float(info.exports[k] / info.caps[k])
            routes.append(("ban", i, j, g.via, value, use, float(sol.q[i, j]), V[i, j]))
    for lf in info.leaks:
        i, j = lf.exporter, lf.route.destination
        cut = (1.0 - info.groups[lf.group].cap) * V[i, j]
        use = lf.quantity / lf.cap
        kind = info.groups[lf.group].kind  # quota, licence, or quota and licence
        routes.append((kind, i, j, lf.route.vias, lf.value_usd, use, lf.quantity, cut))
    out = []
    for kind, i, j, vias, value, use, routed, cut in routes:
        leaked = _num(routed / cut) if cut > 0 else None
        for v, share in vias:
            out.append(
                {
                    "origin": codes[i],
                    "via": codes[v],
                    "destination": codes[j],
                    "value_usd": _num(value * share),
                    "restriction": kind,
                    "quantity_share_of_cap": _num(use),
                    "leaked_share_of_cut": leaked,
                    "leaked_share_of_banned_trade": leaked if kind == "ban" else None,
                    "origin_destination_baseline_usd": float(V[i, j] * share),
                }
            )
    return out


def _group_leakage(sol: Solution, k: int) -> tuple[float, float | None]:
    """USD routed around group ``k`` and that routed quantity over the group's cut
    (``X0 - cap``; a leaky ban's cut is its pair's baseline trade)."""
    info = sol.groups
    g = info.groups[k]
    if g.via:
        i, j = g.exporter, int(np.flatnonzero(g.destinations)[0])
        value = float(export_prices(sol)[i, j] * (1.0 + info.trade_cost[i, j]) * sol.q[i, j])
        return value, float(info.exports[k] / (info.caps[k] / g.cap))
    mine = [lf for lf in info.leaks if lf.group == k]
    cut = float(info.caps[k] / g.cap * (1.0 - g.cap))
    routed = sum(lf.quantity for lf in mine)
    return float(sum(lf.value_usd for lf in mine)), (routed / cut if cut > 0 else None)


def leak_notes(rp: ResolvedProduct, sol: Solution) -> list[str]:
    """Warnings for leaky quotas that do not bind: nothing of them leaks (or what goes through
    the vias is tariff evasion, where their tariff and the detour cost less than the direct
    tariff)."""
    info = getattr(sol, "groups", None)
    if info is None or not sol.converged:
        return []
    out = []
    for k, g in enumerate(info.groups):
        if not g.leaks or info.exports[k] >= info.caps[k] * (1 - 1e-8):
            continue
        value, _ = _group_leakage(sol, k)
        head = (
            f"{g.label}: the quota with leak_via does not bind (direct exports "
            f"USD {info.exports[k]:,.0f} of a cap of USD {info.caps[k]:,.0f})"
        )
        out.append(
            f"{head}: nothing leaks through the vias"
            if value <= 0
            else f"{head}, yet USD {value:,.0f} goes through the vias: their tariff plus the "
            "detour cost is below the direct tariff, so this is tariff evasion, not leakage of "
            "the quota"
        )
    return out


def control_records(rp: ResolvedProduct, sol: Solution) -> list[dict[str, Any]]:
    """Destination quotas and licences: exporter, destinations, cap, exports and the
    export-tax equivalent of each (as a percentage), and what leaked around it
    (:func:`leakage_records`)."""
    if getattr(sol, "groups", None) is None:
        return []
    codes = rp.baseline.countries
    g_info = sol.groups
    out = []
    for k, g in enumerate(g_info.groups):
        leaked_usd, leaked_share = _group_leakage(sol, k)
        out.append(
            {
                "label": g.label,
                "kind": g.kind,
                "exporter": codes[g.exporter],
                "destinations": [codes[j] for j in np.flatnonzero(g.destinations)],
                "cap_usd": _num(float(g_info.caps[k])),
                "exports_usd": _num(float(g_info.exports[k])),
                "export_tax_equivalent_pct": _num(float(g_info.e[k] * 100.0)),
                "leaked_usd": _num(leaked_usd),
                "leaked_share_of_cut": _num(leaked_share),
            }
        )
    return out


EXTREME_PRICE_RATIO = 11.0
"""A consumer price more than this many times its baseline (a rise above 1,000%) is flagged:
the constant-elasticity curves are calibrated at the baseline and say little that far from
it (a supply shock of -99.99999% moved prices by 10^11 %)."""


FAR_FROM_BASELINE = "far from the baseline the constant-elasticity model is calibrated at"
"""The reason every ``extreme:`` warning gives (simulate's and the paths' own)."""


def extreme_notes(rp: ResolvedProduct, sol: Solution, E: np.ndarray) -> list[str]:
    """A warning when the equilibrium is far from the baseline the curves are calibrated at:
    a buyer's consumer price above :data:`EXTREME_PRICE_RATIO` times its baseline or below its
    inverse (a fall of more than 90.9%), or a producer's output more than that many times its
    baseline (a producer subsidy far above the market does that). Buyers cut off have their
    own warning. None for a solve that did not converge (:func:`far_from_baseline`)."""
    if not sol.converged:
        return []
    base = rp.baseline
    return far_from_baseline(base.countries, sol.P, sol.S, E > 0, base.V.sum(axis=1) > 0)


def far_from_baseline(
    countries: Sequence[str],
    P: np.ndarray,
    S: np.ndarray,
    buys: np.ndarray,
    sells: np.ndarray,
    where: str = "",
) -> list[str]:
    """The ``extreme:`` warnings of :func:`extreme_notes` for a converged equilibrium of one
    market: consumer prices ``P`` and outputs ``S`` relative to the baseline, ``buys`` and
    ``sells`` the countries with baseline purchases and sales. ``where`` goes after
    ``extreme:`` to say which equilibrium it is, where the reader could take it for another
    (``critmin paths``: the scenario's own policies, not the paths' floor)."""
    far = f": {FAR_FROM_BASELINE}; read it as "
    tail = far + "a sign of collapse, not as a forecast"
    out = []
    buys = buys & np.isfinite(P)
    price = np.where(buys, P, 0.0)
    k = int(np.argmax(price))
    if price[k] > EXTREME_PRICE_RATIO:
        out.append(
            f"extreme: {where}the consumer price of {countries[k]} rises "
            f"{_pct(price[k]):,.0f}% (the largest){tail}"
        )
    low = np.where(buys, P, np.inf)
    k = int(np.argmin(low))
    if low[k] < 1.0 / EXTREME_PRICE_RATIO:
        out.append(
            f"extreme: {where}the consumer price of {countries[k]} falls "
            f"{-_pct(low[k]):.1f}% (the largest fall){tail}"
        )
    output = np.where(np.isfinite(S) & sells, S, 0.0)
    k = int(np.argmax(output)) if len(output) else 0
    if len(output) and output[k] > EXTREME_PRICE_RATIO:
        out.append(
            f"extreme: {where}the output of {countries[k]} grows {output[k]:,.0f}-fold "
            f"(the largest){far}a sign of a policy far beyond the market, not as a forecast"
        )
    return out


def product_result(rp: ResolvedProduct, sol: Solution, seconds: float) -> dict[str, Any]:
    base = rp.baseline
    V = base.V
    E = (V * (1 + base.t0)).sum(axis=0)
    R = V.sum(axis=1)
    countries = country_records(rp, sol, E, R)
    price, exported = export_prices(sol), exported_quantities(sol)
    for code, extra in customs_records(rp, sol, price, exported).items():
        countries[code].update(extra)
    flows = flow_records(rp, sol, price)
    before = zone_shares(V, np.ones_like(V), rp.members, rp.watch)
    after = zone_shares(V, np.nan_to_num(sol.x), rp.members, rp.watch)
    m, o = rp.members, ~rp.members

    def avg_price(mask: np.ndarray) -> float | None:
        w = E * mask
        ok = np.isfinite(sol.P)
        if w.sum() <= 0 or not ok[w > 0].all():  # a buyer cut off: the average is undefined
            return None
        return _num(float((w * _pct(np.where(ok, sol.P, 1.0))).sum() / w.sum()))

    return {
        "converged": bool(sol.converged),
        "iterations": int(sol.iterations),
        "max_residual": _num(sol.max_residual),  # None when infinite (JSON has no inf)
        "message": country_names(sol.message, base.countries),
        "solve_seconds": seconds,
        "name": base.name,
        "hs6": base.hs6,
        "mineral": base.mineral,
        "stage": base.stage,
        "parameters": {
            "sigma": rp.elasticities.sigma,
            "demand_elasticity": rp.elasticities.eta,
            "supply_elasticity_median": float(np.median(rp.elasticities.eps)),
        },
        "countries": countries,
        "flows": flows,
        "zone": {
            "self_sufficiency_baseline": before["self_sufficiency"],
            "self_sufficiency": after["self_sufficiency"],
            "watch_share_baseline": before["watch_share"],
            "watch_share": after["watch_share"],
            **watch_to_zone(rp, sol, price, exported),
        },
        "leakage": leakage_records(rp, sol),
        "export_controls": control_records(rp, sol),
        "summary": {
            "zone_consumer_price_change_pct": avg_price(m),
            "outside_consumer_price_change_pct": avg_price(o),
            "zone_welfare_change_usd": _num(float(np.nansum(sol.welfare[m]))),
            "outside_welfare_change_usd": _num(float(np.nansum(sol.welfare[o]))),
            "world_welfare_change_usd": _num(float(np.nansum(sol.welfare))),
            "tariff_revenue_change_usd": _num(float(np.nansum(sol.tariff_revenue))),
            "subsidy_cost_usd": _num(float(np.nansum(sol.subsidy_cost))),
            "quota_rent_usd": _num(float(np.nansum(sol.quota_rent))),
            "baseline_market_usd": float(V.sum()),
        },
        "warnings": base.warnings,
        "notes": [*rp.notes, *leak_notes(rp, sol), *extreme_notes(rp, sol, E)],
        "estimated_domestic_sales": base.estimated_domestic,
        "sources": base.sources,
    }


def _copied(value: Any) -> Any:
    """A copy of a tree of dicts and lists (the results contract); the leaves (numbers, text,
    ``None``) are immutable and shared. About four times as fast as ``copy.deepcopy``."""
    if type(value) is dict:
        return {k: _copied(v) for k, v in value.items()}
    if type(value) is list:
        return [_copied(v) for v in value]
    return value


def country_names(message: str, countries: list[str]) -> str:
    """The solver's message with its country indices (``#52``: the model knows no names)
    replaced by the market's ISO3 codes."""

    if "#" not in message:
        return message

    def name(match: re.Match[str]) -> str:
        k = int(match.group(1))
        return countries[k] if 0 <= k < len(countries) else match.group(0)

    return re.sub(r"#(\d+)", name, message)


@dataclass(repr=False)
class SimulationResult:
    """What :func:`simulate` returns: the results contract of one scenario (``to_dict()``, the
    ``--json`` output) with its presentation helpers (``headline()``, ``frame()``, ``figure()``,
    ``to_excel()``; in a notebook the written answer and the key figures).

    Attributes:
        scenario: the scenario as validated.
        products: per product id its results (prices, quantities and welfare by country, the
            zone's figures, notes); USD and percent as the keys' suffixes say.
        members: ISO3 codes of the zone's members.
        watch: ISO3 codes of the watch countries.
        chains: per linked chain its stages' results (empty without chains).
    """

    scenario: Scenario
    products: dict[str, dict[str, Any]]
    members: list[str]
    watch: list[str]
    chains: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        """Every product and chain converged."""
        return all(p["converged"] for p in [*self.products.values(), *self.chains.values()])

    def to_dict(self, *, copy: bool = True) -> dict[str, Any]:
        """The results contract: ``scenario``, ``year``, ``members``,
        ``watch``, ``converged``, ``products`` (and ``chains``): the ``--json`` output of
        ``critmin simulate``, in plain Python types.

        A copy by default, so that editing it leaves this result (its frames, figures and
        headline) as it was; ``copy=False`` hands out the result's own dicts, for a caller that
        only reads them (the command line: a copy costs about 1.5 ms per product)."""
        data = {
            "scenario": self.scenario.name,
            "year": self.scenario.year,
            "members": self.members,
            "watch": self.watch,
            "converged": self.converged,
            "products": self.products,
            **({"chains": self.chains} if self.chains else {}),
        }
        return _copied(data) if copy else data

    def __repr__(self) -> str:
        """One line: the scenario, its year, the products and chains and whether they
        converged (the whole contract is ``to_dict()``; it printed as 250 kB of numbers)."""
        chains = f", chains={list(self.chains)}" if self.chains else ""
        return (
            f"SimulationResult(scenario={self.scenario.name!r}, year={self.scenario.year}, "
            f"products={list(self.products)}{chains}, members={len(self.members)}, "
            f"converged={self.converged})"
        )

    # ------------------------------------------------------------------ presentation helpers
    # (delegates to critmin.narrative, frames, figures and export: see docs/notebooks.md)

    def headline(self) -> Any:
        """The written answer and key figures (:func:`critmin.narrative.headline`)."""
        from critmin.narrative import headline

        return headline(self.to_dict(copy=False))

    def frame(self, name: str = "countries") -> Any:
        """A tidy DataFrame: ``products``, ``countries``, ``flows``, ``welfare``,
        ``key_figures``; with linked chains ``chain_stages``, ``chain_flows``,
        ``chain_welfare``; with export controls ``export_controls``, ``routed_flows``
        (:func:`critmin.frames.table`)."""
        from critmin.frames import table

        return table(self.to_dict(copy=False), name)

    def frames(self) -> dict[str, Any]:
        """Every tidy DataFrame by name (:func:`critmin.frames.tables`)."""
        from critmin.frames import tables

        return tables(self.to_dict(copy=False))

    def to_excel(self, path: str | Path) -> Path:
        """Write the Excel workbook (:func:`critmin.export.write_xlsx`) to a ``.xlsx`` path
        (checked first: a folder, another suffix or a place that cannot be written is one
        message, before the workbook is made)."""
        from critmin.export import write_xlsx
        from critmin.util import check_output_file

        return write_xlsx(self.to_dict(copy=False), check_output_file(path, "to_excel", (".xlsx",)))

    def figure(
        self, name: str, product: str | None = None, chain: str | None = None
    ) -> dict[str, Any]:
        """A report figure by name as a Plotly figure dict (:func:`critmin.figures.figure`):
        ``zone-shares``, ``price-summary``, per product ``prices``, ``sankey``,
        ``diversion``, ``map``, or per linked chain ``chain-diagram``, ``chain-capture``.
        ``plotly.graph_objects.Figure(result.figure("map"))`` shows it."""
        from critmin.figures import figure

        return figure(self.to_dict(copy=False), name, product, chain)

    def _repr_html_(self) -> str:
        """Notebook view: the headline paragraph and the key figures."""
        return self.headline().to_html()


def simulate(
    source: str | Path | dict[str, Any] | Scenario,
    world: World | None = None,
    *,
    drawn: bool = False,
) -> SimulationResult:
    """Run a scenario (a ``.toml`` or ``.json`` path as ``str`` or ``Path``, a dict in the same
    schema, or a :class:`~critmin.scenario.Scenario`) and return its :class:`SimulationResult`.

    ``world``: the :func:`critmin.load_world` of the scenario's year, to load the data once for
    many runs; left out, the scenario's year is loaded. Raises a :class:`CritminError`
    (:mod:`critmin.errors`; :class:`ScenarioError` naming the field) for bad input, before
    anything is solved; a product that does not converge is reported (``converged``, its
    ``message``), not raised.

    ``drawn``: the caller also runs the scenario's Monte Carlo draws (``critmin report
    --draws``), so the warning of a scenario without an instrument says what they do
    (:func:`critmin.scenario.no_effect.no_instrument_notes`)."""
    scenario = load_scenario(source)
    world, resolved = resolve_single_markets(scenario, world)
    warm_up()  # load the compiled kernels first: solve_seconds times the solve alone
    chain_products: dict[str, dict[str, Any]] = {}
    chains: dict[str, dict[str, Any]] = {}
    if scenario.chain:  # the linked-chain model is imported only when a scenario has chains
        from critmin.chain_results import simulate_chains

        chain_products, chains = simulate_chains(scenario, world, product_result)
    products: dict[str, dict[str, Any]] = {}
    for rp in resolved:
        if rp.spec.id in chain_products:
            # a [[product]] that is also a catalog chain's stage of that id sets the stage
            # (its sigma, its elasticities): the chain's stage is shown under the id, so the
            # market alone was solved for nothing and then replaced
            products[rp.spec.id] = chain_products[rp.spec.id]
            continue
        with numerical_warnings() as in_solve:
            t = time.perf_counter()
            sol = solve(rp.market, rp.policy)
            seconds = time.perf_counter() - t
        with numerical_warnings() as in_accounts:
            products[rp.spec.id] = product_result(rp, sol, seconds)
        # overflow or 0/0: a diagnosis in the notes, not noise on the terminal
        for numeric, where in ((in_solve, "in the solver"), (in_accounts, "in the accounts")):
            if numeric:
                products[rp.spec.id]["notes"].append(
                    f"numerical: {'; '.join(numeric)} {where}: the figures concerned are "
                    "undefined and left out (null)"
                )
    products.update(chain_products)
    idle = no_instrument_notes(scenario, drawn=drawn)  # every product at its baseline: first
    for product in products.values():
        product["notes"][:0] = idle
    user_codes = {c for rp in resolved if rp.spec.flows for c in rp.baseline.countries}
    user_codes |= {c for p in chain_products.values() for c in p["countries"]}
    members, watch, _ = zone_codes(world, scenario, user_codes)
    return SimulationResult(scenario, products, members, watch, chains)
