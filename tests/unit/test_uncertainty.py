"""`critmin uncertainty`: sampling, reproducibility, disruptions and the summaries."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.errors import CritminError, ScenarioError
from critmin.scenario import Scenario
from critmin.simulation import simulate
from critmin.uncertainty import (
    OUTPUTS,
    ParameterRange,
    draw_uniforms,
    fan_data,
    multiplier,
    run_uncertainty,
    single_thread_blas,
    triangular_ppf,
)
from critmin.world import World

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE1 = EXAMPLES / "01_lithium_floor_levy.toml"
ZONE = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}
SIMULATE_KEYS = {  # uncertainty output -> simulate's summary / zone key
    "zone_consumer_price_change_pct": "zone_consumer_price_change_pct",
    "outside_consumer_price_change_pct": "outside_consumer_price_change_pct",
    "zone_welfare_change_usd": "zone_welfare_change_usd",
    "outside_welfare_change_usd": "outside_welfare_change_usd",
    "world_welfare_change_usd": "world_welfare_change_usd",
    "tariff_revenue_change_usd": "tariff_revenue_change_usd",
    "subsidy_cost_usd": "subsidy_cost_usd",
}
ALL_FIXED = {"fixed": ["sigma", "demand_elasticity", "supply_elasticity"]}


def scenario(
    products: list[str],
    policies: list[dict[str, Any]] | None = None,
    disruptions: list[dict[str, Any]] | None = None,
    uncertainty: dict[str, Any] | None = None,
) -> dict[str, Any]:
    sc: dict[str, Any] = {
        "name": "test",
        "zone": ZONE,
        "product": [{"id": p} for p in products],
        "policy": policies or [],
        "disruption": disruptions or [],
    }
    if uncertainty is not None:
        sc["uncertainty"] = uncertainty
    return sc


def arrays_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


# ----------------------------------------------------------------------------- sampling


def test_uniform_streams_do_not_depend_on_chunking() -> None:
    whole = draw_uniforms(7, (0, 123), 0, 50, 3)
    parts = np.vstack([draw_uniforms(7, (0, 123), a, b, 3) for a, b in ((0, 1), (1, 17), (17, 50))])
    assert np.array_equal(whole, parts)
    assert not np.array_equal(whole, draw_uniforms(8, (0, 123), 0, 50, 3))
    assert not np.array_equal(whole, draw_uniforms(7, (0, 124), 0, 50, 3))


def test_triangular_inverse_cdf() -> None:
    u = np.linspace(0.0, 1.0, 200_001)[:-1]
    x = triangular_ppf(u, 2.0, 3.0, 7.0)
    assert x.min() == 2.0 and x.max() < 7.0
    assert np.all(np.diff(x) >= 0)
    assert x.mean() == pytest.approx((2.0 + 3.0 + 7.0) / 3.0, rel=1e-4)
    # the CDF at the mode is (c - a) / (b - a)
    assert np.mean(x <= 3.0) == pytest.approx(0.2, abs=1e-4)
    assert np.array_equal(triangular_ppf(u[:10], 4.2, 4.2, 4.2), np.full(10, 4.2))


def test_multiplier_zero_width_is_exactly_one() -> None:
    rng = ParameterRange("sigma", "triangular", 1.0, 1.0, 7.0, 7.0, 7.0, "")
    assert np.array_equal(multiplier(np.random.default_rng(0).random(100), rng), np.ones(100))


def test_draws_follow_the_cited_ranges(world: World) -> None:
    res = run_uncertainty(EXAMPLE1, draws=400, seed=3, workers=1, world=world)
    p = res.products["lithium_carbonate"]
    for r in p.ranges:
        key = "supply_elasticity_factor" if r.parameter == "supply_elasticity" else r.parameter
        v = p.draws[key]
        lo, hi = (r.relative_low, r.relative_high) if key.endswith("factor") else (r.low, r.high)
        assert v.min() >= lo - 1e-12 and v.max() <= hi + 1e-12, r.parameter
        assert np.unique(v).size == v.size  # continuous: every draw differs
    assert (p.draws["sigma"] > 1.0).all()
    # the class defaults of a chemical (elasticities table): sigma 4-9, mode 6.6
    sig = {r.parameter: r for r in p.ranges}["sigma"]
    assert (sig.low, sig.mode, sig.high) == pytest.approx((4.0, 6.6, 9.0))
    assert np.mean(p.draws["sigma"]) == pytest.approx((4.0 + 6.6 + 9.0) / 3, rel=0.03)


def test_scenario_value_is_the_mode_of_the_relative_range(world: World) -> None:
    sc = scenario(["lithium_carbonate"])
    sc["product"][0]["sigma"] = 3.0  # class range 4-9 around 6.6, scaled on sigma - 1
    res = run_uncertainty(sc, draws=50, seed=1, workers=1, world=world)
    sig = {r.parameter: r for r in res.products["lithium_carbonate"].ranges}["sigma"]
    assert sig.mode == 3.0
    assert sig.low == pytest.approx(1 + 2.0 * 3.0 / 5.6)
    assert sig.high == pytest.approx(1 + 2.0 * 8.0 / 5.6)


# ----------------------------------------------------------------------------- exactness


def test_zero_width_ranges_reproduce_the_point_estimate_exactly(world: World) -> None:
    with single_thread_blas():  # as every chunk runs (more BLAS threads move the last bits)
        point = simulate(EXAMPLE1, world).to_dict()["products"]["lithium_carbonate"]
    data = Scenario.from_file(EXAMPLE1).model_dump(exclude_none=True)
    data["uncertainty"] = ALL_FIXED
    res = run_uncertainty(data, draws=20, seed=5, workers=1, chunk_size=7, world=world)
    p = res.products["lithium_carbonate"]
    assert p.converged.all()
    assert np.all(p.draws["iterations"] == 0)  # warm-started at the point solution itself
    for key in OUTPUTS:  # the draws and the point go through the same compiled reduction
        assert np.all(p.draws[key] == p.point[key]), key
    # ... which agrees with simulate's numpy sums to rounding (pair order vs pairwise sums)
    for key, sim_key in SIMULATE_KEYS.items():
        assert p.point[key] == pytest.approx(point["summary"][sim_key], rel=1e-12, abs=1e-9), key
    for key in ("self_sufficiency", "watch_share"):
        assert p.point[key] == pytest.approx(point["zone"][key], rel=1e-12, abs=1e-15), key
    assert np.all(p.draws["sigma"] == point["parameters"]["sigma"])
    assert np.all(p.draws["supply_elasticity_factor"] == 1.0)
    summary = res.to_dict()["products"]["lithium_carbonate"]["outputs"]
    for out in summary.values():
        assert out["p05"] == out["median"] == out["p95"] == out["point"]


def test_no_policy_no_disruption_gives_no_change_in_every_draw(world: World) -> None:
    res = run_uncertainty(scenario(["cobalt_oxides"]), draws=30, seed=2, workers=1, world=world)
    p = res.products["cobalt_oxides"]
    for key in ("zone_consumer_price_change_pct", "world_welfare_change_usd", "shortfall"):
        assert np.all(p.draws[key] == 0.0), key
    assert res.to_dict()["products"]["cobalt_oxides"]["stockpile"]["tonnes"] == 0.0


def test_disruption_with_probability_zero_changes_nothing(world: World) -> None:
    kw: dict[str, Any] = {"draws": 60, "seed": 9, "workers": 1, "chunk_size": 25, "world": world}
    products = ["gallium_germanium", "lithium_carbonate"]
    floor = [{"type": "price_floor", "price_usd_per_t": 15000, "products": ["lithium_carbonate"]}]
    plain = run_uncertainty(scenario(products, floor), **kw)
    dis = [{"type": "export_ban", "probability": 0.0}]
    zero = run_uncertainty(scenario(products, floor, dis), **kw)
    for pid in products:
        assert zero.products[pid].events  # the events exist, they just never fire
        assert arrays_equal(plain.products[pid].draws, zero.products[pid].draws), pid
        assert plain.products[pid].summary() | {"disruption_events": []} == zero.products[
            pid
        ].summary() | {"disruption_events": []}
    # a disruption that can never fire says so; a year (for critmin paths) is named as unused
    assert "no effect: disruption[0] has probability 0: no draw fires it" in zero.warnings
    dated = [{"type": "export_ban", "probability": 0.5, "year": 2030}]
    run = run_uncertainty(scenario(products, floor, dated), **kw)
    assert any("disruption[0].year = 2030 is for critmin paths" in w for w in run.warnings)


def test_cut_off_buyers_and_idle_disruptions_are_reported_not_averaged_away(
    world: World,
) -> None:
    """A ban of every export leaves buyers without a supplier: their price is unbounded, so
    the price means are undefined in every draw (as simulate reports them), and the run says
    why; a disruption of an exporter that sells nothing of the product says it does nothing."""
    ban = [{"type": "export_ban", "exporters": "all", "importers": "all"}]
    res = run_uncertainty(
        scenario(["lithium_carbonate"], ban), draws=8, seed=1, workers=1, world=world
    )
    p = res.products["lithium_carbonate"]
    assert np.all(np.isnan(p.draws["zone_consumer_price_change_pct"]))
    point = res.to_dict()["products"]["lithium_carbonate"]["outputs"]
    assert point["zone_consumer_price_change_pct"]["point"] is None
    assert any(w.startswith("lithium_carbonate: cut off") for w in res.warnings)
    idle = [{"exporters": ["ISL"], "probability": 0.5}]
    res = run_uncertainty(
        scenario(["lithium_carbonate"], disruptions=idle), draws=20, seed=1, workers=1, world=world
    )
    assert res.to_dict()["warnings"] == [  # 20 draws: enough for a band (no warning of that)
        "no effect: disruption[0]: none of the exporters it names sells the products it "
        "covers to the importers it names (no draw can disrupt any trade)"
    ]
    # every kind of the scenario's warnings, as simulate prints them ("may have no effect"
    # was left out)
    low = [{"type": "price_floor", "price_usd_per_t": 100}]
    res = run_uncertainty(
        scenario(["lithium_carbonate"], low), draws=4, seed=1, workers=1, world=world
    )
    assert any(
        w.startswith("lithium_carbonate: may have no effect: policy[0]") for w in res.warnings
    )


def test_the_point_estimates_extreme_results_are_warned_of_as_simulate_does(
    world: World,
) -> None:
    """A producer subsidy of USD 1e8/t drives an output 987-fold and a price down 100%:
    the run gives simulate's ``extreme:`` warnings for its point estimate, in the same words
    after the product id, once (its point column came without a word)."""
    subsidy = [{"type": "price_floor", "mechanism": "producer_subsidy", "price_usd_per_t": 1e8}]
    sc = scenario(["lithium_carbonate"], subsidy, uncertainty=ALL_FIXED)
    notes = simulate(sc, world).to_dict()["products"]["lithium_carbonate"]["notes"]
    want = [f"lithium_carbonate: {n}" for n in notes if n.startswith("extreme:")]
    assert len(want) == 2 and "the output of CZE grows 987-fold" in want[1]
    res = run_uncertainty(sc, draws=2, workers=1, world=world)
    assert [w for w in res.warnings if "extreme:" in w] == want
    plain = run_uncertainty(scenario(["lithium_carbonate"]), draws=2, workers=1, world=world)
    assert not any("extreme:" in w for w in plain.warnings)


CYP_SUPPLIERS = ["NLD", "TUR"]
"""The only suppliers of lithium carbonate to CYP (an EU member without output)."""


@pytest.mark.parametrize(
    ("own", "disrupted", "fired"),
    [
        ([], CYP_SUPPLIERS, 2),
        ([{"type": "export_ban", "exporters": ["NLD"], "importers": ["CYP"]}], ["TUR"], 1),
        ([{"type": "export_quota", "exporters": ["NLD"], "share_of_baseline": 0.0}], ["TUR"], 1),
    ],
    ids=["both-drawn", "one-banned", "one-quota-0"],
)
def test_buyers_the_disruptions_cut_off_in_draws_are_named_with_their_share(
    world: World, own: list[dict[str, Any]], disrupted: list[str], fired: int
) -> None:
    """CYP buys lithium carbonate from NLD and TUR alone: in the draws where the
    disruptions remove the suppliers the scenario leaves it (each exporter's event fires by
    itself), it has none, its welfare is undefined and those draws were left out of the
    zone's medians and bands without a word. A ``cut off:`` warning now names it and the
    share of draws; one exporter's disruption alone cuts no one off."""
    dis = [{"exporters": disrupted, "importers": ["CYP"], "probability": 0.5}]
    res = run_uncertainty(
        scenario(["lithium_carbonate"], own, dis), draws=40, seed=3, workers=1, world=world
    )
    p = res.products["lithium_carbonate"]
    cut = p.draws["disruptions"] == fired
    assert 0 < cut.sum() < 40
    assert np.array_equal(~np.isfinite(p.draws["zone_welfare_change_usd"]), cut)
    share = f"{cut.sum()} of 40 draws ({100 * cut.sum() / 40:.1f}%)"
    want = (
        f"lithium_carbonate: cut off: disruption[0]: in {share} the bans drawn leave CYP with "
        "no supplier: their price is infinite"
    )
    found = [w for w in res.warnings if "cut off: disruption" in w]
    assert len(found) == 1 and found[0].startswith(want), res.warnings
    alone = [{"exporters": ["TUR"], "importers": ["CYP"], "probability": 0.5}]
    res = run_uncertainty(
        scenario(["lithium_carbonate"], [], alone), draws=40, seed=3, workers=1, world=world
    )
    assert not any("cut off" in w for w in res.warnings), res.warnings


