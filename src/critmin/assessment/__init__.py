"""Assess supply concentration, criticality and zone dependence, by mineral and stage.

Three views, each a list of plain records (JSON-ready: shares are fractions 0-1, missing is
``None``) with their coverage and sources. ``docs/assess.md`` explains every field.

**Supply** (:func:`assess`): one record per (mineral, stage, year), most concentrated first.
The supply figures of a stage come from the first source that has them:

1. ``production``: USGS Mineral Commodity Summaries production of the year (the newest edition
   that publishes the year), tonnes as USGS gives them (element content, or gross weight, REO,
   oxide where USGS says so);
2. ``eu_shares``: the EU 2023 CRM study's global extraction (E, mine stage) or processing
   (P, refine stage) shares; their reference period is about 2016-2020;
3. ``exports``: exporters' shares of world exports of the bundled traded product (CEPII
   BACI, USD) for stages without production statistics (e.g. permanent magnets).

With a zone (``members``, optional ``watch``), each record adds:

* the zone's and the watch countries' share of world supply at the stage;
* ``zone_self_sufficiency`` and ``watch_share``, shares of the zone's demand, with
  ``zone_basis`` naming how they were measured:
    - ``"trade"``: a bundled traded product sits at the stage. Zone demand = members'
      domestic sales + imports of that product (BACI values; domestic sales calibrated from
      national output, :mod:`critmin.baseline`); computed with
      :mod:`critmin.metrics.dependence`.
    - ``"production_proxy"``: no traded product at the stage (e.g. lithium mining). The
      zone's output at the stage (USGS, element tonnes) over the zone's demand for the element
      one stage down (the downstream product's zone demand in tonnes x its content factor),
      capped at 1; the rest of the zone's need is attributed to outside producers in
      proportion to their output. A proxy, never the trade-based figure.
    - ``None``: neither is possible; ``zone_note`` says why.
* ``geopolrisk``: the zone's GeoPolRisk (production HHI x the zone's import shares x
  governance risk from WGI political stability), trade basis only.

**NIR** (:func:`nir_view`): net import reliance of a country by mineral. For the United States,
from the USGS salient statistics (latest edition publishing the year), beside the published
figure and whether they agree; for any country, from USGS production plus BACI trade in
tonnes (via the product's content factor) where output and the traded product are at the same
stage and in the same unit, with the reason where not.

**Criticality** (:func:`criticality_view`): the EU 2023 supply-risk building blocks
HHI_WGI,t recomputed from the bundled EU shares, t and WGI, beside the EU's official SR, EI.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from critmin.baseline import ProductBaseline, bundled_baseline
from critmin.catalog import NEXT_STAGE, STAGES
from critmin.errors import CritminError, UnknownCountryError, UnknownYearError
from critmin.metrics import concentration, criticality, dependence
from critmin.metrics.concentration import MetricInputError
from critmin.world import AGGREGATES, World, trade_years

EU_STAGE = {"mine": "E", "refine": "P"}
EU_PERIOD = "~2016-2020"
WGI_SOURCE = "World Bank WGI"

USGS_IDS: dict[str, dict[str, tuple[str, ...]]] = {
    "titanium": {"mine": ("titanium_mineral_concentrates",), "refine": ("titanium_sponge_metal",)},
    "magnesium": {"refine": ("magnesium_metal",)},
    "baryte": {"mine": ("barite",)},
    "phosphate": {"mine": ("phosphate_rock",)},
}
"""USGS mineral ids of a critmin mineral's stages, where they differ from the critmin id."""

USGS_SERIES: dict[tuple[str, str], str] = {("silicon", "refine"): "silicon metal"}
"""The USGS series kept when one table holds several products (silicon: metal, not
ferrosilicon)."""

EU_MATERIALS: dict[tuple[str, str], str] = {
    ("graphite", "E"): "natural_graphite",
    ("titanium", "P"): "titanium_metal",
    ("silicon", "P"): "silicon_metal",
    ("phosphate", "E"): "phosphate_rock",
    ("rare_earths", "P"): "neodymium",
}
"""EU CRM 2023 material standing for a critmin mineral at a stage (E/P), where the ids differ.
Rare earths at processing: the EU publishes per element; neodymium (the magnet REE) stands
for separation and refining, and the record says so."""

SALIENT_IDS: dict[str, tuple[str, ...]] = {
    "magnesium": ("magnesium_metal",),
    "titanium": ("titanium_sponge_metal",),
    "baryte": ("barite",),
    "phosphate": ("phosphate_rock",),
    "bauxite": ("bauxite", "bauxite_and_alumina"),
}
"""USGS salient-statistics ids of a critmin mineral, where they differ from the critmin id."""


@dataclass(frozen=True)
class Zone:
    """A zone: member countries (ISO3) and watch countries (not members)."""

    members: list[str]
    watch: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.members:
            raise CritminError("the zone needs at least one member country")
        both = sorted(set(self.members) & set(self.watch))
        if both:
            raise UnknownCountryError(
                f"watch countries {', '.join(both)} are also zone members: a watch country "
                "must be outside the zone"
            )


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

    @property
    def total(self) -> float | None:
        """The reference total: 1 for shares (fractions of the world), else WLD or the sum."""
        return 1.0 if self.basis == "eu_shares" else None


# --------------------------------------------------------------------------------- lookups


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Arrow-backed string columns as Python objects (fast to group and compare)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_string_dtype(out[c]) and not pd.api.types.is_object_dtype(out[c]):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


class _Tables:
    """The bundled tables indexed for the look-ups of this module (built once per World)."""

    def __init__(self, world: World) -> None:
        sa = world.supply_all_editions
        prod = _plain(sa[sa["measure"] == "production"])
        self.production: dict[tuple[str, str, int], pd.DataFrame] = {
            (str(k[0]), str(k[1]), int(str(k[2]))): g
            for k, g in prod.groupby(["mineral", "stage", "year"])
        }
        self.supply_minerals = set(map(str, sa["mineral"].unique()))
        eu = _plain(world.eu_supply_shares)
        self.eu: dict[tuple[str, str, str], pd.DataFrame] = {
            (str(k[0]), str(k[1]), str(k[2])): g
            for k, g in eu.groupby(["material_id", "stage", "scope"])
        }
        f = _plain(world.flows)
        self.flows = {str(k): g for k, g in f[f["exporter"] != f["importer"]].groupby("product_id")}
        self.products: dict[tuple[str, str], pd.Series | None] = {}


_TABLES: dict[int, tuple[World, _Tables]] = {}


