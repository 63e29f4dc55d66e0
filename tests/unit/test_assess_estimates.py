"""Zone and NIR figures that rest on critmin's estimated flows say so (issue 13: "results that
rest on estimates say so"): their sources name the estimate, not CEPII BACI, and their
coverage (the share that is measured) counts estimated flows as not measured."""

from __future__ import annotations

import numpy as np
import pytest

from critmin.assessment import Zone, assess_one, nir_from_trade
from critmin.baseline import bundled_baseline
from critmin.world import World

CORE = ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"]


@pytest.fixture(scope="module")
def zone(world: World) -> Zone:
    return Zone(world.resolve_countries(CORE), ["CHN"])


def _estimated_into(world: World, pid: str, members: list[str]) -> tuple[float, float]:
    """(estimated, all) cross-border value into members, from the flows table."""
    f = world.product_flows(pid)
    f = f[(f["exporter"] != f["importer"]) & f["importer"].isin(members)]
    return float(f.loc[f["basis"] == "estimate", "value_usd"].sum()), float(f["value_usd"].sum())


@pytest.mark.parametrize(
    ("mineral", "stage", "pid"),
    [("lithium", "mine", "lithium_ores"), ("cobalt", "mine", "cobalt_intermediates")],
)
def test_zone_figures_on_estimated_flows_say_so(
    world: World, zone: Zone, mineral: str, stage: str, pid: str
) -> None:
    r = assess_one(world, mineral, stage, 2024, zone)
    assert r is not None and r["zone_basis"] == "trade" and r["product_id"] == pid
    est, total = _estimated_into(world, pid, list(zone.members))
    assert total > 0 and est == pytest.approx(total)  # every import is a critmin estimate
    # the sources name the estimate and never present it as BACI trade
    flow_sources = [s for s in r["zone_sources"] if not s.startswith("domestic sales")]
    assert flow_sources and all(s.startswith(f"{pid} (HS") for s in flow_sources)
    assert all("critmin estimate" in s for s in flow_sources)
    assert not any("BACI" in s for s in r["zone_sources"])
    assert "V202601 intermediates" not in " ".join(r["sources"])
    assert "ESTIMATE" in r["zone_note"] and "critmin estimates" in r["zone_note"]
    # coverage: 1 - (estimated imports + estimated domestic sales) / zone demand
    base = bundled_baseline(world, pid)
    mem = base.index(list(zone.members))
    demand = float(base.V[:, mem].sum())
    pos = {c: k for k, c in enumerate(base.countries)}
    est_dom = sum(float(base.V[pos[c], pos[c]]) for c in base.estimated_domestic if mem[pos[c]])
    assert r["zone_coverage"] == pytest.approx(max(0.0, 1 - (est + est_dom) / demand), abs=1e-9)
    assert r["zone_coverage"] < 0.5


def test_zone_figures_on_observed_flows_keep_baci(world: World, zone: Zone) -> None:
    r = assess_one(world, "lithium", "refine", 2024, zone)
    assert r is not None and r["product_id"] == "lithium_carbonate"
    assert r["zone_sources"][0] == (
        "CEPII BACI HS17 V202601 2024 (lithium_carbonate, HS 283691; values, tonnes)"
    )
    assert "ESTIMATE" not in r["zone_note"]
    est, _ = _estimated_into(world, "lithium_carbonate", list(zone.members))
    assert est == 0.0


def test_share_proxy_on_estimated_flows_is_not_measured(world: World, zone: Zone) -> None:
    r = assess_one(world, "rare_earths", "mine", 2024, zone)
    assert r is not None and r["zone_basis"] == "share_proxy"
    assert r["zone_coverage"] == pytest.approx(0.0, abs=1e-9)
    assert not any("BACI" in s for s in r["zone_sources"])


def test_nir_on_estimated_flows_says_so(world: World) -> None:
    r = nir_from_trade(world, "USA", "copper", "mine", 2024)
    assert r["product_id"] == "copper_concentrate" and r["nir"] is not None
    f = world.product_flows("copper_concentrate")
    us = f[(f["exporter"] != f["importer"]) & ((f["exporter"] == "USA") | (f["importer"] == "USA"))]
    assert len(us) and (us["basis"] == "estimate").all()
    assert r["coverage"] == pytest.approx(0.0)
    assert not any("BACI" in s for s in r["sources"])
    assert any("critmin estimate" in s for s in r["sources"])
    assert any("estimate" in n.lower() for n in r["notes"])


def test_nir_on_observed_flows_keeps_baci(world: World) -> None:
    r = nir_from_trade(world, "USA", "copper", "refine", 2024)
    assert r["product_id"] == "copper_cathode"
    assert r["sources"][1] == "CEPII BACI HS17 V202601 2024 (copper_cathode, tonnes)"
    assert r["coverage"] == pytest.approx(1.0, abs=0.05)
    assert np.isfinite(r["nir"])


def test_world_total_without_the_withheld_us_is_said(world: World) -> None:
    """USGS's lithium world total (222,000 t, 2024) 'Excludes U.S. production', which is W:
    the shares are of the world without the U.S., so a coverage of 100 % needs that note."""
    r = assess_one(world, "lithium", "mine", 2024, None)
    assert r is not None and r["world_total"] == 222_000
    assert {"country": "USA", "reason": "W"} in r["missing"]
    assert any("excludes the United States" in n for n in r["notes"])
    cobalt = assess_one(world, "cobalt", "mine", 2024, None)  # U.S. published: no such note
    assert cobalt is not None
    assert not any("excludes the United States" in n for n in cobalt["notes"])
