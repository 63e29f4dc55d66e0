"""Zone dependence of one (mineral, stage): how much of the zone's demand the zone meets itself
and how much the watch countries meet, with the basis it was measured on.

``zone_basis`` names the measure, tried in this order:

* ``"trade"``: a bundled traded product sits at the stage. Zone demand = members' domestic
  sales + imports of that product (BACI values; domestic sales calibrated from national
  output, :mod:`critmin.baseline`); computed with :mod:`critmin.metrics.dependence`.
* ``"production_proxy"``: no traded product at the stage, national output in tonnes (USGS)
  and a traded product one stage down in compatible tonnes. Zone output / zone demand for the
  element one stage down (the product's zone demand in tonnes x its content factor), capped
  at 1; the rest of the zone's need is attributed to outside producers in proportion to their
  output.
* ``"share_proxy"``: neither is possible (supply known only as shares, output in oxide tonnes
  that no product matches, or no product next to the stage). The zone's share of world
  supply at the stage over its share of world demand for the mineral's nearest traded
  product downstream (by value), capped at 1: ss = min(1, S_zone / D_zone), with the rest
  attributed to outside suppliers in proportion to their shares. It assumes the zone needs
  the stage's output in the proportion it buys the downstream product.
* ``None``: no figure can be computed; ``zone_reason`` says why (for example a refining stage
  whose only traded product is upstream: ore purchases show where refining sits, not who
  needs refined output).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from critmin.assessment.common import (
    Context,
    Zone,
    compatible_units,
    product_at,
)
from critmin.baseline import ProductBaseline
from critmin.catalog import NEXT_STAGE, STAGES
from critmin.errors import CritminError
from critmin.metrics import concentration, criticality, dependence
from critmin.numbers import finite_or_none
from critmin.world import AGGREGATES

if TYPE_CHECKING:
    from critmin.assessment.supply import Supply


def _flows_and_domestic(
    base: ProductBaseline, values: np.ndarray, into: np.ndarray | None = None
) -> tuple[pd.DataFrame, pd.Series]:
    """Cross-border flows (only those into the ``into`` mask when given) and domestic sales."""
    n = base.n
    off = ~np.eye(n, dtype=bool) & (values > 0)
    if into is not None:
        off &= into[np.newaxis, :]
    ii, jj = np.nonzero(off)
    codes = np.array(base.countries)
    flows = pd.DataFrame({"exporter": codes[ii], "importer": codes[jj], "value": values[ii, jj]})
    domestic = pd.Series(np.diag(values).copy(), index=base.countries)
    return flows, domestic


def _baseline_sources(base: ProductBaseline, pid: str, hs6: str) -> list[str]:
    """The sources of a bundled baseline, as :func:`critmin.baseline.bundled_baseline` lists
    them (the flows' sources, observed BACI and/or critmin's estimates, then the domestic
    sales' source), each naming the product."""
    *flow_sources, domestic = base.sources or [""]
    out = [
        f"{s} ({pid}, HS {hs6}; values, tonnes)"
        if s.startswith("CEPII BACI")
        else f"{pid} (HS {hs6}) flows: {s}"
        for s in flow_sources
    ]
    return [*out, f"domestic sales of {pid}: {domestic}"]


def _estimated_imports(ctx: Context, pid: str, members: list[str]) -> float:
    """Value (USD) of the cross-border flows into ``members`` that are critmin's estimates
    (``basis == "estimate"`` in the flows table), not observed trade."""
    cols = ctx.world.flow_columns(pid)
    into = np.isin(cols["importer"], list(members))
    est = into & (cols["exporter"] != cols["importer"]) & (cols["value_usd"] > 0)
    est &= cols["basis"] == "estimate"
    return float(cols["value_usd"][est].sum())


def _demand_measured_share(
    base: ProductBaseline, members: list[str], demand: float, estimated_imports: float = 0.0
) -> float:
    """Share of zone demand that is measured: 1 - (domestic sales resting on estimated output
    + imports resting on critmin's estimated flows) / demand."""
    if demand <= 0:
        return 0.0
    est = [c for c in base.estimated_domestic if c in set(members)]
    pos = {c: k for k, c in enumerate(base.countries)}
    estimated = sum(float(base.V[pos[c], pos[c]]) for c in est) + estimated_imports
    measured = 1.0 - estimated / demand
    return 0.0 if measured < 1e-12 else min(1.0, measured)


def _trade_source(ctx: Context, estimated_imports: float, imports: float) -> str:
    """Where the zone's imports come from: BACI, critmin's estimates, or both."""
    if estimated_imports <= 0:
        return f"BACI {ctx.world.year}"
    if estimated_imports >= imports * (1 - 1e-9):
        return f"critmin estimates for {ctx.world.year}"
    return f"BACI {ctx.world.year} and critmin estimates"


def _estimate_note(pid: str, estimated_imports: float, demand: float) -> list[str]:
    """A note when part of the zone's demand for ``pid`` rests on estimated flows."""
    if estimated_imports <= 0 or demand <= 0:
        return []
    return [
        f"ESTIMATE: {estimated_imports / demand:.0%} of the zone's demand for {pid} is imports "
        "estimated by critmin (mass balance, not observed trade; docs/data.md): coverage "
        "counts them as not measured"
    ]


def _no_figure(pid: str | None, reason: str) -> dict[str, Any]:
    return {"zone_basis": None, "product_id": pid, "zone_note": reason, "zone_reason": reason}


def zone_trade(ctx: Context, prod: pd.Series, zone: Zone, supply: Supply) -> dict[str, Any]:
    """Zone figures on the trade basis: the stage's traded product."""
    pid = str(prod["product_id"])
    base = ctx.baseline(pid)
    members = list(zone.members)
    in_base = set(base.countries)
    flows, domestic = _flows_and_domestic(base, base.V, base.index(members))
    dom_m = pd.Series({m: float(domestic.get(m, 0.0)) for m in members})
    ss = dependence.zone_self_sufficiency(flows, dom_m, members)
    if not ss.denominator > 0:
        return _no_figure(pid, f"the zone has no recorded demand for {pid} in {ctx.world.year}")
    ws = dependence.watch_share(flows, dom_m, members, zone.watch) if zone.watch else None
    est_imports = _estimated_imports(ctx, pid, members)
    coverage = _demand_measured_share(base, members, ss.denominator, est_imports)
    producing = sorted(m for m in members if m in in_base and dom_m[m] > 0)
    est = sorted(c for c in base.estimated_domestic if c in set(members))
    notes = [
        f"share of zone demand for {pid} (HS {prod['hs6']}) by value: members' domestic sales "
        f"+ imports, {_trade_source(ctx, est_imports, float(flows['value'].sum()))}",
        *_estimate_note(pid, est_imports, ss.denominator),
        "members with domestic sales: " + (", ".join(producing) or "none"),
    ]
    if est:
        notes.append(
            "domestic sales rest on estimated output (world mine output x EU processing "
            f"shares) for {', '.join(est)}: coverage counts them as not measured"
        )
    if prod.get("caveat"):
        notes.append(f"product caveat: {prod['caveat']}")
    # GeoPolRisk: the zone as one importing economy (intra-zone supply riskless)
    imports_out = flows[~flows["exporter"].isin(members)]  # flows are into members only
    imp = imports_out["value"].groupby(imports_out["exporter"].to_numpy()).sum()
    outside = imp.sort_values(ascending=False, kind="mergesort").iloc[:5]
    shares_imp = imp / ss.denominator
    gov = ctx.governance.reindex(shares_imp.index)  # NaN = no score: the worst (1), noted
    production = supply.values
    if supply.total is not None and "WLD" not in production.index:  # shares of the world
        production = pd.concat([production, pd.Series({"WLD": supply.total})])
    gpr = criticality.geopolrisk(production, shares_imp, gov)
    return {
        "zone_basis": "trade",
        "product_id": pid,
        "zone_self_sufficiency": ss.value,
        "watch_share": ws.value if ws is not None else None,
        "zone_coverage": coverage,
        "zone_demand_usd": ss.denominator,
        "top_outside_suppliers": [
            {"country": str(c), "share_of_zone_demand": float(v) / ss.denominator}
            for c, v in outside.items()
        ],
        "geopolrisk": gpr.value,
        "geopolrisk_import_risk": gpr.import_risk,
        "geopolrisk_coverage": gpr.coverage_imports,
        "geopolrisk_note": (
            f"HHI of {supply.basis} at this stage x sum over outside suppliers of (share of "
            f"zone demand x governance risk (2.5 - pv)/5, WGI {ctx.wgi_year}); supply from "
            "members counts as domestic (riskless)"
            + ("; " + "; ".join(gpr.notes) if gpr.notes else "")
        ),
        "zone_note": "; ".join(notes),
        "zone_sources": _baseline_sources(base, pid, str(prod["hs6"])),
    }


def _tonnes(base: ProductBaseline) -> np.ndarray:
    """Baseline quantities in product tonnes (value / unit value)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(base.p0 > 0, base.V / base.p0, 0.0)
    return np.nan_to_num(q)


def _outside_split(
    ss: float, outside: pd.Series, outside_total: float, zone: Zone
) -> dict[str, Any]:
    """The rest of the zone's need, 1 - ss, attributed to outside suppliers in proportion to
    their amounts (``outside``: positive, largest first) over ``outside_total``: the watch
    countries' share and the five largest outside suppliers (proxies: no GeoPolRisk)."""
    rest = 1.0 - ss
    watch_out = float(outside[outside.index.isin(set(zone.watch))].sum())
    watch = rest * watch_out / outside_total if outside_total > 0 else 0.0
    return {
        "watch_share": watch if zone.watch else None,
        "top_outside_suppliers": [
            {"country": str(c), "share_of_zone_demand": rest * float(v) / outside_total}
            for c, v in outside.iloc[:5].items()
        ]
        if outside_total > 0 and rest > 0
        else [],
        "geopolrisk": None,
        "geopolrisk_note": "needs the zone's imports at this stage: not available (no traded product)",
    }


def zone_proxy(
    ctx: Context, mineral: str, stage: str, zone: Zone, supply: Supply
) -> dict[str, Any]:
    """Zone figures on the production basis (tonnes): zone output over zone demand for the
    element one stage down; ``zone_basis`` None with ``zone_reason`` where not possible."""
    nxt = NEXT_STAGE.get(stage)
    down = product_at(ctx.world, mineral, nxt) if nxt else None
    if supply.basis != "production":
        return _no_figure(
            None,
            f"no bundled traded product at the {stage} stage and no national output in tonnes "
            "to build a production-based proxy",
        )
    if down is None:
        return _no_figure(
            None,
            f"no bundled traded product at the {stage} stage of {mineral}, nor one stage down "
            "to measure the zone's demand",
        )
    cf = finite_or_none(down["content_factor"])
    why = (
        compatible_units(supply.content_basis, down)
        if cf
        else "the downstream product has no content factor"
    )
    if why or cf is None or cf <= 0:
        return _no_figure(
            None,
            f"no bundled traded product at the {stage} stage; a production-based proxy via "
            f"{down['product_id']} is not possible: {why}",
        )
    pid = str(down["product_id"])
    try:
        base = ctx.baseline(pid)
    except CritminError as err:
        return _no_figure(None, f"no proxy: {err}")
    members = set(zone.members)
    mem = base.index(members)
    q = _tonnes(base)
    demand_el = float(q[:, mem].sum()) * cf
    if demand_el <= 0:
        return _no_figure(None, f"no proxy: the zone has no recorded demand for {pid}")
    values = supply.values
    named = values.drop(list(AGGREGATES), errors="ignore")
    zone_out = float(named[named.index.isin(members)].sum(skipna=True))
    withheld = sorted(c for c in named.index[named.isna()] if c in members)
    ratio = zone_out / demand_el
    ss = min(ratio, 1.0)
    total = finite_or_none(values.get("WLD"))
    known_total = float(values.drop("WLD", errors="ignore").sum(skipna=True))
    total = total if total is not None and total > 0 else known_total
    outside_total = max(total - zone_out, 0.0)
    out = named[~named.index.isin(members)].dropna()
    out = out[out > 0].sort_values(ascending=False)
    notes = [
        f"PROXY, not a trade-based figure: zone {stage} output ({zone_out:,.0f} t) / zone "
        f"demand for {mineral} one stage down ({demand_el:,.0f} t {mineral} in {pid}, "
        f"HS {down['hs6']}, content factor {cf:g}) = {ratio:.0%}"
        + (", capped at 100%" if ratio > 1 else ""),
        "the rest of the zone's need is attributed to outside producers in proportion to "
        "their output",
        f"{pid} covers only part of {mineral} use: zone demand is understated and "
        "self-sufficiency overstated",
    ]
    if withheld:
        notes.append(f"output withheld for {', '.join(withheld)}: counted as 0 (a lower bound)")
    est_imports = _estimated_imports(ctx, pid, list(members))
    down_demand = float(base.V[:, mem].sum())
    notes += _estimate_note(pid, est_imports, down_demand)
    coverage = _demand_measured_share(base, list(members), down_demand, est_imports)
    cov_supply = concentration.summarize(values, supply.total, reasons=supply.reasons).coverage
    return {
        "zone_basis": "production_proxy",
        "product_id": pid,
        "zone_self_sufficiency": ss,
        "zone_coverage": coverage * cov_supply,
        "zone_output_t": zone_out,
        "zone_demand_t": demand_el,
        **_outside_split(ss, out, outside_total, zone),
        "zone_note": "; ".join(notes),
        "zone_sources": [supply.source, *_baseline_sources(base, pid, str(down["hs6"]))],
    }


def _downstream_product(ctx: Context, mineral: str, stage: str) -> pd.Series | None:
    """The mineral's bundled traded product nearest downstream of ``stage``.

    Only downstream: who needs a stage's output shows in the demand for what is made from it.
    An upstream product (ore for a refining stage) shows where the stage's input goes, that
    is, where the stage itself sits, so it cannot stand for the demand for its output.
    """
    for s in STAGES[STAGES.index(stage) + 1 :]:
        prod = product_at(ctx.world, mineral, s)
        if prod is not None:
            return prod
    return None


def zone_share_proxy(
    ctx: Context, mineral: str, stage: str, zone: Zone, supply: Supply, why_not: str
) -> dict[str, Any]:
    """Zone figures from shares: S_zone / D_zone capped at 1, where S_zone is the zone's share
    of world supply at the stage and D_zone its share of world demand (domestic sales +
    imports, by value) for the mineral's nearest traded product downstream. ``why_not`` says
    why the trade and production bases were not possible."""
    prod = _downstream_product(ctx, mineral, stage)
    if prod is None:
        upstream = [
            str(p["product_id"])
            for s in STAGES[: STAGES.index(stage)]
            if (p := product_at(ctx.world, mineral, s)) is not None
        ]
        return _no_figure(
            None,
            f"{why_not}; no bundled traded product of {mineral} downstream of the {stage} stage "
            "to measure the zone's demand for its output"
            + (
                f" (the upstream {', '.join(upstream)} shows where the stage's input goes, not "
                "who needs its output)"
                if upstream
                else ""
            ),
        )
    pid = str(prod["product_id"])
    try:
        base = ctx.baseline(pid)
    except CritminError as err:
        return _no_figure(pid, f"{why_not}; no share-based proxy: {err}")
    members = set(zone.members)
    mem = base.index(members)
    world_demand = float(base.V.sum())
    zone_demand = float(base.V[:, mem].sum())
    if not (world_demand > 0 and zone_demand > 0):
        return _no_figure(pid, f"{why_not}; the zone has no recorded demand for {pid}")
    demand_share = zone_demand / world_demand
    shares = concentration.shares(supply.values, supply.total)
    shares = shares.drop(list(AGGREGATES), errors="ignore").dropna()
    shares = shares[shares > 0]
    zone_share = float(shares[shares.index.isin(members)].sum())
    ratio = zone_share / demand_share
    ss = min(ratio, 1.0)
    out = shares[~shares.index.isin(members)].sort_values(ascending=False)
    est_imports = _estimated_imports(ctx, pid, list(members))
    zone_imports = zone_demand - float(np.diag(base.V)[mem].sum())
    notes = [
        f"SHARE PROXY, not a trade-based figure ({why_not}): the zone's share of world "
        f"{stage} supply ({zone_share:.1%}, {supply.basis}, {supply.period}) / its share of "
        f"world demand for {pid} (HS {prod['hs6']}, {prod['stage']} stage: {demand_share:.1%} "
        f"by value, {_trade_source(ctx, est_imports, zone_imports)}) = {ratio:.0%}"
        + (", capped at 100%" if ratio > 1 else ""),
        f"assumes the zone needs {mineral} at the {stage} stage in the proportion it buys {pid}; "
        "the rest of the zone's need is attributed to outside suppliers in proportion to their "
        "shares",
    ]
    notes += _estimate_note(pid, est_imports, zone_demand)
    coverage = _demand_measured_share(base, list(members), zone_demand, est_imports)
    cov_supply = concentration.summarize(
        supply.values, supply.total, reasons=supply.reasons
    ).coverage
    return {
        "zone_basis": "share_proxy",
        "product_id": pid,
        "zone_self_sufficiency": ss,
        "zone_coverage": coverage * cov_supply,
        "zone_reason": None,
        **_outside_split(ss, out, float(out.sum()), zone),
        "zone_note": "; ".join(notes),
        "zone_sources": [supply.source, *_baseline_sources(base, pid, str(prod["hs6"]))],
    }


def zone_figures(
    ctx: Context, mineral: str, stage: str, zone: Zone, supply: Supply
) -> dict[str, Any]:
    """The zone figures of a (mineral, stage) on the first basis that works: trade,
    production proxy, share proxy (see the module docstring)."""
    prod = product_at(ctx.world, mineral, stage)
    if prod is not None:
        try:
            return zone_trade(ctx, prod, zone, supply)
        except CritminError as err:
            return _no_figure(str(prod["product_id"]), str(err))
    z = zone_proxy(ctx, mineral, stage, zone, supply)
    if z["zone_basis"] is not None:
        return z
    return zone_share_proxy(ctx, mineral, stage, zone, supply, str(z["zone_reason"]))
