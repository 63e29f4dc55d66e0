"""The supply view: concentration by mineral and stage (``critmin assess``, :func:`assess`).

One record per (mineral, stage, year), most concentrated first. The supply figures of a stage
come from the first source that has them:

1. ``production``: USGS Mineral Commodity Summaries production of the year (the newest edition
   that publishes the year, or the edition asked for), tonnes as USGS gives them (element
   content, or gross weight, REO, oxide where USGS says so). Country figures on different
   bases with no USGS world total (boron: B2O3 for China, gross weight of ulexite, crude ore,
   datolite for others; USGS prints the world total as ``XX``) cannot be added, so they are
   not used: the next source is, and the record says why. Any stage of a table whose world
   total is ``XX`` is treated so (boron refining: Türkiye's refined borates and Germany's
   compounds only, the withheld U.S. output in no stage);
2. ``eu_shares``: the EU 2023 CRM study's global extraction (E, mine stage) or processing
   (P, refine stage) shares; their reference period is about 2016-2020;
3. ``exports``: exporters' shares of world exports of the bundled traded product (CEPII
   BACI, USD) for stages without production statistics (e.g. permanent magnets).

HHI = sum_c s_c^2 over the shares of the world total (:mod:`critmin.metrics.concentration`);
the EU supply-risk block HHI_WGI,t = sum_c s_c^2 WGI_c t_c (European Commission 2023,
methodology). With a zone the record adds the zone figures of :mod:`critmin.assessment.zone`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, cast

import pandas as pd

from critmin.assessment.common import (
    EU_PERIOD,
    WGI_SOURCE,
    AssessRecord,
    Context,
    Zone,
    bundled_minerals,
    check_edition,
    check_stages,
    check_year,
    eu_material,
    eu_rows,
    eu_stage,
    product_at,
    tables,
    trade,
    usgs_ids,
)
from critmin.catalog import STAGES, crosswalks
from critmin.metrics import concentration, criticality
from critmin.numbers import clean
from critmin.world import AGGREGATES, World


@dataclass(frozen=True)
class Supply:
    """The supply figures of one (mineral, stage): amounts by country and where they come from."""

    values: pd.Series  # by ISO3, with WLD / OTH where the source has them
    reasons: dict[str, str]
    basis: str  # production | eu_shares | exports
    unit: str
    content_basis: str  # USGS basis (contained, gross, REO, ...); "" for shares and USD
    period: str
    source: str
    material: str  # USGS mineral id(s), EU material id or product id
    notes: tuple[str, ...] = ()
    t: pd.Series | None = None  # EU trade variable, for eu_shares
    edition: str | None = None  # USGS MCS edition, for production
    not_comparable: str | None = None  # why the country figures cannot be added, if so

    @property
    def total(self) -> float | None:
        """The reference total: 1 for shares (fractions of the world), else WLD or the sum."""
        return 1.0 if self.basis == "eu_shares" else None


def usgs_production(
    world: World, mineral: str, stage: str, year: int, edition: str | None = None
) -> Supply | None:
    """USGS production of a stage and year from ``edition``, else the newest edition that
    publishes it. ``not_comparable`` is set when the country figures are on several bases and
    USGS publishes no world total."""
    ids = usgs_ids(world, mineral, stage)
    if not ids:
        return None
    parts = [tables(world).production.get((i, stage, year)) for i in ids]
    found = [p for p in parts if p is not None]
    if not found:
        return None
    df = pd.concat(found) if len(found) > 1 else found[0]
    if edition is not None:
        df = df[df["edition"] == edition]
    known = df[~df["country"].isin(list(AGGREGATES)) & df["value_t"].notna()]
    if known.empty:
        return None
    edition = str(max(map(str, known["edition"])))
    df = df[df["edition"] == edition]
    notes: list[str] = []
    pattern = crosswalks.usgs_series().get((mineral, stage))
    if pattern:
        df = df[df["type"].astype(str).str.lower().str.contains(pattern, regex=False)]
        notes.append(f"USGS series '{pattern}' only (the table also holds other products)")
    wld = df[df["country"] == "WLD"]
    rest = df[df["country"] != "WLD"]
    country = rest["country"].astype(str)
    amount = rest["value_t"].astype(float)
    none = amount.isna() & (rest["missing_reason"] == "--").fillna(False).astype(bool)
    amount = amount.where(~none, 0.0)  # USGS "—": none (zero), not missing
    values = amount.groupby(country.to_numpy()).sum(min_count=1)
    if "OTH" in values.index and values["OTH"] == 0:
        values = values.drop("OTH")  # "other countries: none" adds nothing
    if len(wld):
        w = wld["value_t"].astype(float)
        values["WLD"] = float(w.max()) if w.notna().any() else math.nan
        if len(wld) > 1:
            notes.append(
                "several USGS world totals (sub-series): the largest, the combined total, used"
            )
    reasons: dict[str, str] = {}
    for c, r in zip(country, rest["missing_reason"], strict=True):
        if isinstance(r, str) and c in values.index and math.isnan(float(values[c])):
            reasons.setdefault(c, r)
    named = values.drop(list(AGGREGATES), errors="ignore").dropna()
    bases = sorted(set(map(str, df["basis"].dropna())))
    # the bases of the published country figures (a withheld row's basis adds nothing)
    named_bases = sorted(set(map(str, rest.loc[amount.notna() & (amount > 0), "basis"].dropna())))
    no_total = values.get("WLD") is None or math.isnan(float(values.get("WLD", math.nan)))
    not_comparable = None
    if len(named_bases) > 1 and no_total:
        not_comparable = (
            f"USGS {edition} gives {mineral} {stage} output on different bases "
            f"({', '.join(named_bases)}) and no world total: the figures cannot be added"
        )
    elif no_total and _world_total_not_calculable(world, ids, year, edition):
        not_comparable = (
            f"USGS {edition} prints the {mineral} world total as 'XX' (not calculable: "
            "countries do not report production in a consistent manner) and its table holds "
            f"{stage} figures for only {', '.join(sorted(named.index))}: the figures cannot "
            "be added into world shares"
        )
    if len(bases) > 1:
        notes.append(
            f"USGS gives countries on different bases ({', '.join(bases)}): shares mix units"
        )
    notes += _usgs_estimates(rest[amount.notna()], wld, edition)
    if no_total:
        notes.append("no USGS world total: shares are of the sum of known values")
    elif "USA" in reasons and wld["note"].astype(str).str.contains("xcludes U.S.").any():
        notes.append(
            f"the USGS world total excludes the United States, whose output is withheld "
            f"({reasons['USA']}): shares are of the world without the U.S., and coverage "
            "cannot see the U.S. output"
        )
    basis = "/".join(bases) or "t"
    return Supply(
        values=values,
        reasons=reasons,
        basis="production",
        unit=f"t ({basis})",
        content_basis=bases[0] if len(bases) == 1 else "mixed",
        period=str(year),
        source=f"USGS {edition} {stage} production {year} ({', '.join(ids)}; t, {basis})",
        material=", ".join(ids),
        notes=tuple(notes),
        edition=edition,
        not_comparable=not_comparable,
    )


def _usgs_estimates(published: pd.DataFrame, wld: pd.DataFrame, edition: str) -> list[str]:
    """A note where USGS marks figures used as its own estimates (``estimated``: "Estimated."
    in the release; the latest year of an edition is mostly estimates): how many of the
    country figures (``published``: the rows with a value), and whether the world total is
    one. The shares then rest on estimates that a later edition revises; said nowhere before
    (critmin's own estimates say so, USGS's did not)."""
    flag = published["estimated"].fillna(False).astype(bool)
    world = bool(wld["estimated"].fillna(False).astype(bool).any()) if len(wld) else False
    if not flag.any() and not world:
        return []
    parts = [f"{int(flag.sum())} of {len(flag)} country figures"] if flag.any() else []
    if world:
        parts.append("the world total")
    return [f"USGS {edition} marks {' and '.join(parts)} as estimates"]


def _world_total_not_calculable(
    world: World, ids: tuple[str, ...], year: int, edition: str
) -> bool:
    """True when the USGS table of ``ids`` prints its world production total of ``year`` as
    ``XX`` in ``edition``, at any stage: USGS's "world totals cannot be calculated because
    production ... not reported in a consistent manner by all countries" (boron). critmin
    splits that one table into stages (Türkiye's refined borates and Germany's compounds at
    the refine stage, the world total and the withheld U.S. "all forms" at the mine stage), so
    the sum of one stage's known figures is not world output either."""
    for i in ids:
        for s in STAGES:
            df = tables(world).production.get((i, s, year))
            if df is None:
                continue
            wld = df[(df["country"] == "WLD") & (df["edition"] == edition)]
            if wld["missing_reason"].astype(str).str.upper().eq("XX").any():
                return True
    return False


