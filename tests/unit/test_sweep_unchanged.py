"""A sweep over a parameter that changes nothing says so (it printed one flat row, exit 0)."""

from __future__ import annotations

from typing import Any

from critmin.sweep import run_sweep


def scenario() -> dict[str, Any]:
    """Cobalt oxides with a product-level sigma (which overrides ``defaults.sigma``) and a
    25% tariff on non-member imports."""
    return {
        "name": "sweep of a field the simulation does not read",
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "cobalt_oxides", "sigma": 4.0}],
        "policy": [
            {"type": "tariff", "exporters": "non-members", "importers": "members", "rate": 0.25}
        ],
    }


def test_a_parameter_the_simulation_does_not_read_is_a_no_effect_warning(world: Any) -> None:
    # product > defaults: defaults.sigma is never read, every point is the same bit for bit
    res = run_sweep(scenario(), "defaults.sigma", [2.0, 4.0, 8.0], world=world)
    first = res.points[0]
    assert all(p.figures == first.figures for p in res.points)
    said = [w for w in res.to_dict()["warnings"] if w.startswith("no effect: defaults.sigma")]
    assert len(said) == 1, res.warnings
    assert "takes 3 different values and every point gives the same figures" in said[0]


def test_a_parameter_that_acts_and_repeated_values_get_no_such_warning(world: Any) -> None:
    res = run_sweep(scenario(), "product[0].sigma", [2.0, 4.0, 8.0], world=world)
    assert not [w for w in res.warnings if "every point gives the same figures" in w]
    # one value repeated is the repeat warning's case, not this one
    res = run_sweep(scenario(), "defaults.sigma", [3.0, 3.0], world=world)
    assert res.warnings == ["the values repeat (3): those points give the same figures"]
