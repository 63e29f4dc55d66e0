"""critmin.assess on the bundled data: published figures, NIR from components, zone measures.

Every number checked here is a published one (EU CRM 2023 tables, USGS MCS2026 world
production, USGS salient statistics) or is recomputed independently from the bundled tables.
The bundled dataset ships with the package, so none of these needs ../shared/data.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.assess import (
    Zone,
    assess,
    assess_one,
    clean,
    criticality_view,
    eu_shares,
    nir_from_trade,
    stage_supply,
    us_nir,
)
from critmin.errors import CritminError
from critmin.metrics import concentration, criticality, dependence
from critmin.model.calibrate import bundled_baseline
from critmin.world import World, load_world

CORE = ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"]


@pytest.fixture(scope="module")
def world() -> World:
    return load_world(2024)


@pytest.fixture(scope="module")
def zone(world: World) -> Zone:
    return Zone(world.resolve_countries(CORE), ["CHN"])


@pytest.fixture(scope="module")
def records(world: World) -> list[dict[str, Any]]:
    return assess(world, year=2024)


def _record(records: list[dict[str, Any]], mineral: str, stage: str) -> dict[str, Any]:
    hit = [r for r in records if r["mineral"] == mineral and r["stage"] == stage]
    assert len(hit) == 1, (mineral, stage)
    return hit[0]


# ------------------------------------------------------------------ EU CRM 2023 shares


def test_eu_processing_share_gallium_china_93_8(world: World) -> None:
    """EU CRM 2023 global processing (P) shares: gallium, China 93.8 %."""
    s = eu_shares(world, "gallium", "refine")
    assert s is not None and s.basis == "eu_shares"
    assert s.values["CHN"] == pytest.approx(0.938)
    view = criticality_view(world, ["gallium"]).set_index(["material_id", "stage"])
    row = view.loc[("gallium", "processing")]
    assert row["top_country"] == "CHN" and row["top_share"] == pytest.approx(0.938)


def test_eu_extraction_share_cobalt_drc_62_8(world: World) -> None:
    """EU CRM 2023 global extraction (E) shares: cobalt, DR Congo 62.8 %."""
    s = eu_shares(world, "cobalt", "mine")
    assert s is not None and s.values["COD"] == pytest.approx(0.628)
    view = criticality_view(world, ["cobalt"]).set_index(["material_id", "stage"])
    row = view.loc[("cobalt", "extraction")]
    assert row["top_country"] == "COD" and row["top_share"] == pytest.approx(0.628)
    # EU t for DRC cobalt extraction is 1.1 (export restrictions): the block uses it
    assert row["hhi_wgi_t_global"] > 0.628**2 * 1.1 * 5


def test_eu_shares_stay_fractions_of_the_world(records: list[dict[str, Any]]) -> None:
    """Cobalt refining (EU P shares, summing to 98.7 %): China 59.6 %, not renormalised."""
    r = _record(records, "cobalt", "refine")
    assert r["supply_basis"] == "eu_shares" and r["supply_period"] == "~2016-2020"
    assert r["top_supplier"] == "CHN" and r["top_supplier_share"] == pytest.approx(0.596)
    assert r["coverage"] == pytest.approx(0.987, abs=1e-9)
    assert "reference period ~2016-2020" in r["source"]


def test_criticality_view_official_sr_ei(world: World) -> None:
    view = criticality_view(world, ["lithium", "rare_earths"]).set_index(["material_id", "stage"])
    lith = view.loc[("lithium", "processing")]
    assert lith["official_sr_2023"] == pytest.approx(1.9)
    assert lith["official_ei_2023"] == pytest.approx(3.9)
    # neodymium is assessed within the EU's LREE group
    nd = view.loc[("neodymium", "processing")]
    assert nd["official_material"] == "lree" and nd["official_sr_2023"] == pytest.approx(3.7)
    # the recomputed block, by hand: sum s^2 x WGI_scaled x t over the EU's lithium P shares
    wgi = criticality.scale_wgi_eu(criticality.wgi_average(world.wgi, 2023))
    eu = world.eu_supply_shares
    sub = eu[(eu["material_id"] == "lithium") & (eu["stage"] == "P") & (eu["scope"] == "global")]
    by_hand = sum(
        float(r.share) ** 2 * float(wgi[r.country]) * float(r.t) for r in sub.itertuples()
    )
    assert lith["hhi_wgi_t_global"] == pytest.approx(by_hand)


# ------------------------------------------------------------------ USGS world production


def test_lithium_2024_mine_shares_against_the_mcs2026_world_total(
    records: list[dict[str, Any]],
) -> None:
    """MCS2026: world 222,000 t Li (rounded, excludes the withheld U.S.); Australia 82,700,
    Chile 48,900, China 41,400 (MCS2026 revises MCS2025's 88,000 for Australia)."""
    r = _record(records, "lithium", "mine")
    assert r["world_total"] == 222_000 and "MCS2026" in r["source"]
    shares = {s["country"]: s["share"] for s in r["top_suppliers"]}
    assert shares["AUS"] == pytest.approx(82_700 / 222_000)
    assert shares["CHL"] == pytest.approx(48_900 / 222_000)
    assert shares["CHN"] == pytest.approx(41_400 / 222_000)
    assert r["top_supplier"] == "AUS" and r["top_supplier_share"] == pytest.approx(0.3725, abs=1e-4)
    assert {"country": "USA", "reason": "W"} in r["missing"]
    # named countries exceed the rounded world total: coverage capped, and said
    assert r["coverage"] == 1.0 and any("rounded world total" in n for n in r["notes"])


def test_usgs_2025_world_totals(world: World) -> None:
    """MCS2026 2025 estimates: lithium world 290,000 t, Australia 92,000; DRC cobalt 230,000."""
    lith = stage_supply(world, "lithium", "mine", 2025)
    assert lith is not None and lith.values["WLD"] == 290_000 and lith.values["AUS"] == 92_000
    cob = assess(world, ["cobalt"], ["mine"], 2025)[0]
    assert cob["top_supplier"] == "COD"
    assert cob["top_supplier_share"] == pytest.approx(230_000 / cob["world_total"])


def test_silicon_keeps_the_metal_series_and_none_is_zero(records: list[dict[str, Any]]) -> None:
    """MCS2026 silicon holds ferrosilicon and silicon metal: only metal (world 5,500,000 t)."""
    si = _record(records, "silicon", "refine")
    assert si["world_total"] == 5_500_000
    assert si["top_supplier_share"] == pytest.approx(4_800_000 / 5_500_000)
    # USGS "—" (none) is zero, not missing: the U.S. has no graphite mine output
    gr = _record(records, "graphite", "mine")
    assert all(m["country"] != "USA" for m in gr["missing"])


def test_every_bundled_mineral_has_a_record(records: list[dict[str, Any]]) -> None:
    minerals = {r["mineral"] for r in records}
    assert {"lithium", "cobalt", "gallium", "germanium", "rare_earths", "nickel"} <= minerals
    keys = [(r["mineral"], r["stage"], r["year"]) for r in records]
    assert len(keys) == len(set(keys))
    assert [r["hhi"] for r in records] == sorted((r["hhi"] for r in records), reverse=True)


# ------------------------------------------------------------------ U.S. net import reliance


# (mineral, year, published NIR text in MCS2026): production is published for all of these
PUBLISHED_NIR = [
    ("feldspar", 2021, "28"),
    ("feldspar", 2022, "38"),
    ("feldspar", 2023, "12"),
    ("feldspar", 2024, "25"),
    ("feldspar", 2025, "18"),
    ("tin", 2022, "77"),
    ("tin", 2023, "73"),
    ("tin", 2024, "75"),
    ("platinum", 2021, "75"),
    ("platinum", 2024, "85"),
    ("palladium", 2022, "31"),
    ("palladium", 2024, "34"),
    ("beryllium", 2024, "E"),
    ("zinc", 2024, "E"),
    # no U.S. production (USGS "—"): apparent consumption is net imports, NIR 100 %
    ("graphite", 2024, "100"),
    ("manganese", 2024, "100"),
    ("niobium", 2025, "100"),
]


@pytest.mark.parametrize(("mineral", "year", "published"), PUBLISHED_NIR)
def test_us_nir_from_salient_components_matches_usgs(
    world: World, mineral: str, year: int, published: str
) -> None:
    r = us_nir(world, mineral, year)
    assert r["edition"] == "MCS2026" and r["published_nir"] == published
    assert r["matches_usgs"] is True, r
    if published == "E":
        assert r["net_exporter"] and r["nir"] == 0.0
    else:
        assert abs(100 * r["nir"] - float(published)) <= 1.0


def test_us_nir_2024_agreement_with_usgs(world: World) -> None:
    """Regression guard: how many bundled minerals' 2024 NIR reproduce the published one."""
    from critmin.assess import bundled_minerals

    recs = [us_nir(world, m, 2024) for m in bundled_minerals(world)]
    verdicts = [r["matches_usgs"] for r in recs]
    assert verdicts.count(True) >= 14 and verdicts.count(False) <= 8
    for r in recs:
        if r["matches_usgs"] is None and r["published_nir"] is not None:
            assert r["reason"]  # says why it cannot be recomputed


def test_us_nir_feldspar_2024_by_hand(world: World) -> None:
    """MCS2026 feldspar 2024: imports 153 kt, exports 5 kt, consumption 590 kt, production
    450 kt -> (153 - 5) / 590 = 25.1 %, USGS 25; over apparent consumption 450 + 148 = 598 kt
    it is 24.7 %, also 25."""
    r = us_nir(world, "feldspar", 2024)
    assert (r["production"], r["imports"], r["exports"], r["consumption"]) == (
        450_000,
        153_000,
        5_000,
        590_000,
    )
    assert r["consumption_basis"] == "given"
    assert r["nir"] == pytest.approx(148 / 590)
    apparent = dependence.net_import_reliance(153, 5, production=450)
    assert apparent == pytest.approx(148 / 598)
    assert dependence.matches_usgs(apparent, "25")


def test_us_nir_tin_2023_uses_the_stock_change(world: World) -> None:
    """Tin 2023: year-end stocks 10,900 t after 9,180 t: 1,720 t built up, which USGS deducts."""
    r = us_nir(world, "tin", 2023)
    assert r["stock_change"] == pytest.approx(1_720)
    assert r["nir"] == pytest.approx((28_200 - 918 - 1_720) / 35_000)
    assert r["nir_text"] == "73" == r["published_nir"]


@pytest.mark.parametrize(
    ("mineral", "year", "band"),
    [("magnesium", 2022, ">75"), ("magnesium", 2024, ">50"), ("titanium", 2024, ">95")],
)
def test_us_nir_published_bands(world: World, mineral: str, year: int, band: str) -> None:
    """USGS prints a band where the exact figure is withheld; the computed value satisfies it."""
    r = us_nir(world, mineral, year)
    assert r["published_nir"] == band and r["matches_usgs"] is True
    assert 100 * r["nir"] > float(band[1:])


def test_us_nir_lithium_2023_band_depends_on_the_edition(world: World) -> None:
    """Lithium 2023: MCS2024 printed '>25', MCS2026 '>50'. U.S. production and consumption
    are withheld (W), so the figure cannot be recomputed: nothing to compare, reason given."""
    latest = us_nir(world, "lithium", 2023)
    older = us_nir(world, "lithium", 2023, edition="MCS2024")
    assert latest["edition"] == "MCS2026" and latest["published_nir"] == ">50"
    assert older["edition"] == "MCS2024" and older["published_nir"] == ">25"
    for r in (latest, older):
        assert r["nir"] is None and r["matches_usgs"] is None and r["coverage"] < 1
        assert "withheld" in r["reason"]
    assert (latest["imports"], latest["exports"]) == (3_390, 1_960)


def test_us_nir_mismatch_is_explained(world: World) -> None:
    """Rare earths 2024 (USGS 53 %): the bundled first-row components (mine output, compound
    trade) make the U.S. a net exporter, so the figure does not reproduce, and says why."""
    r = us_nir(world, "rare_earths", 2024)
    assert r["published_nir"] == "53" and r["matches_usgs"] is False
    assert any("does not reproduce" in n for n in r["notes"])


def test_us_nir_unknown_mineral_year(world: World) -> None:
    r = us_nir(world, "coking_coal", 2024)
    assert r["nir"] is None and "no USGS salient statistics" in r["reason"]


def test_nir_from_trade_copper_cathode_usa(world: World) -> None:
    """U.S. refined copper 2024: USGS refinery output 921,000 t plus BACI cathode trade (t)."""
    r = nir_from_trade(world, "USA", "copper", "refine", 2024)
    f = world.product_flows("copper_cathode")
    f = f[f["exporter"] != f["importer"]]
    imports = float(f.loc[f["importer"] == "USA", "quantity_t"].sum())
    exports = float(f.loc[f["exporter"] == "USA", "quantity_t"].sum())
    assert r["production"] == 921_000
    assert r["imports"] == pytest.approx(imports, rel=1e-3)
    assert r["exports"] == pytest.approx(exports, rel=1e-3)
    net = r["imports"] - r["exports"]
    assert r["nir"] == pytest.approx(net / (921_000 + net))
    assert r["published_nir"] == "45"  # the salient NIR, shown as a cross-check


@pytest.mark.parametrize(
    ("country", "mineral", "stage", "why"),
    [
        ("USA", "lithium", "mine", "is at the refine stage"),
        ("USA", "titanium", "refine", "is W (withheld)"),
        ("CHL", "lithium", "refine", "no USGS refine production"),
        ("USA", "arsenic", "refine", "units differ"),
    ],
)
def test_nir_from_trade_says_why_not(
    world: World, country: str, mineral: str, stage: str, why: str
) -> None:
    r = nir_from_trade(world, country, mineral, stage, 2024)
    assert r["nir"] is None and why in r["reason"]


def test_nir_from_trade_net_exporter(world: World) -> None:
    """Australia mines 1.6 Mt Mn and exports most of it as ore: a net exporter ('E')."""
    r = nir_from_trade(world, "AUS", "manganese", "mine", 2024)
    assert r["net_exporter"] and r["nir_text"] == "E" and r["production"] == 1_600_000


# ------------------------------------------------------------------ zone measures


def test_zone_trade_basis_equals_the_dependence_metrics(world: World, zone: Zone) -> None:
    r = assess_one(world, "lithium", "refine", 2024, zone)
    assert r is not None and r["zone_basis"] == "trade" and r["product_id"] == "lithium_carbonate"
    base = bundled_baseline(world, "lithium_carbonate")
    V = base.V
    ii, jj = np.nonzero(~np.eye(base.n, dtype=bool) & (V > 0))
    c = np.array(base.countries)
    flows = pd.DataFrame({"exporter": c[ii], "importer": c[jj], "value": V[ii, jj]})
    dom = pd.Series(np.diag(V), index=base.countries)
    members = [m for m in zone.members]
    dom_m = pd.Series({m: float(dom.get(m, 0.0)) for m in members})
    ss = dependence.zone_self_sufficiency(flows, dom_m, members)
    ws = dependence.watch_share(flows, dom_m, members, ["CHN"])
    assert r["zone_self_sufficiency"] == pytest.approx(ss.value)
    assert r["watch_share"] == pytest.approx(ws.value)
    outside = sum(o["share_of_zone_demand"] for o in r["top_outside_suppliers"])
    assert r["zone_self_sufficiency"] + outside <= 1 + 1e-9
    assert 0 < r["zone_coverage"] <= 1  # part of domestic sales is estimated
    assert r["geopolrisk"] is not None and r["geopolrisk"] > 0


def test_zone_of_every_country_is_self_sufficient(world: World) -> None:
    everyone = bundled_baseline(world, "copper_cathode").countries
    r = assess_one(world, "copper", "refine", 2024, Zone(everyone, []))
    assert r is not None and r["zone_self_sufficiency"] == pytest.approx(1.0)
    assert r["watch_share"] is None and r["geopolrisk"] == pytest.approx(0.0)


def test_zone_proxy_where_no_product_is_traded(world: World, zone: Zone) -> None:
    """Cobalt mining has no traded product: zone mine output over the zone's cobalt demand in
    cobalt oxides (Co tonnes), labelled a proxy."""
    r = assess_one(world, "cobalt", "mine", 2024, zone)
    assert r is not None and r["zone_basis"] == "production_proxy"
    assert r["product_id"] == "cobalt_oxides" and "PROXY" in r["zone_note"]
    supply = stage_supply(world, "cobalt", "mine", 2024)
    assert supply is not None
    named = supply.values.drop(["WLD", "OTH"], errors="ignore")
    assert r["zone_output_t"] == pytest.approx(float(named[named.index.isin(zone.members)].sum()))
    ratio = r["zone_output_t"] / r["zone_demand_t"]
    assert r["zone_self_sufficiency"] == pytest.approx(min(ratio, 1.0))
    assert 0 <= r["watch_share"] <= 1 - r["zone_self_sufficiency"] + 1e-12
    assert r["geopolrisk"] is None


@pytest.mark.parametrize(
    ("mineral", "stage", "why"),
    [
        ("rare_earths", "mine", "nor one stage down"),  # REE oxides/compounds not bundled
        ("titanium", "mine", "units differ"),  # TiO2 in concentrates vs Ti metal in sponge
        ("manganese", "refine", "no national output in tonnes"),  # EU shares only
    ],
)
def test_zone_without_basis_says_why(
    world: World, zone: Zone, mineral: str, stage: str, why: str
) -> None:
    r = assess_one(world, mineral, stage, 2024, zone)
    assert r is not None and r["zone_basis"] is None and r["zone_self_sufficiency"] is None
    assert why in r["zone_note"]
    top5 = sum(s["share"] for s in r["top_suppliers"] if s["country"] in zone.members)
    assert r["zone_supply_share"] >= top5 - 1e-12


def test_zone_geopolrisk_by_hand(world: World, zone: Zone) -> None:
    """GeoPolRisk = production HHI x sum over outside suppliers (share of zone demand x
    (2.5 - pv) / 5)."""
    r = assess_one(world, "gallium", "refine", 2024, zone)
    assert r is not None
    base = bundled_baseline(world, "gallium_germanium")
    mem = base.index(zone.members)
    demand = base.V[:, mem].sum()
    pv = world.wgi[(world.wgi["year"] == 2023) & (world.wgi["indicator"] == "pv")]
    g = ((2.5 - pv.set_index("country")["estimate"].astype(float)) / 5).clip(0, 1)
    risk = sum(
        base.V[k, mem].sum() / demand * float(g.get(c, 1.0))
        for k, c in enumerate(base.countries)
        if not mem[k]
    )
    assert r["geopolrisk"] == pytest.approx(r["hhi"] * risk)


def test_watch_country_inside_the_zone_is_refused(world: World) -> None:
    with pytest.raises(CritminError, match="also zone members"):
        Zone(["USA", "CHN"], ["CHN"])


# ------------------------------------------------------------------ properties on real records

SUPPLY_KEYS = [
    ("lithium", "mine"),
    ("cobalt", "mine"),
    ("copper", "refine"),
    ("nickel", "mine"),
    ("rare_earths", "mine"),
    ("gallium", "refine"),
    ("graphite", "mine"),
    ("tungsten", "refine"),
    ("rare_earths", "product"),
]


@settings(max_examples=30, deadline=None)
@given(key=st.sampled_from(SUPPLY_KEYS), factor=st.floats(1e-3, 1e3))
def test_real_supply_hhi_properties(world: World, key: tuple[str, str], factor: float) -> None:
    supply = stage_supply(world, key[0], key[1], 2024)
    assert supply is not None
    s = concentration.summarize(supply.values, supply.total)
    named = concentration.shares(supply.values, supply.total).drop(["OTH"], errors="ignore")
    named = named.dropna()
    top = float(named.max())
    assert top**2 - 1e-12 <= s.hhi <= top * float(named.sum()) + 1e-12
    assert s.top_supplier_share <= s.top3_share <= float(named.sum()) + 1e-12
    assert s.hhi <= s.hhi_upper and 0 <= s.coverage <= 1
    # Cauchy-Schwarz: n equal suppliers is the least concentrated way to reach the named sum
    assert s.hhi >= float(named.sum()) ** 2 / (named > 0).sum() - 1e-12
    # scaling every amount (tonnes -> kt, USD -> kUSD) changes nothing
    scaled = concentration.summarize(
        supply.values * factor, None if supply.total is None else factor
    )
    assert scaled.hhi == pytest.approx(s.hhi) and scaled.top_supplier == s.top_supplier


POOL = ["USA", "CAN", "AUS", "JPN", "KOR", "DEU", "FRA", "GBR", "CHL", "ARG", "IND", "BRA"]


@settings(max_examples=15, deadline=None)
@given(members=st.lists(st.sampled_from(POOL), min_size=1, max_size=6, unique=True))
def test_zone_shares_are_fractions_that_add_up(world: World, members: list[str]) -> None:
    r = assess_one(world, "lithium", "refine", 2024, Zone(members, ["CHN"]))
    assert r is not None
    if r["zone_basis"] is None:
        return
    ss, ws = r["zone_self_sufficiency"], r["watch_share"]
    assert 0 <= ss <= 1 and 0 <= ws <= 1 and ss + ws <= 1 + 1e-9
    assert 0 <= r["zone_coverage"] <= 1
    assert all(0 <= o["share_of_zone_demand"] <= 1 - ss + 1e-9 for o in r["top_outside_suppliers"])


def test_clean_makes_json_ready() -> None:
    out = clean(
        {"a": math.nan, "b": [np.float64(1.5), np.int64(2), (math.inf,)], "c": np.bool_(True)}
    )
    assert out == {"a": None, "b": [1.5, 2, [None]], "c": True}
