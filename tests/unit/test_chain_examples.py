"""The chain examples (examples/chains/*.toml) converge on the bundled data, and their results
have the signs docs/model.md explains."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from critmin import simulate

CHAINS = Path(__file__).resolve().parents[2] / "examples" / "chains"


def run(name: str) -> dict[str, Any]:
    out = simulate(CHAINS / f"{name}.toml").to_dict()
    assert out["converged"]
    (chain,) = out["chains"].values()
    return chain


def stage(chain: dict[str, Any], key: str) -> dict[str, Any]:
    return next(s for s in chain["stages"] if key in s["products"])


@pytest.mark.parametrize("path", sorted(CHAINS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_chain_example_converges(path: Path) -> None:
    out = simulate(path).to_dict()
    assert out["converged"] and out["chains"]
    for ch in out["chains"].values():
        assert ch["max_residual"] <= 1e-12


def test_lithium_floors_who_captures_the_rent() -> None:
    refined = run("lithium_floor_refined")
    both = run("lithium_floor_ore_and_refined")
    # a refined floor alone: zone refiners gain, ore prices barely move in the zone
    assert stage(refined, "lithium_carbonate")["producer_surplus_usd"]["zone"] > 0
    assert abs(stage(refined, "lithium_ores")["zone_price_change_pct"]) < 0.1
    # adding an ore floor: zone miners gain, at the expense of zone refiners' margins
    ore = stage(both, "lithium_ores")
    assert ore["producer_surplus_usd"]["zone"] > 0 and ore["zone_price_change_pct"] > 1
    assert (
        stage(both, "lithium_carbonate")["producer_surplus_usd"]["zone"]
        < stage(refined, "lithium_carbonate")["producer_surplus_usd"]["zone"]
    )


def test_lithium_rule_of_origin_taxes_non_qualifying_member_output() -> None:
    plain = stage(run("lithium_floor_refined"), "lithium_carbonate")
    ruled = stage(run("lithium_floor_refined_origin"), "lithium_carbonate")
    assert plain["non_qualifying_member_sales_usd"] == 0
    assert ruled["non_qualifying_member_sales_usd"] > 0
    assert ruled["tariff_revenue_usd"] > plain["tariff_revenue_usd"]


def test_gallium_ban_and_byproduct_response() -> None:
    ch = run("gallium_china_ban_byproduct")
    ga = stage(ch, "gallium_germanium")
    assert ga["watch_share_before"] > 0.3 and ga["watch_share_after"] == 0
    assert ga["zone_output_change_pct"] > 0
    assert ga["zone_self_sufficiency_after"] > ga["zone_self_sufficiency_before"]
    # the host does not see the by-product's shock
    assert stage(ch, "alumina")["zone_price_change_pct"] == 0


def test_cobalt_quota_raises_intermediate_and_refined_prices() -> None:
    ch = run("cobalt_drc_quota")
    mid, ref = stage(ch, "cobalt_intermediates"), stage(ch, "cobalt_oxides")
    assert mid["quota_rent_usd"] > 0
    assert mid["outside_price_change_pct"] > 0 and ref["outside_price_change_pct"] > 0
    assert ref["outside_output_change_pct"] < 0


def test_recovery_share_against_the_catalog() -> None:
    """Raising recovery to 1.5x the catalog's share is a capacity multiplier of 1.5."""
    import tomllib

    from critmin.catalog import byproducts

    path = CHAINS / "gallium_china_ban_byproduct.toml"
    data = tomllib.loads(path.read_text())
    share = next(
        b.recovery_share
        for b in byproducts()
        if (b.product_id, b.host_product_id) == ("gallium_germanium", "alumina")
    )
    shock = data["chain"][0]["shock"][0]
    assert shock.pop("recovery_multiplier") == 1.5
    shock["recovery_share"] = 1.5 * share
    by_share = simulate(data).to_dict()["chains"]["gallium"]
    by_multiplier = run("gallium_china_ban_byproduct")
    assert by_share["welfare"]["world"] == pytest.approx(by_multiplier["welfare"]["world"])


ZONE = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}


def test_a_floor_that_takes_refiners_value_added_away_converges() -> None:
    """A variable-levy floor of USD 30,000/t on cobalt intermediates (4.7 times their 2024
    unit value) makes the zone's refiners pay more for their input than cobalt oxides fetch
    at the baseline: their supply was zero there and did not move with their own price, and
    the solver ran to its iteration limit twice (max residual 490). Started where they keep
    half their value added, it converges in about ten steps, with the signs of a floor on
    an input: zone miners' price and output up, zone refiners' output down, outside refiners'
    up."""
    out = simulate(
        {
            "name": "cobalt ore floor far above the market",
            "zone": ZONE,
            "chain": [{"id": "cobalt"}],
            "policy": [
                {
                    "type": "price_floor",
                    "mechanism": "variable_levy",
                    "stage": "mine",
                    "price_usd_per_t": 30000,
                }
            ],
        }
    ).to_dict()
    ch = out["chains"]["cobalt"]
    assert out["converged"] and ch["max_residual"] <= 1e-12 and ch["iterations"] <= 30
    mid, ref = stage(ch, "cobalt_intermediates"), stage(ch, "cobalt_oxides")
    assert mid["zone_producer_price_change_pct"] > 0 and mid["zone_output_change_pct"] > 0
    assert ref["zone_output_change_pct"] < 0 < ref["outside_output_change_pct"]


def test_a_drc_export_quota_of_zero_converges_to_the_rounding_limit() -> None:
    """A quota of 0 is a ban, and legal. In the cobalt chain it moves the mine price a
    hundredfold, and the iteration stopped at a max residual of 4.2e-9, which changing the
    unknowns by 1e-15 of themselves moves to 5e-8..6e-7: as exact as float64 allows, and
    reported as not converged (exit 1). It is now converged, said so in its message; the
    same market alone (example 03 with a quota of 0) converges to 1e-12 as before, and a
    chain that is not at its rounding limit is not let through (the quota at 0.6 converges
    to 1e-12)."""
    chain = tomllib.loads((CHAINS / "cobalt_drc_quota.toml").read_text())
    chain["policy"][0]["share_of_baseline"] = 0.0
    ch = simulate(chain).to_dict()["chains"]["cobalt"]
    assert ch["converged"] and ch["max_residual"] <= 1e-8, ch["message"]
    assert "limit of float64 rounding" in ch["message"]
    mid = stage(ch, "cobalt_intermediates")
    assert mid["zone_price_change_pct"] > 1000.0  # most of the world's supply stopped
    plain = simulate(CHAINS / "cobalt_drc_quota.toml").to_dict()["chains"]["cobalt"]
    assert plain["max_residual"] <= 1e-12 and "rounding" not in plain["message"]
