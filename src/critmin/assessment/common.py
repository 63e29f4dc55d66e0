"""What the assessment views share: the record type, the zone, the bundled tables indexed once,
the catalog look-ups (USGS ids, EU materials, traded products), input checks and sources."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NotRequired, Required, TypedDict

import pandas as pd

from critmin.baseline import ProductBaseline, bundled_baseline
from critmin.catalog import STAGES, crosswalks
from critmin.errors import CritminError, UnknownCountryError, UnknownYearError
from critmin.metrics import criticality
from critmin.world import World, trade_years

EU_PERIOD = "~2016-2020"
"""Reference period of the EU CRM 2023 supply shares."""
WGI_SOURCE = "World Bank WGI"


class AssessRecord(TypedDict, total=False):
    """One record of any assessment view (``supply``, ``nir``, ``criticality``), JSON-ready:
    shares are fractions 0-1, missing numbers are ``None``, and every record names its view,
    mineral, stage, year, the USGS edition it rests on (``None`` where none), its sources and
    notes. ``docs/assess.md`` lists the fields of each view."""

    view: Required[str]  # supply | nir | criticality
    mineral: Required[str]
    stage: Required[str | None]  # mine | refine | product; EU stage name in criticality
    year: Required[int]
    edition: Required[str | None]  # USGS MCS edition of the figures, None if not USGS
    sources: Required[list[str]]
    notes: Required[list[str]]
    coverage: NotRequired[float | None]
    # supply view: concentration
    hhi: NotRequired[float | None]
    hhi_10000: NotRequired[float | None]
    hhi_upper: NotRequired[float | None]
    top_supplier: NotRequired[str | None]
    top_supplier_share: NotRequired[float | None]
    top3_share: NotRequired[float | None]
    n_for_90: NotRequired[int | None]
    n_suppliers: NotRequired[int]
    supply_basis: NotRequired[str]
    supply_unit: NotRequired[str]
    supply_period: NotRequired[str]
    supply_material: NotRequired[str]
    world_total: NotRequired[float | None]
    trade_year: NotRequired[int]
    top_suppliers: NotRequired[list[dict[str, Any]]]
    missing: NotRequired[list[dict[str, Any]]]
    hhi_wgi_t: NotRequired[float | None]
    hhi_wgi_t_note: NotRequired[str]
    source: NotRequired[str]
    # supply view with a zone
    zone_supply_share: NotRequired[float | None]
    watch_supply_share: NotRequired[float | None]
    zone_basis: NotRequired[str | None]  # trade | production_proxy | None
    zone_reason: NotRequired[str | None]  # why there is no zone figure (None when there is)
    product_id: NotRequired[str | None]
    zone_note: NotRequired[str]
    zone_self_sufficiency: NotRequired[float | None]
    watch_share: NotRequired[float | None]
    zone_coverage: NotRequired[float | None]
    zone_demand_usd: NotRequired[float]
    zone_output_t: NotRequired[float]
    zone_demand_t: NotRequired[float]
    top_outside_suppliers: NotRequired[list[dict[str, Any]]]
    geopolrisk: NotRequired[float | None]
    geopolrisk_import_risk: NotRequired[float | None]
    geopolrisk_coverage: NotRequired[float | None]
    geopolrisk_note: NotRequired[str]
    zone_sources: NotRequired[list[str]]
    # nir view
    country: NotRequired[str]
    method: NotRequired[str]  # usgs_salient | production_plus_trade
    nir: NotRequired[float | None]
    nir_text: NotRequired[str | None]
    nir_band: NotRequired[str | None]
    published_nir: NotRequired[str | None]
    matches_usgs: NotRequired[bool | None]
    net_exporter: NotRequired[bool]
    reason: NotRequired[str | None]
    unit: NotRequired[str | None]
    production: NotRequired[float | None]
    production_text: NotRequired[str | None]
    imports: NotRequired[float | None]
    imports_text: NotRequired[str | None]
    exports: NotRequired[float | None]
    exports_text: NotRequired[str | None]
    stock_change: NotRequired[float | None]
    consumption: NotRequired[float | None]
    consumption_text: NotRequired[str | None]
    consumption_basis: NotRequired[str | None]
    series: NotRequired[dict[str, list[str]]]
    # criticality view
    material: NotRequired[str]
    material_id: NotRequired[str]
    eu_stage: NotRequired[str]  # E | P
    top_country: NotRequired[str | None]
    top_share: NotRequired[float | None]
    hhi_wgi_t_global: NotRequired[float | None]
    coverage_global: NotRequired[float | None]
    hhi_wgi_t_eu_sourcing: NotRequired[float | None]
    coverage_eu_sourcing: NotRequired[float | None]
    official_sr_2023: NotRequired[float | None]
    official_ei_2023: NotRequired[float | None]
    official_material: NotRequired[str | None]
    wgi_year: NotRequired[int]
    wgi_defaulted: NotRequired[str]


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


# --------------------------------------------------------------------------------- tables


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Arrow-backed string columns as Python objects (fast to group and compare)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_string_dtype(out[c]) and not pd.api.types.is_object_dtype(out[c]):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


class Tables:
    """The bundled tables indexed for the assessment's look-ups (built once per World)."""

    def __init__(self, world: World) -> None:
        sa = world.supply_all_editions
        prod = _plain(sa[sa["measure"] == "production"])
        self.production: dict[tuple[str, str, int], pd.DataFrame] = {
            (str(k[0]), str(k[1]), int(str(k[2]))): g
            for k, g in prod.groupby(["mineral", "stage", "year"])
        }
        self.supply_minerals = set(map(str, sa["mineral"].unique()))
        self.editions: dict[str, set[int]] = {
            str(e): set(map(int, g.unique())) for e, g in prod.groupby("edition")["year"]
        }
        eu = _plain(world.eu_supply_shares)
        self.eu: dict[tuple[str, str, str], pd.DataFrame] = {
            (str(k[0]), str(k[1]), str(k[2])): g
            for k, g in eu.groupby(["material_id", "stage", "scope"])
        }
        f = _plain(world.flows)
        self.flows = {str(k): g for k, g in f[f["exporter"] != f["importer"]].groupby("product_id")}
        self.products: dict[tuple[str, str], pd.Series | None] = {}
        self._traded: pd.DataFrame | None = None

    def traded(self, world: World) -> pd.DataFrame:
        """The catalog's products with flows in this year's data (one filter per World,
        not one per look-up: :meth:`World.flow_basis` groups every flow)."""
        if self._traded is None:
            self._traded = world.products[world.products["product_id"].isin(world.flow_basis())]
        return self._traded


