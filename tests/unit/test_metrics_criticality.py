"""Tests for critmin.metrics.criticality: EU HHI_WGI,t and supply risk, GeoPolRisk."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.metrics import (
    MetricInputError,
    eu_supply_risk,
    eu_supply_risk_detail,
    geopolrisk,
    geopolrisk_import_shares,
    governance_risk_from_pv,
    hhi,
    hhi_wgi_t,
    hhi_wgi_t_detail,
    scale_wgi_eu,
    wgi_average,
)
from critmin.metrics.criticality import WGI_INDICATORS

SHARES = {"CHN": 0.6, "AUS": 0.3, "CHL": 0.1}
WGI = {"CHN": 6.0, "AUS": 2.0, "CHL": 3.0}
T = {"CHN": 1.1, "AUS": 0.8, "CHL": 0.8}
# by hand: 0.36*6*1.1 + 0.09*2*0.8 + 0.01*3*0.8 = 2.376 + 0.144 + 0.024
HAND = 2.544


# ------------------------------------------------------------------------------ WGI scales


def test_scale_wgi_eu_endpoints_and_clip() -> None:
    out = scale_wgi_eu({"BEST": 2.5, "MID": 0.0, "WORST": -2.5, "ABOVE": 3.0, "NA": np.nan})
    assert out["BEST"] == 0.0
    assert out["MID"] == 5.0
    assert out["WORST"] == 10.0
    assert out["ABOVE"] == 0.0  # clipped
    assert math.isnan(out["NA"])
    assert scale_wgi_eu({"X": 1.0})["X"] == pytest.approx(3.0)  # (2.5 - 1) / 5 * 10


def test_governance_risk_from_pv() -> None:
    g = governance_risk_from_pv({"A": 2.5, "B": -2.5, "C": 0.5, "D": -3.1})
    assert g.to_dict() == pytest.approx({"A": 0.0, "B": 1.0, "C": 0.4, "D": 1.0})


def test_wgi_average_needs_all_six() -> None:
    rows = [("AAA", 2023, ind, 1.0 + i * 0.2) for i, ind in enumerate(WGI_INDICATORS)]
    rows += [("BBB", 2023, ind, -1.0) for ind in WGI_INDICATORS[:5]]  # only five
    rows += [("BBB", 2023, "va", np.nan)]
    rows += [("AAA", 2022, "cc", 9.0)]  # other year ignored
    df = pd.DataFrame(rows, columns=["country", "year", "indicator", "estimate"])
    avg = wgi_average(df, 2023)
    assert list(avg.index) == ["AAA"]
    assert avg["AAA"] == pytest.approx(1.5)
    assert wgi_average(df, 2023, min_indicators=5)["BBB"] == pytest.approx(-1.0)
    with pytest.raises(MetricInputError):
        wgi_average(df.drop(columns="estimate"), 2023)


# ------------------------------------------------------------------------------ HHI_WGI,t


def test_hhi_wgi_t_worked_example() -> None:
    assert hhi_wgi_t(SHARES, WGI, T) == pytest.approx(HAND)
    d = hhi_wgi_t_detail(SHARES, WGI, T)
    assert d.coverage == 1.0
    assert d.wgi_defaulted == ()
    # t = 1 everywhere reduces to sum s^2 * WGI
    assert hhi_wgi_t(SHARES, WGI) == pytest.approx(0.36 * 6 + 0.09 * 2 + 0.01 * 3)


def test_hhi_wgi_t_with_pandas_inputs_and_missing_t() -> None:
    t = pd.Series({"CHN": 1.1, "AUS": 0.8})  # CHL has no t: neutral 1
    d = hhi_wgi_t_detail(pd.Series(SHARES), pd.Series(WGI), t)
    assert d.value == pytest.approx(0.36 * 6 * 1.1 + 0.09 * 2 * 0.8 + 0.01 * 3 * 1.0)
    assert d.t_defaulted == ("CHL",)


def test_missing_wgi_worst_or_exclude() -> None:
    wgi = {"CHN": 6.0, "AUS": 2.0}  # CHL missing
    worst = hhi_wgi_t_detail(SHARES, wgi, T)
    assert worst.value == pytest.approx(2.376 + 0.144 + 0.01 * 10 * 0.8)
    assert worst.wgi_defaulted == ("CHL",)
    assert worst.coverage == 1.0
    excl = hhi_wgi_t_detail(SHARES, wgi, T, missing_wgi="exclude")
    assert excl.value == pytest.approx(2.376 + 0.144)
    assert excl.wgi_excluded == ("CHL",)
    assert excl.coverage == pytest.approx(0.9)
    assert worst.value >= excl.value


def test_oth_left_out_with_coverage() -> None:
    d = hhi_wgi_t_detail({"CHN": 0.6, "AUS": 0.3, "OTH": 0.1}, WGI, T)
    assert d.value == pytest.approx(2.376 + 0.144)
    assert d.coverage == pytest.approx(0.9)
    assert any("OTH" in n for n in d.notes)


def test_hhi_wgi_t_rejects_bad_scales() -> None:
    with pytest.raises(MetricInputError, match="scale_wgi_eu"):
        hhi_wgi_t(SHARES, {"CHN": -0.5, "AUS": 1.0, "CHL": 0.2}, T)  # raw estimates
    with pytest.raises(MetricInputError, match="not tonnes"):
        hhi_wgi_t({"CHN": 600.0, "AUS": 300.0}, WGI)
    with pytest.raises(MetricInputError, match="sum to"):
        hhi_wgi_t({"CHN": 0.9, "AUS": 0.9}, WGI)
    with pytest.raises(MetricInputError):
        hhi_wgi_t(SHARES, WGI, 0.0)
    with pytest.raises(MetricInputError):
        hhi_wgi_t(SHARES, WGI, missing_wgi="zero")  # type: ignore[arg-type]


def test_eu_supply_risk_worked_example() -> None:
    eu_shares = {"CHN": 0.2, "AUS": 0.5, "CHL": 0.3}
    eu_block = 0.04 * 6 * 1.1 + 0.25 * 2 * 0.8 + 0.09 * 3 * 0.8  # 0.88
    expected = (HAND * 0.5 / 2 + eu_block * (1 - 0.5 / 2)) * 0.9 * (1 - 0.1)
    assert expected == pytest.approx(1.04976)
    sr = eu_supply_risk(
        SHARES, eu_shares, WGI, T, import_reliance=0.5, substitution_index=0.9, eol_rr=0.1
    )
    assert sr == pytest.approx(expected)
    d = eu_supply_risk_detail(SHARES, eu_shares, WGI, T, 0.5, 0.9, 0.1)
    assert d.hhi_wgi_t_global == pytest.approx(HAND)
    assert d.hhi_wgi_t_eu == pytest.approx(0.88)
    assert any("not the official" in n for n in d.notes)


def test_eu_supply_risk_limits() -> None:
    eu_shares = {"AUS": 1.0}
    # IR = 0: only EU sourcing counts; IR = 1: half and half
    assert eu_supply_risk(SHARES, eu_shares, WGI, 1.0, 0.0) == pytest.approx(2.0)
    assert eu_supply_risk(SHARES, eu_shares, WGI, 1.0, 1.0) == pytest.approx(
        0.5 * hhi_wgi_t(SHARES, WGI) + 0.5 * 2.0
    )
    # no EU sourcing data: global used for both terms
    assert eu_supply_risk(SHARES, None, WGI, T, 0.3) == pytest.approx(HAND)
    assert eu_supply_risk(SHARES, None, WGI, T, 0.3, eol_rr=1.0) == 0.0
    with pytest.raises(MetricInputError):
        eu_supply_risk(SHARES, None, WGI, T, 1.2)


share_dicts = st.dictionaries(
    st.sampled_from(["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]),
    st.floats(min_value=0.01, max_value=1.0),
    min_size=1,
    max_size=6,
).map(lambda d: {k: v / sum(d.values()) for k, v in d.items()})


@settings(max_examples=60, deadline=None)
@given(share_dicts, st.floats(min_value=0.0, max_value=10.0))
def test_hhi_wgi_t_uniform_governance_is_hhi_times_wgi(s: dict[str, float], w: float) -> None:
    wgi = dict.fromkeys(s, w)
    assert hhi_wgi_t(s, wgi) == pytest.approx(hhi(s) * w, abs=1e-12)
    assert 0.0 <= hhi_wgi_t(s, scale_wgi_eu(dict.fromkeys(s, -2.0))) <= 10.0


# ------------------------------------------------------------------------------ GeoPolRisk


def test_geopolrisk_hand_checked() -> None:
    prod = {"CHN": 0.6, "AUS": 0.4}  # HHI 0.52
    imports = {"CHN": 0.5, "AUS": 0.5}
    risk = governance_risk_from_pv({"CHN": -0.5, "AUS": 1.0})  # 0.6, 0.3
    r = geopolrisk(prod, imports, risk)
    assert r.hhi_production == pytest.approx(0.52)
    assert r.import_risk == pytest.approx(0.5 * 0.6 + 0.5 * 0.3)
    assert r.value == pytest.approx(0.52 * 0.45)
    assert r.coverage_imports == 1.0
    assert r.coverage_production == 1.0


def test_geopolrisk_zero_when_importing_only_from_zero_risk_country() -> None:
    r = geopolrisk({"CHN": 0.9, "AUS": 0.1}, {"AUS": 1.0}, {"AUS": 0.0, "CHN": 1.0})
    assert r.value == 0.0
    assert r.import_risk == 0.0
    assert r.hhi_production > 0.8


@given(share_dicts, share_dicts, st.floats(min_value=0.01, max_value=100.0))
@settings(max_examples=60, deadline=None)
def test_geopolrisk_scales_with_hhi(p1: dict[str, float], imp: dict[str, float], k: float) -> None:
    gov = {"AAA": 0.9, "BBB": 0.1, "CCC": 0.5, "DDD": 0.0, "EEE": 1.0, "FFF": 0.3}
    r1 = geopolrisk(p1, imp, gov)
    assert r1.value == pytest.approx(r1.hhi_production * r1.import_risk)
    # same imports, a production pattern with a different HHI: the risk scales with HHI
    r2 = geopolrisk({"AAA": 1.0}, imp, gov)
    assert r2.hhi_production == 1.0
    assert r1.value == pytest.approx(r2.value * hhi(p1), abs=1e-12)
    # scaling the production amounts changes nothing
    r3 = geopolrisk({c: v * k for c, v in p1.items()}, imp, gov)
    assert r3.value == pytest.approx(r1.value)
    assert 0.0 <= r1.value <= 1.0


def test_geopolrisk_missing_governance_and_oth() -> None:
    r = geopolrisk({"CHN": 1.0}, {"AUS": 0.4, "XXX": 0.2, "OTH": 0.4}, {"AUS": 0.25})
    assert r.governance_defaulted == ("XXX",)
    assert r.import_risk == pytest.approx(0.4 * 0.25 + 0.2 * 1.0)
    assert r.coverage_imports == pytest.approx(0.6)
    ex = geopolrisk(
        {"CHN": 1.0}, {"AUS": 0.4, "XXX": 0.2}, {"AUS": 0.25}, missing_governance="exclude"
    )
    assert ex.import_risk == pytest.approx(0.1)
    assert ex.coverage_imports == pytest.approx(0.4 / 0.6)
    with pytest.raises(MetricInputError, match="governance_risk_from_pv"):
        geopolrisk({"CHN": 1.0}, {"AUS": 1.0}, {"AUS": 1.3})


def test_geopolrisk_trade_weight_and_import_shares() -> None:
    imp = geopolrisk_import_shares({"CHN": 30.0, "AUS": 10.0}, domestic_production=60.0)
    assert imp.to_dict() == pytest.approx({"CHN": 0.3, "AUS": 0.1})
    r = geopolrisk({"CHN": 1.0}, imp, {"CHN": 1.0, "AUS": 0.5}, trade_weight={"AUS": 0.8})
    assert r.import_risk == pytest.approx(0.3 * 1.0 + 0.1 * 0.5 * 0.8)
    assert geopolrisk_import_shares({"CHN": 30.0, "AUS": 10.0})["CHN"] == pytest.approx(0.75)


def test_geopolrisk_production_coverage_uses_world_total() -> None:
    r = geopolrisk({"CHN": 60.0, "AUS": np.nan, "WLD": 100.0}, {"AUS": 1.0}, {"AUS": 0.5})
    assert r.coverage_production == pytest.approx(0.6)
    assert r.hhi_production == pytest.approx(0.36)
    assert any("AUS" in n for n in r.notes)