def eu_shares(world: World, mineral: str, stage: str, scope: str = "global") -> Supply | None:
    """EU CRM 2023 shares (E for the mine stage, P for the refine stage)."""
    code = eu_stage(stage)
    if code is None:
        return None
    mid = eu_material(world, mineral, code)
    if mid is None:
        return None
    sub = eu_rows(world, mid, code, scope)
    if sub is None or sub.empty:
        return None
    country = sub["country"].astype(str).to_numpy()
    values = sub["share"].astype(float).groupby(country).sum()
    t = sub["t"].astype(float).groupby(country).first()
    what = "extraction" if code == "E" else "processing"
    notes = [
        f"EU CRM 2023 {what} shares, reference period {EU_PERIOD}, not {stage} output of the year"
    ]
    if mid != mineral:
        notes.append(f"EU material '{mid}' stands for {mineral}")
    return Supply(
        values=values,
        reasons={},
        basis="eu_shares",
        unit="share",
        content_basis="",
        period=EU_PERIOD,
        source=f"EU CRM 2023 {scope} {what} (stage {code}) shares of {mid}, reference period {EU_PERIOD}",
        material=mid,
        notes=tuple(notes),
        t=t,
    )


def export_shares(world: World, mineral: str, stage: str) -> Supply | None:
    """Exporters' shares of world exports of the stage's traded product (BACI, USD)."""
    prod = product_at(world, mineral, stage)
    if prod is None:
        return None
    pid = str(prod["product_id"])
    f = trade(world, pid)
    if f.empty:
        return None
    values = f["value_usd"].astype(float).groupby(f["exporter"].astype(str).to_numpy()).sum()
    return Supply(
        values=values,
        reasons={},
        basis="exports",
        unit="USD",
        content_basis="",
        period=str(world.year),
        source=f"CEPII BACI HS17 V202601 {world.year} world exports of {pid} (HS {prod['hs6']}, USD)",
        material=pid,
        notes=(
            "no production statistics at this stage: exporters' shares of world exports stand "
            "for supply (re-exports count where they leave)",
        ),
    )


