"""Leakage of export quotas and licences through third countries (issue 15, docs/controls.md)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_controls import V4, market, product, scenario  # the same market and scenario

import critmin
from critmin.errors import ScenarioError
from critmin.model import Policy, solve
from critmin.model.quota_groups import GroupLeak, QuotaGroup
from critmin.scenario import Scenario

TO_1 = np.array([False, True, False, False])


def leaky(cap: float, route_cap: float, cost: float = 0.2, via_tariff: float = 0.0) -> QuotaGroup:
    route = GroupLeak(1, route_cap, cost, via_tariff, ((2, 1.0),))
    return QuotaGroup(0, TO_1, cap, leaks=(route,))


def test_a_slack_route_caps_the_price_at_the_route_cost() -> None:
    """An independent check: with a route that is never full, variety 0 sells in market 1 at
    kappa over its direct landed cost, so the market solves as the plain model with that
    factor as a tariff on the pair (the compiled solver, no quota)."""
    t1 = np.zeros((4, 4))
    t1[0, 1] = 0.1
    route = leaky(0.4, route_cap=50.0, cost=0.2, via_tariff=0.05)
    sol = solve(market(), Policy(t1=t1, quota_groups=(route,)))
    assert sol.converged
    kappa = 1.2 * 1.05 / 1.1
    plain_t1 = t1.copy()
    plain_t1[0, 1] = 1.1 * kappa - 1.0
    plain = solve(market(), Policy(t1=plain_t1))
    np.testing.assert_allclose(sol.pi, plain.pi, rtol=1e-8)
    np.testing.assert_allclose(sol.P, plain.P, rtol=1e-8)
    assert sol.groups.e[0] == pytest.approx(kappa - 1.0, rel=1e-9)  # the licence's rent
    (flow,) = sol.groups.leaks
    assert flow.direct == pytest.approx(0.4 * V4[0, 1], rel=1e-9)  # the quota is full
    assert flow.quantity == pytest.approx(sol.q[0, 1] - 0.4 * V4[0, 1], rel=1e-9)
    assert 0 < flow.quantity < flow.cap and flow.rent == pytest.approx(0.0, abs=1e-9)


def test_a_full_route_adds_its_cap_to_the_quota_and_earns_a_rent() -> None:
    sol = solve(market(), Policy(quota_groups=(leaky(0.4, route_cap=0.3),)))
    assert sol.converged
    (flow,) = sol.groups.leaks
    assert flow.direct == pytest.approx(0.4 * V4[0, 1], rel=1e-9)
    assert flow.quantity == pytest.approx(0.3, rel=1e-9)
    assert sol.q[0, 1] == pytest.approx(0.4 * V4[0, 1] + 0.3, rel=1e-9)
    e = sol.groups.e[0]
    assert e > 0.2 and flow.rent == pytest.approx((1 + e) / 1.2 - 1, rel=1e-9)
    # the destination's tariff revenue is nil (no tariffs); the detour is nobody's income
    assert sol.tariff_revenue == pytest.approx(np.zeros(4), abs=1e-9)
    sell = sol.pi[0] * (1 + sol.e[0])
    rent = sell * (e * flow.direct + flow.rent * flow.quantity)
    assert sol.quota_rent[0] == pytest.approx(rent, rel=1e-9)
    assert sol.groups.detour_cost[1] == pytest.approx(sell * (1 + flow.rent) * 0.2 * 0.3)


def test_the_destination_pays_the_vias_tariff_on_routed_goods() -> None:
    t1 = np.zeros((4, 4))
    t1[:, 1] = 0.25
    t1[1, 1] = 0.0
    sol = solve(market(), Policy(t1=t1, quota_groups=(leaky(0.4, 0.3, 0.1, via_tariff=0.05),)))
    assert sol.converged
    (flow,) = sol.groups.leaks
    b = sol.b[0, 1]
    revenue = sum(sol.b[i, 1] * 0.25 / 1.25 * sol.q[i, 1] for i in (2, 3))
    revenue += b * 0.25 / 1.25 * flow.direct + b * 0.05 / 1.05 * flow.quantity
    assert sol.tariff_revenue[1] == pytest.approx(revenue, rel=1e-9)  # t0 = 0: none before


def test_a_vanishing_route_is_the_quota_without_leaks() -> None:
    tight = solve(market(), Policy(quota_groups=(QuotaGroup(0, TO_1, 0.4),)))
    tiny = solve(market(), Policy(quota_groups=(leaky(0.4, route_cap=1e-12),)))
    assert tight.converged and tiny.converged
    np.testing.assert_allclose(tiny.pi, tight.pi, rtol=1e-9)
    np.testing.assert_allclose(tiny.P, tight.P, rtol=1e-9)
    assert tiny.groups.e[0] == pytest.approx(tight.groups.e[0], rel=1e-8)


def test_a_cheap_route_is_used_under_a_slack_quota() -> None:
    """With the vias' tariff far below the direct one the route comes first (tariff evasion):
    the buyer price stays the direct one, the route fills and its rent goes to the exporter."""
    t1 = np.zeros((4, 4))
    t1[0, 1] = 0.5
    sol = solve(market(), Policy(t1=t1, quota_groups=(leaky(2.0, 0.5, 0.1),)))
    plain = solve(market(), Policy(t1=t1))
    assert sol.converged
    np.testing.assert_allclose(sol.pi, plain.pi, rtol=1e-9)
    (flow,) = sol.groups.leaks
    assert flow.quantity == pytest.approx(0.5) and flow.rent == pytest.approx(1.5 / 1.1 - 1)
    assert sol.groups.e[0] == 0.0


@pytest.mark.parametrize(("direct", "via"), [(0.0, 0.0), (0.1 + 0.2, 0.3)])
def test_a_route_that_costs_what_a_direct_sale_costs_opens_only_as_the_quota_binds(
    direct: float, via: float
) -> None:
    """``kappa = 1`` (no detour cost, the vias' tariff the direct one; ``0.1 + 0.2`` against
    ``0.3`` is ``kappa`` a rounding below 1): under a slack quota nothing needs to go around
    it, so nothing is routed and the market is the plain one. The route used to be always
    open and full at ``kappa = 1`` (antimony, licence 0.9999 on the zone via THA, no
    leak_cost: USD 8.4 m routed and a 'tariff evasion' note at an unchanged price, against
    USD 11 k at a leak_cost of 1e-9). Under a binding quota the route fills at the licence's
    price ``e = kappa - 1 = 0`` (docs/controls.md)."""
    t1 = np.zeros((4, 4))
    t1[0, 1] = direct
    plain = solve(market(), Policy(t1=t1))
    slack = solve(market(), Policy(t1=t1, quota_groups=(leaky(1.5, 0.3, 0.0, via),)))
    assert slack.converged
    np.testing.assert_allclose(slack.pi, plain.pi, rtol=1e-9)
    assert sum(flow.quantity for flow in slack.groups.leaks) == 0.0
    binding = solve(market(), Policy(t1=t1, quota_groups=(leaky(0.5, 2.0, 0.0, via),)))
    assert binding.converged
    (flow,) = binding.groups.leaks
    assert binding.groups.e[0] == pytest.approx(0.0, abs=1e-9)
    assert 0.0 < flow.quantity < flow.cap  # held at the route's cost while it fills
    assert flow.direct == pytest.approx(0.5 * V4[0, 1], rel=1e-9)


def test_routes_of_equal_cost_fill_to_the_same_share_of_their_caps() -> None:
    """Where the licence is worth exactly the routes' cost, the split of the routed goods
    between destinations is not set by prices; critmin fills equal-cost routes to the same
    share of their caps (module docstring)."""
    both = np.array([False, True, True, False])
    routes = (GroupLeak(1, 2.0, 0.1), GroupLeak(2, 4.0, 0.1))
    sol = solve(market(), Policy(quota_groups=(QuotaGroup(0, both, 0.6, leaks=routes),)))
    assert sol.converged
    a, b = sol.groups.leaks
    assert sol.groups.e[0] == pytest.approx(0.1, rel=1e-9)  # held at the routes' cost
    assert 0 < a.quantity / a.cap < 1
    assert a.quantity / a.cap == pytest.approx(b.quantity / b.cap, rel=1e-9)
    assert a.direct + b.direct == pytest.approx(0.6 * 6.0, rel=1e-9)  # the pool is full


def test_a_route_in_a_pool_lowers_the_pool_s_price_everywhere() -> None:
    """A route to one destination frees licences for the others: the licence's rent falls
    and the exporter sells more to the destination without a route too."""
    both = np.array([False, True, True, False])
    tight = solve(market(), Policy(quota_groups=(QuotaGroup(0, both, 0.6),)))
    route = GroupLeak(1, 0.5, 0.05)
    sol = solve(market(), Policy(quota_groups=(QuotaGroup(0, both, 0.6, leaks=(route,)),)))
    assert sol.converged and tight.converged
    assert 0.05 < sol.groups.e[0] < tight.groups.e[0]
    assert sol.groups.leaks[0].quantity == pytest.approx(0.5, rel=1e-9)  # full: it pays
    assert sol.q[0, 2] > tight.q[0, 2] and sol.P[2] < tight.P[2]
    assert sol.groups.exports[0] <= 0.6 * 6.0 * (1 + 1e-9)


QUOTA = {
    "type": "export_quota",
    "exporters": ["CHN"],
    "importers": ["USA"],
    "share_of_baseline": 0.3,
}
LEAK = {"leak_via": ["THA", "MEX", "BEL"], "leak_cost": 0.15, "leak_share": 0.5}


def test_a_leaky_quota_raises_the_destination_price_less_and_respects_its_caps() -> None:
    tight = product(scenario(QUOTA))
    loose = product(scenario(QUOTA | LEAK))
    usa_tight = tight["countries"]["USA"]["consumer_price_change_pct"]
    usa_loose = loose["countries"]["USA"]["consumer_price_change_pct"]
    assert 0 < usa_loose < usa_tight
    (ctl,) = loose["export_controls"]
    assert ctl["exports_usd"] <= ctl["cap_usd"] * (1 + 1e-9)  # the direct flow: the quota
    assert ctl["leaked_usd"] > 0 and ctl["leaked_share_of_cut"] > 0
    routes = loose["leakage"]
    assert {r["via"] for r in routes} == {"THA", "MEX", "BEL"}
    assert {(r["origin"], r["destination"], r["restriction"]) for r in routes} == {
        ("CHN", "USA", "quota")
    }
    for r in routes:  # the routed flow: leak_share x the vias' exports to the US
        assert 0 < r["quantity_share_of_cap"] <= 1 + 1e-9
    assert sum(r["value_usd"] for r in routes) == pytest.approx(ctl["leaked_usd"], rel=1e-12)
    # the routed flow is paid by US buyers: the exporter's receipts on the pair rise
    chn_usa = [f for f in loose["flows"] if (f["exporter"], f["importer"]) == ("CHN", "USA")]
    tight_pair = [f for f in tight["flows"] if (f["exporter"], f["importer"]) == ("CHN", "USA")]
    assert chn_usa[0]["quantity_change_pct"] > tight_pair[0]["quantity_change_pct"]


def test_leak_share_to_zero_gives_the_quota_without_leakage() -> None:
    tight = product(scenario(QUOTA))
    zero = product(scenario(QUOTA | LEAK | {"leak_share": 0.0}))
    assert zero["countries"] == tight["countries"] and zero["leakage"] == []
    assert any("leak_share is 0: nothing can leak" in n for n in zero["notes"])
    tiny = product(scenario(QUOTA | LEAK | {"leak_share": 1e-9}))
    for code, row in tight["countries"].items():
        for key in ("consumer_price_change_pct", "producer_price_change_pct"):
            if row[key] is not None:
                assert tiny["countries"][code][key] == pytest.approx(row[key], rel=1e-6, abs=1e-9)


def test_a_leaky_quota_that_does_not_bind_gets_a_warning() -> None:
    out = product(scenario(QUOTA | LEAK | {"share_of_baseline": 1.5}))
    assert any("does not bind" in n and "nothing leaks" in n for n in out["notes"])
    assert out["countries"]["USA"]["consumer_price_change_pct"] == pytest.approx(0.0, abs=1e-9)


def test_a_quota_to_members_leaks_within_its_pool_and_vanishes_with_its_share() -> None:
    quota = {
        "type": "export_quota",
        "exporters": ["CHN"],
        "importers": "members",
        "share_of_baseline": 0.5,
        "leak_via": "non-members",  # CHN, a non-member, is left out: selectors keep third countries
        "leak_cost": 0.2,
        "leak_share": 0.3,
    }
    out = product(scenario(quota))
    (ctl,) = out["export_controls"]  # one pool of licences over the members
    assert len(ctl["destinations"]) > 20 and ctl["label"].endswith("(leaky)")
    assert ctl["exports_usd"] <= ctl["cap_usd"] * (1 + 1e-9)
    assert ctl["export_tax_equivalent_pct"] > 20.0  # above the route's cost: routes are full
    for r in out["leakage"]:
        assert r["via"] != "CHN" and r["quantity_share_of_cap"] <= 1 + 1e-9
    assert any("cannot leak" in n for n in out["notes"])  # destinations no via supplies
    tight = product(scenario({k: v for k, v in quota.items() if not k.startswith("leak")}))
    tiny = product(scenario(quota | {"leak_share": 1e-9}))
    assert tiny["countries"]["USA"]["consumer_price_change_pct"] == pytest.approx(
        tight["countries"]["USA"]["consumer_price_change_pct"], rel=1e-6
    )
    assert (
        out["countries"]["USA"]["consumer_price_change_pct"]
        < tight["countries"]["USA"]["consumer_price_change_pct"]
    )


def test_a_licence_of_zero_with_leakage_is_a_leaky_ban() -> None:
    lic = {
        "type": "export_licensing",
        "exporters": ["CHN"],
        "importers": ["USA", "JPN"],
        "grant_share": {"default": 0.6, "USA": 0.0},
        "leak_via": ["THA", "SGP", "BEL"],
        "leak_cost": 0.2,
        "leak_share": 0.3,
    }
    out = product(scenario(lic))
    kinds = {(r["destination"], r["restriction"]) for r in out["leakage"]}
    assert kinds == {("USA", "ban"), ("JPN", "licence")}  # a licence leaks as one
    usa = next(f for f in out["flows"] if (f["exporter"], f["importer"]) == ("CHN", "USA"))
    assert 0 < usa["value_usd"] < usa["baseline_value_usd"]  # the ban leaks


@pytest.mark.parametrize(
    ("policy", "field", "words"),
    [
        (QUOTA | LEAK | {"leak_via": ["THA", "USA"]}, "policy[0].leak_via", "USA is a restricted"),
        (QUOTA | LEAK | {"leak_via": ["CHN"]}, "policy[0].leak_via", "CHN is an exporter"),
        (
            {"type": "export_licensing", "exporters": ["CHN"], "grant_share": 0.5} | LEAK,
            "policy[0].leak_via",
            "BEL, MEX, THA are restricted destinations",
        ),
        (
            {"type": "export_ban", "exporters": ["CHN"], "importers": ["USA"]}
            | LEAK
            | {"leak_via": ["CHN", "THA"]},
            "policy[0].leak_via",
            "CHN is an exporter of this export_ban",
        ),
        (QUOTA | {"leak_share": 0.3}, "policy[0]", "leak_share needs leak_via"),
    ],
)
def test_bad_leakage_gets_one_clear_message(policy: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ScenarioError) as err:
        critmin.simulate(Scenario.from_dict(scenario(policy)))
    assert field in str(err.value) and words in str(err.value)
    assert "neither the exporter nor a restricted destination" in str(err.value) or (
        "needs leak_via" in words
    )


def test_one_pair_leaks_under_one_policy_only() -> None:
    lic = {
        "type": "export_licensing",
        "exporters": ["CHN"],
        "importers": ["USA"],
        "grant_share": 0.5,
    }
    with pytest.raises(ScenarioError, match="already leaks under policy\\[0\\]"):
        critmin.simulate(scenario(QUOTA | LEAK, lic | LEAK))


def test_a_quota_on_every_destination_has_no_third_country_to_leak_through() -> None:
    every = {"type": "export_quota", "exporters": ["CHN"], "share_of_baseline": 0.5}
    plain = product(scenario(every))
    leaky_all = product(scenario(every | {"leak_via": "non-members", "leak_share": 0.3}))
    assert leaky_all["leakage"] == []
    assert any("cannot leak" in n for n in leaky_all["notes"])
    usa = leaky_all["countries"]["USA"]["consumer_price_change_pct"]
    assert usa == pytest.approx(plain["countries"]["USA"]["consumer_price_change_pct"], rel=1e-7)


def test_a_ban_with_leak_share_zero_is_the_tight_ban() -> None:
    ban = {"type": "export_ban", "exporters": ["CHN"], "importers": ["USA"]}
    tight = product(scenario(ban))
    zero = product(scenario(ban | LEAK | {"leak_share": 0.0}))
    assert zero["countries"] == tight["countries"] and zero["leakage"] == []
    assert any("leak_share is 0" in n for n in zero["notes"])


def test_a_leaky_ban_whose_route_evades_a_duty_says_the_ban_can_lower_prices() -> None:
    """With the curated Section 301 duty on Chinese gallium/germanium into the US (2024) and a
    5% detour through third countries whose goods pay the US MFN rate, the route costs
    ``kappa = 1.05 (1 + tv) / (1 + t)`` < 1 of the direct sale and its cap (all the vias'
    exports to the US) is slack (rent 0): the ban lets *more* Chinese goods reach the US than
    no ban and lowers the US price. The economics is the modelling choice of docs/controls.md
    (the route evades the origin's duty; the reference without the ban has no route), but the
    result must say so, as it does for a leaky quota that does not bind."""
    ban = {
        "type": "export_ban",
        "exporters": ["CHN"],
        "importers": ["USA"],
        "leak_via": ["THA", "MEX", "BEL", "DEU", "MYS", "VNM"],
        "leak_cost": 0.05,
        "leak_share": 1.0,
    }
    curated = {"tariffs": {"baseline": "curated"}}
    none = product(scenario() | curated)
    out = product(scenario(ban) | curated)

    def chn_usa(p: dict[str, Any]) -> float:
        (f,) = [f for f in p["flows"] if (f["exporter"], f["importer"]) == ("CHN", "USA")]
        return float(f["baseline_value_usd"] * (1 + f["quantity_change_pct"] / 100))

    assert chn_usa(out) > chn_usa(none)  # the evasion: more than without the ban
    assert out["countries"]["USA"]["consumer_price_change_pct"] < 0
    (ctl,) = out["export_controls"]
    assert ctl["kind"] == "ban" and ctl["export_tax_equivalent_pct"] == 0.0
    (note,) = [n for n in out["notes"] if "tariff evasion" in n]
    assert note.startswith("policy[0].leak_via:") and "CHN -> USA" in note
    # without the duty the route costs 5% more than the direct sale: no such note
    plain = product(scenario(ban))
    assert not any("tariff evasion" in n for n in plain["notes"])
    assert chn_usa(plain) < chn_usa(product(scenario()))
