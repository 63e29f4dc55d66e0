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

from critmin.assessment import (
    Zone,
    assess,
    assess_one,
    clean,
    criticality_view,
    eu_shares,
    nir_basis,
    nir_from_trade,
    select_nir_series,
    stage_supply,
    us_nir,
    usgs_production,
)
from critmin.baseline import bundled_baseline
from critmin.errors import CritminError
from critmin.metrics import concentration, criticality, dependence
from critmin.world import World

CORE = ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"]


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
    ("tin", 2021, "80"),
    ("tin", 2022, "77"),
    ("tin", 2023, "73"),
    ("tin", 2024, "75"),
    ("platinum", 2021, "75"),
    ("platinum", 2024, "85"),
    ("palladium", 2022, "31"),
    ("palladium", 2024, "34"),
    ("beryllium", 2021, "11"),
    ("beryllium", 2024, "E"),
    ("beryllium", 2025, "E"),
    ("zinc", 2024, "E"),
    # several series per statistic: the one USGS's NIR uses (assess.NIR_SERIES)
    ("antimony", 2022, "81"),
    ("antimony", 2024, "86"),
    ("arsenic", 2024, "100"),
    ("cobalt", 2022, "73"),
    ("cobalt", 2024, "74"),
    ("cobalt", 2025, "79"),
    ("copper", 2021, "44"),
    ("copper", 2024, "45"),
    ("fluorspar", 2024, "100"),
    ("nickel", 2023, "41"),
    ("nickel", 2024, "43"),
    ("rare_earths", 2024, "53"),
    ("rare_earths", 2025, "67"),
    ("strontium", 2024, "100"),
    ("vanadium", 2023, "55"),
    ("vanadium", 2024, "46"),
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
    """Regression guard: every bundled mineral whose 2024 NIR can be recomputed reproduces the
    published one. With only the first series of each statistic (the bundled table before
    it kept ``detail``), 8 did not (antimony, arsenic, cobalt, fluorspar, nickel, rare
    earths, strontium, vanadium) and copper could not be recomputed."""
    from critmin.assessment import bundled_minerals

    recs = {m: us_nir(world, m, 2024) for m in bundled_minerals(world)}
    verdicts = [r["matches_usgs"] for r in recs.values()]
    assert verdicts.count(False) == 0, [m for m, r in recs.items() if r["matches_usgs"] is False]
    assert verdicts.count(True) >= 23
    for r in recs.values():
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
    # apparent consumption of feldspar, not of feldspar and nepheline syenite (1,000 kt)
    assert r["series"]["consumption"] == ["Consumption, apparent: Feldspar"]
    assert r["consumption_basis"] == "given"
    assert r["nir"] == pytest.approx(148 / 590)
    apparent = dependence.net_import_reliance(153, 5, production=450)
    assert apparent == pytest.approx(148 / 598)
    assert dependence.matches_usgs(apparent, "25")


def test_us_nir_titanium_says_it_is_the_sponge_figure(world: World) -> None:
    """critmin's titanium NIR is USGS's titanium sponge NIR (>95 for 2024); USGS also prints
    87 for titanium mineral concentrates (the mine stage). The record said neither, so its
    '>95' looked like a mismatch with the concentrates figure; the note names both."""
    r = us_nir(world, "titanium", 2024)
    assert r["published_nir"] == ">95" and r["matches_usgs"] is True
    u = world.us_salient
    conc = u[
        (u["mineral"] == "titanium_mineral_concentrates")
        & (u["statistic"] == "nir_pct")
        & (u["year"] == 2024)
        & (u["edition"] == r["edition"])
    ]
    assert list(conc["value_text"]) == ["87"]
    note = " ".join(r["notes"])
    assert "titanium sponge metal NIR" in note and "mineral concentrates" in note
    assert "(87 for 2024" in note