def stage_supply(
    world: World, mineral: str, stage: str, year: int, edition: str | None = None
) -> Supply | None:
    """The supply figures of a (mineral, stage): USGS production (from ``edition`` if given)
    whose country figures can be added, else EU shares, else exports."""
    usgs = usgs_production(world, mineral, stage, year, edition)
    if usgs is not None and usgs.not_comparable is None:
        return usgs
    other = eu_shares(world, mineral, stage) or export_shares(world, mineral, stage)
    if usgs is None:
        return other
    if other is None:
        return usgs  # nothing better: kept, with its mixed-units note
    why = f"{usgs.not_comparable} ({usgs.source}); {other.basis} used instead"
    return replace(other, notes=(why, *other.notes))


# --------------------------------------------------------------------------------- the view


def assess_one(
    world: World,
    mineral: str,
    stage: str,
    year: int,
    zone: Zone | None,
    ctx: Context | None = None,
) -> AssessRecord | None:
    """The record of one (mineral, stage, year), or None when no source has figures for it."""
    from critmin.assessment.zone import zone_figures

    ctx = ctx or Context(world, year)
    supply = stage_supply(world, mineral, stage, year, ctx.edition)
    if supply is None:
        return None
    values = supply.values
    named = values.drop(list(AGGREGATES), errors="ignore")
    if not (named.fillna(0) > 0).any():
        return None
    total = supply.total
    s = concentration.summarize(values, total, reasons=supply.reasons)
    share = concentration.shares(values, total)
    top = share.drop(list(AGGREGATES), errors="ignore").dropna().sort_values(ascending=False)
    code = eu_stage(stage) or "P"
    mid = supply.material if supply.basis == "eu_shares" else eu_material(world, mineral, code)
    t: pd.Series | float = 1.0
    sub = eu_rows(world, mid, code) if mid is not None else None
    if sub is not None:
        t = sub["t"].astype(float).groupby(sub["country"].to_numpy()).first()
    hwt = criticality.hhi_wgi_t_detail(top.clip(upper=1.0), ctx.wgi_scaled.reindex(top.index), t)
    sources = [supply.source]
    rec: dict[str, Any] = {
        "view": "supply",
        "mineral": mineral,
        "stage": stage,
        "year": year,
        "edition": supply.edition,
        "hhi": s.hhi,
        "hhi_10000": s.hhi_10000,
        "hhi_upper": s.hhi_upper,
        "top_supplier": s.top_supplier,
        "top_supplier_share": s.top_supplier_share,
        "top3_share": s.top3_share,
        "n_for_90": s.n_for_90,
        "n_suppliers": s.n_suppliers,
        "coverage": s.coverage,
        "supply_basis": supply.basis,
        "supply_unit": supply.unit,
        "supply_period": supply.period,
        "supply_material": supply.material,
        "world_total": s.total,
        "trade_year": world.year,
        "top_suppliers": [{"country": str(c), "share": float(v)} for c, v in top.iloc[:5].items()],
        "missing": [{"country": m.country, "reason": m.reason} for m in s.missing],
        "hhi_wgi_t": hwt.value,
        "hhi_wgi_t_note": (
            f"EU supply-risk block on these shares, WGI {ctx.wgi_year} (six-indicator mean), "
            + (f"EU t of {mid}" if mid is not None else "t = 1 (no EU trade variable)")
        ),
        "source": supply.source,
        "sources": sources,
        "notes": [*supply.notes, *s.notes],
    }
    if zone is not None:
        members, watch = set(zone.members), set(zone.watch)
        rec["zone_supply_share"] = float(top[top.index.isin(members)].sum())
        rec["watch_supply_share"] = float(top[top.index.isin(watch)].sum()) if watch else None
        z = zone_figures(ctx, mineral, stage, zone, supply)
        defaults: dict[str, Any] = {
            "zone_self_sufficiency": None,
            "watch_share": None,
            "zone_coverage": None,
            "top_outside_suppliers": [],
            "geopolrisk": None,
            "zone_sources": [],
            "zone_reason": None,
        }
        rec.update(defaults | z)
        for src in rec["zone_sources"]:
            if src not in sources:
                sources.append(src)
        if z.get("geopolrisk") is not None:
            sources.append(f"{WGI_SOURCE} {ctx.wgi_year} (political stability, pv)")
    return cast(AssessRecord, clean(rec))


def _hhi_key(r: AssessRecord) -> float:
    h = r.get("hhi")
    return -float(h) if h is not None else math.inf


def assess(
    world: World,
    minerals: list[str] | None = None,
    stages: list[str] | None = None,
    year: int = 2024,
    zone: Zone | None = None,
    *,
    edition: str | None = None,
) -> list[AssessRecord]:
    """One record per (mineral, stage, year), most concentrated (highest HHI) first.

    ``edition`` (``"MCS2025"``...) takes the USGS figures from that edition (it must publish
    ``year``); by default each comes from the newest edition that publishes the year.
    """
    stage_list = check_stages(stages)
    names = (  # each mineral once: 'lithium,LITHIUM' printed its rows twice
        list(dict.fromkeys(world.check_mineral(m) for m in minerals))
        if minerals
        else bundled_minerals(world)
    )
    check_year(world, year)
    ctx = Context(world, year, check_edition(world, edition, year))
    records = []
    for mineral in names:
        for stage in stage_list:
            rec = assess_one(world, mineral, stage, year, zone, ctx)
            if rec is not None:
                records.append(rec)
    records.sort(key=_hhi_key)
    return records
