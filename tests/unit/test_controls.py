"""Export controls as they happen (issue 15): destination quotas, licensing, leaky bans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import critmin
from critmin.errors import CritminError, ScenarioError
from critmin.model import Market, Policy, solve
from critmin.model.quota_groups import QuotaGroup
from critmin.scenario import Scenario

V4 = np.array(
    [[5.0, 3.0, 3.0, 1.0], [1.0, 4.0, 0.5, 0.5], [1.0, 0.5, 4.0, 0.5], [0.5, 0.5, 0.5, 3.0]]
)


def market() -> Market:
    return Market(V=V4, t0=np.zeros((4, 4)), sigma=4.0, eta=0.5, eps=np.ones(4))


def test_a_group_over_every_destination_is_the_whole_exporter_quota() -> None:
    """An independent check: the outer group iteration reproduces the compiled quota."""
    every = QuotaGroup(0, np.ones(4, dtype=bool), 0.7)
    a = solve(market(), Policy(quota_groups=(every,)))
    b = solve(market(), Policy(export_cap=np.array([0.7, np.inf, np.inf, np.inf])))
    assert a.converged and b.converged
    np.testing.assert_allclose(a.pi, b.pi, rtol=1e-9)
    np.testing.assert_allclose(a.groups.e[0], b.e[0], rtol=1e-8)
    np.testing.assert_allclose(a.welfare, b.welfare, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(a.quota_rent, b.quota_rent, rtol=1e-7, atol=1e-9)


def test_a_destination_quota_binds_and_diverts_sales_to_the_other_buyers() -> None:
    group = QuotaGroup(0, np.array([False, True, False, False]), 0.5)
    sol = solve(market(), Policy(quota_groups=(group,)))
    assert sol.converged
    assert sol.q[0, 1] == pytest.approx(0.5 * V4[0, 1], rel=1e-9)  # binds at its cap
    assert sol.groups.e[0] > 0
    assert sol.q[0, 2] > V4[0, 2] and sol.q[0, 3] > V4[0, 3]  # sold elsewhere instead
    # the wedge is rent of the exporter, not tariff revenue of the buyer
    assert sol.tariff_revenue == pytest.approx(np.zeros(4), abs=1e-9)
    rent = sol.pi[0] * sol.groups.e[0] * sol.q[0, 1]
    assert sol.quota_rent[0] == pytest.approx(rent, rel=1e-9)


def test_a_slack_destination_quota_changes_nothing() -> None:
    group = QuotaGroup(0, np.array([False, True, False, False]), 1.5)
    sol = solve(market(), Policy(quota_groups=(group,)))
    assert sol.groups.e[0] == 0.0
    np.testing.assert_allclose(sol.pi, 1.0, atol=1e-12)


def test_overlapping_groups_are_refused() -> None:
    a = QuotaGroup(0, np.array([False, True, True, False]), 0.5)
    b = QuotaGroup(0, np.array([False, False, True, True]), 0.5)
    with pytest.raises(CritminError, match="overlap"):
        solve(market(), Policy(quota_groups=(a, b)))


def scenario(*policies: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "controls",
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "gallium_germanium"}],
        "policy": list(policies),
    }


def product(data: dict[str, Any]) -> dict[str, Any]:
    out = critmin.simulate(data).to_dict()["products"]["gallium_germanium"]
    assert out["converged"], out["message"]
    return out


def test_a_quota_to_zone_importers_moves_china_s_sales_to_non_members() -> None:
    quota = {
        "type": "export_quota",
        "exporters": ["CHN"],
        "importers": "members",
        "share_of_baseline": 0.5,
    }
    out = product(scenario(quota))
    zone = out["zone"]
    assert zone["watch_exports_to_zone_share_after"] < zone["watch_exports_to_zone_share_before"]
    flows = [f for f in out["flows"] if f["exporter"] == "CHN" and f["importer"] != "CHN"]
    members = {c for c, r in out["countries"].items() if r["member"]}
    to_others = [f for f in flows if f["importer"] not in members]
    assert to_others and all(f["quantity_change_pct"] > 0 for f in to_others)
    (ctl,) = out["export_controls"]
    assert ctl["exports_usd"] == pytest.approx(ctl["cap_usd"], rel=1e-8)
    assert ctl["export_tax_equivalent_pct"] > 0
    chn = out["countries"]["CHN"]
    assert chn["export_price_change_pct"] > chn["producer_price_change_pct"]


def test_a_leaky_ban_raises_the_destination_price_less_and_respects_its_cap() -> None:
    ban = {"type": "export_ban", "exporters": ["CHN"], "importers": ["USA"]}
    leaky = ban | {"leak_via": ["THA", "MEX", "BEL"], "leak_cost": 0.15, "leak_share": 0.5}
    tight = product(scenario(ban))
    loose = product(scenario(leaky))
    usa_tight = tight["countries"]["USA"]["consumer_price_change_pct"]
    usa_loose = loose["countries"]["USA"]["consumer_price_change_pct"]
    assert 0 < usa_loose < usa_tight
    assert {r["via"] for r in loose["leakage"]} <= {"THA", "MEX", "BEL"}
    assert sum(r["value_usd"] for r in loose["leakage"]) > 0
    for ctl in loose["export_controls"]:
        assert ctl["exports_usd"] <= ctl["cap_usd"] * (1 + 1e-9)
    assert tight["leakage"] == [] and tight["export_controls"] == []


def test_licensing_is_a_quota_at_the_grant_share() -> None:
    lic = {
        "type": "export_licensing",
        "exporters": ["CHN"],
        "grant_share": {"default": 0.8, "USA": 0.0},
    }
    out = product(scenario(lic))
    (group,) = out["export_controls"]
    assert "USA" not in group["destinations"]
    assert group["exports_usd"] <= group["cap_usd"] * (1 + 1e-9)
    usa = [f for f in out["flows"] if f["exporter"] == "CHN" and f["importer"] == "USA"]
    assert usa and usa[0]["banned"] and usa[0]["value_usd"] == 0.0


def test_two_licences_at_the_same_share_are_one_group_and_say_so() -> None:
    """Two licences of CHN at a grant share of 0.5 (to the zone, and to Indonesia) are one
    group, a joint cap over both sets of destinations: the results show one group where the
    scenario wrote two, so a note names both policies. A licence at another share is a group
    of its own, and says nothing."""
    base = {"type": "export_licensing", "exporters": ["CHN"]}
    zone = base | {"importers": "members", "grant_share": {"default": 0.5}}
    same = base | {"importers": ["IDN"], "grant_share": {"default": 0.5}}
    other = base | {"importers": ["IDN"], "grant_share": {"default": 0.4}}
    pooled = product(scenario(zone, same))
    (group,) = pooled["export_controls"]
    assert "IDN" in group["destinations"] and "USA" in group["destinations"]
    said = [n for n in pooled["notes"] if "form one group" in n]
    assert len(said) == 1 and said[0].startswith("policy[0] and policy[1]: CHN's exports")
    apart = product(scenario(zone, other))
    assert len(apart["export_controls"]) == 2
    assert not [n for n in apart["notes"] if "form one group" in n]


def test_a_grant_share_for_a_country_outside_the_importers_is_named_as_unused() -> None:
    """``grant_share = {default = 0.5, JPN = 0.1}`` with ``importers = ["USA"]``: the JPN share
    was ignored in silence."""
    lic = {
        "type": "export_licensing",
        "exporters": ["CHN"],
        "importers": ["USA"],
        "grant_share": {"default": 0.5, "JPN": 0.1},
    }
    notes = product(scenario(lic))["notes"]
    assert any(
        n.startswith("no effect: policy[0].grant_share.JPN: JPN is not among") for n in notes
    )
    used = dict(lic, importers=["USA", "JPN"])
    assert not any("grant_share.JPN" in n for n in product(scenario(used))["notes"])
    # without a default, an importer given no share gets no licence at all: the measure may
    # do nothing, and says so
    bare = dict(lic, grant_share={"JPN": 0.1})
    notes = product(scenario(bare))["notes"]
    assert any(
        n.startswith("no effect: policy[0].grant_share has no default and no share for USA")
        for n in notes
    ), notes


@pytest.mark.parametrize("code", ["ISR", "ATA"])
def test_a_grant_share_for_a_country_that_buys_nothing_from_the_exporter_is_named(
    code: str,
) -> None:
    """``grant_share = {default = 0.8, ISR = 0}`` on gallium/germanium, 2024: Israel is in the
    market but buys none from China in the baseline, Antarctica is not in the market at all;
    either share was ignored in silence (an analyst's ban on that destination did nothing)."""
    lic = {
        "type": "export_licensing",
        "exporters": ["CHN"],
        "grant_share": {"default": 0.8, code: 0.0},
    }
    notes = product(scenario(lic))["notes"]
    assert any(
        n.startswith(f"no effect: policy[0].grant_share.{code}: {code} buys no gallium")
        and "from CHN in the baseline" in n
        for n in notes
    ), notes
    # a destination that does buy from China gets no such note
    used = dict(lic, grant_share={"default": 0.8, "USA": 0.0})
    assert not any("grant_share.USA" in n for n in product(scenario(used))["notes"])


@pytest.mark.parametrize(
    ("policy", "field", "words"),
    [
        (
            {"type": "export_licensing", "exporters": ["CHN"], "grant_share": 1.5},
            "policy[0]",
            "between 0 and 1",
        ),
        (
            {
                "type": "export_ban",
                "exporters": ["CHN"],
                "importers": ["USA", "JPN"],
                "leak_via": ["JPN", "THA"],
                "leak_share": 0.5,
            },
            "policy[0].leak_via",
            "JPN is a banned destination",
        ),
    ],
)
def test_bad_controls_get_one_clear_message(policy: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ScenarioError) as err:
        critmin.simulate(Scenario.from_dict(scenario(policy)))
    assert field in str(err.value) and words in str(err.value)


def tariff_scenario(tariffs: dict[str, Any]) -> dict[str, Any]:
    return scenario() | {"tariffs": tariffs}


def test_curated_baseline_tariffs_change_the_calibration_and_are_cited() -> None:
    from critmin.scenario.resolution import resolve

    plain = resolve(Scenario.from_dict(scenario()))[1][0]
    taxed = resolve(Scenario.from_dict(tariff_scenario({"baseline": "curated"})))[1][0]
    b = taxed.baseline
    chn, usa, can, jpn = (b.countries.index(c) for c in ("CHN", "USA", "CAN", "JPN"))
    assert plain.baseline.t0[chn, usa] == 0.0
    # HTSUS 8112.92.10 general rate 3% plus Section 301 List 3 (9903.88.03) 25%, stacked
    assert b.t0[chn, usa] == pytest.approx(0.28)
    assert b.t0[jpn, usa] == pytest.approx(0.03)  # MFN only
    assert b.t0[can, usa] == 0.0  # USMCA: the line's special column is Free
    assert b.t0[usa, chn] == 0.0  # no curated row for China's own tariffs
    assert b.t0[b.countries.index("RUS"), usa] == pytest.approx(0.70)  # in lieu of MFN
    assert any("9903.88.03" in s and "83 FR 47974" in s for s in b.sources)
    # calibrated with it: the US spends 28% more on Chinese goods, so China's share rises
    assert taxed.market.shares[chn, usa] > plain.market.shares[chn, usa]
    assert taxed.market.E[usa] > plain.market.E[usa]


def test_curated_tariffs_follow_their_effective_dates() -> None:
    from critmin.scenario.tariffs import curated_tariffs

    def chn_301(year: int, hs6: str) -> list[float]:
        rows = curated_tariffs(year)
        return [r.rate for r in rows if r.hs6 == hs6 and r.exporter == "CHN"]

    assert chn_301(2024, "850511") == [] and chn_301(2026, "850511") == [0.25]  # 31(g), 2026
    assert chn_301(2024, "810194") == [] and chn_301(2025, "810194") == [0.25]  # 31(j), 2025
    assert chn_301(2023, "260200") == [] and chn_301(2024, "260200") == [0.25]  # 31(b), 27 Sep 2024
    assert chn_301(2022, "283691") == [0.25]  # List 3 since 2019
    assert chn_301(2026, "811010") == []  # unwrought antimony is on no Section 301 list


def test_russian_rates_replace_the_mfn_rate_and_end_when_replaced() -> None:
    from critmin.scenario.tariffs import curated_tariffs

    def rus(year: int) -> list[tuple[str, float]]:
        return [
            (r.kind, r.rate)
            for r in curated_tariffs(year)
            if r.hs6 == "811292" and r.exporter == "RUS"
        ]

    assert rus(2022) == [("base", 0.25)]  # column 2 from 9 Apr 2022
    assert rus(2023) == [("base", 0.70)]  # note 30(d) from 1 Apr 2023; the column 2 row ended


def test_every_curated_tariff_row_is_cited_and_names_lines_of_a_carried_product() -> None:
    from critmin.catalog import read_curated

    carried = {p["hs6"] for p in read_curated("products")}
    rows = read_curated("baseline_tariffs")
    assert rows
    for r in rows:
        assert r["hs6"] in carried, r["hs6"]
        lines = r["hts_lines"].split(";")
        assert all(line.replace(".", "")[:6] == r["hs6"] for line in lines), r
        assert r["confidence"] in ("high", "medium", "low") and r["kind"] in ("base", "additional")
        assert r["source"] and r["legal_basis"]


def test_a_bad_curated_tariff_row_gets_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from critmin.errors import DataIntegrityError
    from critmin.scenario import tariffs

    good = tariffs.read_curated("baseline_tariffs")
    bad = [dict(good[0]), dict(good[1], confidence="sure")]
    monkeypatch.setattr(tariffs, "read_curated", lambda name: bad)
    with pytest.raises(DataIntegrityError) as err:
        tariffs.curated_tariffs(2024)
    assert "line 3" in str(err.value) and "'sure'" in str(err.value)


def test_a_preferential_cut_lowers_intra_zone_baseline_tariffs(tmp_path: Path) -> None:
    from critmin.scenario.resolution import resolve

    path = tmp_path / "t.csv"
    path.write_text("importer,exporter,hs6,rate\nUSA,*,811292,0.1\n")
    data = tariff_scenario({"file": str(path), "preferential_cut": 0.5})
    b = resolve(Scenario.from_dict(data))[1][0].baseline
    usa, jpn, chn = (b.countries.index(c) for c in ("USA", "JPN", "CHN"))
    assert b.t0[jpn, usa] == pytest.approx(0.05) and b.t0[chn, usa] == pytest.approx(0.1)


def test_a_user_tariff_row_replaces_the_curated_total_on_its_pairs(tmp_path: Path) -> None:
    from critmin.scenario.resolution import resolve

    path = tmp_path / "t.csv"
    path.write_text("importer,exporter,hs6,rate\nUSA,CHN,811292,0.1\n")
    data = tariff_scenario({"baseline": "curated", "file": str(path)})
    b = resolve(Scenario.from_dict(data))[1][0].baseline
    usa, chn, jpn = (b.countries.index(c) for c in ("USA", "CHN", "JPN"))
    assert b.t0[chn, usa] == pytest.approx(0.1)  # not 0.28 + 0.1
    assert b.t0[jpn, usa] == pytest.approx(0.03)  # the curated MFN row elsewhere


def test_a_tariff_file_with_an_unknown_code_gets_one_message(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("importer,exporter,hs6,rate\nUSA,CHN,811292,0.1\nUSA,XYZ,811292,0.1\n")
    with pytest.raises(CritminError) as err:
        critmin.simulate(Scenario.from_dict(tariff_scenario({"file": str(path)})))
    text = str(err.value)
    assert "bad.csv" in text and "line 3" in text and "'XYZ'" in text


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x7fELF\x02\x01\x01\x00\xff\xfe\x00\x00", "not UTF-8"),
        (b"importer,exporter,hs6,rate\nUSA,CHN,81129,0.1\n", "six-digit"),
        (b"importer,exporter,hs6,rate\nUSA,CHN,abcdef,0.1\n", "six-digit"),
        (None, "is a folder"),
    ],
)
def test_an_unreadable_tariff_file_gets_one_message(
    tmp_path: Path, content: bytes | None, words: str
) -> None:
    path = tmp_path / "bad.csv"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(CritminError) as err:
        critmin.simulate(Scenario.from_dict(tariff_scenario({"file": str(path)})))
    assert words in str(err.value) and "bad.csv" in str(err.value)