def test_us_nir_cobalt_2024_uses_apparent_consumption_and_secondary_output(world: World) -> None:
    """Cobalt 2024 (USGS 74 %): USGS divides by apparent consumption, 7,960 t, the second
    consumption series (the first, estimated consumption 7,830 t, gave 75.6 %). Apparent
    consumption counts secondary output (2,050 t), not the 200 t of mine output that leaves as
    concentrate: (7,960 - 2,050) / 7,960 = 74.2 %. Net imports less the industry stock
    build-up give the same: (10,800 - 4,880 - 31) / 7,960 = 74.0 %."""
    r = us_nir(world, "cobalt", 2024)
    assert r["series"]["consumption"] == ["Consumption (includes secondary): Apparent"]
    assert r["series"]["production"] == ["Production: Secondary"]
    assert (r["consumption"], r["production"]) == (7_960, 2_050)
    assert r["nir"] == pytest.approx((7_960 - 2_050) / 7_960)
    assert (r["imports"], r["exports"], r["stock_change"]) == (10_800, 4_880, 31)
    net = dependence.net_import_reliance(10_800, 4_880, stock_change=31, consumption=7_960)
    assert net == pytest.approx((10_800 - 4_880 - 31) / 7_960)
    assert r["nir_text"] == "74" == r["published_nir"] and dependence.matches_usgs(net, "74")
    # the first consumption series would not reproduce it
    estimated = dependence.net_import_reliance(10_800, 4_880, stock_change=31, consumption=7_830)
    assert not dependence.matches_usgs(estimated, "74")


@pytest.mark.parametrize(
    ("mineral", "statistic", "series", "amount"),
    [
        # total fluorspar imports, not acid grade alone (372 kt)
        ("fluorspar", "imports", ["Imports for consumption: Total fluorspar imports"], 403_000),
        # arsenic: all forms (metal 533 t + compounds 9,070 t), as USGS's estimated consumption
        ("arsenic", "imports", ["Imports for consumption: Total"], 9_610),
        # nickel: total apparent consumption (primary + secondary), primary nickel trade
        ("nickel", "consumption", ["Consumption: Apparent, total"], 211_000),
        ("nickel", "imports", ["Imports: Primary"], 105_000),
        ("nickel", "exports", ["Exports: Primary"], 15_900),
        # strontium: celestite and compounds, both in strontium content
        (
            "strontium",
            "imports",
            [
                "Imports for consumption: Celestite",
                "Imports for consumption: Strontium compounds",
            ],
            29 + 3_690,
        ),
        # copper: primary refinery output and copper from old scrap (not mine output)
        (
            "copper",
            "production",
            [
                "Production, Refinery: Primary (from ore)",
                "Copper recovered from old (post-consumer) scrap",
            ],
            882_000 + 140_000,
        ),
        # rare earths: compounds and metals (USGS's first NIR), not mineral concentrates
        ("rare_earths", "production", ["Production: Compounds and metals"], 4_300),
        ("rare_earths", "consumption", ["Consumption, apparent, compounds and metals"], 9_010),
        # antimony: smelter output, primary and secondary
        (
            "antimony",
            "production",
            ["Production, Smelter: Primary", "Production, Smelter: Secondary"],
            588 + 3_330,
        ),
    ],
)
def test_us_nir_2024_picks_the_series_usgs_uses(
    world: World, mineral: str, statistic: str, series: list[str], amount: float
) -> None:
    r = us_nir(world, mineral, 2024)
    assert r["series"][statistic] == series
    assert r[statistic] == pytest.approx(amount)
    assert r["matches_usgs"] is True


