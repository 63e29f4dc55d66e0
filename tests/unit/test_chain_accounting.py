"""Accounting of linked chains where producers cannot produce, and the calibration of stages
on the bundled data: what a producer that sells nothing buys and loses, producers cut off from
their input, the input cost share's content factors, the unit value of a stage of several
products, and the notes of a rule of origin (an audit of the chain, docs/model.md)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from critmin import simulate
from critmin.baseline import bundled_baseline
from critmin.model import Market, Policy
from critmin.model.chain import ChainStage, chain_setup, reshift
from critmin.model.chain_solver import solve_chain
from critmin.scenario.chains import pad_baseline, unit_value
from critmin.world import load_world

ZONE = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}


def two_stages(
    ore_policy: Policy | None = None, metal_policy: Policy | None = None
) -> list[ChainStage]:
    """Ore -> metal over three countries. Country 1 refines (no home sales of metal, all
    exported to 2) from ore it buys only from country 0; country 2 refines from its own ore."""
    ore = np.array([[50.0, 30.0, 10.0], [0.0, 0.0, 0.0], [0.0, 0.0, 40.0]])
    metal = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 60.0], [0.0, 5.0, 80.0]])
    z = np.zeros((3, 3))
    eps = np.array([0.8, 0.6, 1.0])
    return [
        ChainStage(Market(V=ore, t0=z, sigma=4.0, eta=0.5, eps=eps), ore_policy, name="ore"),
        ChainStage(
            Market(V=metal, t0=z, sigma=5.0, eta=0.4, eps=eps),
            metal_policy,
            link="input",
            input_share=np.full(3, 0.4),
            name="metal",
        ),
    ]


def banned(*pairs: tuple[int, int]) -> Policy:
    b = np.zeros((3, 3), dtype=bool)
    for i, j in pairs:
        b[i, j] = True
    return Policy(banned=b)


def test_a_producer_that_sells_nothing_buys_no_input() -> None:
    """Country 1's refiners banned from their only market produce nothing, so the ore they
    bought for it is no longer bought: mass balance, the next stage's input bought = input
    share x baseline sales x output (0)."""
    sol = solve_chain(two_stages(metal_policy=banned((1, 2))))
    assert sol.converged
    ore, metal = sol.stages
    assert metal.S[1] == 0.0
    # country 1's ore: its other use alone, (1 - delta) P^-eta, delta = a R / E = 0.4 x 60 / 30
    delta = 0.4 * 60.0 / 30.0
    assert ore.D[1] == pytest.approx((1.0 - delta) * ore.P[1] ** -0.5, rel=1e-9)
    assert ore.input_bought[1] < 1e-9


def test_a_producer_that_sells_nothing_loses_its_value_added_only() -> None:
    """Its producer surplus over value added, ``(1 - a) R (w^(1+eps) - 1)/(1 + eps)`` at no
    output: ``-(1 - a) R / (1 + eps)``, as every other input-linked producer's."""
    sol = solve_chain(two_stages(metal_policy=banned((1, 2))))
    metal = sol.stages[1]
    a, R, eps = metal.input_share[1], metal.R[1], 0.6
    assert 0 < a < 1
    assert metal.dPS[1] == pytest.approx(-(1.0 - a) * R / (1.0 + eps), rel=1e-12)


def test_producers_cut_off_from_their_input_produce_nothing() -> None:
    """Country 1 buys ore from country 0 alone; a ban of that pair leaves its refiners with no
    input (Leontief): they produce nothing, and a ``cut off:`` note says so."""
    stages = two_stages(ore_policy=banned((0, 1)))
    sol = solve_chain(stages)
    assert sol.converged
    metal = sol.stages[1]
    assert metal.S[1] == 0.0 and metal.q[1].sum() == 0.0
    assert any(n.startswith("cut off:") and "metal" in n for n in sol.notes)
    # the rest of the chain clears: country 2 buys its metal elsewhere (at home)
    assert metal.q[2, 2] > metal.V[2, 2]


def test_reshift_keeps_producers_without_sales_idle() -> None:
    stages = two_stages(metal_policy=banned((1, 2)))
    cs = chain_setup(stages)
    again = reshift(cs, stages)
    assert np.array_equal(cs.arrays.lnA, again.arrays.lnA)
    assert np.isneginf(cs.arrays.lnA).sum() == 1


@pytest.fixture(scope="module")
def world() -> Any:
    return load_world(2024)