CONTROLS = sorted((Path(__file__).resolve().parents[2] / "examples" / "controls").glob("*.toml"))


@pytest.mark.parametrize("path", CONTROLS, ids=lambda p: p.stem)
def test_every_control_example_converges(path: Path) -> None:
    result = critmin.simulate(path).to_dict()
    for pid, out in result["products"].items():
        assert out["converged"], (pid, out["message"])
        for ctl in out["export_controls"]:
            assert ctl["exports_usd"] <= ctl["cap_usd"] * (1 + 1e-9), (pid, ctl)


def shifted_policy() -> Policy:
    return Policy(
        demand_shift=np.array([1.0, 1.2, 1.0, 1.0]),
        supply_shift=np.array([0.8, 1.0, 1.0, 1.1]),
        export_cap=np.array([np.inf, 0.8, np.inf, np.inf]),
    )


def test_shifters_clear_the_market_on_the_shifted_curves() -> None:
    m = Market(V=V4, t0=np.zeros((4, 4)), sigma=4.0, eta=0.5, eps=np.array([1.0, 0.5, 2.0, 0.8]))
    sol = solve(m, shifted_policy())
    assert sol.converged
    # S_i = k_i pi_i^eps_i and sales equal R_i S_i
    k = np.array([0.8, 1.0, 1.0, 1.1])
    np.testing.assert_allclose(sol.S, k * sol.pi**m.eps, rtol=1e-12)
    np.testing.assert_allclose(sol.q.sum(axis=1), V4.sum(axis=1) * sol.S, rtol=1e-10)
    # D_j = a_j P_j^-eta, and the buyer's purchases are its demand (CES quantity index)
    a = np.array([1.0, 1.2, 1.0, 1.0])
    np.testing.assert_allclose(sol.D, a * sol.P ** (-m.eta), rtol=1e-12)
    assert sol.P[1] > sol.P[2]  # more demand where the shock is


