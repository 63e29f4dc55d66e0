"""[[chain]] in scenario files: resolution, results contract, rules of origin, messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from critmin import simulate
from critmin.errors import ScenarioError

CODES = ["AAA", "BBB", "CCC", "DDD", "EEE"]


def write_flows(path: Path, seed: int, scale: float, price: float) -> None:
    rng = np.random.default_rng(seed)
    rows = ["exporter,importer,value_usd,quantity_t"]
    for i, a in enumerate(CODES):
        for j, b in enumerate(CODES):
            v = (rng.uniform(50, 150) if i == j else rng.uniform(0, 60)) * scale * 1e6
            if i != j and rng.random() < 0.3:
                continue
            rows.append(f"{a},{b},{v:.0f},{v / price:.0f}")
    path.write_text("\n".join(rows) + "\n")


@pytest.fixture
def user_chain(tmp_path: Path) -> dict[str, Any]:
    write_flows(tmp_path / "ore.csv", 0, 1.0, 1000.0)
    write_flows(tmp_path / "metal.csv", 1, 3.0, 10000.0)
    return {
        "name": "user chain",
        "zone": {"members": ["AAA", "BBB"], "watch": ["CCC"]},
        "product": [
            {"id": "ore", "flows": str(tmp_path / "ore.csv")},
            {"id": "metal", "flows": str(tmp_path / "metal.csv")},
        ],
        "chain": [
            {
                "id": "widget",
                "step": [{"product": "ore"}, {"product": "metal", "input_coefficient": 1.1}],
            }
        ],
        "policy": [],
    }


def test_chain_without_policy_changes_nothing(user_chain: dict[str, Any]) -> None:
    out = simulate(user_chain).to_dict()
    ch = out["chains"]["widget"]
    assert ch["converged"] and ch["iterations"] == 0
    assert [s["stage"] for s in ch["stages"]] == ["mine", "refine"]
    # the products table labels each step's market with its stage (a user's own market has no
    # catalog stage; the ore was labelled "refine")
    assert [out["products"][p]["stage"] for p in ("ore", "metal")] == ["mine", "refine"]
    assert ch["welfare"] == {"zone": 0.0, "outside": 0.0, "world": 0.0}
    assert set(out["products"]) == {"ore", "metal"}
    for s in ch["stages"]:
        assert s["zone_price_change_pct"] == 0.0
        assert s["zone_self_sufficiency_before"] == s["zone_self_sufficiency_after"]
    # the input cost share: 1.1 x USD 1,000/t / USD 10,000/t (content factors 1)
    assert ch["stages"][1]["input_cost_share"] == pytest.approx(0.11, rel=1e-3)


def test_floor_on_ore_reaches_the_refined_stage(user_chain: dict[str, Any]) -> None:
    user_chain["policy"] = [
        {"type": "price_floor", "stage": "mine", "price_usd_per_t": 1300},
    ]
    out = simulate(user_chain).to_dict()
    ch = out["chains"]["widget"]
    ore, metal = ch["stages"]
    assert ch["converged"]
    assert ore["zone_price_change_pct"] > 0 and ore["tariff_revenue_usd"] > 0
    # the floor is on ore only, yet zone refiners' costs and the zone metal price rise
    assert metal["tariff_revenue_usd"] == 0.0
    assert metal["zone_producer_price_change_pct"] > 0
    assert ch["captured_by_stage"][0]["zone_producers_usd"] > 0
    world = ch["welfare"]["world"]
    assert world == pytest.approx(sum(s["welfare_usd"]["world"] for s in ch["stages"]))


def test_rule_of_origin_thresholds(user_chain: dict[str, Any]) -> None:
    user_chain["policy"] = [{"type": "tariff", "stage": "metal", "rate": 0.2}]
    base = simulate(user_chain).to_dict()["chains"]["widget"]
    user_chain["zone"]["origin"] = {"rule": "rvc", "threshold": 0.0}
    every = simulate(user_chain).to_dict()["chains"]["widget"]
    user_chain["zone"]["origin"] = {"rule": "rvc", "threshold": 1.0}
    none = simulate(user_chain).to_dict()["chains"]["widget"]
    assert every["stages"][1]["non_qualifying_member_sales_usd"] == 0.0
    assert every["welfare"]["world"] == pytest.approx(base["welfare"]["world"], rel=1e-12)
    metal = none["stages"][1]
    assert metal["non_qualifying_member_sales_usd"] > 0
    assert metal["tariff_revenue_usd"] > base["stages"][1]["tariff_revenue_usd"]
    assert metal["zone_price_change_pct"] > base["stages"][1]["zone_price_change_pct"]


def test_a_rule_of_origin_that_cannot_bite_warns(user_chain: dict[str, Any]) -> None:
    """A rule of origin changes something only where a member producer falls short of it
    and a policy treats non-member supply otherwise; else it gets a ``no effect:`` warning
    (it ran with a note that non-qualifying output "is treated as non-member supply")."""

    def origin_warnings(threshold: float, exporters: str) -> list[str]:
        user_chain["zone"]["origin"] = {"rule": "rvc", "threshold": threshold}
        user_chain["policy"] = [
            {"type": "tariff", "stage": "metal", "exporters": exporters, "rate": 0.2}
        ]
        notes = simulate(user_chain).to_dict()["chains"]["widget"]["notes"]
        return [n for n in notes if n.startswith("no effect: zone.origin")]

    assert origin_warnings(1.0, "non-members") == []  # members without member ore pay it
    (every,) = origin_warnings(0.0, "non-members")
    assert "(rule rvc, threshold 0): every member producer" in every
    assert "qualifies in full" in every
    (alike,) = origin_warnings(1.0, "all")  # the tariff applies to members alike
    assert "no policy treats member and non-member supply" in alike


def test_chain_and_single_products_mix(user_chain: dict[str, Any], tmp_path: Path) -> None:
    write_flows(tmp_path / "other.csv", 2, 1.0, 500.0)
    user_chain["product"].append({"id": "other", "flows": str(tmp_path / "other.csv")})
    user_chain["policy"] = [
        {"type": "tariff", "products": ["other"], "rate": 0.1},
        {"type": "tariff", "stage": "metal", "rate": 0.1},
    ]
    out = simulate(user_chain).to_dict()
    assert set(out["products"]) == {"ore", "metal", "other"}
    assert out["products"]["other"]["summary"]["tariff_revenue_change_usd"] > 0
    assert out["products"]["ore"]["summary"]["tariff_revenue_change_usd"] == 0.0
    assert out["products"]["metal"]["summary"]["tariff_revenue_change_usd"] > 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"policy": [{"type": "tariff", "stage": "smelt", "rate": 0.1}]}, "policy[0].stage"),
        ({"policy": [{"type": "tariff", "products": ["nope"], "rate": 0.1}]}, "policy[0].products"),
        ({"chain": [{"id": "widget", "step": [{"product": "nope"}]}]}, "chain[0].step[0].product"),
        (
            {"chain": [{"id": "w", "step": [{"product": "ore"}, {"product": "metal"}]}]},
            "chain[0].step[1]",
        ),
        (
            {"chain": [{"id": "w", "step": [{"product": "ore", "stage": "smelt"}]}]},
            "chain[0].step[0].stage",
        ),
        (  # at most a million t of input per t of output (1e300 was taken and capped)
            {
                "chain": [
                    {
                        "id": "w",
                        "step": [
                            {"product": "ore"},
                            {"product": "metal", "input_coefficient": 1e300},
                        ],
                    }
                ]
            },
            "chain[0].step[1].input_coefficient",
        ),
        # a market as its own input (counted twice), links on the first step, two links on
        # one, two recoveries, a threshold without rvc
        (
            {
                "chain": [
                    {
                        "id": "w",
                        "step": [
                            {"product": "ore"},
                            {"product": "metal", "input_coefficient": 1.1},
                            {"product": "ore", "input_coefficient": 1.1},
                        ],
                    }
                ]
            },
            "chain[0]",
        ),
        (
            {
                "chain": [
                    {
                        "id": "w",
                        "step": [{"product": "ore", "byproduct": True}, {"product": "metal"}],
                    }
                ]
            },
            "chain[0]",
        ),
        (
            {
                "chain": [
                    {
                        "id": "w",
                        "step": [
                            {"product": "ore"},
                            {"product": "metal", "input_coefficient": 1.1, "input_cost_share": 0.2},
                        ],
                    }
                ]
            },
            "chain[0]",
        ),
        (
            {
                "chain": [
                    {
                        "id": "widget",
                        "shock": [
                            {"product": "ore", "recovery_multiplier": 2, "recovery_share": 0.1}
                        ],
                    }
                ]
            },
            "chain[0].shock[0]",
        ),
        (
            {"zone": {"members": ["USA"], "origin": {"rule": "member_inputs", "threshold": 0.9}}},
            "zone.origin.threshold",
        ),
    ],
)
def test_bad_chain_input_names_the_field(
    user_chain: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    user_chain.update(change)
    with pytest.raises(ScenarioError) as err:
        simulate(user_chain)
    assert field in str(err.value)


def test_two_chains_that_share_a_stage_market_are_refused(user_chain: dict[str, Any]) -> None:
    """A market in two chains was solved once in each, gave two answers and counted twice
    in the totals (the gallium and germanium chains both end at HS 811292: zone welfare
    USD -308 m for a ban that costs -154 m); two user chains that feed each other (ore ->
    metal, metal -> ore) are a cycle of stage links, which ran and showed no change."""
    user_chain["chain"].append(
        {"id": "back", "step": [{"product": "metal"}, {"product": "ore", "input_cost_share": 0.1}]}
    )
    with pytest.raises(ScenarioError) as err:
        simulate(user_chain)
    assert err.value.field == "chain[1]" and "'widget' and 'back'" in str(err.value)
    zone = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}
    both = {"name": "Ga and Ge", "zone": zone, "chain": [{"id": "gallium"}, {"id": "germanium"}]}
    with pytest.raises(ScenarioError) as err:
        simulate(both)
    assert err.value.field == "chain[1]" and "gallium_germanium" in str(err.value)


def test_an_input_cost_share_of_zero_warns_that_the_link_does_nothing(
    user_chain: dict[str, Any],
) -> None:
    """``input_cost_share = 0`` is legal, and the metal stage then buys no ore: a floor on ore
    left metal exactly as it was, with only the information note "input cost share given in
    the scenario"."""
    user_chain["chain"][0]["step"][1] = {"product": "metal", "input_cost_share": 0.0}
    user_chain["policy"] = [
        {"type": "price_floor", "stage": "mine", "price_usd_per_t": 1500.0},
    ]
    out = simulate(user_chain).to_dict()
    said = [n for n in out["chains"]["widget"]["notes"] if n.startswith("no effect: chain[0]")]
    assert len(said) == 1 and "step[1].input_cost_share = 0" in said[0], said
    assert out["products"]["metal"]["summary"]["zone_consumer_price_change_pct"] == 0.0
    assert out["products"]["ore"]["summary"]["zone_consumer_price_change_pct"] > 0.0


