"""Tests for critmin.metrics.dependence: USGS net import reliance and zone metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.metrics import (
    MetricInputError,
    import_concentration,
    matches_usgs,
    net_import_reliance,
    net_import_reliance_detail,
    net_import_reliance_from_consumption,
    nir_band,
    top_outside_suppliers,
    watch_share,
    zone_self_sufficiency,
)

# ------------------------------------------------------------------------------ NIR


def test_nir_lithium_2023_production_withheld() -> None:
    # USGS MCS2024 lithium salient statistics, 2023: production W, imports 3,400 t,
    # exports 2,300 t, consumption W; published NIR ">25".
    assert net_import_reliance(3400, 2300, None) is None
    d = net_import_reliance_detail(3400, 2300, production=float("nan"))
    assert d.value is None
    assert d.reason is not None and "withheld" in d.reason
    assert d.net_imports == 1100
    assert d.text is None
    assert not matches_usgs(d, ">25")


def test_nir_complete_made_up_case() -> None:
    d = net_import_reliance_detail(imports=60, exports=10, production=100)
    assert d.value == pytest.approx(50 / 150)
    assert d.consumption == 150
    assert d.consumption_basis == "apparent"
    assert d.text == "33"
    assert d.reason is None
    assert matches_usgs(d, "33")
    assert matches_usgs(d.value, ">25")


def test_nir_stock_change_sign() -> None:
    # 20 t put into stocks absorb supply: net imports 30, apparent consumption 130
    assert net_import_reliance(60, 10, 100, stock_change=20) == pytest.approx(30 / 130)
    # a stockpile release of 20 t adds to supply
    assert net_import_reliance(60, 10, 100, stock_change=-20) == pytest.approx(70 / 170)


def test_nir_net_exporter_is_zero_with_flag() -> None:
    # USGS MCS2024 zinc ores 2023: imports 20 kt, exports 730 kt, mine production 750 kt -> "E"
    d = net_import_reliance_detail(20, 730, 750)
    assert d.value == 0.0
    assert d.net_exporter
    assert d.text == "E"
    assert matches_usgs(d, "E")
    assert not matches_usgs(d, ">25")
    # a net exporter is known even when production is withheld
    assert net_import_reliance_detail(20, 730, None).net_exporter


@pytest.mark.parametrize(
    ("year", "prod", "imports", "exports", "consumption", "published"),
    [
        # USGS MCS2024 zinc salient statistics, refined zinc (kt): NIR_Refined_pct
        (2019, 115, 830, 5, 939, "88"),
        (2020, 180, 700, 2, 878, "79"),
        (2021, 220, 701, 13, 908, "76"),
        (2022, 220, 762, 8, 975, "77"),
        (2023, 220, 750, 5, 970, "77"),
    ],
)
def test_nir_reproduces_usgs_refined_zinc(
    year: int, prod: float, imports: float, exports: float, consumption: float, published: str
) -> None:
    with_consumption = net_import_reliance_detail(imports, exports, consumption=consumption)
    assert with_consumption.consumption_basis == "given"
    assert matches_usgs(with_consumption, published), year
    apparent = net_import_reliance_detail(imports, exports, production=prod)
    assert matches_usgs(apparent, published), year
    assert not matches_usgs(apparent, str(int(published) + 5))


@pytest.mark.parametrize(
    ("consumption", "production", "published"),
    [
        # USGS MCS2026 cobalt 2024: apparent consumption 7,960 t, secondary output 2,050 t
        (7_960, 2_050, "74"),
        # rare earths 2024, compounds and metals: apparent 9,010 t, U.S. output 4,300 t
        (9_010, 4_300, "53"),
        # antimony 2024: apparent 28,600 t, smelter output 588 + 3,330 t
        (28_600, 588 + 3_330, "86"),
        # copper 2024 (kt): apparent 1,860, primary refinery 882 + old scrap 140
        (1_860, 882 + 140, "45"),
    ],
)
def test_nir_from_consumption_reproduces_usgs(
    consumption: float, production: float, published: str
) -> None:
    d = net_import_reliance_from_consumption(consumption, production)
    assert d.value == pytest.approx((consumption - production) / consumption)
    assert d.net_imports == pytest.approx(consumption - production)
    assert d.consumption_basis == "given" and d.reason is None
    assert matches_usgs(d, published)


def test_nir_from_consumption_is_the_usgs_identity() -> None:
    # production 100, imports 60, exports 10, stocks +20: apparent consumption 130
    via_trade = net_import_reliance(60, 10, 100, stock_change=20)
    assert net_import_reliance_from_consumption(130, 100).value == pytest.approx(via_trade)


def test_nir_from_consumption_exporter_and_unknown() -> None:
    # beryllium 2023 (MCS2026): mine shipments 185 t above apparent consumption 142 t: 'E'
    d = net_import_reliance_from_consumption(142, 185)
    assert d.net_exporter and d.value == 0.0 and d.text == "E" and matches_usgs(d, "E")
    w = net_import_reliance_from_consumption(28_600, None)
    assert w.value is None and w.reason == "production unknown"
    assert net_import_reliance_from_consumption(None, None).reason == (
        "apparent consumption and production unknown"
    )
    assert net_import_reliance_from_consumption(0, 0).value is None
    with pytest.raises(MetricInputError):
        net_import_reliance_from_consumption(10, -1)


def test_nir_capped_and_undefined() -> None:
    d = net_import_reliance_detail(100, 0, consumption=80)
    assert d.value == 1.0
    assert d.reason is not None and "capped" in d.reason
    assert net_import_reliance(0, 0, 0) is None
    assert net_import_reliance_detail(None, 5, 10).reason == "imports unknown"
    assert net_import_reliance(10, 5, 10, stock_change=None) == pytest.approx(5 / 15)
    with pytest.raises(MetricInputError):
        net_import_reliance(-1, 0, 10)


def test_nir_band() -> None:
    assert nir_band(0.30) == ">25"
    assert nir_band(0.51) == ">50"
    assert nir_band(0.80) == ">75"
    assert nir_band(0.99) == ">95"
    assert nir_band(0.10) == "<25"
    assert nir_band(0.50) == ">25"  # boundary goes to the band below
    with pytest.raises(MetricInputError):
        nir_band(1.5)


def test_matches_usgs_bands() -> None:
    assert matches_usgs(0.30, ">25")
    assert not matches_usgs(0.20, ">25")
    assert matches_usgs(0.51, ">50")
    assert matches_usgs(0.40, "<50")
    assert not matches_usgs(0.60, "<50")
    assert matches_usgs(0.995, "100")
    assert matches_usgs(0.574, "57")
    assert not matches_usgs(0.59, "57")
    assert matches_usgs(0.59, "57", rounding=2.5)
    assert matches_usgs(0.0, "E")
    assert not matches_usgs(0.3, "E")
    assert not matches_usgs(None, "57")
    for text in ("W", "NA", ""):
        with pytest.raises(MetricInputError):
            matches_usgs(0.5, text)


@settings(deadline=None)
@given(
    st.floats(min_value=0, max_value=1e6),
    st.floats(min_value=0, max_value=1e6),
    st.floats(min_value=0, max_value=1e6),
)
def test_nir_in_unit_interval_and_band_consistent(i: float, e: float, p: float) -> None:
    v = net_import_reliance(i, e, p)
    if v is not None:
        assert 0.0 <= v <= 1.0
        assert matches_usgs(v, nir_band(v), rounding=1e-9)


# ------------------------------------------------------------------------------ zone metrics

MEMBERS = ["USA", "JPN", "CAN", "AUS"]
FLOWS = pd.DataFrame(
    {
        "exporter": ["CAN", "CHN", "CHN", "AUS", "OTH", "IDN"],
        "importer": ["USA", "USA", "JPN", "JPN", "USA", "CHN"],
        "value": [10.0, 30.0, 20.0, 5.0, 5.0, 100.0],
    }
)
DOMESTIC = {"USA": 50.0, "JPN": 0.0, "CAN": 7.0, "AUS": 3.0}


def test_zone_self_sufficiency_hand_checked() -> None:
    # demand: USA 50+10+30+5 = 95, JPN 0+20+5 = 25, CAN 7, AUS 3 -> 130
    # member supply: domestic 60 + intra-zone imports (CAN->USA 10, AUS->JPN 5) -> 75
    r = zone_self_sufficiency(FLOWS, DOMESTIC, MEMBERS)
    assert r.denominator == pytest.approx(130.0)
    assert r.numerator == pytest.approx(75.0)
    assert r.value == pytest.approx(75 / 130)
    assert r.coverage == 1.0
    w = watch_share(FLOWS, DOMESTIC, MEMBERS, ["CHN"])
    assert w.value == pytest.approx(50 / 130)
    assert w.denominator == r.denominator


def test_zone_unknown_domestic_counted_as_zero_with_note() -> None:
    dom = {"USA": 50.0, "CAN": 7.0, "AUS": 3.0}  # JPN unknown
    r = zone_self_sufficiency(FLOWS, dom, MEMBERS)
    assert r.value == pytest.approx(75 / 130)
    assert "domestic supply unknown for JPN: counted as 0" in r.notes
    assert r.coverage == pytest.approx(105 / 130)
    r2 = zone_self_sufficiency(FLOWS, None, ["USA"])
    assert r2.coverage == 0.0
    assert r2.denominator == pytest.approx(45.0)  # USA imports only: 10 + 30 + 5
    assert r2.value == 0.0  # a one-country zone: CAN is outside


def test_zone_value_column_and_checks() -> None:
    f = FLOWS.rename(columns={"value": "value_usd"}).assign(quantity_t=FLOWS["value"] * 2)
    assert zone_self_sufficiency(f, DOMESTIC, MEMBERS).value == pytest.approx(75 / 130)
    q = zone_self_sufficiency(
        f, {k: 2 * v for k, v in DOMESTIC.items()}, MEMBERS, value_col="quantity_t"
    )
    assert q.value == pytest.approx(75 / 130)
    with pytest.raises(MetricInputError, match="also in members"):
        watch_share(FLOWS, DOMESTIC, MEMBERS, ["CHN", "JPN"])
    with pytest.raises(MetricInputError, match="aggregates"):
        zone_self_sufficiency(FLOWS, DOMESTIC, ["USA", "OTH"])
    with pytest.raises(MetricInputError, match="several years"):
        zone_self_sufficiency(FLOWS.assign(year=[2022, 2023] * 3), DOMESTIC, MEMBERS)
    with pytest.raises(MetricInputError, match="negative"):
        zone_self_sufficiency(FLOWS.assign(value=-1.0), DOMESTIC, MEMBERS)
    with pytest.raises(MetricInputError, match="value_col"):
        zone_self_sufficiency(FLOWS.drop(columns="value"), DOMESTIC, MEMBERS)


def test_zone_missing_flow_value_lowers_coverage() -> None:
    f = FLOWS.copy()
    f.loc[1, "value"] = np.nan  # CHN -> USA unknown
    r = zone_self_sufficiency(f, DOMESTIC, MEMBERS)
    assert r.denominator == pytest.approx(100.0)
    assert r.coverage == pytest.approx(35 / 100)  # JPN, CAN, AUS complete; USA not
    assert any("no value" in n for n in r.notes)


def test_top_outside_suppliers_and_import_concentration() -> None:
    top = top_outside_suppliers(FLOWS, MEMBERS, k=5)
    assert top.to_dict() == {"CHN": 50.0}  # OTH is not a nameable supplier; IDN->CHN not zone
    top2 = top_outside_suppliers(FLOWS, ["USA", "JPN"], k=2)
    assert list(top2.index) == ["CHN", "CAN"]
    assert list(top2) == [50.0, 10.0]
    c = import_concentration(FLOWS, ["USA", "JPN"])
    # outside imports: CHN 50, CAN 10, AUS 5, OTH 5 -> total 70
    assert c.total == pytest.approx(70.0)
    assert c.top_supplier == "CHN"
    assert c.top_supplier_share == pytest.approx(50 / 70)
    assert c.hhi == pytest.approx((50**2 + 10**2 + 5**2) / 70**2)
    assert c.other_share == pytest.approx(5 / 70)
    assert c.coverage == 1.0


# ------------------------------------------------------------------------------ properties

COUNTRIES = ["M1", "M2", "M3", "W1", "W2", "R1", "R2"]
ZONE = ["M1", "M2", "M3"]
WATCH = ["W1", "W2"]


@st.composite
def trade_world(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, float]]:
    n = len(COUNTRIES)
    vals = draw(st.lists(st.floats(min_value=0, max_value=1e4), min_size=n * n, max_size=n * n))
    rows = [
        (e, i, vals[a * n + b])
        for a, e in enumerate(COUNTRIES)
        for b, i in enumerate(COUNTRIES)
        if e != i
    ]
    flows = pd.DataFrame(rows, columns=["exporter", "importer", "value"])
    dom = draw(st.lists(st.floats(min_value=0, max_value=1e4), min_size=n, max_size=n))
    return flows, dict(zip(COUNTRIES, dom, strict=True))


@settings(max_examples=60, deadline=None)
@given(trade_world())
def test_zone_shares_partition_member_demand(world: tuple[pd.DataFrame, dict[str, float]]) -> None:
    flows, dom = world
    ss = zone_self_sufficiency(flows, dom, ZONE)
    ws = watch_share(flows, dom, ZONE, WATCH)
    into = flows[flows["importer"].isin(ZONE)]
    rest = into[into["exporter"].str.startswith("R")]["value"].sum()
    demand = sum(dom[m] for m in ZONE) + into["value"].sum()
    assert ss.denominator == pytest.approx(demand)
    assert ss.coverage == 1.0 and ws.coverage == 1.0
    if demand > 0:
        assert 0.0 <= ss.value <= 1.0
        assert 0.0 <= ws.value <= 1.0
        assert ss.value + ws.value + rest / demand == pytest.approx(1.0)
    else:
        assert math.isnan(ss.value)


@settings(max_examples=40, deadline=None)
@given(trade_world())
def test_self_sufficiency_is_one_when_members_trade_only_among_themselves(
    world: tuple[pd.DataFrame, dict[str, float]],
) -> None:
    flows, dom = world
    inside = flows[flows["exporter"].isin(ZONE)]
    dom = {k: v + 1.0 for k, v in dom.items()}  # demand > 0
    r = zone_self_sufficiency(inside, dom, ZONE)
    assert r.value == pytest.approx(1.0)
    assert watch_share(inside, dom, ZONE, WATCH).value == 0.0


@settings(max_examples=40, deadline=None)
@given(trade_world(), st.lists(st.booleans(), min_size=3, max_size=3))
def test_zone_coverage_in_unit_interval(
    world: tuple[pd.DataFrame, dict[str, float]], known: list[bool]
) -> None:
    flows, dom = world
    partial = {m: dom[m] for m, k in zip(ZONE, known, strict=True) if k}
    r = zone_self_sufficiency(flows, partial, ZONE)
    assert 0.0 <= r.coverage <= 1.0
    if all(known):
        assert r.coverage == 1.0
    c = import_concentration(flows, ZONE)
    assert 0.0 <= c.coverage <= 1.0
    assert c.coverage == 1.0
