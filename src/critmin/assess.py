"""Assess supply concentration, criticality and zone dependence, by mineral and stage.

Stages and their sources:

- ``mine``: USGS MCS mine production of the year (latest edition), tonnes of contained element
  (or gross weight / REO where USGS says so).
- ``refine``: USGS refinery/smelter/primary production where USGS publishes it (copper,
  gallium, germanium, magnesium, ...); otherwise the EU 2023 CRM study's global processing (P)
  shares (their reference period is about 2016-2020, which the record says).
- ``product``: exporters' shares of world exports of the bundled product (BACI), for products
  that have no production statistics (permanent magnets).

Zone metrics (with ``members``): the zone's and the watch countries' share of world supply at the
stage and, where a bundled traded product sits at that stage, the share of zone demand met
within the zone (self-sufficiency) and by the watch countries, from the calibrated baseline
(domestic sales + bilateral flows; see :mod:`critmin.model.calibrate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from critmin.errors import CritminError
from critmin.metrics import concentration, criticality
from critmin.model.calibrate import bundled_baseline
from critmin.world import AGGREGATES, World

STAGES = ("mine", "refine", "product")


@dataclass(frozen=True)
class Zone:
    members: list[str]
    watch: list[str]


def _eu_material_ids(world: World, mineral: str) -> list[str]:
    """EU CRM material ids for a critmin mineral (via the concordance's eu_material column)."""
    p = world.products[world.products["mineral"] == mineral]
    names = [n for v in p["eu_material"] for n in str(v).split(";") if n]
    ids = {slug(n) for n in names} | {mineral}
    if mineral == "germanium":
        ids.add("germanium")
    return sorted(ids)


def slug(text: str) -> str:
    return "_".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def _stage_values(world: World, mineral: str, stage: str, year: int) -> tuple[pd.Series, dict[str, str], str, int | None]:
    """Amounts by country (incl. WLD/OTH), missing reasons, source text, data year."""
    if stage in ("mine", "refine"):
        df = world.production(mineral, stage, year)
        if not df.empty and df[df["country"] != "WLD"]["value_t"].notna().any():
            df = df.groupby("country", as_index=False).agg(
                value_t=("value_t", lambda s: s.sum(min_count=1)),
                missing_reason=("missing_reason", "first"),
                edition=("edition", "max"),
                basis=("basis", "first"),
            )
            values = pd.Series(df["value_t"].to_numpy(), index=df["country"].astype(str))
            reasons = {str(c): str(r) for c, r in zip(df["country"], df["missing_reason"], strict=True)
                       if isinstance(r, str)}
            editions = ", ".join(sorted(set(map(str, df["edition"]))))
            basis = ", ".join(sorted(set(map(str, df["basis"].dropna()))))
            return values, reasons, f"USGS {editions} {stage} production {year} (t, {basis})", year
    if stage == "refine":
        eu = world.eu_supply_shares
        sub = eu[(eu["scope"] == "global") & (eu["stage"] == "P")
                 & (eu["material_id"].isin(_eu_material_ids(world, mineral)))]
        if not sub.empty:
            values = sub.groupby("country")["share"].sum()
            values.index = values.index.astype(str)
            return values, {}, "EU CRM 2023 global processing shares (reference period ~2016-2020)", None
    if stage == "product":
        products = world.products[(world.products["mineral"] == mineral)
                                  & (world.products["stage"] == "product")]
        if not products.empty:
            pid = str(products["product_id"].iloc[0])
            f = world.product_flows(pid)
            f = f[f["exporter"] != f["importer"]]
            values = f.groupby("exporter")["value_usd"].sum()
            values.index = values.index.astype(str)
            return values, {}, f"CEPII BACI {world.year} world exports of {pid} (USD)", world.year
    return pd.Series(dtype=float), {}, "", None


def _product_at(world: World, mineral: str, stage: str) -> str | None:
    p = world.products
    hit = p[(p["mineral"] == mineral) & (p["stage"] == stage)]
    if hit.empty and mineral == "germanium" and stage == "refine":
        hit = p[p["product_id"] == "gallium_germanium"]
    return None if hit.empty else str(hit["product_id"].iloc[0])


def _wgi_scaled(world: World) -> pd.Series:
    return criticality.scale_wgi_eu(criticality.wgi_average(world.wgi, 2023))


def assess_one(world: World, mineral: str, stage: str, year: int, zone: Zone | None,
               wgi_scaled: pd.Series) -> dict[str, Any] | None:
    values, reasons, source, data_year = _stage_values(world, mineral, stage, year)
    named = values.drop(list(AGGREGATES), errors="ignore")
    if values.empty or not named.notna().any() or not (named.fillna(0) > 0).any():
        return None
    s = concentration.summarize(values, reasons=reasons)
    share = concentration.shares(values)
    top = share.drop(list(AGGREGATES), errors="ignore").dropna().sort_values(ascending=False)
    eu_t = world.eu_supply_shares
    t = eu_t[(eu_t["scope"] == "global") & (eu_t["material_id"].isin(_eu_material_ids(world, mineral)))
             & (eu_t["stage"] == ("E" if stage == "mine" else "P"))].groupby("country")["t"].first()
    hwt = criticality.hhi_wgi_t_detail(top, wgi_scaled, t if len(t) else 1.0)
    rec: dict[str, Any] = {
        "mineral": mineral,
        "stage": stage,
        "year": data_year if data_year is not None else year,
        "hhi": s.hhi,
        "hhi_10000": s.hhi * 10_000,
        "top_supplier": s.top_supplier,
        "top_supplier_share": s.top_supplier_share,
        "top3_share": float(top.iloc[:3].sum()),
        "n_for_90": s.n_for_90,
        "n_suppliers": s.n_suppliers,
        "coverage": s.coverage,
        "hhi_wgi_t": hwt.value,
        "top_suppliers": [{"country": c, "share": float(v)} for c, v in top.iloc[:5].items()],
        "missing": [m.country for m in s.missing],
        "source": source,
        "notes": list(s.notes),
    }
    if zone is not None:
        m, w = set(zone.members), set(zone.watch)
        rec["zone_supply_share"] = float(top[top.index.isin(m)].sum())
        rec["watch_supply_share"] = float(top[top.index.isin(w)].sum())
        rec.update(_zone_trade(world, mineral, stage, zone))
    return rec


def _zone_trade(world: World, mineral: str, stage: str, zone: Zone) -> dict[str, Any]:
    pid = _product_at(world, mineral, stage)
    empty: dict[str, Any] = {
        "product_id": None, "zone_self_sufficiency": None, "watch_share": None,
        "zone_coverage": None, "top_outside_suppliers": [],
        "zone_note": f"no bundled traded product at the {stage} stage of {mineral}",
    }
    if pid is None:
        return empty
    base = bundled_baseline(world, pid)
    mem = base.index(zone.members)
    wat = base.index(zone.watch)
    V = base.V
    demand = V[:, mem].sum()
    if demand <= 0:
        return empty | {"product_id": pid, "zone_note": "the zone has no recorded demand"}
    into = pd.Series(V[:, mem].sum(axis=1), index=base.countries)
    outside = into[~mem].sort_values(ascending=False)
    outside = outside[outside > 0]
    dom_known = [c for c in zone.members if c in base.countries
                 and V[base.countries.index(c), base.countries.index(c)] > 0]
    coverage = float(
        sum(V[:, base.countries.index(c)].sum() for c in dom_known) / demand
    ) if dom_known else 0.0
    return {
        "product_id": pid,
        "zone_self_sufficiency": float(V[np.ix_(mem, mem)].sum() / demand),
        "watch_share": float(V[np.ix_(wat, mem)].sum() / demand) if wat.any() else 0.0,
        "zone_coverage": coverage,
        "top_outside_suppliers": [
            {"country": c, "share_of_zone_demand": float(v / demand)} for c, v in outside.iloc[:5].items()
        ],
        "zone_note": (
            "share of zone demand (domestic sales + imports, baseline values); domestic sales "
            + ("estimated for " + ", ".join(base.estimated_domestic) if base.estimated_domestic
               else "from USGS output where published")
            + "; coverage = share of zone demand in members with known domestic output"
        ),
    }


def assess(world: World, minerals: list[str] | None = None, stages: list[str] | None = None,
           year: int = 2024, zone: Zone | None = None) -> list[dict[str, Any]]:
    """One record per (mineral, stage), most concentrated first."""
    stages = stages or list(STAGES)
    for st in stages:
        if st not in STAGES:
            raise CritminError(f"unknown stage {st!r}; stages: {', '.join(STAGES)}")
    if minerals:
        minerals = [world.check_mineral(m) for m in minerals]
    else:
        minerals = sorted(set(world.products["mineral"]) | {"germanium"})
    years = sorted(int(y) for y in world.supply["year"].unique())
    if year not in years:
        raise CritminError(f"no supply data for {year}: years are {years}")
    wgi = _wgi_scaled(world)
    records = []
    for mineral in minerals:
        for stage in stages:
            rec = assess_one(world, mineral, stage, year, zone, wgi)
            if rec is not None:
                records.append(rec)
    records.sort(key=lambda r: -r["hhi"])
    return records


def criticality_view(world: World) -> pd.DataFrame:
    """EU 2023 supply-risk building blocks recomputed from the bundled shares, t and WGI,
    beside the EU's official SR and EI (which also include import reliance, substitution and
    recycling, and use the bottleneck stage)."""
    wgi = _wgi_scaled(world)
    eu = world.eu_supply_shares[world.eu_supply_shares["scope"] == "global"]
    off = world.eu_sr_ei[world.eu_sr_ei["year"] == 2023].set_index("material_id")
    rows = []
    for (mid, stage), sub in eu.groupby(["material_id", "stage"]):
        shares = sub.groupby("country")["share"].sum()
        t = sub.groupby("country")["t"].first()
        named = shares.drop(list(AGGREGATES), errors="ignore")
        d = criticality.hhi_wgi_t_detail(named, wgi, t)
        rows.append({
            "material_id": mid,
            "stage": "extraction" if stage == "E" else "processing",
            "hhi": float((named ** 2).sum()),
            "hhi_wgi_t": d.value,
            "top_country": str(named.idxmax()) if len(named) else None,
            "top_share": float(named.max()) if len(named) else None,
            "official_sr_2023": float(off["sr"].get(mid, np.nan)) if mid in off.index else None,
            "official_ei_2023": float(off["ei"].get(mid, np.nan)) if mid in off.index else None,
        })
    df = pd.DataFrame(rows)
    return df.sort_values("hhi_wgi_t", ascending=False).reset_index(drop=True)