_TABLES: dict[int, tuple[World, Tables]] = {}


def tables(world: World) -> Tables:
    """The indexed tables of ``world`` (kept for the last four worlds)."""
    hit = _TABLES.get(id(world))
    if hit is not None and hit[0] is world:
        return hit[1]
    t = Tables(world)
    if len(_TABLES) >= 4:
        _TABLES.pop(next(iter(_TABLES)))
    _TABLES[id(world)] = (world, t)
    return t


# --------------------------------------------------------------------------------- look-ups


def eu_stage(stage: str) -> str | None:
    """The EU CRM 2023 stage code of a critmin stage (``E``, ``P``; None for ``product``)."""
    return crosswalks.eu_stages().get(stage)


def usgs_ids(world: World, mineral: str, stage: str) -> tuple[str, ...]:
    """The USGS mineral ids of a critmin mineral's stage: its own id where USGS uses it, else
    the crosswalk's (``usgs_ids.csv``)."""
    if mineral in tables(world).supply_minerals:
        return (mineral,)
    return crosswalks.usgs_ids().get((mineral, stage), ())


def eu_rows(world: World, mid: str, code: str, scope: str = "global") -> pd.DataFrame | None:
    """The EU CRM 2023 share rows of a material at stage E or P."""
    return tables(world).eu.get((mid, code, scope))