@pytest.mark.parametrize(
    ("mineral", "nir", "published"),
    [
        ("antimony", (28_600 - 588 - 3_330) / 28_600, "86"),  # apparent - smelter output
        ("arsenic", 9_610 / 9_610, "100"),  # USGS: "Defined as imports"
        ("copper", (1_860_000 - 882_000 - 140_000) / 1_860_000, "45"),
        ("fluorspar", (403_000 - 14_000) / 390_000, "100"),
        ("nickel", (105_000 - 15_900 - (25_500 - 25_700)) / 211_000, "43"),
        ("rare_earths", (9_010 - 4_300) / 9_010, "53"),
        ("strontium", 1.0, "100"),  # no U.S. production: apparent consumption = net imports
        ("vanadium", (7_498 - 1_623 - (230 - 232)) / 12_700, "46"),
    ],
)
def test_us_nir_2024_formerly_mismatched_by_hand(
    world: World, mineral: str, nir: float, published: str
) -> None:
    """The eight 2024 figures that the first-row components did not reproduce, recomputed by
    hand from the published series and compared with USGS's own NIR."""
    r = us_nir(world, mineral, 2024)
    assert r["nir"] == pytest.approx(nir)
    assert r["published_nir"] == published and r["matches_usgs"] is True
    assert abs(100 * nir - float(published)) <= 1.0


def test_us_nir_tin_2023_uses_the_stock_change(world: World) -> None:
    """Tin 2023: year-end stocks 10,900 t after 9,180 t: 1,720 t built up, which USGS deducts.
    USGS's apparent consumption of refined tin (35,000 t) is refined net imports + old scrap
    (9,430 t) +/- stocks, so (35,000 - 9,430) / 35,000 and (28,200 - 918 - 1,720) / 35,000
    agree."""
    r = us_nir(world, "tin", 2023)
    assert r["stock_change"] == pytest.approx(1_720)
    assert r["nir"] == pytest.approx((35_000 - 9_430) / 35_000)
    assert r["nir"] == pytest.approx((28_200 - 918 - 1_720) / 35_000, abs=1e-3)
    assert r["nir_text"] == "73" == r["published_nir"]


def test_us_nir_nickel_2024_stock_change_of_consumer_stocks(world: World) -> None:
    """Nickel 2024: consumer stocks 25,500 t after 25,700 t (a 200 t release)."""
    r = us_nir(world, "nickel", 2024)
    assert r["stock_change"] == pytest.approx(-200)
    assert "stock change = year-end stocks 2024 - 2023" in r["notes"]
    assert r["series"]["stocks"] == ["Stocks, yearend: Consumer"]


@pytest.mark.parametrize(
    ("mineral", "year", "band"),
    [
        ("magnesium", 2024, ">50"),
        ("titanium", 2024, ">95"),
        ("rare_earths", 2021, ">95"),
        ("rare_earths", 2023, ">90"),
    ],
)
def test_us_nir_published_bands(world: World, mineral: str, year: int, band: str) -> None:
    """USGS prints a band where the exact figure is withheld; the computed value satisfies it."""
    r = us_nir(world, mineral, year)
    assert r["published_nir"] == band and r["matches_usgs"] is True
    assert 100 * r["nir"] > float(band[1:])


def test_us_nir_magnesium_2022_reported_consumption_does_not_stand_in(world: World) -> None:
    """Magnesium 2022: USGS withholds primary output and apparent consumption (W). The reported
    consumption of primary metal (50 kt) is not what USGS's NIR divides by, so the figure is
    not recomputed (it once 'matched' the '>75' band that way)."""
    r = us_nir(world, "magnesium", 2022)
    assert r["published_nir"] == ">75"
    assert r["nir"] is None and r["matches_usgs"] is None and "withheld" in r["reason"]
    assert r["series"]["consumption"] == ["Consumption: Apparent"]
    assert any("not replaced by another consumption series" in n for n in r["notes"])


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


