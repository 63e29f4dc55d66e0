"""Properties that every ``simulate`` result on the bundled data must have, over generated
scenarios (a fixed seed): the welfare decomposition and its sums, sales equal to the flows,
the zone's shares recomputed from the flows, chain stages that add up, finite numbers, and no
change under no policy or a policy that cannot bind (docs/model.md; audit E)."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Any

import pytest

from critmin import load_world
from critmin.simulation import simulate

SEED = 7
POOL = ["USA", "CAN", "AUS", "JPN", "KOR", "EU27", "GBR", "CHL", "ARG", "IDN", "BRA", "ZAF"]
PRODUCTS = [
    "lithium_carbonate",
    "cobalt_oxides",
    "copper_cathode",
    "nickel_unwrought",
    "permanent_magnets",
    "gallium_germanium",
    "natural_graphite",
    "tungsten_unwrought",
]
CHAINS = ["lithium", "cobalt", "rare_earths", "gallium", "copper"]
EXPORTERS = ["CHN", "COD", "CHL", "AUS", "IDN", "ZAF"]
WELFARE_PARTS = (
    "consumer_surplus_change_usd",
    "producer_surplus_change_usd",
    "tariff_revenue_change_usd",
    "quota_rent_usd",
    "subsidy_cost_usd",
)
CHANGES = (
    "producer_price_change_pct",
    "consumer_price_change_pct",
    "supply_change_pct",
    "demand_change_pct",
    *WELFARE_PARTS,
    "welfare_change_usd",
)


def _policy(rng: random.Random, chain: bool) -> dict[str, Any]:
    kind = rng.choice(["tariff", "variable_levy", "producer_subsidy", "export_ban", "export_quota"])
    if kind == "tariff":
        p: dict[str, Any] = {"type": "tariff", "rate": rng.choice([0.1, 0.25])}
    elif kind == "export_ban":
        p = {"type": kind, "exporters": rng.sample(EXPORTERS, 1)}
    elif kind == "export_quota":
        p = {"type": kind, "exporters": rng.sample(EXPORTERS, 1), "share_of_baseline": 0.6}
    else:
        p = {
            "type": "price_floor",
            "mechanism": kind,
            "price_usd_per_t": rng.choice([2000, 8000, 15000]),
        }
    if chain and rng.random() < 0.7:
        p["stage"] = rng.choice(["mine", "refine", "product"])
    return p


def _scenarios(n: int) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    out = []
    for k in range(n):
        members = rng.sample(POOL, rng.randint(1, 6))
        sc: dict[str, Any] = {
            "name": f"generated {k}",
            "zone": {"members": members, "watch": ["CHN"]},
        }
        chain = k % 3 == 2
        if chain:
            sc["chain"] = [{"id": rng.choice(CHAINS)}]
        else:
            sc["product"] = [{"id": p} for p in rng.sample(PRODUCTS, rng.randint(1, 2))]
        sc["policy"] = [_policy(rng, chain) for _ in range(rng.randint(1, 2))]
        out.append(sc)
    return out


def _no_ops() -> list[dict[str, Any]]:
    return [
        {"type": "tariff", "rate": 0.0},
        {"type": "price_floor", "mechanism": "variable_levy", "price_usd_per_t": 0.001},
        {"type": "price_floor", "mechanism": "producer_subsidy", "price_usd_per_t": 0.001},
        {"type": "export_quota", "exporters": ["CHN"], "share_of_baseline": 5.0},
    ]


@pytest.fixture(scope="module")
def world() -> Any:
    return load_world(2024)


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= 1e-9 * max(scale, abs(a), abs(b), 1.0)


def _finite(o: Any) -> bool:
    if isinstance(o, float):
        return math.isfinite(o)
    if isinstance(o, dict):
        return all(_finite(v) for v in o.values())
    if isinstance(o, list):
        return all(_finite(v) for v in o)
    return True


def _check_product(pid: str, p: dict[str, Any], members: set[str], watch: set[str]) -> None:
    scale = p["summary"]["baseline_market_usd"]
    side: dict[str, float] = defaultdict(float)
    for c, r in p["countries"].items():
        if r["consumer_surplus_change_usd"] is None:  # a buyer cut off from every supplier
            continue
        parts = sum(r[k] for k in WELFARE_PARTS[:4]) - r["subsidy_cost_usd"]
        assert _close(parts, r["welfare_change_usd"], scale), (pid, c)
        side["zone" if c in members else "outside"] += r["welfare_change_usd"]
        for k in WELFARE_PARTS[2:]:
            side[k] += r[k]
    s = p["summary"]
    if s["world_welfare_change_usd"] is not None:
        assert _close(s["zone_welfare_change_usd"], side["zone"], scale), pid
        assert _close(s["outside_welfare_change_usd"], side["outside"], scale), pid
        assert _close(
            s["world_welfare_change_usd"],
            s["zone_welfare_change_usd"] + s["outside_welfare_change_usd"],
            scale,
        ), pid
        assert _close(s["tariff_revenue_change_usd"], side["tariff_revenue_change_usd"], scale)
        assert _close(s["quota_rent_usd"], side["quota_rent_usd"], scale), pid
        assert _close(s["subsidy_cost_usd"], side["subsidy_cost_usd"], scale), pid
    # sales: the flows add up to baseline sales, and after the policy to R S pi
    before: dict[str, float] = defaultdict(float)
    after: dict[str, float] = defaultdict(float)
    for f in p["flows"]:
        before[f["exporter"]] += f["baseline_value_usd"]
        after[f["exporter"]] += f["value_usd"] or 0.0
    for c, r in p["countries"].items():
        assert _close(before[c], r["baseline_sales_usd"], scale), (pid, c)
        if r["baseline_sales_usd"] > 0 and r["supply_change_pct"] is not None:
            want = (
                r["baseline_sales_usd"]
                * (1 + r["supply_change_pct"] / 100)
                * (1 + r["producer_price_change_pct"] / 100)
            )
            assert abs(want - after[c]) <= 1e-7 * scale, (pid, c)
    # the zone's shares from the flows (quantities at baseline prices)
    acc = {k: defaultdict(float) for k in ("b", "a")}
    for f in p["flows"]:
        if f["importer"] not in members:
            continue
        x = 1 + (f["quantity_change_pct"] or -100.0) / 100
        for k, v in (("b", f["baseline_value_usd"]), ("a", f["baseline_value_usd"] * x)):
            acc[k]["all"] += v
            acc[k]["members"] += v if f["exporter"] in members else 0.0
            acc[k]["watch"] += v if f["exporter"] in watch else 0.0
    z = p["zone"]
    for key, k, who in (
        ("self_sufficiency_baseline", "b", "members"),
        ("self_sufficiency", "a", "members"),
        ("watch_share_baseline", "b", "watch"),
        ("watch_share", "a", "watch"),
    ):
        if acc[k]["all"] > 0 and z[key] is not None:
            assert 0.0 <= z[key] <= 1.0, (pid, key)
            assert abs(z[key] - acc[k][who] / acc[k]["all"]) <= 1e-9, (pid, key)


def _check_chain(ch: dict[str, Any], entries: list[dict[str, Any]], members: set[str]) -> None:
    total: dict[str, float] = defaultdict(float)
    for st, p in zip(ch["stages"], entries, strict=True):
        scale = p["summary"]["baseline_market_usd"]
        w = st["welfare_usd"]
        zone = [r for c, r in p["countries"].items() if c in members]
        parts = (
            st["producer_surplus_usd"]["zone"]
            + st["consumer_surplus_usd"]["zone"]
            + sum(r["tariff_revenue_change_usd"] + r["quota_rent_usd"] for r in zone)
            - sum(r["subsidy_cost_usd"] for r in zone)
        )
        assert _close(parts, w["zone"], scale), st["key"]
        assert _close(w["zone"] + w["outside"], w["world"], scale), st["key"]
        assert _close(w["zone"], p["summary"]["zone_welfare_change_usd"], scale), st["key"]
        for k in w:
            total[k] += w[k]
    for k, v in total.items():
        assert _close(ch["welfare"][k], v, abs(v)), k
    shares = [c["share_of_zone_producer_gain"] for c in ch["captured_by_stage"]]
    known = [s for s in shares if s is not None]
    if known:
        assert abs(sum(known) - 1.0) <= 1e-9, shares
        assert all(0.0 <= s <= 1.0 for s in known), shares


def _results(sc: dict[str, Any], world: Any) -> dict[str, Any]:
    d = simulate(sc, world).to_dict()
    assert _finite(d), sc
    return d


@pytest.mark.parametrize("k", range(9))
def test_generated_scenarios_add_up(k: int, world: Any) -> None:
    sc = _scenarios(9)[k]
    d = _results(sc, world)
    if not d["converged"]:  # reported, with its message (not a silent number)
        assert all(p["message"] for p in d["products"].values() if not p["converged"])
        return
    members, watch = set(d["members"]), set(d["watch"])
    for pid, p in d["products"].items():
        _check_product(pid, p, members, watch)
    for cid, ch in d.get("chains", {}).items():
        entries = [p for p in d["products"].values() if p.get("chain") == cid]
        _check_chain(ch, entries, members)


@pytest.mark.parametrize("k", range(6))
def test_no_policy_and_idle_policies_change_nothing(k: int, world: Any) -> None:
    sc = _scenarios(6)[k]
    for policies in ([], [_no_ops()[k % 4]]):
        d = _results({**sc, "policy": policies}, world)
        assert d["converged"]
        for pid, p in d["products"].items():
            scale = p["summary"]["baseline_market_usd"]
            for c, r in p["countries"].items():
                for key in CHANGES:
                    v = r[key]
                    tol = 1e-9 * (100.0 if key.endswith("pct") else scale)
                    assert v is None or abs(v) <= tol, (pid, c, key, v, policies)
            for f in p["flows"]:
                assert abs(f["value_usd"] - f["baseline_value_usd"]) <= 1e-9 * scale
            z = p["zone"]
            for a, b in (
                ("self_sufficiency_baseline", "self_sufficiency"),
                ("watch_share_baseline", "watch_share"),
            ):
                if z[a] is not None:
                    assert abs(z[a] - z[b]) <= 1e-12, (pid, b)