def test_input_cost_share_uses_the_content_of_the_products_in_the_market(world: Any) -> None:
    """The lithium refined step lists carbonate and hydroxide; hydroxide has no trade data and
    is left out of the market, so its content factor must not enter the estimate either."""
    res = simulate({"name": "li", "zone": ZONE, "chain": [{"id": "lithium"}]}, world).to_dict()
    (refined,) = [s for s in res["chains"]["lithium"]["stages"] if s["link"] == "input"]
    assert refined["products"] == ["lithium_carbonate"]
    ore, carb = (
        bundled_baseline(world, "lithium_ores"),
        bundled_baseline(world, "lithium_carbonate"),
    )
    k_ore = float(world.product_record("lithium_ores")["content_factor"])
    k_carb = float(world.product_record("lithium_carbonate")["content_factor"])
    share = 1.15 * (unit_value(ore) / k_ore) / (unit_value(carb) / k_carb)
    note = next(n for n in refined["notes"] if n.startswith("estimate: input cost share"))
    assert f"input cost share {share:.3f}" in note and f"content {k_carb:g})" in note


def test_a_stage_of_several_products_prices_a_tonne_at_value_over_tonnes(world: Any) -> None:
    """Nickel matte and intermediates summed into one stage: its unit value (USD/t) is the
    stage's value over its tonnes, in every pair and overall."""
    res = simulate({"name": "ni", "zone": ZONE, "chain": [{"id": "nickel"}]}, world).to_dict()
    key = "nickel_matte+nickel_intermediates"
    assert key in res["products"]
    parts = [bundled_baseline(world, p) for p in key.split("+")]
    codes = sorted({c for b in parts for c in b.countries})
    parts = [pad_baseline(b, codes) for b in parts]
    value = sum(float(b.V[b.V > 0].sum()) for b in parts)
    tonnes = sum(float((b.V[b.V > 0] / b.p0[b.V > 0]).sum()) for b in parts)
    stages = res["chains"]["nickel"]["stages"]
    note = next(n for n in stages[2]["notes"] if n.startswith("estimate: input cost share"))
    assert f"input USD {value / tonnes:,.0f}/t" in note


def test_rule_of_origin_notes_count_producers_and_a_subsidy_nobody_qualifies_for(
    world: Any,
) -> None:
    """A ``member_inputs`` rule on the lithium chain: no member refiner whose price is below a
    USD 15,000/t subsidy floor qualifies, so the floor may do nothing, and a note says so; the
    count of member producers counts those that produce the stage."""
    scenario = {
        "name": "li origin",
        "zone": {**ZONE, "origin": {"rule": "member_inputs"}},
        "chain": [{"id": "lithium"}],
        "policy": [
            {
                "type": "price_floor",
                "mechanism": "producer_subsidy",
                "stage": "refine",
                "price_usd_per_t": 15000,
            }
        ],
    }
    res = simulate(scenario, world).to_dict()
    carb = res["products"]["lithium_carbonate"]
    producers = sum(
        1 for r in carb["countries"].values() if r["member"] and r["baseline_sales_usd"]
    )
    notes = carb["notes"]
    assert any(f"of {producers} member producers do not fully qualify" in n for n in notes)
    assert any(n.startswith("may have no effect:") and "rule of origin" in n for n in notes)


def test_a_stage_of_several_products_weighs_their_content_by_tonnes(world: Any) -> None:
    """Nickel matte (content 0.7) and intermediates (0.35) in one stage: its content per tonne
    is their mean weighted by the tonnes each trades, the tonnes its unit value divides by."""
    res = simulate({"name": "ni", "zone": ZONE, "chain": [{"id": "nickel"}]}, world).to_dict()
    tonnes, content = [], []
    for pid in ("nickel_matte", "nickel_intermediates"):
        b = bundled_baseline(world, pid)
        tonnes.append(float((b.V[b.V > 0] / b.p0[b.V > 0]).sum()))
        content.append(float(world.product_record(pid)["content_factor"]))
    k = sum(c * t for c, t in zip(content, tonnes, strict=True)) / sum(tonnes)
    assert abs(k - np.mean(content)) > 0.01  # the weighting matters on the bundled data
    stages = res["chains"]["nickel"]["stages"]
    note = next(n for n in stages[1]["notes"] if n.startswith("estimate: input cost share"))
    assert f"(content {k:g})" in note