def test_the_jacobian_with_shifters_matches_finite_differences() -> None:
    from critmin.model.core import evaluate, jacobian, stack

    m = Market(V=V4, t0=np.full((4, 4), 0.05), sigma=3.0, eta=0.7, eps=np.ones(4))
    st = stack([m], [shifted_policy().resolve(m)])
    z = np.random.default_rng(1).normal(0.0, 0.1, (1, st.N))
    J = jacobian(st, evaluate(st, z))[0]
    fd = np.zeros_like(J)
    h = 1e-6
    for k in range(st.N):
        up, down = z.copy(), z.copy()
        up[0, k] += h
        down[0, k] -= h
        fd[:, k] = (evaluate(st, up).F[0] - evaluate(st, down).F[0]) / (2 * h)
    np.testing.assert_allclose(J, fd, atol=1e-7)


def test_a_demand_shock_raises_prices_and_a_supply_shock_of_china_lowers_its_output() -> None:
    data = scenario()
    up = product(data | {"shock": [{"type": "demand", "countries": "members", "change": 0.2}]})
    usa = up["countries"]["USA"]
    assert usa["consumer_price_change_pct"] > 0 and usa["demand_change_pct"] > 0
    down = product(data | {"shock": [{"type": "supply", "countries": ["CHN"], "change": -0.2}]})
    chn = down["countries"]["CHN"]
    assert chn["producer_price_change_pct"] > 0 and chn["supply_change_pct"] < 0
    with pytest.raises(ScenarioError, match=r"shock\[0\]\.products"):
        Scenario.from_dict(data | {"shock": [{"type": "demand", "change": 0.1, "products": ["x"]}]})


