"""Stockpile sizing: the covering probability against the empirical draws, units, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.errors import CritminError
from critmin.stockpile import IEA_DAYS, covered_fraction, size_stockpile, stockpile_need
from critmin.uncertainty import run_uncertainty
from critmin.world import load_world


@given(
    n=st.integers(1, 400),
    q=st.floats(0.01, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=200, deadline=None)
def test_covered_fraction_is_q_within_one_draw(n: int, q: float, seed: int) -> None:
    """Continuous draws (no ties): q <= covered < q + 1/N."""
    s = np.random.default_rng(seed).lognormal(8.0, 1.0, n)
    sizing = size_stockpile(s, coverage=q)
    assert q <= sizing.covered_fraction < q + 1.0 / n + 1e-12
    # the smallest stock that does it: one tonne-draw less covers less than q
    smaller = np.max(s[s < sizing.tonnes], initial=-1.0)
    assert covered_fraction(s, smaller) < q


def test_ties_at_zero_cover_more_than_q() -> None:
    s = np.r_[np.zeros(90), np.arange(1.0, 11.0)]
    sizing = size_stockpile(s, coverage=0.8)
    assert sizing.tonnes == 0.0 and sizing.covered_fraction == 0.9
    assert size_stockpile(s, coverage=1.0).tonnes == 10.0


def test_units_days_cost_and_the_iea_rule() -> None:
    s = np.linspace(0.0, 3650.0, 11)  # t/year
    sizing = size_stockpile(
        s,
        coverage=0.5,
        duration_days=73.0,
        baseline_demand_t=36_500.0,
        net_imports_t=7_300.0,
        reference_price_usd_per_t=15_000.0,
        content_factor=0.188,
    )
    need = stockpile_need(s, 73.0)
    assert np.allclose(need, s * 0.2)
    assert sizing.tonnes == 1825.0 * 0.2  # the 6th of 11 sorted needs
    assert sizing.days_of_demand == pytest.approx(sizing.tonnes / 100.0)
    assert sizing.days_of_net_imports == pytest.approx(sizing.tonnes / 20.0)
    assert sizing.cost_usd == pytest.approx(sizing.tonnes * 15_000.0)
    assert sizing.tonnes_contained == pytest.approx(sizing.tonnes * 0.188)
    assert sizing.iea_90_day_tonnes == pytest.approx(IEA_DAYS * 20.0)
    assert sizing.iea_90_day_covered_fraction == covered_fraction(need, IEA_DAYS * 20.0)
    assert sizing.to_dict()["coverage"] == 0.5
    bare = size_stockpile(s, coverage=0.5)
    assert bare.days_of_demand is None and bare.cost_usd is None and bare.iea_90_day_tonnes is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"coverage": 0.0}, "coverage"),
        ({"coverage": 1.01}, "coverage"),
        ({"coverage": 0.9, "duration_days": 0.0}, "duration_days"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(CritminError, match=message):
        size_stockpile(np.ones(3), **kwargs)


def test_bad_draws() -> None:
    for bad in (np.array([]), np.array([1.0, -1.0]), np.array([np.nan])):
        with pytest.raises(CritminError, match="shortfall draws"):
            size_stockpile(bad, coverage=0.9)


@pytest.mark.parametrize("q", [0.5, 0.9, 0.95])
def test_stockpile_of_a_run_covers_q_of_its_draws(q: float) -> None:
    """Checked against the run's own empirical draws (a certain Chinese magnet ban, with
    elasticity uncertainty: a continuous shortfall distribution)."""
    sc = {
        "name": "ban",
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "permanent_magnets"}],
        "disruption": [{"probability": 1.0}],
    }
    res = run_uncertainty(
        sc, draws=40, seed=3, coverage=q, duration_days=90, workers=1, world=load_world(2024)
    )
    p = res.products["permanent_magnets"]
    need = stockpile_need(p.draws["shortfall_t"], 90)  # s * (90 / 365), as the sizing rounds
    assert np.all(need > 0)
    stock = p.summary()["stockpile"]
    covered = np.mean(need <= stock["tonnes"])
    assert covered == stock["covered_fraction"]
    assert q <= covered < q + 1 / len(need)
    assert stock["days_of_demand"] == pytest.approx(
        stock["tonnes"] / (p.facts["baseline_zone_demand"] / 365)
    )