def test_us_nir_older_edition_csv_series(world: World) -> None:
    """The MCS2025 CSV names its series in the header (``Consump_Apparent_Total_t``,
    ``Imports_Primary_t``, ``Stocks_Consumer_t``): nickel 2023 there, USGS 53 %:
    (112,000 - 12,200 + 1,600) / 190,000 = 53.4 %."""
    r = us_nir(world, "nickel", 2023, edition="MCS2025")
    assert r["edition"] == "MCS2025" and r["published_nir"] == "53"
    assert r["series"]["consumption"] == ["apparent_total"]
    assert r["series"]["imports"] == ["primary"] and r["series"]["exports"] == ["primary"]
    assert (r["consumption"], r["imports"], r["exports"]) == (190_000, 112_000, 12_200)
    assert r["stock_change"] == pytest.approx(-1_600)
    assert r["nir"] == pytest.approx((112_000 - 12_200 + 1_600) / 190_000)
    assert r["matches_usgs"] is True


@pytest.mark.parametrize(
    ("edition", "imports", "exports"),
    [("MCS2025", 1_500 + 8_900, 2_000 + 3_700), ("MCS2026", 1_550 + 8_730, 1_410 + 3_480)],
)
def test_us_nir_tungsten_2024_counts_every_form_and_secondary_output(
    world: World, edition: str, imports: float, exports: float
) -> None:
    """USGS's tungsten apparent consumption is mine + secondary production + imports - exports
    of every form +/- stocks; secondary output is W, so USGS prints only '>50'. Concentrate
    trade alone (the first series) made the U.S. a net exporter with MCS2025 (1,500 t in,
    2,000 t out: 'E' against '>50'), and 100 % with MCS2026."""
    r = us_nir(world, "tungsten", 2024, edition=edition)
    assert r["published_nir"] == ">50"
    assert (r["imports"], r["exports"]) == (imports, exports)
    assert len(r["series"]["production"]) == 2  # mine and secondary
    assert r["nir"] is None and r["matches_usgs"] is None and not r["net_exporter"]
    assert "production" in r["reason"]


def test_us_nir_mismatch_is_explained(world: World) -> None:
    """Vanadium 2025 (USGS 41 %, from estimates): all forms of trade over apparent consumption
    give 40.0 %, just outside USGS rounding; the record says so."""
    r = us_nir(world, "vanadium", 2025)
    assert r["published_nir"] == "41" and r["matches_usgs"] is False
    assert any("does not reproduce" in n for n in r["notes"])


def _salient_rows(*rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"statistic": s, "detail": d, "value": v, "value_text": str(v), "missing_reason": None}
            for s, d, v in rows
        ]
    )


@pytest.mark.parametrize(
    ("detail", "basis", "form"),
    [
        ("Net import reliance as a percentage of apparent consumption", "apparent", set()),
        (
            "Net import reliance as a percentage of apparent consumption: Compounds and metals",
            "apparent",
            {"compound", "metal"},
        ),
        (
            "Net import reliance as a percentage of apparent consumption, refined tin",
            "apparent",
            {"refined", "tin"},
        ),
        ("Net import reliance as a percentage of total apparent consumption", "apparent", set()),
        ("Net import reliance as a percentage of reported consumption", "reported", set()),
        (
            "Net import reliance as a percentage of estimated consumption, all forms of arsenic",
            "estimated",
            {"arsenic"},
        ),
        ("compounds_metals", None, {"compound", "metal"}),  # MCS2023-2025 header words
        ("", None, set()),
    ],
)
def test_nir_basis(detail: str, basis: str | None, form: set[str]) -> None:
    assert nir_basis(detail) == (basis, frozenset(form))