def test_a_shock_given_twice_counts_twice_and_says_so() -> None:
    """Shocks on one country multiply: a ``[[shock]]`` table copied by mistake doubled the
    shock (1.1 x 1.1) in silence. The results equal one shock of +21%, and a note says that
    the second repeats the first; two different shocks get no such note."""
    data = scenario()
    shock = {"type": "supply", "countries": ["CHN"], "change": 0.1}
    twice = product(data | {"shock": [shock, shock]})
    once = product(data | {"shock": [shock | {"change": 0.21}]})
    assert twice["countries"]["CHN"]["supply_change_pct"] == pytest.approx(
        once["countries"]["CHN"]["supply_change_pct"], rel=1e-9
    )
    notes = [n for n in twice["notes"] if "repeats" in n]
    assert notes == [
        "shock[1] repeats shock[0] (supply, change +0.1): shocks on one country multiply, so "
        "the two together are a change of +0.21; remove one if it was copied by mistake"
    ]
    other = product(data | {"shock": [shock, shock | {"countries": ["USA"]}]})
    assert not [n for n in other["notes"] if "repeats" in n]


def test_a_leaked_pair_pays_the_vias_tariff_not_the_origin_s() -> None:
    from critmin.scenario.resolution import resolve

    ban = {
        "type": "export_ban",
        "exporters": ["CHN"],
        "importers": ["USA"],
        "leak_via": ["THA"],
        "leak_cost": 0.1,
        "leak_share": 0.5,
    }
    data = scenario(ban) | {"tariffs": {"baseline": "curated"}}
    rp = resolve(Scenario.from_dict(data))[1][0]
    b = rp.baseline
    chn, usa, tha = (b.countries.index(c) for c in ("CHN", "USA", "THA"))
    assert b.t0[chn, usa] == pytest.approx(0.28)  # MFN 3% + Section 301 25% in the baseline
    assert b.t0[tha, usa] == pytest.approx(0.03)  # Thailand pays the MFN rate only
    assert rp.policy.t1 is not None and rp.policy.t1[chn, usa] == b.t0[tha, usa]
    assert rp.policy.trade_cost is not None and rp.policy.trade_cost[chn, usa] == 0.1


def test_chains_refuse_the_new_controls_with_one_message() -> None:
    data = {
        "name": "chain",
        "zone": {"members": ["USA", "EU27"], "watch": ["CHN"]},
        "chain": [{"id": "gallium"}],
        "policy": [{"type": "export_licensing", "exporters": ["CHN"], "grant_share": 0.5}],
    }
    with pytest.raises(ScenarioError, match="linked-chain model does not take them"):
        critmin.simulate(data)