def test_stage_without_a_chain_is_an_error(user_chain: dict[str, Any]) -> None:
    user_chain["chain"] = []
    user_chain["policy"] = [{"type": "tariff", "stage": "refine", "rate": 0.1}]
    with pytest.raises(ScenarioError) as err:
        simulate(user_chain)
    assert "policy[0].stage" in str(err.value) and "no chain" in str(err.value)


def test_results_contract_keys(user_chain: dict[str, Any]) -> None:
    out = simulate(user_chain).to_dict()
    ch = out["chains"]["widget"]
    assert {"stages", "welfare", "captured_by_stage", "converged", "notes"} <= set(ch)
    assert set(ch["welfare"]) == {"zone", "outside", "world"}
    for s in ch["stages"]:
        assert {
            "stage",
            "products",
            "zone_price_change_pct",
            "outside_price_change_pct",
            "zone_self_sufficiency_before",
            "zone_self_sufficiency_after",
            "watch_share_before",
            "watch_share_after",
            "producer_surplus_usd",
        } <= set(s)
        assert set(s["producer_surplus_usd"]) == {"zone", "outside"}
    for pid in ("ore", "metal"):
        p = out["products"][pid]
        assert p["chain"] == "widget" and {"countries", "flows", "zone", "summary"} <= set(p)


