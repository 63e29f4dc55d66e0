"""`critmin uncertainty` with export controls (issue 15): licence grant shares drawn from their
range jointly with the elasticities; destination quotas, leaky bans and shocks in every draw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from critmin.errors import ScenarioError
from critmin.scenario import load_scenario
from critmin.simulation import simulate
from critmin.uncertainty import OUTPUTS, run_uncertainty, single_thread_blas
from critmin.uncertainty.licensing import draw_shares, licence_ranges
from critmin.world import World

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "controls"
ZONE = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}
ALL_FIXED = {"fixed": ["sigma", "demand_elasticity", "supply_elasticity"]}
PRICE = "zone_consumer_price_change_pct"
SIMULATE_KEYS = (
    "zone_consumer_price_change_pct",
    "outside_consumer_price_change_pct",
    "zone_welfare_change_usd",
    "outside_welfare_change_usd",
    "world_welfare_change_usd",
    "tariff_revenue_change_usd",
)


def licensing(share: Any = 0.7, rng: Any = None, **extra: Any) -> dict[str, Any]:
    pol: dict[str, Any] = {"type": "export_licensing", "exporters": ["CHN"], "grant_share": share}
    if rng is not None:
        pol["grant_share_range"] = rng
    return pol | extra


def scenario(*policies: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": "licensing draws",
        "zone": ZONE,
        "product": [{"id": "gallium_germanium"}],
        "policy": list(policies),
    } | extra


def band(res: Any, key: str = PRICE, pid: str = "gallium_germanium") -> float:
    out = res.to_dict()["products"][pid]["outputs"][key]
    return float(out["p95"] - out["p05"])


KW: dict[str, Any] = {"draws": 40, "seed": 11, "workers": 1}


def test_drawn_grant_shares_follow_their_triangular_range(world: World) -> None:
    sc = scenario(licensing(0.7, [0.4, 0.9]), uncertainty=ALL_FIXED)
    licences = licence_ranges(load_scenario(sc), "gallium_germanium")
    many = draw_shares(licences, 11, 0, 20_000)[:, 0]
    # Triangular(0.4, 0.7, 0.9): mean 2/3, P(g < 0.7) = 0.3 / 0.5 = 0.6
    assert many.min() >= 0.4 and many.max() <= 0.9
    assert many.mean() == pytest.approx(2 / 3, abs=0.003)
    assert np.mean(many < 0.7) == pytest.approx(0.6, abs=0.01)
    res = run_uncertainty(sc, **(KW | {"chunk_size": 15}), world=world)
    p = res.products["gallium_germanium"]
    g = p.draws["grant_share[0]"]
    assert p.converged.all()
    assert np.array_equal(g, many[:40])  # the run reads the same stream
    # fixed elasticities: the zone price falls as more is licensed (a looser cap)
    order = np.argsort(g)
    assert np.all(np.diff(p.draws[PRICE][order]) <= 1e-9)
    lic = res.to_dict()["products"]["gallium_germanium"]["licensing"][0]
    assert lic["shares"][0] | {"p05": None, "median": None, "p95": None} == {
        "destinations": "every destination",
        "low": 0.4,
        "mode": 0.7,
        "high": 0.9,
        "p05": None,
        "median": None,
        "p95": None,
    }
    assert 0.4 < lic["shares"][0]["p05"] < lic["shares"][0]["median"] < lic["shares"][0]["p95"]


def test_a_wide_grant_range_widens_the_price_band(world: World) -> None:
    point = run_uncertainty(scenario(licensing(0.7)), **KW, world=world)
    wide = run_uncertainty(scenario(licensing(0.7, [0.4, 0.95])), **KW, world=world)
    # the same elasticity draws in both runs (their streams do not depend on the licence)
    for key in ("sigma", "demand_elasticity", "supply_elasticity_factor"):
        assert np.array_equal(
            point.products["gallium_germanium"].draws[key],
            wide.products["gallium_germanium"].draws[key],
        )
    assert band(wide) > 1.5 * band(point) > 0
    assert band(wide, "world_welfare_change_usd") > band(point, "world_welfare_change_usd")


def test_a_collapsed_range_gives_exactly_the_draws_without_a_range(world: World) -> None:
    a = run_uncertainty(scenario(licensing(0.7)), **KW, world=world)
    b = run_uncertainty(scenario(licensing(0.7, [0.7, 0.7])), **KW, world=world)
    pa, pb = a.products["gallium_germanium"], b.products["gallium_germanium"]
    assert np.all(pb.draws["grant_share[0]"] == 0.7)
    for key in (*OUTPUTS, "sigma", "converged", "iterations"):
        assert np.array_equal(pa.draws[key], pb.draws[key], equal_nan=True), key
    assert pa.point == pb.point


def test_fixed_grant_share_gives_the_draws_without_a_range(world: World) -> None:
    """``[uncertainty] fixed = ["grant_share"]`` keeps the file's ranges but holds every
    licence at its share: the run without ranges, bit for bit (the decomposition of the
    docs)."""
    a = run_uncertainty(scenario(licensing(0.7)), **KW, world=world)
    sc = scenario(licensing(0.7, [0.4, 0.95]), uncertainty={"fixed": ["grant_share"]})
    b = run_uncertainty(sc, **KW, world=world)
    pa, pb = a.products["gallium_germanium"], b.products["gallium_germanium"]
    assert "grant_share[0]" not in pb.draws
    assert b.to_dict()["products"]["gallium_germanium"]["licensing"] == []
    for key in (*OUTPUTS, "sigma", "converged"):
        assert np.array_equal(pa.draws[key], pb.draws[key], equal_nan=True), key


def test_with_everything_fixed_every_draw_is_simulate_s_point(world: World) -> None:
    """Destination quota, leaky ban, licensing by destination and a shock, all fixed: every
    draw is the point, and the point is what critmin simulate reports."""
    sc = scenario(
        licensing({"default": 0.8, "JPN": 0.5}, {"JPN": [0.5, 0.5]}, importers="non-members"),
        {
            "type": "export_quota",
            "exporters": ["CHN"],
            "importers": ["JPN"],
            "share_of_baseline": 0.6,
        },
        {
            "type": "export_ban",
            "exporters": ["CHN"],
            "importers": ["USA"],
            "leak_via": ["THA", "MEX"],
            "leak_cost": 0.2,
            "leak_share": 0.3,
        },
        shock=[{"type": "demand", "countries": ["USA", "JPN"], "change": 0.1}],
        uncertainty=ALL_FIXED,
    )
    with single_thread_blas():
        sim = simulate(sc, world).to_dict()["products"]["gallium_germanium"]
    res = run_uncertainty(sc, draws=6, seed=1, workers=1, world=world)
    p = res.products["gallium_germanium"]
    assert p.converged.all()
    for key in OUTPUTS:
        assert np.all(p.draws[key] == p.point[key]), key
    for key in SIMULATE_KEYS:
        assert p.point[key] == pytest.approx(sim["summary"][key], rel=1e-9, abs=1e-6), key
    for key in ("self_sufficiency", "watch_share"):
        assert p.point[key] == pytest.approx(sim["zone"][key], rel=1e-12), key


def test_shocks_in_the_compiled_draws_match_one_solution_per_draw(world: World) -> None:
    """Demand and supply shocks (and a disruption) run in the compiled draws kernel; each
    draw agrees with the same draw solved by the model's solver and reduced with numpy
    (critmin.uncertainty.solutions), an independent path; the point agrees with simulate."""
    import dataclasses

    from critmin.scenario.resolution import resolve
    from critmin.uncertainty.run import _settings
    from critmin.uncertainty.tasks import build_task, solve_chunk

    sc = scenario(
        {"type": "tariff", "rate": 0.1},
        shock=[
            {"type": "demand", "countries": ["USA", "JPN"], "change": 0.1},
            {"type": "supply", "countries": ["CHN"], "change": -0.2},
        ],
        disruption=[{"probability": 0.4}],
    )
    spec = load_scenario(sc)
    rp = resolve(spec, world)[1][0]
    task, _ = build_task(world, spec, rp, _settings(spec, {}))
    assert not task.by_solutions and rp.policy.has_shifts
    compiled = solve_chunk(task, 5, 0, 16)
    one_by_one = solve_chunk(dataclasses.replace(task, controls=rp.policy), 5, 0, 16)
    assert compiled["converged"].all() and one_by_one["converged"].all()
    assert 0 < compiled["disruptions"].sum() < 16
    for key in OUTPUTS:
        np.testing.assert_allclose(compiled[key], one_by_one[key], rtol=1e-9, atol=1e-6)
    fixed = sc | {"uncertainty": ALL_FIXED, "disruption": []}
    with single_thread_blas():
        sim = simulate(fixed, world).to_dict()["products"]["gallium_germanium"]
    point = run_uncertainty(fixed, draws=3, seed=1, workers=1, world=world)
    p = point.products["gallium_germanium"]
    for key in SIMULATE_KEYS:
        assert np.all(p.draws[key] == p.point[key]), key
        assert p.point[key] == pytest.approx(sim["summary"][key], rel=1e-12, abs=1e-6), key


def test_a_buyer_cut_off_in_a_draw_leaves_its_price_mean_undefined_either_way(
    world: World,
) -> None:
    """CYP buys lithium carbonate from NLD and TUR alone; in the draws where both are
    banned it has no supplier. The zone's price mean of those draws is undefined (NaN) in the
    compiled draws, as simulate reports it; the draws solved one solution each (products with
    quota groups) counted CYP as unchanged and gave a finite mean (+17% to +26% with a
    destination quota on CHL), which the medians and bands then took in."""
    import dataclasses

    from critmin.scenario.resolution import resolve
    from critmin.uncertainty.run import _settings
    from critmin.uncertainty.tasks import build_task, solve_chunk

    sc = {
        "name": "CYP cut off in some draws",
        "zone": ZONE,
        "product": [{"id": "lithium_carbonate"}],
        "disruption": [{"exporters": ["NLD", "TUR"], "importers": ["CYP"], "probability": 0.5}],
    }
    spec = load_scenario(sc)
    rp = resolve(spec, world)[1][0]
    task, _ = build_task(world, spec, rp, _settings(spec, {}))
    compiled = solve_chunk(task, 3, 0, 20)
    one_by_one = solve_chunk(dataclasses.replace(task, controls=rp.policy), 3, 0, 20)
    cut = compiled["disruptions"] == 2
    assert 0 < cut.sum() < 20
    for draws in (compiled, one_by_one):
        assert np.array_equal(np.isnan(draws[PRICE]), cut)
        assert np.isfinite(draws["outside_consumer_price_change_pct"]).all()
    np.testing.assert_allclose(compiled[PRICE], one_by_one[PRICE], rtol=1e-9, atol=1e-6)
    quota = {"type": "export_quota", "exporters": ["CHL"], "importers": "members"}
    grouped = sc | {"policy": [quota | {"share_of_baseline": 0.5}]}
    res = run_uncertainty(grouped, draws=20, seed=3, workers=1, world=world)
    p = res.products["lithium_carbonate"]
    assert np.array_equal(np.isnan(p.draws[PRICE]), p.draws["disruptions"] == 2)


def test_same_numbers_whatever_the_chunking_and_threads(world: World) -> None:
    sc = scenario(licensing({"default": 0.8, "USA": 0.3}, {"default": [0.6, 0.9], "USA": [0, 0.5]}))
    a = run_uncertainty(sc, draws=24, seed=4, workers=1, chunk_size=24, world=world)
    b = run_uncertainty(sc, draws=24, seed=4, workers=2, chunk_size=5, world=world)
    pa, pb = a.products["gallium_germanium"], b.products["gallium_germanium"]
    assert pa.draws.keys() == pb.draws.keys()
    for key, values in pa.draws.items():
        assert np.array_equal(values, pb.draws[key], equal_nan=True), key
    # one quantile per measure and draw: the destinations' shares move together
    usa, rest = pa.draws["grant_share[0].USA"], pa.draws["grant_share[0].default"]
    assert np.all(np.diff(usa[np.argsort(rest)]) >= 0)


def test_a_measure_draws_one_share_for_every_product_it_covers(world: World) -> None:
    sc = scenario(licensing(0.7, [0.5, 0.9]), uncertainty=ALL_FIXED)
    sc["product"] = [{"id": "gallium_germanium"}, {"id": "antimony_unwrought"}]
    res = run_uncertainty(sc, draws=12, seed=3, workers=1, world=world)
    shares = [res.products[p["id"]].draws["grant_share[0]"] for p in sc["product"]]
    assert np.array_equal(shares[0], shares[1]) and np.ptp(shares[0]) > 0


def test_licensing_with_disruptions_and_shortfall(world: World) -> None:
    sc = scenario(licensing(0.8, [0.6, 0.95]), disruption=[{"probability": 1.0}])
    res = run_uncertainty(sc, draws=10, seed=2, workers=1, world=world)
    p = res.products["gallium_germanium"]
    assert p.converged.all() and np.all(p.draws["disruptions"] == 1)
    assert np.all(p.draws["shortfall"] > 0)  # the ban removes what the licence let through


def test_the_control_examples_run_under_uncertainty() -> None:
    path = EXAMPLES / "graphite_licensing_2023.toml"
    res = run_uncertainty(path, draws=8, seed=1, workers=1)
    assert res.converged
    assert res.to_dict()["products"]["natural_graphite"]["licensing"][0]["shares"][0]["high"] == 1.0


def test_cli_prints_the_drawn_grant_shares(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from critmin.cli import app

    path = EXAMPLES / "ga_ge_licensing_2023.toml"
    draws_csv = tmp_path / "draws.csv"
    argv = ["uncertainty", str(path), "-n", "8", "--workers", "1", "--draws-out", str(draws_csv)]
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 0, res.output
    assert "Licence grant share of MOFCOM 2023 No. 23: every destination: 0.6-0.95" in res.stdout
    assert "grant_share[0]" in draws_csv.read_text().splitlines()[0]


@pytest.mark.parametrize(
    ("policy", "words"),
    [
        (licensing(0.7, [0.8, 0.9]), "low <= grant_share <= high"),
        (licensing(0.7, [0.5, 1.2]), "between 0 and 1"),
        (licensing(0.7, [0.9, 0.5]), "low <= grant_share <= high"),
        (licensing(0.7, [0.5]), "two shares"),
        (licensing({"default": 0.7}, [0.5, 0.9]), "the form of grant_share"),
        (licensing({"default": 0.7}, {"USA": [0.5, 0.9]}), "grant_share has no key 'USA'"),
    ],
)
def test_bad_grant_share_ranges_get_one_message(policy: dict[str, Any], words: str) -> None:
    with pytest.raises(ScenarioError, match="grant_share_range") as err:
        load_scenario(scenario(policy))
    assert words in str(err.value)


def test_cli_refuses_a_bad_range_with_exit_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from critmin.cli import app

    text = (EXAMPLES / "ga_ge_licensing_2023.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(
        text.replace("grant_share_range = [0.6, 0.95]", "grant_share_range = [0.8, 0.95]")
    )
    res = CliRunner().invoke(app, ["uncertainty", str(bad), "-n", "4"])
    assert res.exit_code == 2
    assert "low <= grant_share <= high" in res.stderr and "Traceback" not in res.output


def test_cli_shows_no_rounding_noise_as_a_revenue_change() -> None:
    """Licensing raises no revenue: the terminal table showed the revenue change as 5.248e-09
    USD (two sums of millions subtracted); it shows 0, while the JSON keeps the computation."""
    from typer.testing import CliRunner

    from critmin.cli import app

    path = EXAMPLES / "antimony_licensing_2024.toml"
    argv = ["uncertainty", str(path), "-n", "8", "--workers", "1"]
    res = CliRunner().invoke(app, argv, terminal_width=200, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    (row,) = [line for line in res.stdout.splitlines() if "Tariff and levy revenue" in line]
    cells = [c.strip() for c in row.strip("│┃ ").split("│")]
    assert cells[1] == "USD"
    assert cells[2:] == ["0", "0", "0", "0"], row
