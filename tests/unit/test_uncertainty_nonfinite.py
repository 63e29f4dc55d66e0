"""Converged draws whose figures overflow are said to be left out of the bands, not dropped
without a word (a sigma a hair above 1 with a ban drawn: a composite price beyond 1e308)."""

from __future__ import annotations

from typing import Any

import numpy as np

from critmin.uncertainty import run_uncertainty


def scenario(sigma: float) -> dict[str, Any]:
    """China's magnet exports to the zone banned in every draw, every elasticity fixed."""
    return {
        "name": "sigma a hair above 1 with a certain ban",
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "defaults": {"sigma": sigma, "demand_elasticity": 2.0},
        "product": [{"id": "permanent_magnets"}],
        "disruption": [{"type": "export_ban", "exporters": ["CHN"], "probability": 1.0}],
        "uncertainty": {"fixed": ["sigma", "demand_elasticity", "supply_elasticity"]},
    }


def test_overflowing_converged_draws_are_a_numerical_warning(world: Any) -> None:
    res = run_uncertainty(scenario(1.002), draws=20, seed=1, workers=1, world=world)
    p = res.products["permanent_magnets"]
    price = p.draws["zone_consumer_price_change_pct"]
    assert p.converged.all() and not np.isfinite(price).any()
    assert (
        res.to_dict()["products"]["permanent_magnets"]["outputs"]["zone_consumer_price_change_pct"][
            "median"
        ]
        is None
    )
    said = [w for w in res.warnings if w.startswith("permanent_magnets: numerical:")]
    assert len(said) == 1, res.warnings
    assert "zone consumer price change: 20 of 20" in said[0]


def test_finite_draws_get_no_such_warning(world: Any) -> None:
    res = run_uncertainty(scenario(1.5), draws=20, seed=1, workers=1, world=world)
    assert np.isfinite(
        res.products["permanent_magnets"].draws["zone_consumer_price_change_pct"]
    ).all()
    assert not [w for w in res.warnings if "numerical:" in w], res.warnings
