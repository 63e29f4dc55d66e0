"""Tests for critmin.metrics.concentration: hand-checked numbers and Hypothesis properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.errors import CritminError
from critmin.metrics import (
    MetricInputError,
    Missing,
    hhi,
    n_suppliers_for,
    shares,
    summarize,
    top_k_share,
)

ABC = {"A": 50.0, "B": 30.0, "C": 20.0}

# USGS MCS2024 cobalt mine production 2022 (t contained Co), world total rounded.
COBALT_2022 = pd.Series(
    {
        "USA": 500,
        "AUS": 4600,
        "CAN": 2100,
        "COD": 170000,
        "CUB": 3200,
        "IDN": 17000,
        "MDG": 4000,
        "NCL": 3000,
        "PNG": 2900,
        "PHL": 3800,
        "RUS": 8800,
        "TUR": 2800,
        "OTH": 6600,
        "WLD": 230000,
    },
    dtype=float,
)


# ------------------------------------------------------------------------------ hand-checked


def test_shares_hhi_top_n_hand_checked() -> None:
    s = shares(ABC)
    assert s.to_dict() == pytest.approx({"A": 0.5, "B": 0.3, "C": 0.2})
    assert hhi(ABC) == pytest.approx(0.38)
    assert hhi(ABC, "10000") == pytest.approx(3800.0)
    assert hhi([0.5, 0.3, 0.2]) == pytest.approx(0.38)  # shares give the same as amounts
    assert top_k_share(ABC, 1) == pytest.approx(0.5)
    assert top_k_share(ABC, 2) == pytest.approx(0.8)
    assert n_suppliers_for(ABC) == 3
    assert n_suppliers_for(ABC, 0.8) == 2
    assert n_suppliers_for(ABC, 0.5) == 1


def test_summarize_hand_checked() -> None:
    r = summarize(ABC)
    assert r.hhi == pytest.approx(0.38)
    assert r.hhi_10000 == pytest.approx(3800.0)
    assert r.hhi_upper == pytest.approx(0.38)
    assert r.top_supplier == "A"
    assert r.top_supplier_share == pytest.approx(0.5)
    assert r.top3_share == pytest.approx(1.0)
    assert r.n_for_90 == 3
    assert r.n_suppliers == 3
    assert r.coverage == 1.0
    assert r.missing == ()
    assert r.total == 100.0
    assert r.total_basis == "sum of known values"


def test_given_total_lowers_coverage_and_shares() -> None:
    r = summarize(ABC, total=200.0)
    assert r.coverage == pytest.approx(0.5)
    assert r.top_supplier_share == pytest.approx(0.25)
    assert r.hhi == pytest.approx(0.25**2 + 0.15**2 + 0.1**2)
    # half the world is unseen: upper bound puts it in one hand
    assert r.hhi_upper == pytest.approx(r.hhi + 0.5**2)
    assert r.n_for_90 is None
    assert shares(ABC, total=200.0)["A"] == pytest.approx(0.25)


def test_oth_counts_in_total_but_is_not_a_supplier() -> None:
    v = {"A": 40.0, "B": 20.0, "OTH": 40.0}
    s = shares(v)
    assert s["OTH"] == pytest.approx(0.4)
    assert s.sum() == pytest.approx(1.0)
    r = summarize(v)
    assert r.hhi == pytest.approx(0.4**2 + 0.2**2)  # OTH treated as fragmented
    assert r.hhi_upper == pytest.approx(0.4**2 + 0.2**2 + 0.4**2)  # OTH as one supplier
    assert r.other_share == pytest.approx(0.4)
    assert r.top_supplier == "A"  # OTH (0.4) ties A but is never the top supplier
    assert r.n_suppliers == 2
    assert top_k_share(v, 10) == pytest.approx(0.6)
    assert n_suppliers_for(v) is None  # named suppliers reach only 60 %
    assert r.coverage == 1.0
    assert any("OTH" in n for n in r.notes)


def test_usgs_cobalt_world_total_used_as_reference() -> None:
    r = summarize(COBALT_2022)
    assert r.total == 230000.0
    assert r.total_basis == "WLD"
    assert r.top_supplier == "COD"
    assert r.top_supplier_share == pytest.approx(170000 / 230000)
    # countries + OTH = 229,300 of a rounded 230,000 world total
    assert r.coverage == pytest.approx(229300 / 230000)
    assert r.hhi <= r.hhi_upper
    assert "WLD" not in shares(COBALT_2022).index


def test_withheld_value_is_missing_not_zero() -> None:
    v = COBALT_2022.copy()
    v["USA"] = np.nan
    r = summarize(v, reasons={"USA": "W"})
    assert r.missing == (Missing("USA", "W"),)
    assert r.coverage == pytest.approx((229300 - 500) / 230000)
    assert r.n_suppliers == 11
    assert math.isnan(shares(v)["USA"])
    # without a world total the missing amount cannot be measured: coverage 1, but said
    r2 = summarize(v.drop("WLD"), reasons={"USA": "W"})
    assert r2.coverage == 1.0
    assert any("USA W" in n for n in r2.notes)
    d = r.to_dict()
    assert d["missing"] == [{"country": "USA", "reason": "W"}]


def test_rounded_world_total_below_known_sum_is_noted() -> None:
    r = summarize({"A": 60.0, "B": 45.0, "WLD": 100.0})
    assert r.coverage == 1.0
    assert r.unnamed_share == 0.0
    assert any("exceed the reference total" in n for n in r.notes)


def test_zero_total_is_undefined_not_an_error() -> None:
    assert math.isnan(hhi({"A": 0.0, "B": 0.0}))
    assert math.isnan(top_k_share({"A": 0.0}, 1))
    assert n_suppliers_for({"A": 0.0}) is None
    r = summarize({"A": 0.0})
    assert math.isnan(r.hhi)
    assert r.to_dict()["hhi"] is None


@pytest.mark.parametrize(
    "bad",
    [{"A": -1.0, "B": 2.0}, {"A": math.inf}, pd.Series([1.0, 2.0], index=["A", "A"]), ["x", 1]],
)
def test_bad_input_raises_critmin_error(bad: object) -> None:
    with pytest.raises(MetricInputError) as exc:
        hhi(bad)  # type: ignore[arg-type]
    assert isinstance(exc.value, CritminError)


def test_bad_arguments() -> None:
    with pytest.raises(MetricInputError):
        hhi(ABC, "percent")  # type: ignore[arg-type]
    with pytest.raises(MetricInputError):
        top_k_share(ABC, -1)
    with pytest.raises(MetricInputError):
        n_suppliers_for(ABC, 1.5)
    with pytest.raises(MetricInputError):
        shares(ABC, total=-5.0)


# ------------------------------------------------------------------------------ properties

codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3).filter(
    lambda c: c not in {"WLD", "OTH"}
)
amounts = st.floats(min_value=1.0, max_value=1e6, allow_nan=False)
supply = st.dictionaries(codes, amounts, min_size=1, max_size=25).map(
    lambda d: pd.Series(d, dtype=float)
)


@settings(deadline=None)
@given(supply)
def test_shares_sum_to_one(v: pd.Series) -> None:
    assert shares(v).sum() == pytest.approx(1.0)


@settings(deadline=None)
@given(supply)
def test_hhi_between_one_over_n_and_one(v: pd.Series) -> None:
    h = hhi(v)
    n = len(v)
    assert 1.0 / n - 1e-12 <= h <= 1.0 + 1e-12
    assert hhi(v, "10000") == pytest.approx(h * 10_000)


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=50), amounts)
def test_hhi_equal_shares_is_one_over_n(n: int, x: float) -> None:
    assert hhi([x] * n) == pytest.approx(1.0 / n)


@settings(max_examples=50, deadline=None)
@given(supply, st.floats(min_value=1e-3, max_value=1e3), st.randoms(use_true_random=False))
def test_hhi_invariant_to_scale_and_permutation(v: pd.Series, c: float, rnd: object) -> None:
    perm = v.sample(frac=1.0, random_state=int(rnd.random() * 2**31))  # type: ignore[attr-defined]
    assert hhi(v * c) == pytest.approx(hhi(v), rel=1e-9)
    assert hhi(perm) == pytest.approx(hhi(v), rel=1e-12)
    assert hhi(v.to_numpy()) == pytest.approx(hhi(v), rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(supply)
def test_top_k_monotone_and_reaches_one(v: pd.Series) -> None:
    vals = [top_k_share(v, k) for k in range(len(v) + 2)]
    assert vals[0] == 0.0
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(vals))
    assert vals[len(v)] == pytest.approx(1.0)
    assert vals[-1] == pytest.approx(1.0)


@settings(max_examples=50, deadline=None)
@given(supply, st.floats(min_value=0.01, max_value=1.0))
def test_n_for_threshold_at_most_n_and_minimal(v: pd.Series, thr: float) -> None:
    n = n_suppliers_for(v, thr)
    assert n is not None
    assert 1 <= n <= len(v)
    assert top_k_share(v, n) >= thr - 1e-9
    if n > 1:
        assert top_k_share(v, n - 1) < thr
    assert summarize(v).n_for_90 == n_suppliers_for(v, 0.9)


@settings(deadline=None)
@given(supply, st.floats(min_value=0.01, max_value=0.99), st.booleans())
def test_splitting_a_supplier_lowers_hhi(v: pd.Series, a: float, largest: bool) -> None:
    code = str(v.idxmax() if largest else v.index[0])
    x = float(v.loc[code])
    split = {str(c): float(y) for c, y in v.items() if c != code}
    split.update({code + "1": a * x, code + "2": (1 - a) * x})
    s = x / v.sum()
    before, after = hhi(v), hhi(split)
    assert before - after == pytest.approx(2 * a * (1 - a) * s * s, abs=1e-12)
    assert after <= before
    if largest:
        assert after < before


@settings(max_examples=50, deadline=None)
@given(
    supply,
    st.lists(st.booleans(), min_size=26, max_size=26),
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=1e6)),
    st.booleans(),
)
def test_coverage_in_unit_interval_and_one_without_nan(
    v: pd.Series, drop: list[bool], oth: float | None, with_world: bool
) -> None:
    if oth is not None:
        v = pd.concat([v, pd.Series({"OTH": oth})])
    world = float(v.sum()) * 1.05
    full = pd.concat([v, pd.Series({"WLD": world})]) if with_world else v
    r = summarize(full)
    assert 0.0 <= r.coverage <= 1.0
    if not with_world:
        assert r.coverage == 1.0
    assert r.hhi <= r.hhi_upper + 1e-12
    holes = v.copy()
    mask = np.array(drop[: len(holes)]) & (holes.index != "OTH")
    holes[mask] = np.nan
    r2 = summarize(pd.concat([holes, pd.Series({"WLD": world})]))
    assert 0.0 <= r2.coverage <= 1.0
    assert len(r2.missing) == int(mask.sum())
    if mask.any():
        assert r2.coverage < 1.0
    assert r2.hhi <= r2.hhi_upper + 1e-12


@settings(max_examples=50, deadline=None)
@given(supply)
def test_summary_consistent_with_functions(v: pd.Series) -> None:
    r = summarize(v)
    assert r.hhi == pytest.approx(hhi(v))
    assert r.top3_share == pytest.approx(top_k_share(v, 3))
    assert r.top_supplier_share == pytest.approx(float(shares(v).max()))
    assert r.n_suppliers == len(v)