def test_a_policy_whose_stage_and_products_select_no_market_warns() -> None:
    """``stage = "mine"`` with a refined product selects no stage of the lithium chain: the
    run changed nothing and said nothing. Now a ``no effect:`` note (a warning in every view)
    names it; a policy that selects a stage does not get one."""
    zone = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}
    idle = {"type": "tariff", "rate": 0.1, "stage": "mine", "products": ["lithium_carbonate"]}
    out = simulate(
        {"name": "idle", "zone": zone, "chain": [{"id": "lithium"}], "policy": [idle]}
    ).to_dict()
    notes = out["chains"]["lithium"]["notes"]
    assert any(
        n.startswith("no effect: policy[0] (tariff) selects stage mine and products") for n in notes
    ), notes
    used = dict(idle, stage="refine")
    out = simulate(
        {"name": "used", "zone": zone, "chain": [{"id": "lithium"}], "policy": [used]}
    ).to_dict()
    assert not any(n.startswith("no effect") for n in out["chains"]["lithium"]["notes"])


@pytest.mark.parametrize(
    "target", [{"stage": "lithium_hydroxide"}, {"products": ["lithium_hydroxide"]}]
)
def test_a_policy_on_a_product_without_a_market_changes_nothing_as_it_warns(
    target: dict[str, Any],
) -> None:
    """Lithium hydroxide is in the catalog's refine step but has no trade data: the refine
    market is lithium carbonate alone. A floor naming hydroxide was applied to that market
    (zone prices +7.3%, as for a floor on carbonate) while the run warned that it changed
    nothing; now it changes nothing, as the warning says."""
    zone = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}
    floor = {"type": "price_floor", "price_usd_per_t": 15000} | target
    out = simulate(
        {"name": "hydroxide", "zone": zone, "chain": [{"id": "lithium"}], "policy": [floor]}
    ).to_dict()
    assert any(n.startswith("no effect: policy[0]") for n in out["chains"]["lithium"]["notes"])
    for pid, product in out["products"].items():
        assert product["summary"]["zone_consumer_price_change_pct"] == 0.0, pid
        assert product["summary"]["tariff_revenue_change_usd"] == 0.0, pid