def test_select_nir_series_defaults() -> None:
    """Without a reviewed entry: the consumption the NIR names, the form it names, a total."""
    rows = _salient_rows(
        ("consumption", "Consumption: Reported", 6_600),
        ("consumption", "Consumption: Apparent", 9_340),
        ("imports", "Imports for consumption: Acid grade", 372),
        ("imports", "Imports for consumption: Total fluorspar imports", 403),
        ("exports", "Exports: Ores and concentrates", 660),
        ("exports", "Exports: Refined zinc", 2),
        ("production", "Production: Mine", 0),
        ("production", "Production: Secondary", 50),
    )
    apparent = "Net import reliance as a percentage of apparent consumption"

    def pick(stat: str, nir: str = apparent) -> list[str]:
        return list(select_nir_series(rows, stat, nir)["detail"])

    assert pick("consumption") == ["Consumption: Apparent"]
    assert pick("consumption", "Net import reliance as a percentage of reported consumption") == [
        "Consumption: Reported"
    ]
    assert pick("imports") == ["Imports for consumption: Total fluorspar imports"]
    assert pick("exports") == ["Exports: Ores and concentrates"]  # the first, without a form
    assert pick("exports", apparent + ": Refined zinc") == ["Exports: Refined zinc"]
    assert pick("production") == ["Production: Mine"]
    # a withheld apparent consumption is not replaced by the reported one
    only_reported = rows[rows["detail"] != "Consumption: Apparent"]
    assert select_nir_series(only_reported, "consumption", apparent).empty
    # a CSV NIR header does not name its kind: any consumption series, the first
    assert list(select_nir_series(only_reported, "consumption", "")["detail"]) == [
        "Consumption: Reported"
    ]


def test_select_nir_series_reviewed_entry_sums_every_match() -> None:
    from critmin.assessment import NIR_SERIES

    rows = _salient_rows(
        ("production", "Production: Mine (recoverable antimony)", 0),
        ("production", "Production, Smelter: Primary", 588),
        ("production", "Production, Smelter: Secondary", 3_330),
    )
    nir = "Net import reliance as a percentage of apparent consumption"
    chosen = select_nir_series(rows, "production", nir, NIR_SERIES["antimony"])
    assert list(chosen["value"]) == [588, 3_330]
    # the same pattern reads the MCS2023-2025 header words
    csv = _salient_rows(
        ("production", "mine", 0),
        ("production", "smelter_primary", 254),
        ("production", "smelter_secondary", 3_520),
    )
    assert list(select_nir_series(csv, "production", "", NIR_SERIES["antimony"])["value"]) == [
        254,
        3_520,
    ]


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
        ("USA", "tantalum", "mine", "is at the refine stage"),
        ("USA", "lithium", "mine", "is W (withheld)"),  # lithium ores (HS 253090) are estimated
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
    """Tantalum mining has no traded product: zone mine output over the zone's tantalum demand
    in unwrought tantalum (Ta tonnes), labelled a proxy. (Cobalt mining has one since the
    catalog's cobalt intermediates, HS 810520, carry estimated flows.)"""
    r = assess_one(world, "tantalum", "mine", 2024, zone)
    assert r is not None and r["zone_basis"] == "production_proxy"
    assert r["product_id"] == "tantalum_unwrought" and "PROXY" in r["zone_note"]
    supply = stage_supply(world, "tantalum", "mine", 2024)
    assert supply is not None
    named = supply.values.drop(["WLD", "OTH"], errors="ignore")
    assert r["zone_output_t"] == pytest.approx(float(named[named.index.isin(zone.members)].sum()))
    ratio = r["zone_output_t"] / r["zone_demand_t"]
    assert r["zone_self_sufficiency"] == pytest.approx(min(ratio, 1.0))
    assert 0 <= r["watch_share"] <= 1 - r["zone_self_sufficiency"] + 1e-12
    assert r["geopolrisk"] is None


def test_rare_earth_refining_is_trade_based_once_compounds_are_bundled(
    world: World, zone: Zone
) -> None:
    """Rare-earth compounds (HS 284690, estimated flows) give refining a traded product: its
    zone figures come from trade, not from the share proxy used before they were bundled."""
    r = assess_one(world, "rare_earths", "refine", 2024, zone)
    assert (
        r is not None and r["zone_basis"] == "trade" and r["product_id"] == "rare_earth_compounds"
    )
    assert 0 <= r["zone_self_sufficiency"] <= 1 and 0 <= r["watch_share"] <= 1