def _tables(world: World) -> _Tables:
    hit = _TABLES.get(id(world))
    if hit is not None and hit[0] is world:
        return hit[1]
    t = _Tables(world)
    if len(_TABLES) >= 4:
        _TABLES.pop(next(iter(_TABLES)))
    _TABLES[id(world)] = (world, t)
    return t


def _usgs_ids(world: World, mineral: str, stage: str) -> tuple[str, ...]:
    if mineral in USGS_IDS:
        return USGS_IDS[mineral].get(stage, ())
    return (mineral,) if mineral in _tables(world).supply_minerals else ()


def _eu_rows(world: World, mid: str, code: str, scope: str = "global") -> pd.DataFrame | None:
    return _tables(world).eu.get((mid, code, scope))


def _trade(world: World, pid: str) -> pd.DataFrame:
    """Cross-border flows of a product in the world's trade year (no domestic rows)."""
    empty = pd.DataFrame(columns=["exporter", "importer", "value_usd", "quantity_t"])
    return _tables(world).flows.get(pid, empty)


def eu_material(world: World, mineral: str, code: str) -> str | None:
    """The EU CRM material id for a critmin mineral at stage E or P (None if the EU has none)."""
    mid = EU_MATERIALS.get((mineral, code), mineral)
    return mid if _eu_rows(world, mid, code) is not None else None


def product_at(world: World, mineral: str, stage: str) -> pd.Series | None:
    """The bundled traded product of a mineral at a stage (a product that bundles several
    minerals, like HS 811292 for gallium and germanium, counts for each)."""
    cache = _tables(world).products
    if (mineral, stage) not in cache:
        # a catalog product without flows in this year's data is not traded here
        p = world.products[world.products["product_id"].isin(world.flow_basis())]
        hit = p[(p["mineral"] == mineral) & (p["stage"] == stage)]
        if hit.empty:
            listed = p["usgs_mineral"].astype(str).str.split(";").map(lambda ms: mineral in ms)
            hit = p[listed & (p["stage"] == stage)]
        cache[(mineral, stage)] = None if hit.empty else hit.iloc[0]
    return cache[(mineral, stage)]


def bundled_minerals(world: World) -> list[str]:
    """The critmin minerals of the bundled concordance (every mineral with a traded product,
    and germanium, which shares HS 811292 with gallium)."""
    ms = set(map(str, world.products["mineral"]))
    for v in world.products["usgs_mineral"].astype(str):
        if ";" in v:
            ms.update(m for m in v.split(";") if m)
    return sorted(ms)


def nearest_trade_year(year: int) -> int:
    """The bundled BACI year nearest to ``year`` (the later one on a tie)."""
    years = trade_years()
    return min(years, key=lambda y: (abs(y - year), -y))


# --------------------------------------------------------------------------------- supply


def usgs_production(world: World, mineral: str, stage: str, year: int) -> Supply | None:
    """USGS production of a stage and year from the newest edition that publishes it."""
    ids = _usgs_ids(world, mineral, stage)
    if not ids:
        return None
    parts = [_tables(world).production.get((i, stage, year)) for i in ids]
    found = [p for p in parts if p is not None]
    if not found:
        return None
    df = pd.concat(found) if len(found) > 1 else found[0]
    known = df[~df["country"].isin(list(AGGREGATES)) & df["value_t"].notna()]
    if known.empty:
        return None
    edition = str(max(map(str, known["edition"])))
    df = df[df["edition"] == edition]
    notes: list[str] = []
    pattern = USGS_SERIES.get((mineral, stage))
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
    bases = sorted(set(map(str, df["basis"].dropna())))
    if len(bases) > 1:
        notes.append(
            f"USGS gives countries on different bases ({', '.join(bases)}): shares mix units"
        )
    if values.get("WLD") is None or math.isnan(float(values.get("WLD", math.nan))):
        notes.append("no USGS world total: shares are of the sum of known values")
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
    )


def eu_shares(world: World, mineral: str, stage: str, scope: str = "global") -> Supply | None:
    """EU CRM 2023 shares (E for the mine stage, P for the refine stage)."""
    code = EU_STAGE.get(stage)
    if code is None:
        return None
    mid = eu_material(world, mineral, code)
    if mid is None:
        return None
    sub = _eu_rows(world, mid, code, scope)
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
    f = _trade(world, pid)
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


def stage_supply(world: World, mineral: str, stage: str, year: int) -> Supply | None:
    """The supply figures of a (mineral, stage): USGS production, else EU shares, else exports."""
    return (
        usgs_production(world, mineral, stage, year)
        or eu_shares(world, mineral, stage)
        or export_shares(world, mineral, stage)
    )


# --------------------------------------------------------------------------------- helpers


