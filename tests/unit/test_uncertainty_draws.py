"""The compiled draws of `critmin uncertainty` against an independent plain implementation.

Every draw is solved in compiled code, warm-started from the point solution, and reduced to its
key outputs from the pair lists (critmin.model.kernels.solve_draws). Here the same draws are
solved from the baseline by ``critmin.model.solve`` and reduced with numpy on the dense
``n x n`` solution (the formulas of ``simulate``): the numbers agree to 1e-9 relative.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from critmin.model import Policy, Solution, solve
from critmin.scenario import Scenario
from critmin.scenario.resolution import resolve
from critmin.uncertainty.tasks import ProductTask, build_task, solve_chunk
from critmin.world import World

ZONE = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}
KEYS = (
    "zone_consumer_price_change_pct",
    "outside_consumer_price_change_pct",
    "self_sufficiency",
    "watch_share",
    "zone_welfare_change_usd",
    "outside_welfare_change_usd",
    "world_welfare_change_usd",
    "tariff_revenue_change_usd",
    "subsidy_cost_usd",
    "zone_consumption_change_pct",
)


def plain_outputs(task: ProductTask, sol: Solution) -> dict[str, float]:
    """The key outputs with numpy on the dense solution (as ``simulation.product_result``)."""
    V, m, w = task.V, task.members, task.watch
    E = task.E
    dP = (np.where(np.isfinite(sol.P), sol.P, 1.0) - 1.0) * 100.0

    def avg(mask: np.ndarray) -> float:
        wt = E * mask
        return float((wt * dP).sum() / wt.sum()) if wt.sum() > 0 else math.nan

    q = V * np.nan_to_num(sol.x)
    demand = q[:, m].sum()
    Q = float((task.Ez * np.nan_to_num(sol.D)).sum())
    return {
        "zone_consumer_price_change_pct": avg(m),
        "outside_consumer_price_change_pct": avg(~m),
        "self_sufficiency": float(q[np.ix_(m, m)].sum() / demand),
        "watch_share": float(q[np.ix_(w, m)].sum() / demand),
        "zone_welfare_change_usd": float(np.nansum(sol.welfare[m])),
        "outside_welfare_change_usd": float(np.nansum(sol.welfare[~m])),
        "world_welfare_change_usd": float(np.nansum(sol.welfare)),
        "tariff_revenue_change_usd": float(np.nansum(sol.tariff_revenue)),
        "subsidy_cost_usd": float(np.nansum(sol.subsidy_cost)),
        "zone_consumption_change_pct": (Q / task.Q0 - 1.0) * 100.0,
    }


def tasks_of(world: World, data: dict[str, Any]) -> list[ProductTask]:
    sc = Scenario.from_dict(data)
    from critmin.uncertainty.run import _settings

    settings = _settings(sc, {})
    _, resolved = resolve(sc, world)
    return [build_task(world, sc, rp, settings)[0] for rp in resolved]


def close(a: float, b: float) -> bool:
    return a == pytest.approx(b, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_compiled_warm_started_draws_match_cold_solves(world: World, probability: float) -> None:
    data = {
        "name": "draws",
        "zone": ZONE,
        "product": [{"id": "lithium_carbonate"}, {"id": "permanent_magnets"}],
        "policy": [
            {"type": "price_floor", "price_usd_per_t": 15000, "products": ["lithium_carbonate"]},
            {"type": "tariff", "rate": 0.1, "products": ["permanent_magnets"]},
        ],
        "disruption": [{"probability": probability}],
    }
    for task in tasks_of(world, data):
        draws = solve_chunk(task, seed=3, start=5, stop=17)
        assert draws["converged"].all()
        for d in range(12):
            factor = float(draws["supply_elasticity_factor"][d])
            market = task.market(
                float(draws["sigma"][d]), float(draws["demand_elasticity"][d]), task.eps * factor
            )
            fired = np.full(len(task.events), draws["disruptions"][d] > 0)
            policy = (
                task.disrupted_policy(fired)
                if fired.any()
                else Policy(
                    t1=task.policy.t1,
                    banned=task.policy.banned,
                    levy_floor=task.policy.levy_floor,
                    subsidy_floor=task.policy.subsidy_floor,
                    export_cap=task.policy.export_cap,
                )
            )
            sol = solve(market, policy)
            assert sol.converged
            expected = plain_outputs(task, sol)
            for key in KEYS:
                assert close(float(draws[key][d]), expected[key]), (task.product_id, d, key)


def test_warm_start_saves_iterations(world: World) -> None:
    """Draws start from the point solution: fewer Newton steps than from the baseline."""
    data = {
        "name": "draws",
        "zone": ZONE,
        "product": [{"id": "lithium_carbonate"}],
        "policy": [{"type": "price_floor", "price_usd_per_t": 15000}],
    }
    (task,) = tasks_of(world, data)
    draws = solve_chunk(task, seed=1, start=0, stop=40)
    cold = [
        solve(
            task.market(float(s), float(e), task.eps * float(f)),
            Policy(t1=task.policy.t1, levy_floor=task.policy.levy_floor),
        ).iterations
        for s, e, f in zip(
            draws["sigma"],
            draws["demand_elasticity"],
            draws["supply_elasticity_factor"],
            strict=True,
        )
    ]
    assert draws["iterations"].mean() < np.mean(cold)
