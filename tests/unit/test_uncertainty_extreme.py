"""Draws that move a consumer price more than tenfold are an ``extreme:`` warning, as
``critmin simulate`` warns of its own result (a mean zone price change of 8e103% over draws of
magnets with a wide sigma range was printed without a word)."""

from __future__ import annotations

from typing import Any

import numpy as np

from critmin.uncertainty import run_uncertainty
from critmin.uncertainty.checks import extreme_in_draws


def test_the_bound_counts_converged_draws_past_tenfold() -> None:
    """Changes above 1,000% among converged draws are counted per price and the largest named;
    draws that did not converge, NaN and 1,000% itself are not."""
    draws = {
        "converged": np.array([True, True, True, True, False]),
        "zone_consumer_price_change_pct": np.array([5.0, 1000.0, 2500.0, np.nan, 9e9]),
        "outside_consumer_price_change_pct": np.array([0.0, -50.0, 1.0, 2.0, 9e9]),
    }
    notes = extreme_in_draws(draws)
    assert len(notes) == 1, notes
    assert "zone consumer price change: 1 of 4; up to +2.5e+03%" in notes[0], notes
    assert "outside" not in notes[0]
    draws["zone_consumer_price_change_pct"][2] = 999.0
    assert extreme_in_draws(draws) == []


def scenario(sigma: float, ranges: dict[str, list[float]]) -> dict[str, Any]:
    """China's magnet exports banned in half the draws (not at the point, whose own result is
    not extreme), the elasticities drawn in ``ranges`` (multiples of the point values)."""
    return {
        "name": "wide draws",
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "defaults": {"sigma": sigma},
        "product": [{"id": "permanent_magnets"}],
        "disruption": [{"type": "export_ban", "exporters": ["CHN"], "probability": 0.5}],
        "uncertainty": {"ranges": ranges},
    }


def test_wide_draws_are_warned_of_and_narrow_ones_not(world: Any) -> None:
    wide = run_uncertainty(
        scenario(1.05, {"sigma": [0.01, 20.0], "demand_elasticity": [0.01, 10.0]}),
        draws=60,
        seed=3,
        workers=1,
        world=world,
    )
    said = [w for w in wide.warnings if "extreme: converged draws" in w]
    assert len(said) == 1 and said[0].startswith("permanent_magnets: extreme:"), wide.warnings
    assert not [w for w in wide.warnings if "extreme: the consumer price" in w]  # the point
    narrow = run_uncertainty(
        scenario(4.0, {"sigma": [0.8, 1.2]}), draws=60, seed=3, workers=1, world=world
    )
    assert not [w for w in narrow.warnings if "extreme:" in w], narrow.warnings
