"""Coalitions: Shapley properties, marginal values against direct simulations, the sampled
estimate, eligibility gates, membership scopes and the cache."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import critmin
from critmin.coalition import OBJECTIVE_INFO, run_coalition
from critmin.coalition.analysis import check_coalition_table
from critmin.coalition.figures import coalition_figures, ranked_candidates
from critmin.coalition.shapley import (
    exact_shapley,
    permutation_coalitions,
    random_orders,
    sampled_shapley,
)
from critmin.errors import ScenarioError
from critmin.scenario import Scenario
from critmin.scenario.coalition_settings import OBJECTIVES
from critmin.world import World

# Synthetic market: members ZZA and ZZB buy from the watch supplier WWW and from two identical
# candidates XXA and XXB (same sales to everyone, same trade with each other); ISL (a real
# country) does not trade the widget at all.
FLOWS = """exporter,importer,value_usd
ZZA,ZZA,40
ZZB,ZZB,30
ZZA,ZZB,10
ZZB,ZZA,5
WWW,ZZA,60
WWW,ZZB,50
WWW,WWW,80
WWW,XXA,3
WWW,XXB,3
XXA,ZZA,12
XXA,ZZB,9
XXB,ZZA,12
XXB,ZZB,9
XXA,XXB,4
XXB,XXA,4
XXA,XXA,20
XXB,XXB,20
XXA,WWW,2
XXB,WWW,2
"""


@pytest.fixture(scope="module")
def widget(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("coalition") / "widget.csv"
    path.write_text(FLOWS, encoding="utf-8")
    return {
        "name": "widget coalition",
        "zone": {"members": ["ZZA", "ZZB"], "watch": ["WWW"]},
        "defaults": {"sigma": 4.0, "demand_elasticity": 0.5, "supply_elasticity": 1.0},
        "product": [{"id": "widget", "flows": str(path), "baseline_price_usd_per_t": 1000.0}],
        "policy": [
            {"type": "tariff", "exporters": "non-members", "importers": "members", "rate": 0.25},
            {"type": "price_floor", "mechanism": "variable_levy", "price_usd_per_t": 1150.0},
        ],
        "coalition": {"candidates": ["XXA", "XXB", "ISL"]},
    }


def _player(data: dict[str, Any], token: str) -> dict[str, Any]:
    return next(p for p in data["players"] if p["iso3"] == token)


# ----------------------------------------------------------------------------- pure Shapley


def _brute_force_shapley(values: np.ndarray, k: int) -> np.ndarray:
    """Average marginal contribution over all k! orders (the definition, no weights)."""
    phi = np.zeros(k)
    orders = list(itertools.permutations(range(k)))
    for order in orders:
        mask = 0
        for player in order:
            phi[player] += values[mask | 1 << player] - values[mask]
            mask |= 1 << player
    return phi / len(orders)


def test_exact_shapley_equals_the_average_over_all_orders() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=16)
    np.testing.assert_allclose(exact_shapley(values), _brute_force_shapley(values, 4), rtol=1e-12)


def test_sampled_shapley_is_efficient_and_reproducible() -> None:
    rng = np.random.default_rng(5)
    values = rng.normal(size=(32, 2))
    orders = random_orders(5, 50, seed=9)
    assert np.array_equal(orders, random_orders(5, 50, seed=9))
    assert np.array_equal(orders[:20], random_orders(5, 20, seed=9))
    prefix = [values[p] for p in permutation_coalitions(orders)]
    phi, se = sampled_shapley(orders, prefix)
    np.testing.assert_allclose(phi.sum(axis=0), values[31] - values[0], rtol=1e-12)
    assert (se > 0).all()


# ----------------------------------------------------------------------------- the game


@pytest.fixture(scope="module")
def widget_result(widget: dict[str, Any], world: World) -> dict[str, Any]:
    return run_coalition(widget, world=world, cache_dir=False).to_dict()


def test_results_contract(widget_result: dict[str, Any]) -> None:
    assert set(OBJECTIVE_INFO) == set(OBJECTIVES)
    data = widget_result
    names = set(data["objectives"])
    assert set(data["objective_values"]["grand"]) == names
    assert set(data["objective_values"]["empty"]) == names
    assert {"self_sufficiency:total", "zone_welfare_usd:widget"} <= names
    for p in data["players"]:
        assert {"iso3", "role", "eligible", "reasons", "marginal", "shapley"} <= set(p)
        assert set(p["marginal"]) == names and set(p["shapley"]) == names
    assert [p["role"] for p in data["players"]] == ["member"] * 2 + ["candidate"] * 3
    assert data["method"] == "exact" and data["coalitions_evaluated"] >= 8
    json.dumps(data, allow_nan=False)


def test_shapley_efficiency(widget_result: dict[str, Any]) -> None:
    data = widget_result
    game = [p for p in data["players"] if p["in_game"]]
    for key in data["objectives"]:
        total = sum(p["shapley"][key] for p in game)
        gap = data["objective_values"]["grand"][key] - data["objective_values"]["empty"][key]
        assert total == pytest.approx(gap, rel=1e-9, abs=1e-9), key


def test_identical_candidates_get_equal_values(widget_result: dict[str, Any]) -> None:
    a, b = _player(widget_result, "XXA"), _player(widget_result, "XXB")
    for key in widget_result["objectives"]:
        assert a["shapley"][key] == pytest.approx(b["shapley"][key], rel=1e-9, abs=1e-9), key
        assert a["marginal"][key] == pytest.approx(b["marginal"][key], rel=1e-9, abs=1e-9), key
    # and they matter: joining moves self-sufficiency up and the watch share down
    assert a["shapley"]["self_sufficiency:total"] > 0.01
    assert a["shapley"]["watch_share:total"] < 0


def test_a_candidate_without_trade_is_a_dummy(widget_result: dict[str, Any]) -> None:
    dummy = _player(widget_result, "ISL")
    assert all(v == 0.0 for v in dummy["shapley"].values())
    assert all(v == 0.0 for v in dummy["marginal"].values())
    assert any("ISL trades none" in n for n in widget_result["notes"])


def _zone(scenario: dict[str, Any], members: list[str]) -> dict[str, Any]:
    out = {k: v for k, v in scenario.items() if k != "coalition"}
    out["zone"] = {**scenario["zone"], "members": members}
    return out


def _simulated(scenario: dict[str, Any], members: list[str], pid: str) -> dict[str, float]:
    prod = critmin.simulate(_zone(scenario, members)).to_dict()["products"][pid]
    return {
        "self_sufficiency": prod["zone"]["self_sufficiency"],
        "watch_share": prod["zone"]["watch_share"],
        "zone_welfare_usd": prod["summary"]["zone_welfare_change_usd"],
        "world_welfare_usd": prod["summary"]["world_welfare_change_usd"],
    }


def test_marginal_values_equal_two_direct_simulations(
    widget: dict[str, Any], widget_result: dict[str, Any]
) -> None:
    zone = _simulated(widget, ["ZZA", "ZZB"], "widget")
    joined = _simulated(widget, ["ZZA", "ZZB", "XXA"], "widget")
    left = _simulated(widget, ["ZZA"], "widget")
    cand, member = _player(widget_result, "XXA"), _player(widget_result, "ZZB")
    for name, value in zone.items():
        key = f"{name}:widget"
        assert cand["marginal"][key] == pytest.approx(joined[name] - value, rel=1e-9, abs=1e-9)
        assert member["marginal"][key] == pytest.approx(value - left[name], rel=1e-9, abs=1e-9)
        assert widget_result["objective_values"]["zone"][key] == pytest.approx(value, rel=1e-12)


def test_marginal_values_on_bundled_data_equal_direct_simulations(world: World) -> None:
    scenario: dict[str, Any] = {
        "name": "lithium",
        "zone": {"members": ["USA", "JPN", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "lithium_carbonate"}],
        "policy": [
            {"type": "price_floor", "price_usd_per_t": 15000},
            {"type": "export_ban", "exporters": ["CHN", "ARG"], "importers": "members"},
        ],
    }
    res = run_coalition(scenario, candidates=["CHL"], world=world, cache_dir=False).to_dict()
    base = _simulated(scenario, ["USA", "JPN", "EU27"], "lithium_carbonate")
    joined = _simulated(scenario, ["USA", "JPN", "EU27", "CHL"], "lithium_carbonate")
    left = _simulated(scenario, ["USA", "EU27"], "lithium_carbonate")
    chl, jpn = _player(res, "CHL"), _player(res, "JPN")
    for name in base:
        key = f"{name}:lithium_carbonate"
        assert chl["marginal"][key] == pytest.approx(joined[name] - base[name], rel=1e-9, abs=1e-6)
        assert jpn["marginal"][key] == pytest.approx(base[name] - left[name], rel=1e-9, abs=1e-6)
    # Chile is the zone's lithium: self-sufficiency jumps when it joins
    assert chl["marginal"]["self_sufficiency:lithium_carbonate"] > 0.3


def test_sampled_estimate_converges_to_the_exact_values(
    widget: dict[str, Any], world: World
) -> None:
    kw: dict[str, Any] = {"members_as_players": True, "world": world, "cache_dir": False}
    exact = run_coalition(widget, **kw).to_dict()
    sampled = run_coalition(widget, sampled=3000, seed=4, **kw).to_dict()
    coarse = run_coalition(widget, sampled=30, seed=4, **kw).to_dict()
    assert exact["method"] == "exact" and sampled["method"] == "sampled"
    key = "self_sufficiency:total"
    errors = []
    for p in exact["players"]:
        s = _player(sampled, p["iso3"])
        se = s["shapley_standard_error"][key]
        err = abs(s["shapley"][key] - p["shapley"][key])
        assert err <= 5 * se + 1e-12, (p["iso3"], err, se)
        errors.append(err)
        assert se <= _player(coarse, p["iso3"])["shapley_standard_error"][key] + 1e-15
    assert max(errors) < 0.01
    # efficient in every sample
    total = sum(p["shapley"][key] for p in sampled["players"] if p["in_game"])
    gap = sampled["objective_values"]["grand"][key] - sampled["objective_values"]["empty"][key]
    assert total == pytest.approx(gap, rel=1e-9)


def test_members_as_players_empty_zone_scores_zero(widget: dict[str, Any], world: World) -> None:
    res = run_coalition(widget, members_as_players=True, world=world, cache_dir=False).to_dict()
    empty = res["objective_values"]["empty"]
    assert empty["self_sufficiency:total"] == 0.0 and empty["zone_welfare_usd:total"] == 0.0
    assert res["objective_values"]["zone"] != empty


# ----------------------------------------------------------------------------- scopes


def test_stage_limited_membership(widget: dict[str, Any], world: World) -> None:
    # the synthetic widget is a refined product: a candidate joining for mining only changes
    # nothing in it, one joining for refining is a full member there
    mine_only = run_coalition(
        widget, scope={"XXA": {"stages": ["mine"]}}, world=world, cache_dir=False
    ).to_dict()
    refine = run_coalition(
        widget, scope={"XXA": {"stages": ["refine"]}}, world=world, cache_dir=False
    ).to_dict()
    full = run_coalition(widget, world=world, cache_dir=False).to_dict()
    assert all(v == 0.0 for v in _player(mine_only, "XXA")["marginal"].values())
    assert _player(refine, "XXA")["marginal"] == _player(full, "XXA")["marginal"]
    with pytest.raises(ScenarioError, match="scope"):
        run_coalition(widget, scope={"ZZA": {"stages": ["mine"]}}, world=world, cache_dir=False)
    ignored = run_coalition(
        widget, scope={"BRA": {"stages": ["mine"]}}, world=world, cache_dir=False
    ).to_dict()
    assert any("BRA is not a candidate; scope ignored" in n for n in ignored["notes"])
    with pytest.raises(ScenarioError, match="unknown stage"):
        run_coalition(widget, scope={"XXA": {"stages": ["smelt"]}}, world=world, cache_dir=False)


def test_bad_candidates_are_clear_errors(widget: dict[str, Any], world: World) -> None:
    with pytest.raises(ScenarioError, match="already a zone member"):
        run_coalition(widget, candidates=["ZZA"], world=world, cache_dir=False)
    with pytest.raises(ScenarioError, match=r"coalition\.candidates"):
        run_coalition(widget, candidates=["Atlantis"], world=world, cache_dir=False)
    with pytest.raises(ScenarioError, match=r"coalition\.objectives"):
        run_coalition(widget, objectives=["happiness"], world=world, cache_dir=False)


# ----------------------------------------------------------------------------- gates


GATED: dict[str, Any] = {
    "name": "gates",
    "zone": {"members": ["USA", "JPN"], "watch": ["CHN"]},
    "product": [{"id": "cobalt_oxides"}],
    "coalition": {
        "candidates": ["COD", "IND", "CHL", "MYS"],
        "gates": {"wgi_min": {"rl": -1.0}, "ilo_core_min": 7, "eiti": False},
    },
}


def test_gates_report_reasons_and_leave_candidates_out(world: World) -> None:
    res = run_coalition(GATED, world=world, cache_dir=False).to_dict()
    cod, ind, chl, mys = (_player(res, c) for c in ("COD", "IND", "CHL", "MYS"))
    assert not cod["eligible"] and "rule of law of COD -1.67 < -1.00" in cod["reasons"][0]
    assert not ind["eligible"] and "6 of the 8 ILO core conventions" in ind["reasons"][0]
    assert "C087" in ind["reasons"][0] and "C098" in ind["reasons"][0]
    assert not mys["eligible"] and "5 of the 8" in mys["reasons"][0]
    assert chl["eligible"] and chl["reasons"] == []
    assert res["shapley_players"] == ["CHL"]
    assert cod["marginal"]["self_sufficiency:total"] is None and not cod["in_game"]


def test_gates_flag_only_keeps_candidates(world: World) -> None:
    res = run_coalition(GATED, on_fail="flag", world=world, cache_dir=False).to_dict()
    cod = _player(res, "COD")
    assert not cod["eligible"] and cod["in_game"] and cod["reasons"]
    assert cod["shapley"]["self_sufficiency:total"] is not None
    assert len(res["shapley_players"]) == 4


def test_curated_gates(world: World) -> None:
    gates = {"oecd_ddg": True, "eiti": True, "irma_sites_min": 1}
    res = run_coalition(
        GATED, candidates=["CHL", "IDN", "ARG", "ZAF"], gates=gates, world=world, cache_dir=False
    ).to_dict()
    reasons = {
        p["iso3"]: " ".join(p["reasons"]) for p in res["players"] if p["role"] == "candidate"
    }
    assert "CHL is not an EITI implementing" in reasons["CHL"] and "OECD" not in reasons["CHL"]
    assert "OECD" in reasons["IDN"] and "EITI" not in reasons["IDN"]
    assert "IRMA" in reasons["IDN"] and "2 under assessment" in reasons["IDN"]
    assert reasons["ARG"] == ""  # OECD adherent, EITI country, Fenix audit published
    assert "OECD" in reasons["ZAF"] and "EITI" in reasons["ZAF"] and "IRMA" not in reasons["ZAF"]


# ----------------------------------------------------------------------------- cache, figures


def test_cache_hit_returns_identical_results(
    widget: dict[str, Any], world: World, tmp_path: Path
) -> None:
    first = run_coalition(widget, world=world, cache_dir=tmp_path).to_dict()
    second = run_coalition(widget, world=world, cache_dir=tmp_path).to_dict()
    assert first["markets_solved"] > 0 and first["cache_hits"] == 0
    assert second["markets_solved"] == 0 and second["cache_hits"] == first["markets_solved"]
    volatile = {"timings", "markets_solved", "cache_hits", "notes"}
    assert {k: v for k, v in first.items() if k not in volatile} == {
        k: v for k, v in second.items() if k not in volatile
    }
    # a corrupt file is ignored (with a note) and rebuilt
    for path in (tmp_path / "coalition").glob("*.json"):
        path.write_text(path.read_text()[:-40], encoding="utf-8")
    third = run_coalition(widget, world=world, cache_dir=tmp_path).to_dict()
    assert third["markets_solved"] == first["markets_solved"]
    assert any("corrupt" in n for n in third["notes"])
    assert third["players"] == first["players"]
    # a different scenario never reads these entries
    other = {**widget, "policy": widget["policy"][:1]}
    fourth = run_coalition(other, world=world, cache_dir=tmp_path).to_dict()
    assert fourth["cache_hits"] == 0


def test_figures_and_ranking(widget_result: dict[str, Any]) -> None:
    figures = coalition_figures(widget_result)
    assert {"shapley:self_sufficiency:total", "heatmap:self_sufficiency:total"} <= set(figures)
    bars = figures["shapley:self_sufficiency:total"]["data"][0]
    assert sorted(bars["y"]) == ["ISL", "XXA", "XXB"]
    heat = widget_result["heatmap"]["self_sufficiency:total"]
    assert sum(map(sum, heat["counts"])) == 2**3
    # the colour counts whole coalitions: integer ticks (it showed 0.6, 0.8, 1.2, 1.4)
    bar = figures["heatmap:self_sufficiency:total"]["data"][0]["colorbar"]
    assert bar["tickformat"] == "d" and bar["dtick"] >= 1 and bar["tick0"] == 0
    ranked = [p["iso3"] for p in ranked_candidates(widget_result, "self_sufficiency:total")]
    assert ranked[-1] == "ISL"
    assert not math.isnan(heat["edges"][0])


def test_more_than_twelve_players_are_sampled(widget: dict[str, Any], world: World) -> None:
    dummies = ["ISL", "NZL", "URY", "PRY", "FJI", "MLT", "LUX", "BTN", "NPL", "MNG", "JAM"]
    res = run_coalition(
        widget, candidates=["XXA", "XXB", *dummies], world=world, cache_dir=False
    ).to_dict()
    assert res["method"] == "sampled" and res["permutations"] == 200
    assert any("13 players" in n for n in res["notes"])
    key = "self_sufficiency:total"
    total = sum(p["shapley"][key] for p in res["players"] if p["in_game"])
    gap = res["objective_values"]["grand"][key] - res["objective_values"]["empty"][key]
    assert total == pytest.approx(gap, rel=1e-9)
    assert all(_player(res, d)["shapley"][key] == 0.0 for d in dummies)
    assert _player(res, "XXA")["shapley_standard_error"][key] > 0


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"gates": {"wgi_min": {"rl": 5}}}, "coalition.gates.wgi_min"),
        ({"objectives": ["happiness"]}, "coalition.objectives[0]"),
        ({"on_fail": "drop"}, "coalition.on_fail"),
        ({"candidatez": ["IDN"]}, "coalition.candidatez"),
        ({"scope": {"IDN": {"stage": ["refine"]}}}, "coalition.scope.IDN.stage"),
    ],
)
def test_the_coalition_table_is_validated(table: dict[str, Any], field: str) -> None:
    scenario = {
        "name": "x",
        "zone": {"members": ["USA"]},
        "product": [{"id": "lithium_carbonate"}],
        "coalition": table,
    }
    with pytest.raises(ScenarioError) as info:
        critmin.simulate(scenario)
    assert info.value.field == field


def test_gates_given_as_arguments_are_validated(widget: dict[str, Any], world: World) -> None:
    with pytest.raises(ScenarioError, match=r"coalition\.gates\.wgi_min"):
        run_coalition(widget, gates={"wgi_min": {"xx": 1.0}}, world=world, cache_dir=False)


def test_a_changed_market_shock_is_not_read_from_the_cache(
    widget: dict[str, Any], world: World, tmp_path: Path
) -> None:
    """The cache key covers the scenario's ``[[shock]]`` tables (they shift demand and supply
    in every coalition's market): changing a shock solves again, and the values equal a run
    without the cache, not the previous shock's."""

    def shocked(change: float) -> dict[str, Any]:
        return {**widget, "shock": [{"type": "demand", "countries": ["ZZA"], "change": change}]}

    run_coalition(shocked(0.1), world=world, cache_dir=tmp_path)
    cached = run_coalition(shocked(0.5), world=world, cache_dir=tmp_path).to_dict()
    fresh = run_coalition(shocked(0.5), world=world, cache_dir=False).to_dict()
    assert cached["cache_hits"] == 0
    assert cached["objective_values"] == fresh["objective_values"]
    assert cached["players"] == fresh["players"]