@pytest.mark.parametrize(
    ("mineral", "stage", "why"),
    [
        ("titanium", "mine", "units differ"),  # TiO2 in concentrates vs Ti metal in sponge
    ],
)
def test_zone_share_proxy_where_trade_and_tonnes_fail(
    world: World, zone: Zone, mineral: str, stage: str, why: str
) -> None:
    """No traded product at the stage and no tonnes proxy: the zone's share of world supply
    over its share of world demand for the product downstream (permanent magnets, unwrought
    titanium), capped at 1, labelled a share proxy that says why the others failed."""
    r = assess_one(world, mineral, stage, 2024, zone)
    assert r is not None and r["zone_basis"] == "share_proxy" and r["zone_reason"] is None
    assert why in r["zone_note"] and "SHARE PROXY" in r["zone_note"]
    top5 = sum(s["share"] for s in r["top_suppliers"] if s["country"] in zone.members)
    assert r["zone_supply_share"] >= top5 - 1e-12
    # by hand: S_zone / D_zone with D_zone from the downstream product's calibrated baseline
    base = bundled_baseline(world, str(r["product_id"]))
    mem = base.index(zone.members)
    d_zone = base.V[:, mem].sum() / base.V.sum()
    supply = stage_supply(world, mineral, stage, 2024)
    assert supply is not None
    shares = concentration.shares(supply.values, supply.total).drop(["WLD", "OTH"], errors="ignore")
    s_zone = float(shares[shares.index.isin(zone.members)].sum())
    assert r["zone_self_sufficiency"] == pytest.approx(min(s_zone / d_zone, 1.0))
    outside = shares[~shares.index.isin(zone.members)].dropna()
    outside = outside[outside > 0]
    ws = (1 - r["zone_self_sufficiency"]) * float(outside.get("CHN", 0.0)) / float(outside.sum())
    assert r["watch_share"] == pytest.approx(ws)
    assert r["zone_self_sufficiency"] + r["watch_share"] <= 1 + 1e-12


@pytest.mark.parametrize(
    ("mineral", "stage", "upstream"),
    [
        ("manganese", "refine", "manganese_ore"),
        ("coking_coal", "refine", "coking_coal"),
        ("boron", "refine", "borates"),
    ],
)
def test_zone_without_basis_says_why(
    world: World, zone: Zone, mineral: str, stage: str, upstream: str
) -> None:
    """Refining stages known only as shares (or in tonnes no product matches) whose only
    traded product is upstream: ore purchases show where refining sits, not who needs refined
    output, so no figure; the record carries the reason."""
    r = assess_one(world, mineral, stage, 2024, zone)
    assert r is not None and r["zone_basis"] is None and r["zone_self_sufficiency"] is None
    assert r["zone_reason"] and r["zone_reason"] == r["zone_note"]
    assert f"the upstream {upstream} shows where the stage's input goes" in r["zone_reason"]
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


# ------------------------------------------------------------------ units that cannot be added


def test_boron_mine_figures_on_different_bases_are_not_added(
    world: World, records: list[dict[str, Any]]
) -> None:
    """USGS boron mine output: China in B2O3, the others in gross weight of ulexite, crude ore
    or datolite, and no world total ('XX'). Added up they showed Chile (2024) or Bolivia (2025)
    leading; the record takes the EU CRM 2023 extraction shares instead: Türkiye 48.4 %."""
    for year in (2024, 2025):
        usgs = usgs_production(world, "boron", "mine", year)
        assert usgs is not None and usgs.not_comparable is not None
        assert "B2O3, gross" in usgs.not_comparable
    bol = usgs_production(world, "boron", "mine", 2025)
    assert bol is not None and bol.values.drop("WLD", errors="ignore").idxmax() == "BOL"
    r = _record(records, "boron", "mine")
    assert r["supply_basis"] == "eu_shares" and r["edition"] is None
    assert r["top_supplier"] == "TUR" and r["top_supplier_share"] == pytest.approx(0.484)
    assert "cannot be added" in r["notes"][0] and "eu_shares used instead" in r["notes"][0]