@pytest.mark.parametrize(
    ("shock", "why"),
    [
        ({"recovery_multiplier": 1.0}, "it leaves output as it is (a factor of 1)"),
        ({"output_change": 0.5, "countries": ["ISL"]}, "none of the countries it selects"),
    ],
)
def test_a_chain_shock_that_changes_nothing_runs_with_a_warning(
    shock: dict[str, Any], why: str
) -> None:
    """A chain shock at its neutral values (a sweep's point at ``recovery_multiplier = 1``)
    was refused ("a chain shock changes nothing"), and one on countries that produce none of
    the product ran without a word: both now run, with a ``no effect:`` warning, and change
    nothing."""
    zone = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}
    chain = {"id": "gallium", "shock": [{"product": "gallium_germanium"} | shock]}
    out = simulate({"name": "neutral", "zone": zone, "chain": [chain]}).to_dict()
    notes = out["chains"]["gallium"]["notes"]
    assert any(n.startswith("no effect: chain[0].shock[0]") and why in n for n in notes), notes
    for pid, product in out["products"].items():
        assert product["summary"]["zone_consumer_price_change_pct"] == 0.0, pid


def test_a_chain_without_an_equilibrium_names_its_fixed_supply_producers() -> None:
    """With ``supply_elasticity = 0`` on lithium carbonate and a refined floor, the lithium
    chain has no equilibrium: Burundi's few thousand dollars of carbonate are all sold into
    the zone under the floor, where a lower price of its own sells no more, and its supply
    cannot fall. The chain said only "line search failed"; it now names the cause, per stage,
    as a single market does. The same chain with an elasticity of 0.001 converges, without it."""
    zone = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}
    floor = {"type": "price_floor", "price_usd_per_t": 15000, "stage": "refine"}

    def run(eps: float) -> dict[str, Any]:
        product = {"id": "lithium_carbonate", "supply_elasticity": eps}
        scenario = {
            "name": "fixed supply",
            "zone": zone,
            "product": [product],
            "chain": [{"id": "lithium"}],
            "policy": [floor],
        }
        out: dict[str, Any] = simulate(scenario).to_dict()
        return out

    fixed = run(0.0)["products"]["lithium_carbonate"]
    assert not fixed["converged"]
    assert (
        "lithium_carbonate: possible cause: producers with fixed supply (eps = 0) that sell only "
        "under levy floors (BDI)" in fixed["message"]
    ), fixed["message"]
    elastic = run(0.001)["products"]["lithium_carbonate"]
    assert elastic["converged"]
    assert "possible cause" not in elastic["message"]