def test_the_draws_said_cut_off_are_those_with_undefined_zone_welfare(world: World) -> None:
    """Every exporter's ban on the zone, each with p = 0.7 (44 events): the draws the
    warning counts are exactly those whose zone welfare is undefined, and it names the
    members cut off in some of them."""
    dis = [{"exporters": "all", "importers": "members", "probability": 0.7}]
    res = run_uncertainty(
        scenario(["lithium_carbonate"], disruptions=dis), draws=30, seed=1, workers=1, world=world
    )
    welfare = res.products["lithium_carbonate"].draws["zone_welfare_change_usd"]
    undefined = int((~np.isfinite(welfare)).sum())
    found = [w for w in res.warnings if "cut off: disruption" in w]
    assert len(found) == 1 and f"in {undefined} of 30 draws" in found[0], res.warnings
    assert re.search(r"the bans drawn leave some of \d+ buyers \(AUS, .* and \d+ more\)", found[0])


def test_cli_prints_and_writes_the_cut_off_in_draws(tmp_path: Path) -> None:
    """The text output and the ``--out`` file carry the ``cut off:`` warning of the draws."""
    path = tmp_path / "cyp.toml"
    path.write_text(
        'name = "CYP"\n[zone]\nmembers = ["EU27"]\n[[product]]\nid = "lithium_carbonate"\n'
        '[[disruption]]\nexporters = ["NLD", "TUR"]\nimporters = ["CYP"]\nprobability = 0.5\n'
    )
    out = tmp_path / "u.json"
    res = CliRunner().invoke(
        app, ["uncertainty", str(path), "-n", "20", "--workers", "1", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    head = "lithium_carbonate: cut off: disruption[0]: in "
    assert f"warning: {head}" in " ".join(res.stderr.split())
    assert [w for w in json.loads(out.read_text())["warnings"] if w.startswith(head)]


def test_certain_disruption_equals_the_export_ban_policy(world: World) -> None:
    ban = [{"type": "export_ban", "exporters": ["CHN"], "importers": "members"}]
    with single_thread_blas():
        point = simulate(scenario(["permanent_magnets"], ban), world).to_dict()
    summary = point["products"]["permanent_magnets"]["summary"]
    sc = scenario(["permanent_magnets"], disruptions=[{"probability": 1.0}], uncertainty=ALL_FIXED)
    p = run_uncertainty(sc, draws=5, seed=1, workers=1, world=world).products["permanent_magnets"]
    assert np.all(p.draws["disruptions"] == 1)
    for key, sim_key in SIMULATE_KEYS.items():
        assert p.draws[key] == pytest.approx(np.full(5, summary[sim_key]), rel=1e-12, abs=1e-9)
    assert np.all(p.draws["shortfall"] > 0.05)


def test_disruptions_fire_with_their_probability_and_hit_products_together(
    world: World,
) -> None:
    sc = scenario(
        ["gallium_germanium", "permanent_magnets"],
        disruptions=[{"probability": 0.3, "exporters": ["CHN"]}],
        uncertainty={"reference": "no_disruption"},
    )
    res = run_uncertainty(sc, draws=240, seed=4, workers=1, world=world)
    ga, mag = (res.products[k] for k in ("gallium_germanium", "permanent_magnets"))
    fired = ga.draws["disruptions"] > 0
    assert np.array_equal(fired, mag.draws["disruptions"] > 0)  # one event, both products
    share = fired.mean()
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 240)
    # relative to the same draw without the event, undisrupted draws lose nothing
    assert np.all(mag.draws["shortfall"][~fired] == 0.0)
    assert np.all(mag.draws["shortfall"][fired] > 0.0)
    summary = res.to_dict()["products"]["permanent_magnets"]
    assert summary["disrupted_share"] == share
    assert summary["shortfall"]["probability_above_threshold"] == np.mean(
        mag.draws["shortfall"] > 0.05
    )


# ----------------------------------------------------------------------------- reproducibility


def test_same_seed_same_numbers_whatever_the_chunking(world: World) -> None:
    sc = scenario(["permanent_magnets"], disruptions=[{"probability": 0.25}])
    a = run_uncertainty(sc, draws=45, seed=21, workers=1, chunk_size=45, world=world)
    b = run_uncertainty(sc, draws=45, seed=21, workers=1, chunk_size=8, world=world)
    c = run_uncertainty(sc, draws=45, seed=22, workers=1, chunk_size=45, world=world)
    pa, pb, pc = (r.products["permanent_magnets"].draws for r in (a, b, c))
    assert arrays_equal(pa, pb)
    assert not np.array_equal(pa["sigma"], pc["sigma"])
    # the first draws of a longer run are the draws of a shorter one
    d = run_uncertainty(sc, draws=60, seed=21, workers=1, chunk_size=16, world=world)
    pd_ = d.products["permanent_magnets"].draws
    assert all(np.array_equal(pd_[k][:45], pa[k], equal_nan=True) for k in pa)


def test_threads_match_one_thread(world: World) -> None:
    sc = scenario(["lithium_carbonate"], disruptions=[{"probability": 0.5}])
    one = run_uncertainty(sc, draws=40, seed=8, workers=1, chunk_size=10, world=world)
    two = run_uncertainty(sc, draws=40, seed=8, workers=2, chunk_size=10, world=world)
    assert one.engine == "local" and one.workers == 1
    assert two.engine == "local-threads" and two.workers == 2
    assert arrays_equal(
        one.products["lithium_carbonate"].draws, two.products["lithium_carbonate"].draws
    )


# ----------------------------------------------------------------------------- summaries


def test_percentiles_are_ordered_and_fan_data_is_monotone(world: World) -> None:
    sc = scenario(
        ["lithium_carbonate", "permanent_magnets"],
        [{"type": "price_floor", "price_usd_per_t": 15000, "products": ["lithium_carbonate"]}],
        [{"probability": 0.2}],
    )
    res = run_uncertainty(sc, draws=150, seed=6, workers=1, chunk_size=50, world=world)
    data = res.to_dict()
    json.dumps(data, allow_nan=False)
    for pid, prod in data["products"].items():
        assert set(prod["outputs"]) == set(OUTPUTS)
        for key, o in prod["outputs"].items():
            if o["median"] is None:
                continue
            assert o["p05"] <= o["median"] <= o["p95"], (pid, key)
    fans = fan_data(res)
    for pid, fan in fans.items():
        assert fan["levels"] == sorted(fan["levels"]) and 0.5 in fan["levels"]
        for key, o in fan["outputs"].items():
            q = [v for v in o["quantiles"] if v is not None]
            assert q == sorted(q), (pid, key)
    json.dumps(fans, allow_nan=False)


def test_uncertainty_table_in_the_scenario(world: World) -> None:
    sc = scenario(
        ["lithium_carbonate"],
        uncertainty={
            "draws": 12,
            "seed": 4,
            "coverage": 0.8,
            "shortfall_threshold": 0.1,
            "duration_days": 90,
            "ranges": {"sigma": [0.9, 1.1]},
        },
    )
    res = run_uncertainty(sc, workers=1, world=world)
    d = res.to_dict()
    assert (d["draws"], d["seed"], d["coverage"], d["duration_days"]) == (12, 4, 0.8, 90)
    prod = d["products"]["lithium_carbonate"]
    assert prod["shortfall"]["threshold"] == 0.1
    assert prod["parameters"]["sigma"]["relative_low"] == 0.9
    # explicit arguments win over the table
    assert run_uncertainty(sc, draws=3, workers=1, world=world).to_dict()["draws"] == 3


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"ranges": {"sigma": [1.2, 1.5]}}, "uncertainty.ranges"),
        ({"ranges": {"kappa": [0.5, 1.5]}}, "uncertainty.ranges"),
        ({"fixed": ["eta"]}, "uncertainty.fixed"),
        ({"coverage": 1.5}, "uncertainty.coverage"),
        ({"draws": 0}, "uncertainty.draws"),
        ({"reference": "yesterday"}, "uncertainty.reference"),
        ({"drawz": 10}, "uncertainty.drawz"),
    ],
)
def test_bad_uncertainty_table_names_the_field(table: dict[str, Any], field: str) -> None:
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(scenario(["lithium_carbonate"], uncertainty=table))
    assert field in str(info.value)