def _f(x: Any) -> float | None:
    """A finite float or None."""
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def clean(obj: Any) -> Any:
    """JSON-ready: NaN/inf -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return _f(obj)
    return obj


class _Context:
    """What one run computes once: governance scores, calibrated baselines."""

    def __init__(self, world: World, year: int) -> None:
        self.world = world
        self.year = year
        wgi_years = sorted(int(y) for y in world.wgi["year"].unique())
        self.wgi_year = max([y for y in wgi_years if y <= year] or wgi_years)
        self.wgi_scaled = criticality.scale_wgi_eu(
            criticality.wgi_average(world.wgi, self.wgi_year)
        )
        pv = world.wgi[(world.wgi["year"] == self.wgi_year) & (world.wgi["indicator"] == "pv")]
        pv_est = pd.Series(
            pv["estimate"].astype(float).to_numpy(), index=pv["country"].astype(str).to_numpy()
        ).dropna()
        self.governance = criticality.governance_risk_from_pv(pv_est)
        self._baselines: dict[str, ProductBaseline | CritminError] = {}

    def baseline(self, pid: str) -> ProductBaseline:
        if pid not in self._baselines:
            try:
                self._baselines[pid] = bundled_baseline(self.world, pid)
            except CritminError as err:
                self._baselines[pid] = err
        b = self._baselines[pid]
        if isinstance(b, CritminError):
            raise b
        return b


# --------------------------------------------------------------------------------- zone


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
    trade = (
        f"CEPII BACI HS17 V202601 {base.sources[0].split()[-1]} ({pid}, HS {hs6}; values, tonnes)"
    )
    return [trade, *(f"domestic sales of {pid}: {s}" for s in base.sources[1:])]


def _demand_measured_share(base: ProductBaseline, members: list[str], demand: float) -> float:
    """Share of zone demand that is measured (imports, domestic sales from published output)."""
    if demand <= 0:
        return 0.0
    est = [c for c in base.estimated_domestic if c in set(members)]
    pos = {c: k for k, c in enumerate(base.countries)}
    estimated = sum(float(base.V[pos[c], pos[c]]) for c in est)
    return max(0.0, min(1.0, 1.0 - estimated / demand))


def _zone_trade(ctx: _Context, prod: pd.Series, zone: Zone, supply: Supply) -> dict[str, Any]:
    pid = str(prod["product_id"])
    base = ctx.baseline(pid)
    members = list(zone.members)
    in_base = set(base.countries)
    flows, domestic = _flows_and_domestic(base, base.V, base.index(members))
    dom_m = pd.Series({m: float(domestic.get(m, 0.0)) for m in members})
    ss = dependence.zone_self_sufficiency(flows, dom_m, members)
    if not ss.denominator > 0:
        return {
            "zone_basis": None,
            "product_id": pid,
            "zone_note": f"the zone has no recorded demand for {pid} in {ctx.world.year}",
        }
    ws = dependence.watch_share(flows, dom_m, members, zone.watch) if zone.watch else None
    coverage = _demand_measured_share(base, members, ss.denominator)
    producing = sorted(m for m in members if m in in_base and dom_m[m] > 0)
    est = sorted(c for c in base.estimated_domestic if c in set(members))
    notes = [
        f"share of zone demand for {pid} (HS {prod['hs6']}) by value: members' domestic sales "
        f"+ imports, BACI {ctx.world.year}",
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


def _compatible(supply_basis: str, product: pd.Series) -> str | None:
    """Why USGS output in ``supply_basis`` and the product's tonnes cannot be compared (None if
    they can)."""
    cb = str(product.get("content_basis") or "").lower()
    gross_product = cb.startswith("gross")
    if supply_basis == "contained" and not gross_product:
        return None
    if supply_basis == "gross" and gross_product:
        return None
    return (
        f"units differ: USGS output is in {supply_basis} tonnes, {product['product_id']} in "
        f"{cb or 'unknown'} tonnes"
    )


def _tonnes(base: ProductBaseline) -> np.ndarray:
    """Baseline quantities in product tonnes (value / unit value)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(base.p0 > 0, base.V / base.p0, 0.0)
    return np.nan_to_num(q)


def _zone_proxy(
    ctx: _Context, mineral: str, stage: str, zone: Zone, supply: Supply
) -> dict[str, Any]:
    none: dict[str, Any] = {"zone_basis": None, "product_id": None}
    nxt = NEXT_STAGE.get(stage)
    down = product_at(ctx.world, mineral, nxt) if nxt else None
    if supply.basis != "production":
        return none | {
            "zone_note": f"no bundled traded product at the {stage} stage and no national output "
            "in tonnes to build a production-based proxy"
        }
    if down is None:
        return none | {
            "zone_note": f"no bundled traded product at the {stage} stage of {mineral}, nor one "
            "stage down to measure the zone's demand"
        }
    cf = _f(down["content_factor"])
    why = (
        _compatible(supply.content_basis, down)
        if cf
        else "the downstream product has no content factor"
    )
    if why or cf is None or cf <= 0:
        return none | {
            "zone_note": f"no bundled traded product at the {stage} stage; a production-based "
            f"proxy via {down['product_id']} is not possible: {why}"
        }
    pid = str(down["product_id"])
    try:
        base = ctx.baseline(pid)
    except CritminError as err:
        return none | {"zone_note": f"no proxy: {err}"}
    members = set(zone.members)
    mem = base.index(members)
    q = _tonnes(base)
    demand_el = float(q[:, mem].sum()) * cf
    if demand_el <= 0:
        return none | {"zone_note": f"no proxy: the zone has no recorded demand for {pid}"}
    values = supply.values
    named = values.drop(list(AGGREGATES), errors="ignore")
    zone_out = float(named[named.index.isin(members)].sum(skipna=True))
    withheld = sorted(c for c in named.index[named.isna()] if c in members)
    ratio = zone_out / demand_el
    ss = min(ratio, 1.0)
    total = _f(values.get("WLD"))
    known_total = float(values.drop("WLD", errors="ignore").sum(skipna=True))
    total = total if total is not None and total > 0 else known_total
    outside_total = max(total - zone_out, 0.0)
    out = named[~named.index.isin(members)].dropna()
    out = out[out > 0].sort_values(ascending=False)
    rest = 1.0 - ss
    watch_out = float(out[out.index.isin(set(zone.watch))].sum())
    watch = rest * watch_out / outside_total if outside_total > 0 else 0.0
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
    coverage = _demand_measured_share(base, list(members), float(base.V[:, mem].sum()))
    cov_supply = concentration.summarize(values, supply.total, reasons=supply.reasons).coverage
    return {
        "zone_basis": "production_proxy",
        "product_id": pid,
        "zone_self_sufficiency": ss,
        "watch_share": watch if zone.watch else None,
        "zone_coverage": coverage * cov_supply,
        "zone_output_t": zone_out,
        "zone_demand_t": demand_el,
        "top_outside_suppliers": [
            {"country": str(c), "share_of_zone_demand": rest * float(v) / outside_total}
            for c, v in out.iloc[:5].items()
        ]
        if outside_total > 0 and rest > 0
        else [],
        "geopolrisk": None,
        "geopolrisk_note": "needs the zone's imports at this stage: not available (no traded product)",
        "zone_note": "; ".join(notes),
        "zone_sources": [supply.source, *_baseline_sources(base, pid, str(down["hs6"]))],
    }


# --------------------------------------------------------------------------------- sources


def source_summary(records: Iterable[dict[str, Any]]) -> list[str]:
    """The publications behind a list of records, one line each (for a table's footer)."""
    from critmin.data import provenance as prov

    text = " | ".join(s for r in records for s in r.get("sources", []))
    out: list[str] = []
    for ed, pub in prov.USGS_MCS.items():
        if f"USGS {ed}" in text:
            out.append(f"USGS, {pub.title} ({ed}), {pub.doi_or_url}")
    if "EU CRM 2023" in text:
        out.append(
            f"{prov.EU_CRM.publisher}, {prov.EU_CRM.title} (supply shares and t, reference "
            f"period {EU_PERIOD}), {prov.EU_CRM.doi_or_url}"
        )
    if "BACI" in text:
        out.append(f"CEPII, {prov.BACI.title}, {prov.BACI.doi_or_url}")
    if WGI_SOURCE in text:
        out.append(f"{prov.WGI.publisher}, {prov.WGI.title}, {prov.WGI.doi_or_url}")
    return out