def trade(world: World, pid: str) -> pd.DataFrame:
    """Cross-border flows of a product in the world's trade year (no domestic rows)."""
    empty = pd.DataFrame(columns=["exporter", "importer", "value_usd", "quantity_t"])
    return tables(world).flows.get(pid, empty)


def eu_material(world: World, mineral: str, code: str) -> str | None:
    """The EU CRM material id for a critmin mineral at stage E or P (None if the EU has none)."""
    mid = crosswalks.eu_materials().get((mineral, code), mineral)
    return mid if eu_rows(world, mid, code) is not None else None


def product_at(world: World, mineral: str, stage: str) -> pd.Series | None:
    """The bundled traded product of a mineral at a stage (a product that bundles several
    minerals, like HS 811292 for gallium and germanium, counts for each)."""
    t = tables(world)
    cache = t.products
    if (mineral, stage) not in cache:
        # a catalog product without flows in this year's data is not traded here
        p = t.traded(world)
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
    if not years:
        raise CritminError(
            "the dataset in use has no trade flows (its flows table is empty): see "
            "'critmin data info' and 'critmin data check'"
        )
    return min(years, key=lambda y: (abs(y - year), -y))


def compatible_units(supply_basis: str, product: pd.Series) -> str | None:
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


# --------------------------------------------------------------------------------- checks


def check_stages(stages: Iterable[str] | None) -> list[str]:
    """Stage codes, validated, each once (default: every stage)."""
    out = list(dict.fromkeys(s.strip().lower() for s in (stages or STAGES) if s.strip()))
    for st in out:
        if st not in STAGES:
            raise CritminError(f"unknown stage {st!r}: stages are {', '.join(STAGES)}")
    return out or list(STAGES)


def check_year(world: World, year: int) -> int:
    """A production year of the bundled USGS tables."""
    years = sorted(int(y) for y in world.supply_all_editions["year"].unique())
    if year not in years:
        raise UnknownYearError(
            f"no bundled production data for {year}: years are {', '.join(map(str, years))}"
        )
    return year


def check_edition(world: World, edition: str | None, year: int) -> str | None:
    """A bundled USGS MCS edition (``MCS2025``, case and spaces ignored) that publishes
    ``year``; None stays None (each figure from the newest edition publishing its year)."""
    if edition is None:
        return None
    ed = "".join(edition.split()).upper()
    published = tables(world).editions
    if ed not in published:
        raise CritminError(
            f"unknown edition {edition!r}: the bundled USGS editions are "
            f"{', '.join(sorted(published))}"
        )
    if year not in published[ed]:
        years = ", ".join(map(str, sorted(published[ed])))
        raise UnknownYearError(f"USGS {ed} publishes production for {years}, not {year}")
    return ed


def newest_edition(world: World, year: int) -> str:
    """The newest bundled USGS edition publishing production for ``year``."""
    eds = [e for e, ys in tables(world).editions.items() if year in ys]
    return max(eds) if eds else ""


# --------------------------------------------------------------------------------- context


class Context:
    """What one run computes once: governance scores, calibrated baselines."""

    def __init__(self, world: World, year: int, edition: str | None = None) -> None:
        self.world = world
        self.year = year
        self.edition = edition
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
        """The calibrated baseline of a bundled product (an error is kept and raised again)."""
        if pid not in self._baselines:
            try:
                self._baselines[pid] = bundled_baseline(self.world, pid)
            except CritminError as err:
                self._baselines[pid] = err
        b = self._baselines[pid]
        if isinstance(b, CritminError):
            raise b
        return b


# --------------------------------------------------------------------------------- sources


def source_summary(records: Iterable[dict[str, Any]] | Iterable[AssessRecord]) -> list[str]:
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