def test_the_report_command_prints_a_chain_warning(tmp_path: Path) -> None:
    """``critmin report`` printed only "wrote ...": a chain policy that changes nothing was
    said in the HTML alone. The terminal now has the warning too."""
    from typer.testing import CliRunner

    from critmin.cli import app

    path = tmp_path / "idle.toml"
    path.write_text(
        'name = "idle"\n[zone]\nmembers = ["USA", "EU27"]\n[[chain]]\nid = "lithium"\n'
        '[[policy]]\ntype = "tariff"\nrate = 0.1\nstage = "mine"\n'
        'products = ["lithium_carbonate"]\n'
    )
    res = CliRunner().invoke(app, ["report", str(path), "-o", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    flat = " ".join(res.output.split())
    assert "warning: chain lithium: no effect: policy[0] (tariff) selects stage mine" in flat, flat


def test_warnings_name_each_policy_by_its_number_in_the_scenario() -> None:
    """A chain stage and the single markets of a scenario with chains take some of its
    policies, and the warnings numbered them within that part: the second policy (a tariff on
    exporters that sell nothing) was "policy[0]" for lithium ores, whose stage the first
    policy (a refined floor) does not target, and for cobalt oxides, a single market. Every
    warning now names it as written, policy[1]; so do field names in errors."""
    zone = {"members": ["USA", "EU27"]}
    floor = {"type": "price_floor", "price_usd_per_t": 15000, "stage": "refine"}
    idle = {"type": "tariff", "rate": 0.1, "exporters": ["ISL"]}
    scenario = {
        "name": "numbers",
        "zone": zone,
        "product": [{"id": "cobalt_oxides"}],
        "chain": [{"id": "lithium"}],
        "policy": [floor, idle],
    }
    out = simulate(scenario).to_dict()
    for pid in ("cobalt_oxides", "lithium_ores", "lithium_carbonate"):
        said = [n for n in out["products"][pid]["notes"] if n.startswith("no effect: policy[")]
        assert said and all(n.startswith("no effect: policy[1] (tariff)") for n in said), said
    bad = dict(idle, exporters=["XXX"])
    with pytest.raises(ScenarioError) as err:
        simulate(scenario | {"policy": [floor, bad]})
    assert err.value.field == "policy[1].exporters"


def test_a_product_that_is_a_catalog_chain_stage_is_solved_once_in_the_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ``[[product]]`` that is also a stage of a catalog ``[[chain]]`` sets that stage (its
    sigma here), and the chain's stage is shown under the product's id: the product was also
    solved as a market alone first, for nothing, and its result replaced without a word. It
    is solved once, in the chain; the result is the chain's stage (its sigma, its products)."""
    import critmin.simulation as simulation

    solved: list[str] = []
    alone = simulation.solve

    def counting(market: Any, policy: Any) -> Any:
        solved.append(market.name)
        return alone(market, policy)

    monkeypatch.setattr(simulation, "solve", counting)
    zone = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}
    tariff = {"type": "tariff", "exporters": "non-members", "importers": "members", "rate": 0.2}
    out = simulate(
        {
            "name": "product and chain",
            "zone": zone,
            "product": [{"id": "lithium_carbonate", "sigma": 3.0}],
            "chain": [{"id": "lithium"}],
            "policy": [tariff],
        }
    ).to_dict()
    assert solved == [], solved  # no market solved alone: both stages in the chain
    assert list(out["products"]) == ["lithium_carbonate", "lithium_ores"]
    assert out["products"]["lithium_carbonate"]["parameters"]["sigma"] == 3.0
    assert out["products"]["lithium_carbonate"]["chain"]
    assert out["products"]["lithium_carbonate"]["converged"]