# --------------------------------------------------------------------------------- supply view


def assess_one(
    world: World,
    mineral: str,
    stage: str,
    year: int,
    zone: Zone | None,
    ctx: _Context | None = None,
) -> dict[str, Any] | None:
    """The record of one (mineral, stage, year), or None when no source has figures for it."""
    ctx = ctx or _Context(world, year)
    supply = stage_supply(world, mineral, stage, year)
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
    code = EU_STAGE.get(stage, "P")
    mid = supply.material if supply.basis == "eu_shares" else eu_material(world, mineral, code)
    t: pd.Series | float = 1.0
    sub = _eu_rows(world, mid, code) if mid is not None else None
    if sub is not None:
        t = sub["t"].astype(float).groupby(sub["country"].to_numpy()).first()
    hwt = criticality.hhi_wgi_t_detail(top.clip(upper=1.0), ctx.wgi_scaled.reindex(top.index), t)
    sources = [supply.source]
    rec: dict[str, Any] = {
        "mineral": mineral,
        "stage": stage,
        "year": year,
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
        prod = product_at(world, mineral, stage)
        if prod is not None:
            try:
                z = _zone_trade(ctx, prod, zone, supply)
            except CritminError as err:
                z = {
                    "zone_basis": None,
                    "product_id": str(prod["product_id"]),
                    "zone_note": str(err),
                }
        else:
            z = _zone_proxy(ctx, mineral, stage, zone, supply)
        defaults: dict[str, Any] = {
            "zone_self_sufficiency": None,
            "watch_share": None,
            "zone_coverage": None,
            "top_outside_suppliers": [],
            "geopolrisk": None,
            "zone_sources": [],
        }
        rec.update(defaults | z)
        for src in rec["zone_sources"]:
            if src not in sources:
                sources.append(src)
        if z.get("geopolrisk") is not None:
            sources.append(f"{WGI_SOURCE} {ctx.wgi_year} (political stability, pv)")
    cleaned: dict[str, Any] = clean(rec)
    return cleaned


def _hhi_key(r: dict[str, Any]) -> float:
    h = r.get("hhi")
    return -float(h) if h is not None else math.inf


def check_stages(stages: Iterable[str] | None) -> list[str]:
    out = [s.strip().lower() for s in (stages or STAGES) if s.strip()]
    for st in out:
        if st not in STAGES:
            raise CritminError(f"unknown stage {st!r}: stages are {', '.join(STAGES)}")
    return out or list(STAGES)


def check_year(world: World, year: int) -> int:
    years = sorted(int(y) for y in world.supply_all_editions["year"].unique())
    if year not in years:
        raise UnknownYearError(
            f"no bundled production data for {year}: years are {', '.join(map(str, years))}"
        )
    return year


def assess(
    world: World,
    minerals: list[str] | None = None,
    stages: list[str] | None = None,
    year: int = 2024,
    zone: Zone | None = None,
) -> list[dict[str, Any]]:
    """One record per (mineral, stage, year), most concentrated (highest HHI) first."""
    stage_list = check_stages(stages)
    names = [world.check_mineral(m) for m in minerals] if minerals else bundled_minerals(world)
    check_year(world, year)
    ctx = _Context(world, year)
    records = []
    for mineral in names:
        for stage in stage_list:
            rec = assess_one(world, mineral, stage, year, zone, ctx)
            if rec is not None:
                records.append(rec)
    records.sort(key=_hhi_key)
    return records


# --------------------------------------------------------------------------------- NIR


def _salient_amount(row: pd.Series | None) -> tuple[float | None, str | None]:
    """A salient value: the number, 0 for USGS '—' (none), None for W / NA; and its text."""
    if row is None:
        return None, None
    text = None if pd.isna(row["value_text"]) else str(row["value_text"])
    v = _f(row["value"])
    reason = None if pd.isna(row["missing_reason"]) else str(row["missing_reason"])
    if v is not None and reason != "band":
        return v, text
    if reason == "--":
        return 0.0, text
    if reason == "band" and text is not None and text.casefold().startswith("less than ½"):
        return 0.0, text  # USGS: less than half the unit, i.e. 0 at the published rounding
    return None, text


def _salient_sum(rows: pd.DataFrame) -> tuple[float | None, str | None]:
    """The sum of the selected series (None if none is selected or one is W / NA), and the
    published texts joined with ' + '."""
    if rows.empty:
        return None, None
    parts = [_salient_amount(r) for _, r in rows.iterrows()]
    texts = [t for _, t in parts if t is not None]
    text = " + ".join(texts) if texts else None
    if any(v is None for v, _ in parts):
        return None, text
    return float(sum(v for v, _ in parts if v is not None)), text


@dataclass(frozen=True)
class NirSeries:
    """Which published series of each salient statistic USGS's NIR of a mineral uses.

    Each field is a regular expression searched (case-insensitively) in the ``detail`` of the
    rows of that statistic; every matching row is summed. It has to match both the MCS2026
    wording (``Production, Smelter: Primary``) and the MCS2023-2025 CSV header words
    (``smelter_primary``). ``None`` keeps the default choice (:func:`select_nir_series`).

    ``numerator`` says how the NIR is recomputed:

    * ``"net_imports"``: (imports - exports - stock change) / consumption (USGS's definition);
    * ``"consumption_less_production"``: (apparent consumption - production) / apparent
      consumption, the same quantity by USGS's identity apparent consumption = production +
      imports - exports +/- stock changes; for minerals where USGS does not publish every
      trade or stock series it adds up (:func:`~critmin.metrics.dependence.
      net_import_reliance_from_consumption`);
    * ``"imports"``: imports / consumption, where USGS defines the NIR as imports.

    ``why`` gives the evidence in the rows for the choice (shown in the record's notes).
    """

    nir: str | None = None
    consumption: str | None = None
    production: str | None = None
    imports: str | None = None
    exports: str | None = None
    stocks: str | None = None
    numerator: Literal["net_imports", "consumption_less_production", "imports"] = "net_imports"
    why: str = ""


NIR_SERIES: dict[str, NirSeries] = {
    "antimony": NirSeries(
        production=r"smelter",
        imports=r".",
        exports=r".",
        numerator="consumption_less_production",
        why="apparent consumption = smelter output (primary and secondary) + net imports +/- "
        "stock changes; USGS publishes no stock change, so net imports are apparent "
        "consumption less smelter output (mine output is smelted at home, not added again)",
    ),
    "arsenic": NirSeries(
        imports=r"total",
        numerator="imports",
        why="no U.S. production: USGS defines the NIR as imports (all forms: the 'Total' row) "
        "over estimated consumption, which it sets equal to total imports",
    ),
    "beryllium": NirSeries(
        numerator="consumption_less_production",
        why="apparent consumption = mine shipments + net imports +/- stock changes, including "
        "Government stockpile shipments USGS does not publish (NA), so net imports are "
        "apparent consumption less mine shipments",
    ),
    "cobalt": NirSeries(
        production=r"secondary",
        numerator="consumption_less_production",
        why="apparent consumption = secondary production + net imports +/- stock changes (U.S. "
        "mine output leaves as concentrate: secondary + imports - exports - stock change gives "
        "the published apparent consumption, adding mine output does not); USGS's government "
        "stock changes are not all published",
    ),
    "copper": NirSeries(
        production=r"primary|old|post.?consumer",
        imports=r"refined",
        exports=r"refined",
        numerator="consumption_less_production",
        why="apparent consumption of primary refined copper and copper from old scrap = "
        "primary refinery output + copper from old scrap + refined net imports +/- stock "
        "changes (the refinery's secondary output is part of old-scrap copper; mine output is "
        "refined at home or exported as concentrate)",
    ),
    "nickel": NirSeries(
        consumption=r"appar.*total",
        imports=r"primary",
        exports=r"primary",
        stocks=r"consumer",
        why="NIR over total apparent consumption (primary + secondary): scrap consumed counts as "
        "domestic secondary supply, so the numerator is net imports of primary nickel (not "
        "scrap, not ore and concentrate, which follow U.S. mine output) less the change in "
        "consumer stocks",
    ),
    "rare_earths": NirSeries(
        nir=r"compound",
        consumption=r"compound",
        production=r"compound",
        imports=r"compound|metal|alloy",
        exports=r"metal|alloy",
        numerator="consumption_less_production",
        why="the NIR of compounds and metals (USGS also prints 'E' for mineral concentrates): "
        "USGS publishes exports of compounds only together with ores, so net imports are "
        "apparent consumption of compounds and metals less their U.S. production",
    ),
    "strontium": NirSeries(
        consumption=r"total",
        imports=r".",
        exports=r".",
        why="total apparent consumption covers celestite and compounds (both in strontium "
        "content), so imports and exports of both forms are summed; no U.S. production",
    ),
    "tin": NirSeries(
        production=r"old",
        imports=r"refined",
        exports=r"refined",
        numerator="consumption_less_production",
        why="apparent consumption of refined tin = refined net imports + tin from old scrap +/- "
        "stock changes (new scrap recirculates within industry)",
    ),
    "vanadium": NirSeries(
        production=r".",
        imports=r".",
        exports=r".",
        why="apparent consumption covers every form (ores, ash and residues, pentoxide, "
        "ferrovanadium, chemicals, metal; all in vanadium content), so imports and exports of "
        "all forms are summed; production is primary (nil) plus output from ash, residues and "
        "spent catalysts",
    ),
}
"""Reviewed choice of salient series per critmin mineral, where the default picks the wrong
one. Checked against USGS's identity (production + imports - exports +/- stock changes =
apparent consumption) on the MCS2026 rows for 2021-2025, not tuned to the published NIR."""

_BASIS_PATTERNS = {
    "apparent": r"appar|apprnt",
    "reported": r"report|rprtd",
    "estimated": r"estim|(?:^|[^a-z])est(?:[^a-z]|$)",
}
_ANY_BASIS = "|".join(f"(?:{p})" for p in _BASIS_PATTERNS.values())
_QUALIFIER_STOP = frozenset(
    {"net", "import", "reliance", "as", "a", "percentage", "of", "the", "and", "all", "form"}
    | {"total", "content"}
)
"""Words of an NIR's detail (plurals folded) that name no form of the commodity."""


def _words(text: str) -> set[str]:
    """Lower-case words of a detail, plurals folded (``Compounds`` -> ``compound``)."""
    out = set()
    for w in re.findall(r"[a-z0-9]+", text.casefold()):
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def nir_basis(nir_detail: str) -> tuple[str | None, frozenset[str]]:
    """The consumption a published NIR is a percentage of, and the form it names.

    ``"Net import reliance as a percentage of apparent consumption: Compounds and metals"``
    -> ``("apparent", {"compound", "metal"})``; the CSV header words ``compounds_metals`` ->
    ``(None, {"compound", "metal"})`` (the kind of consumption is not named).
    """
    text = str(nir_detail)
    basis = next(
        (b for b, pat in _BASIS_PATTERNS.items() if re.search(pat, text, re.IGNORECASE)),
        None,
    )
    m = re.search(r"consumption(.*)$", text, re.IGNORECASE)
    tail = m.group(1) if m else text
    tail = re.sub(_ANY_BASIS, " ", tail, flags=re.IGNORECASE)
    return basis, frozenset(_words(tail) - _QUALIFIER_STOP)


def _default_series(rows: pd.DataFrame, qualifier: frozenset[str]) -> pd.DataFrame:
    """One series among several: the one naming the NIR's form, else a total, else the first
    USGS lists."""
    if len(rows) <= 1:
        return rows
    words = [_words(d) for d in rows["detail"]]
    if qualifier:
        named = [i for i, w in enumerate(words) if qualifier <= w]
        if named:
            return rows.iloc[named[:1]]
    totals = [i for i, w in enumerate(words) if "total" in w]
    if totals:
        return rows.iloc[totals[:1]]
    return rows.iloc[:1]


def _matching(rows: pd.DataFrame, pattern: str) -> pd.DataFrame:
    hit = rows["detail"].str.contains(pattern, case=False, regex=True, na=False)
    return rows[hit.to_numpy(dtype=bool)]


def select_nir_series(
    rows: pd.DataFrame, statistic: str, nir_detail: str, spec: NirSeries | None = None
) -> pd.DataFrame:
    """The salient rows (one mineral, edition and year) that USGS's NIR uses for a statistic.

    With a reviewed pattern for the mineral (:data:`NIR_SERIES`), every row whose ``detail``
    matches it. Otherwise:

    * ``consumption``: the consumption the published NIR is a percentage of (``apparent``,
      USGS's definition, unless it says ``reported`` or ``estimated``); else a series that
      names no kind; where the NIR does not name its kind (the CSV headers), any series.
      Among several, the one naming the NIR's form, else a ``total``, else the first. A
      reported consumption never stands in for a withheld apparent one;
    * other statistics: the series naming the NIR's form (``Ores and concentrates`` for the
      zinc ore NIR), else a ``total``, else the first USGS lists (usually the main one).
    """
    sub = rows[rows["statistic"] == statistic]
    if "detail" in sub.columns:
        sub = sub.assign(detail=sub["detail"].fillna("").astype(str))
    else:
        sub = sub.assign(detail="")
    pattern = getattr(spec, statistic, None) if spec is not None else None
    if pattern is not None:
        return _matching(sub, pattern)
    basis, qualifier = nir_basis(nir_detail)
    if statistic == "consumption":
        same = _matching(sub, _BASIS_PATTERNS[basis or "apparent"])
        if same.empty:
            kinds = sub["detail"].str.contains(_ANY_BASIS, case=False, regex=True, na=False)
            same = sub[~kinds.to_numpy(dtype=bool)]
        if same.empty and basis is None:
            same = sub
        sub = same
    return _default_series(sub, qualifier)


def us_nir(world: World, mineral: str, year: int, edition: str | None = None) -> dict[str, Any]:
    """U.S. net import reliance from the USGS salient statistics, beside the published value.

    The components (production, imports, exports, consumption, year-end stocks) and the
    published ``nir_pct`` come from one edition: ``edition`` if given, else the newest that
    publishes the year. Where a statistic has several series (mine and secondary production,
    ore and refined imports, reported and apparent consumption), the one USGS's NIR uses is
    taken (:func:`select_nir_series`, :data:`NIR_SERIES`); ``series`` in the record lists
    the rows used.

    NIR = (imports - exports - stock change) / consumption, over the consumption the published
    NIR names (USGS's apparent consumption, which includes secondary production), else
    apparent consumption computed from production and net trade; where U.S. production is nil
    (USGS "—"), apparent consumption is net imports by USGS's definition, so NIR is 100 % for a
    net importer. For the minerals whose :data:`NIR_SERIES` entry says so, NIR = (apparent
    consumption - production) / apparent consumption (the same by USGS's identity) or imports
    / consumption. Computed by :mod:`critmin.metrics.dependence` and compared with
    :func:`critmin.metrics.dependence.matches_usgs` (``None`` when there is nothing to
    compare: the computed or the published value is missing).
    """
    ids = SALIENT_IDS.get(mineral, (mineral,))
    u = world.us_salient
    sub = u[u["mineral"].isin(ids) & (u["year"] == year)]
    rec: dict[str, Any] = {
        "country": "USA",
        "mineral": mineral,
        "stage": None,
        "year": year,
        "method": "usgs_salient",
        "nir": None,
        "published_nir": None,
        "matches_usgs": None,
        "coverage": 0.0,
    }
    with_nir = sub[sub["statistic"] == "nir_pct"]
    if edition is not None:
        with_nir = with_nir[with_nir["edition"] == edition]
    if with_nir.empty:
        return rec | {
            "reason": f"no USGS salient statistics for {mineral} in {year}"
            + (f" in {edition}" if edition else ""),
            "sources": [],
        }
    edition = str(max(map(str, with_nir["edition"])))
    ed = u[u["mineral"].isin(ids) & (u["edition"] == edition)]
    this_year = ed[ed["year"] == year]
    spec = NIR_SERIES.get(mineral)
    nir_rows = this_year[this_year["statistic"] == "nir_pct"]
    if spec is not None and spec.nir is not None:
        named = _matching(nir_rows.assign(detail=nir_rows["detail"].fillna("")), spec.nir)
        nir_rows = named if len(named) else nir_rows
    published_row = nir_rows.iloc[0]
    nir_detail = str(published_row["detail"]) if pd.notna(published_row["detail"]) else ""
    published = str(published_row["value_text"]).strip()
    series: dict[str, list[str]] = {"nir_pct": [nir_detail]}

    def pick(stat: str) -> pd.DataFrame:
        chosen = select_nir_series(this_year, stat, nir_detail, spec)
        if len(chosen):
            series[stat] = [str(d) for d in chosen["detail"]]
        return chosen

    prod_rows = pick("production")
    prod, prod_t = _salient_sum(prod_rows)
    imp_rows = pick("imports")
    exp_rows = pick("exports")
    imp, imp_t = _salient_sum(imp_rows)
    exp, exp_t = _salient_sum(exp_rows)
    cons_rows = pick("consumption")
    cons, cons_t = _salient_sum(cons_rows)
    change, _ = _salient_sum(pick("stock_change"))
    notes: list[str] = []
    if cons is None:
        if len(cons_rows):
            notes.append(
                f"USGS consumption ({'; '.join(series['consumption'])}) is {cons_t}: "
                "not replaced by another consumption series"
            )
        elif (this_year["statistic"] == "consumption").any():
            notes.append(
                "USGS publishes no consumption of the kind its NIR divides by: the other "
                "consumption series are not used"
            )
    if change is None:
        stocks = pick("stocks")
        s1, _ = _salient_sum(stocks)
        last = ed[(ed["year"] == year - 1) & (ed["statistic"] == "stocks")]
        last = last[last["detail"].fillna("").isin(stocks["detail"])]
        s0, _ = _salient_sum(last) if len(last) == len(stocks) else (None, None)
        if s1 is not None and s0 is not None:
            change = s1 - s0
            notes.append(f"stock change = year-end stocks {year} - {year - 1}")
    unit_row = next((r.iloc[0] for r in (imp_rows, exp_rows, prod_rows) if len(r)), None)
    unit = None if unit_row is None else str(unit_row["unit"])
    numerator = spec.numerator if spec is not None else "net_imports"
    if numerator == "consumption_less_production":
        det = dependence.net_import_reliance_from_consumption(cons, prod)
        if det.net_imports == 0 and imp is not None and exp is not None and imp < exp:
            # consumption = production at USGS's rounding: the published trade gives the sign
            det = replace(
                det,
                net_exporter=True,
                reason="apparent consumption equals production and exports exceed imports: "
                "USGS prints 'E'; reported as 0",
            )
        notes.insert(
            0,
            "NIR = (USGS apparent consumption - the production counted in it) / apparent "
            "consumption (= net imports with stock adjustments, by USGS's identity)",
        )
        needed = [cons, prod]
    elif numerator == "imports":
        det = dependence.net_import_reliance_detail(imp, 0.0, prod, 0.0, cons)
        notes.insert(0, "NIR = imports / consumption, as USGS defines it for this mineral")
        needed = [imp, cons]
    else:
        # no U.S. production: apparent consumption is net imports, NIR 100 % for a net importer
        det = dependence.net_import_reliance_detail(
            imp, exp, prod, change, None if prod == 0 else cons
        )
        if det.consumption_basis == "given":
            notes.insert(0, "denominator: USGS published consumption")
        elif det.consumption_basis == "apparent":
            notes.insert(
                0,
                "denominator: apparent consumption = production + imports - exports - stock "
                "change"
                + (
                    " (no U.S. production: apparent consumption is net imports)"
                    if prod == 0
                    else ""
                ),
            )
        needed = [imp, exp, cons if cons is not None else prod, change]
    if spec is not None and spec.why:
        notes.append(f"series: {spec.why}")
    matches: bool | None
    try:
        comparable = det.value is not None or det.net_exporter
        matches = dependence.matches_usgs(det, published) if published and comparable else None
    except MetricInputError:
        matches = None
        notes.append(f"published NIR {published!r} is not a number or band: nothing to compare")
    if matches is False:
        notes.append(
            "does not reproduce the published figure from the series used (see 'series'): "
            "USGS may have used components it does not publish (stock changes, secondary "
            "production) or other forms"
        )
    coverage = sum(v is not None for v in needed) / len(needed) if det.value is not None else 0.0
    src = str(ed["source_file"].iloc[0]) if len(ed) else ""
    return rec | {
        "edition": edition,
        "unit": unit,
        "production": prod,
        "production_text": prod_t,
        "imports": imp,
        "imports_text": imp_t,
        "exports": exp,
        "exports_text": exp_t,
        "stock_change": change,
        "consumption": cons,
        "consumption_text": cons_t,
        "consumption_basis": det.consumption_basis,
        "nir": det.value,
        "nir_text": det.text,
        "nir_band": dependence.nir_band(det.value) if det.value is not None else None,
        "net_exporter": det.net_exporter,
        "published_nir": published,
        "matches_usgs": matches,
        "coverage": coverage,
        "reason": det.reason,
        "series": series,
        "notes": notes,
        "sources": [f"USGS {edition} U.S. salient statistics ({src})"],
    }


def _unit_value(f: pd.DataFrame, has_q: pd.Series) -> float | None:
    """World unit value (USD/t) of the flows with a quantity, None without any."""
    if not bool(has_q.any()):
        return None
    return float(f.loc[has_q, "value_usd"].sum() / f.loc[has_q, "quantity_t"].sum())


_REASON_WORDS = {
    "W": "withheld",
    "NA": "not available",
    "blank": "not published",
    "XX": "not applicable",
}


def nir_from_trade(
    world: World, country: str, mineral: str, stage: str, year: int
) -> dict[str, Any]:
    """Net import reliance of any country from USGS production plus BACI trade in tonnes."""
    rec: dict[str, Any] = {
        "country": country,
        "mineral": mineral,
        "stage": stage,
        "year": year,
        "method": "production_plus_trade",
        "nir": None,
        "published_nir": None,
        "matches_usgs": None,
        "coverage": 0.0,
        "sources": [],
    }
    prod = product_at(world, mineral, stage)
    supply = usgs_production(world, mineral, stage, year)
    if prod is None:
        others = world.products[world.products["mineral"] == mineral]
        where = (
            f"the bundled traded product ({others['product_id'].iloc[0]}, HS "
            f"{others['hs6'].iloc[0]}) is at the {others['stage'].iloc[0]} stage"
            if len(others)
            else "no traded product is bundled"
        )
        return rec | {"reason": f"no bundled traded product at the {stage} stage: {where}"}
    pid = str(prod["product_id"])
    rec["product_id"] = pid
    if supply is None:
        return rec | {
            "reason": f"no USGS {stage} production of {mineral} for {year}: national output "
            "unknown (EU shares are not tonnes of the year)"
        }
    why = _compatible(supply.content_basis, prod)
    cf = _f(prod["content_factor"])
    if why or cf is None or cf <= 0:
        return rec | {"reason": why or f"{pid} has no content factor"}
    f = _trade(world, pid)
    has_q = f["quantity_t"].notna() & (f["quantity_t"] > 0)
    uv = _unit_value(f, has_q)
    uv_note = None
    if uv is None and world.year != 2024:
        from critmin.world import load_world

        f24 = _trade(load_world(2024), pid)
        uv = _unit_value(f24, f24["quantity_t"].notna() & (f24["quantity_t"] > 0))
        uv_note = (
            f"BACI {world.year} has no quantities: tonnes = values / the 2024 world unit value"
        )
    if uv is None:
        return rec | {"reason": f"BACI {world.year} has no quantities for {pid}: tonnes unknown"}
    q = f["quantity_t"].where(has_q, f["value_usd"] / uv)
    into, outof = f["importer"] == country, f["exporter"] == country
    imports = float(q[into].sum()) * cf
    exports = float(q[outof].sum()) * cf
    traded = float(f.loc[into | outof, "value_usd"].sum())
    measured = float(f.loc[(into | outof) & has_q, "value_usd"].sum())
    trade_cov = measured / traded if traded > 0 else 1.0
    notes = [
        f"imports and exports of {pid} (HS {prod['hs6']}) in BACI {world.year} x content factor {cf:g}",
    ]
    if uv_note:
        notes.append(uv_note)
    elif trade_cov < 1:
        notes.append(
            f"{1 - trade_cov:.0%} of the trade value has no quantity: tonnes estimated at the world unit value"
        )
    if world.year != year:
        notes.append(f"production of {year} against trade of {world.year}")
    if prod.get("caveat"):
        notes.append(f"product caveat: {prod['caveat']}")
    values = supply.values
    reason: str | None = None
    if country in values.index:
        production = _f(values[country])
        if production is None:
            code = supply.reasons.get(country, "missing")
            reason = (
                f"USGS {stage} production of {country} is {code} ({_REASON_WORDS.get(code, 'missing')}): "
                "apparent consumption cannot be computed"
            )
    else:
        production = 0.0
        notes.append("not listed by USGS as a producer: production taken as 0")
    det = dependence.net_import_reliance_detail(imports, exports, production, None)
    published, matches = None, None
    if country == "USA":
        pub = us_nir(world, mineral, year)
        published = pub.get("published_nir")
        if published is not None and det.value is not None:
            try:
                matches = dependence.matches_usgs(det, published)
            except MetricInputError:
                matches = None
        if published is not None:
            notes.append(
                "published: the USGS salient NIR of the mineral, which may refer to another "
                "form or stage than this product; a cross-check, not a test"
            )
    return rec | {
        "published_nir": published,
        "matches_usgs": matches,
        "unit": f"t ({supply.content_basis})",
        "production": production,
        "imports": imports,
        "exports": exports,
        "stock_change": None,
        "consumption": det.consumption,
        "consumption_basis": det.consumption_basis,
        "nir": det.value,
        "nir_text": det.text,
        "nir_band": dependence.nir_band(det.value) if det.value is not None else None,
        "net_exporter": det.net_exporter,
        "coverage": trade_cov if det.value is not None else 0.0,
        "reason": reason or det.reason,
        "notes": notes,
        "sources": [supply.source, f"CEPII BACI HS17 V202601 {world.year} ({pid}, tonnes)"],
    }


def nir_view(
    world: World,
    country: str = "USA",
    minerals: list[str] | None = None,
    stages: list[str] | None = None,
    year: int = 2024,
) -> list[dict[str, Any]]:
    """Net import reliance of ``country`` by mineral (and stage, for the trade-based method).

    For the USA the first record of each mineral is the USGS salient-statistics figure; every
    country gets the production-plus-trade figure for each stage that has production
    statistics or a traded product (``reason`` says why it is missing where it is).
    """
    codes = world.resolve_countries(country)
    if len(codes) != 1:
        raise UnknownCountryError(
            f"--country takes one country, got {country!r} ({len(codes)} countries)"
        )
    code = codes[0]
    stage_list = [s for s in check_stages(stages) if s != "product"]
    names = [world.check_mineral(m) for m in minerals] if minerals else bundled_minerals(world)
    check_year(world, year)
    out: list[dict[str, Any]] = []
    for mineral in names:
        if code == "USA":
            out.append(us_nir(world, mineral, year))
        for stage in stage_list:
            has_prod = usgs_production(world, mineral, stage, year) is not None
            if has_prod or product_at(world, mineral, stage) is not None:
                out.append(nir_from_trade(world, code, mineral, stage, year))
    cleaned: list[dict[str, Any]] = [clean(r) for r in out]
    return cleaned


# --------------------------------------------------------------------------------- criticality

EU_GROUPS = {
    **dict.fromkeys(("cerium", "lanthanum", "neodymium", "praseodymium", "samarium"), "lree"),
    **dict.fromkeys(
        (
            "dysprosium",
            "erbium",
            "europium",
            "gadolinium",
            "holmium",
            "lutetium",
            "terbium",
            "thulium",
            "ytterbium",
            "yttrium",
        ),
        "hree",
    ),
    **dict.fromkeys(("platinum", "palladium", "iridium", "rhodium", "ruthenium"), "pgm"),
}
"""EU 2023 assesses these materials as a group (LREEs, HREEs, PGMs): the official SR and EI of
the group stand beside each member."""


def criticality_view(
    world: World, minerals: list[str] | None = None, wgi_year: int | None = None
) -> pd.DataFrame:
    """EU 2023 supply-risk building blocks recomputed from the bundled shares, t and WGI,
    beside the EU's official SR and EI of 2023.

    One row per EU material and stage (extraction E, processing P) with global shares:
    the top country and its share, HHI, HHI_WGI,t on global supply and on EU sourcing, their
    coverage. The official SR also includes import reliance, substitution and recycling and is
    taken at the bottleneck stage, so it is not expected to equal either block.
    """
    years = sorted(int(y) for y in world.wgi["year"].unique())
    wy = wgi_year if wgi_year is not None else max(years)
    wgi = criticality.scale_wgi_eu(criticality.wgi_average(world.wgi, wy))
    groups = _tables(world).eu
    ids: set[str] = {str(k[0]) for k in groups}
    if minerals:
        ids = set()
        for m in (world.check_mineral(x) for x in minerals):
            for code in ("E", "P"):
                mid = eu_material(world, m, code)
                if mid:
                    ids.add(mid)
        if not ids:
            raise CritminError(f"the EU CRM 2023 tables have no material for {', '.join(minerals)}")
    off = world.eu_sr_ei[world.eu_sr_ei["year"] == 2023].set_index("material_id")
    rows = []
    for (mid, code, scope), sub in sorted(groups.items()):
        if scope != "global" or mid not in ids:
            continue
        country = sub["country"].astype(str).to_numpy()
        shares = sub["share"].astype(float).groupby(country).sum()
        t = sub["t"].astype(float).groupby(country).first()
        g = criticality.hhi_wgi_t_detail(shares.clip(upper=1.0), wgi.reindex(shares.index), t)
        es = groups.get((mid, code, "eu"))
        e_block = None
        e_cov = None
        if es is not None and len(es):
            ec = es["country"].astype(str).to_numpy()
            e_shares = es["share"].astype(float).groupby(ec).sum()
            e_t = es["t"].astype(float).groupby(ec).first()
            ed = criticality.hhi_wgi_t_detail(
                e_shares.clip(upper=1.0), wgi.reindex(e_shares.index), e_t
            )
            e_block, e_cov = ed.value, ed.coverage
        named = shares.drop(list(AGGREGATES), errors="ignore").sort_values(ascending=False)
        official = str(mid)
        if official not in off.index or _f(off["sr"].get(official)) is None:
            official = EU_GROUPS.get(official, official)
        sr = _f(off["sr"].get(official)) if official in off.index else None
        ei = _f(off["ei"].get(official)) if official in off.index else None
        rows.append(
            {
                "material": str(sub["material"].iloc[0]),
                "material_id": str(mid),
                "stage": "extraction" if code == "E" else "processing",
                "top_country": str(named.index[0]) if len(named) else None,
                "top_share": float(named.iloc[0]) if len(named) else None,
                "hhi": float((named**2).sum()),
                "hhi_wgi_t_global": g.value,
                "coverage_global": g.coverage,
                "hhi_wgi_t_eu_sourcing": e_block,
                "coverage_eu_sourcing": e_cov,
                "official_sr_2023": sr,
                "official_ei_2023": ei,
                "official_material": official if sr is not None or ei is not None else None,
                "wgi_year": wy,
                "wgi_defaulted": ", ".join(g.wgi_defaulted),
            }
        )
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    return df.sort_values(["hhi_wgi_t_global", "material_id"], ascending=[False, True]).reset_index(
        drop=True
    )


__all__ = [
    "STAGES",
    "Supply",
    "Zone",
    "assess",
    "assess_one",
    "bundled_minerals",
    "clean",
    "criticality_view",
    "eu_material",
    "eu_shares",
    "export_shares",
    "nearest_trade_year",
    "nir_from_trade",
    "nir_view",
    "product_at",
    "source_summary",
    "stage_supply",
    "us_nir",
    "usgs_production",
]