def test_bad_options_are_user_errors(world: World) -> None:
    with pytest.raises(CritminError, match="coverage"):
        run_uncertainty(scenario(["lithium_carbonate"]), draws=5, coverage=0.0, world=world)
    with pytest.raises(CritminError, match="chunk size"):
        run_uncertainty(scenario(["lithium_carbonate"]), draws=5, chunk_size=0, world=world)
    bad = scenario(["lithium_carbonate"], disruptions=[{"probability": 0.1, "exporters": ["XXQ"]}])
    with pytest.raises(ScenarioError, match=r"disruption\[0\].exporters"):
        run_uncertainty(bad, draws=5, world=world)


# ----------------------------------------------------------------------------- CLI


def test_cli_json(tmp_path: Path) -> None:
    out = tmp_path / "u.json"
    draws_csv = tmp_path / "draws.csv"
    res = CliRunner().invoke(
        app,
        [
            "uncertainty",
            str(EXAMPLE1),
            "--draws",
            "30",
            "--seed",
            "2",
            "--workers",
            "1",
            "--json",
            "--progress",
            "--out",
            str(out),
            "--draws-out",
            str(draws_csv),
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data == json.loads(out.read_text())
    assert (data["draws"], data["seed"], data["chunk_size"]) == (30, 2, 250)
    assert {"solve_seconds", "draws_per_second", "total_seconds"} <= set(data["timings"])
    prod = data["products"]["lithium_carbonate"]
    assert {"outputs", "shortfall", "stockpile", "parameters"} <= set(prod)
    assert prod["stockpile"]["reference_price_usd_per_t"] == 15000
    assert len(draws_csv.read_text().splitlines()) == 31


def test_cli_table_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("critmin.uncertainty.engines.CONNECT_TIMEOUT", "1s")
    res = CliRunner().invoke(app, ["uncertainty", str(EXAMPLE1), "-n", "8", "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert "Stockpile covering 95%" in res.stdout and "IEA 90-day" in res.stdout
    res = CliRunner().invoke(app, ["uncertainty", str(EXAMPLE1), "-n", "8", "--coverage", "2"])
    assert res.exit_code == 2 and "coverage" in res.stderr
    res = CliRunner().invoke(
        app, ["uncertainty", str(EXAMPLE1), "-n", "8", "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert res.exit_code == 2 and "cannot connect to the Dask scheduler" in res.stderr


def test_a_scenario_that_does_not_solve_at_its_point_runs_no_draws(world: World) -> None:
    """Fixed demand and output (a sigma a hair above 1) with a floor and a ban: the scenario
    itself has no equilibrium. The draws around it were all solved and failed (30 products
    x 200 draws took 6 minutes, and the server's memory grew by gigabytes) and printed the
    last iterates as the point estimate (+7e300%); now one message names the product, at
    once, before any draw."""
    sc = scenario(
        ["lithium_carbonate"],
        [
            {"type": "price_floor", "mechanism": "variable_levy", "price_usd_per_t": 15000},
            {"type": "export_ban", "exporters": ["CHN"], "importers": "members"},
        ],
    )
    sc["defaults"] = {"sigma": 1.000001, "demand_elasticity": 0, "supply_elasticity": 0}
    assert not simulate(sc, world=world).to_dict()["products"]["lithium_carbonate"]["converged"]
    with pytest.raises(
        CritminError, match="does not solve at its own elasticities for lithium_carbonate"
    ) as caught:
        run_uncertainty(sc, draws=50, world=world)
    assert "no draws were run" in str(caught.value)


def test_the_table_of_a_product_without_converged_draws_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A product whose draws all failed prints its point column and a warning, not a
    shortfall probability of None (a TypeError once) or a stockpile sized on no draws."""
    from critmin.cli.uncertainty import _print_uncertainty

    data = run_uncertainty(EXAMPLE1, draws=4, workers=1).to_dict()
    for p in data["products"].values():
        p["converged_draws"] = 0
        p["shortfall"]["probability_above_threshold"] = None
        for o in p["outputs"].values():
            o["p05"] = o["median"] = o["p95"] = None
    _print_uncertainty(data)
    printed = capsys.readouterr()
    flat = " ".join((printed.out + printed.err).split())
    assert "0 draws" in flat and "no draw of lithium_carbonate converged" in flat
    assert "P(shortfall" not in flat and "Stockpile covering" not in flat


@pytest.mark.parametrize("floor", [15000.0, 40000.0])
def test_without_disruption_shortfall_is_zero_whatever_the_floor(
    world: World, floor: float
) -> None:
    """The default reference counts only what disruptions remove: a floor lowers zone
    consumption by design, which is not a shortfall (issue 16)."""
    pol = [{"type": "price_floor", "mechanism": "variable_levy", "price_usd_per_t": floor}]
    sc = scenario(["lithium_carbonate"], pol)
    res = run_uncertainty(sc, draws=20, seed=2, workers=1, world=world)
    p = res.products["lithium_carbonate"]
    assert np.all(p.draws["shortfall"] == 0.0) and np.all(p.draws["shortfall_t"] == 0.0)
    assert np.all(p.draws["zone_consumption_change_pct"] < 0)  # the floor did cut demand
    assert res.to_dict()["products"]["lithium_carbonate"]["stockpile"]["tonnes"] == 0.0


def test_draws_whose_results_would_not_fit_in_memory_are_refused_up_front(
    monkeypatch: pytest.MonkeyPatch, world: World
) -> None:
    """10^8 draws (within the option's bound) need about 40 GB for their results: the run
    was accepted and grew until the OS killed it. Now the memory is checked first."""
    import critmin.util

    monkeypatch.setattr(critmin.util, "physical_memory", lambda: 64 * 2**20)  # 64 MiB of memory
    with pytest.raises(CritminError, match=r"200,000 draws of 1 product\(s\) would need") as e:
        run_uncertainty(EXAMPLE1, draws=200_000, world=world)
    assert "use at most 83,886 draws" in str(e.value) and "0.2 percentile points" in str(e.value)
    assert run_uncertainty(EXAMPLE1, draws=8, workers=1, world=world).draws == 8


def test_a_product_without_converged_draws_has_no_stockpile_in_its_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where no draw converged, the JSON's stockpile has no tonnes, cost or covered share and
    rests on 0 draws (it was sized from one made-up shortfall of 0: 0 t over 1 draw, covering
    100%); its settings and the IEA 90-day stock (baseline net imports alone) stay."""
    import critmin.uncertainty.run as run_module

    solved = run_module.run_local

    def none_converged(*args: Any, **kwargs: Any) -> Any:
        results = solved(*args, **kwargs)
        for res in results:
            res["converged"] = np.zeros_like(res["converged"])
        return results

    monkeypatch.setattr(run_module, "run_local", none_converged)
    data = run_uncertainty(EXAMPLE1, draws=4, workers=1).to_dict()
    stock = data["products"]["lithium_carbonate"]["stockpile"]
    assert stock["draws"] == 0
    for key in ("tonnes", "cost_usd", "covered_fraction", "days_of_demand", "tonnes_contained"):
        assert stock[key] is None, key
    assert stock["coverage"] == 0.95 and stock["iea_90_day_tonnes"] > 0
    json.dumps(data, allow_nan=False)  # no NaN leaks into the JSON


@pytest.mark.parametrize(("draws", "warned"), [(1, True), (19, True), (20, False)])
def test_too_few_draws_for_a_band_warn(draws: int, warned: bool) -> None:
    """Fewer than 20 draws give 5% and 95% percentiles between the two smallest and the two
    largest draws (one draw: p05 = median = p95 = that draw, printed as a band): a warning
    says so, and asks for more draws."""
    data = run_uncertainty(EXAMPLE1, draws=draws, workers=1).to_dict()
    few = [w for w in data["warnings"] if "not a 90% interval" in w]
    assert bool(few) is warned
    if warned:
        assert few[0].startswith(f"{draws} draw(s):")
    out = data["products"]["lithium_carbonate"]["outputs"]["zone_consumer_price_change_pct"]
    if draws == 1:
        assert out["p05"] == out["median"] == out["p95"]