def test_more_orders_than_exist_or_a_single_order_are_noted(
    widget: dict[str, Any], world: World
) -> None:
    """Three players have 3! = 6 orders: 10 sampled orders are noted as no better than the
    exact values (which cost 8 coalitions); a single order has no standard error, said so."""
    many = run_coalition(widget, world=world, sampled=10, cache_dir=False).to_dict()
    assert many["method"] == "sampled"
    assert any("only 6 distinct orders" in n and "sampled = 0" in n for n in many["notes"])
    one = run_coalition(widget, world=world, sampled=1, cache_dir=False).to_dict()
    assert any("no standard error" in n for n in one["notes"])
    assert _player(one, "XXA")["shapley_standard_error"]["self_sufficiency:total"] is None
    few = run_coalition(widget, world=world, sampled=4, cache_dir=False).to_dict()
    assert not any("distinct orders" in n or "no standard error" in n for n in few["notes"])


def test_a_preferential_cut_of_the_baseline_is_noted(
    widget: dict[str, Any], world: World, tmp_path: Path
) -> None:
    """``[tariffs] preferential_cut`` is applied to the scenario's zone in the baseline, not to
    each coalition's: the result says that its values are not differences of simulations."""
    tariffs = tmp_path / "tariffs.csv"
    tariffs.write_text("importer,exporter,hs6,rate\nZZA,XXA,283691,0.2\n", encoding="utf-8")
    data = {**widget, "tariffs": {"file": str(tariffs), "preferential_cut": 0.5}}
    notes = run_coalition(data, world=world, cache_dir=False).to_dict()["notes"]
    assert any("preferential_cut = 0.5" in n and "uncut" in n for n in notes)
    plain = run_coalition(widget, world=world, cache_dir=False).to_dict()["notes"]
    assert not any("preferential_cut" in n for n in plain)


def test_member_players_sharing_a_country_are_refused(world: World) -> None:
    """EU27 and DEU both players would put DEU in two players, splitting its Shapley value
    between them (two candidates sharing a country are refused the same way)."""
    scenario = {
        "name": "overlapping member players",
        "zone": {"members": ["EU27", "DEU", "USA"]},
        "product": [{"id": "cobalt_oxides"}],
        "coalition": {"candidates": ["IDN"], "members_as_players": True},
    }
    with pytest.raises(ScenarioError, match=r"DEU is in two of the players \(EU27 and DEU\)"):
        check_coalition_table(Scenario.from_dict(scenario), world)
    listed = scenario | {"coalition": {"candidates": ["IDN"], "members_as_players": ["USA"]}}
    check_coalition_table(Scenario.from_dict(listed), world)  # USA alone: no overlap
