"""What a Monte Carlo run says that it used to leave unsaid: ``[uncertainty]`` settings that
change no draw, how many draws did not converge, and draws far from the baseline when the
point's own ``extreme:`` warning is about something else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.uncertainty import run_uncertainty

EXAMPLE1 = Path(__file__).resolve().parents[2] / "examples" / "01_lithium_floor_levy.toml"
ZONE = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}
IDLE = "no effect: the draws: no elasticity, licence share or disruption is uncertain"


def scenario(uncertainty: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "name": "idle settings",
        "zone": ZONE,
        "product": [{"id": "lithium_carbonate"}],
        "uncertainty": uncertainty,
        **more,
    }


def no_effect(uncertainty: dict[str, Any], world: Any, **more: Any) -> list[str]:
    res = run_uncertainty(scenario(uncertainty, **more), draws=20, workers=1, world=world)
    return [w for w in res.warnings if w.startswith("no effect:")]


@pytest.mark.parametrize(
    ("uncertainty", "more", "said"),
    [
        (  # fixed wins over a range of the same parameter
            {"fixed": ["sigma"], "ranges": {"sigma": [0.5, 2.0]}},
            {},
            "no effect: uncertainty.ranges.sigma: sigma is also in uncertainty.fixed",
        ),
        (  # nothing to hold: no licence has a range
            {"fixed": ["grant_share"]},
            {},
            "no effect: uncertainty.fixed grant_share: no export_licensing policy has a "
            "grant_share_range",
        ),
        (  # 0 x r = 0
            {"ranges": {"demand_elasticity": [0.5, 2.0]}},
            {"defaults": {"demand_elasticity": 0.0}},
            "no effect: uncertainty.ranges.demand_elasticity: its point value is 0 in every "
            "product",
        ),
        (  # every draw the point: the seed and the draws do nothing
            {"fixed": ["sigma", "demand_elasticity", "supply_elasticity"]},
            {"disruption": [{"exporters": ["CHN"], "probability": 1.0}]},
            IDLE,
        ),
        (
            {"ranges": {"sigma": [1, 1], "demand_elasticity": [1, 1], "supply_elasticity": [1, 1]}},
            {},
            IDLE,
        ),
    ],
)
def test_settings_that_change_no_draw_are_a_no_effect_warning(
    uncertainty: dict[str, Any], more: dict[str, Any], said: str, world: Any
) -> None:
    got = no_effect(uncertainty, world, **more)
    assert len(got) == 1 and got[0].startswith(said), got


def test_settings_that_change_draws_are_not_warned_of(world: Any) -> None:
    assert no_effect({}, world) == []
    assert no_effect({"ranges": {"sigma": [1, 1]}}, world) == []  # the others still drawn
    fixed = {"fixed": ["sigma", "demand_elasticity", "supply_elasticity"]}
    assert no_effect(fixed, world, disruption=[{"exporters": ["CHN"], "probability": 0.5}]) == []


def test_the_terminal_counts_the_draws_that_did_not_converge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The table's header counts converged draws; the last line named no number ("some draws
    did not converge ... (see 'nonconverged_draws')", a key of the JSON the text run does not
    print)."""
    result = run_uncertainty(EXAMPLE1, draws=8, workers=1)
    result.products["lithium_carbonate"].draws["converged"][:3] = False
    monkeypatch.setattr("critmin.uncertainty.run_uncertainty", lambda *a, **k: result)
    res = CliRunner().invoke(app, ["uncertainty", str(EXAMPLE1), "-n", "8"])
    assert res.exit_code == 1, res.output
    flat = " ".join(res.stderr.split())
    assert "some draws did not converge (lithium_carbonate: 3 of 8)" in flat, flat


def test_draws_far_above_the_baseline_are_warned_of_beside_a_point_that_falls(
    world: Any,
) -> None:
    """A producer subsidy far above the price drives the point's consumer prices down (its own
    ``extreme:`` warning: a price falls 92%); sigma drawn near 1 with a ban drawn sends half
    the draws' prices up by orders of magnitude. The point's warning hid the draws' (their
    95th percentile was +1.4e72% without a word)."""
    sc = {
        "name": "subsidy and a ban",
        "zone": ZONE,
        "defaults": {"sigma": 1.5, "demand_elasticity": 0.0, "supply_elasticity": 0.05},
        "product": [{"id": "gallium_germanium"}],
        "policy": [
            {"type": "price_floor", "mechanism": "producer_subsidy", "price_usd_per_t": 2e6}
        ],
        "disruption": [{"exporters": ["CHN"], "probability": 0.5}],
        "uncertainty": {"ranges": {"sigma": [0.001, 1.0], "supply_elasticity": [0.01, 1.0]}},
    }
    res = run_uncertainty(sc, draws=200, seed=0, workers=1, world=world)
    assert any(w.startswith("gallium_germanium: extreme: the consumer price") for w in res.warnings)
    said = [w for w in res.warnings if w.startswith("gallium_germanium: extreme: converged draws")]
    assert len(said) == 1, res.warnings