def test_boron_world_total_xx_keeps_every_stage_off_usgs(
    world: World, records: list[dict[str, Any]]
) -> None:
    """USGS prints boron's world total as 'XX' (not calculable: not reported in a consistent
    manner). Its refine stage held only Türkiye's refined borates and Germany's compounds:
    Türkiye 97.6 % of the world at 100 % coverage, while the U.S. ('all forms', withheld) was
    nowhere in the row; the EU CRM 2023 processing shares give Türkiye 44.8 % and the United
    States 23.4 %. MCS2025 files Türkiye's refined borates among the mine rows, on one basis,
    so the default 2023 mine row (from MCS2025) showed Türkiye 63.5 %."""
    for year in (2023, 2024, 2025):
        for stage in ("mine", "refine"):
            usgs = usgs_production(world, "boron", stage, year)
            assert usgs is not None and usgs.not_comparable is not None, (stage, year)
    refine = _record(records, "boron", "refine")
    assert refine["supply_basis"] == "eu_shares" and refine["edition"] is None
    assert refine["top_supplier"] == "TUR"
    assert refine["top_supplier_share"] == pytest.approx(0.448)
    usa = {s["country"]: s["share"] for s in refine["top_suppliers"]}["USA"]
    assert usa == pytest.approx(0.234)
    assert "'XX'" in refine["notes"][0] and "eu_shares used instead" in refine["notes"][0]
    mine_2023 = assess_one(world, "boron", "mine", 2023, None)
    assert mine_2023 is not None and mine_2023["supply_basis"] == "eu_shares"
    assert mine_2023["top_supplier_share"] == pytest.approx(0.484)


def test_only_boron_mine_mixes_bases(world: World) -> None:
    """Every other bundled (mineral, stage, year) with USGS figures is on one basis, so the
    rule changes nothing else."""
    from critmin.assessment import bundled_minerals

    mixed = set()
    for mineral in bundled_minerals(world):
        for stage in ("mine", "refine"):
            for year in (2023, 2024, 2025):
                s = usgs_production(world, mineral, stage, year)
                if s is not None and s.content_basis == "mixed":
                    mixed.add((mineral, stage, s.not_comparable is not None))
    assert mixed == {("boron", "mine", True)}


def test_usgs_figures_the_source_marks_as_estimates_are_said_to_be(world: World) -> None:
    """USGS flags each figure of a data release "Estimated." or "Reported." (the latest year of
    an edition is mostly estimates); assess used them without a word (critmin's own estimates
    are labelled, USGS's were not). The record's notes now count them, as the supply table
    holds them: lithium mine output 2024 (MCS2026), the estimated country figures among
    those published, and the world total."""
    sup = world.supply
    rows = sup[
        (sup["mineral"] == "lithium")
        & (sup["stage"] == "mine")
        & (sup["measure"] == "production")
        & (sup["year"] == 2024)
        & (sup["edition"] == "MCS2026")
    ]
    # published: a value, or USGS's "--" (none: a published zero)
    given = rows["value_t"].notna() | (rows["missing_reason"] == "--").fillna(False)
    countries = rows[(rows["country"] != "WLD") & given]
    flagged = int(countries["estimated"].fillna(False).astype(bool).sum())
    assert 0 < flagged < len(countries)  # some reported (CHL), some estimated (AUS)
    assert bool(rows.loc[rows["country"] == "WLD", "estimated"].fillna(False).any())
    r = assess_one(world, "lithium", "mine", 2024, None)
    assert r is not None and r["supply_basis"] == "production"
    said = [n for n in r["notes"] if "as estimates" in n]
    assert said == [
        f"USGS MCS2026 marks {flagged} of {len(countries)} country figures and the world total "
        "as estimates"
    ], r["notes"]
    # a stage on the EU's shares says nothing of USGS estimates
    eu = assess_one(world, "boron", "refine", 2024, None)
    assert eu is not None and not [n for n in eu["notes"] if "as estimates" in n]
