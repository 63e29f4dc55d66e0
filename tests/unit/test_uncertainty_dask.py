"""`critmin uncertainty` on a Dask cluster: the same numbers as the local run, bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from critmin.uncertainty import run_uncertainty
from critmin.world import World

distributed = pytest.importorskip("distributed")

SCENARIO: dict[str, Any] = {
    "name": "dask test",
    "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
    "product": [{"id": "lithium_carbonate"}, {"id": "permanent_magnets"}],
    "policy": [
        {"type": "price_floor", "price_usd_per_t": 15000, "products": ["lithium_carbonate"]}
    ],
    "disruption": [{"probability": 0.3}],
}


def test_cluster_run_is_identical_to_the_local_run(cluster: Any, world: World) -> None:
    kw: dict[str, Any] = {"draws": 48, "seed": 13, "chunk_size": 12, "world": world}
    local = run_uncertainty(SCENARIO, workers=1, **kw)
    progress: list[tuple[int, int]] = []
    remote = run_uncertainty(
        SCENARIO,
        scheduler=cluster.scheduler_address,
        progress=lambda d, t: progress.append((d, t)),
        **kw,
    )
    assert remote.engine == "dask" and remote.workers == 2
    for pid, prod in local.products.items():
        other = remote.products[pid].draws
        for key, values in prod.draws.items():
            assert np.array_equal(values, other[key], equal_nan=True), (pid, key)
    assert local.to_dict()["products"] == remote.to_dict()["products"]
    assert progress[-1] == (96, 96) and len(progress) == 8  # one update per chunk


def test_cluster_run_with_a_client_object(cluster: Any, world: World) -> None:
    kw: dict[str, Any] = {"draws": 20, "seed": 2, "chunk_size": 7, "world": world}
    with distributed.Client(cluster, set_as_default=False) as client:
        remote = run_uncertainty(SCENARIO, scheduler=client, **kw)
        assert client.status == "running"  # a client we were given stays open
    local = run_uncertainty(SCENARIO, workers=1, **kw)
    for pid, prod in local.products.items():
        for key, values in prod.draws.items():
            assert np.array_equal(values, remote.products[pid].draws[key], equal_nan=True)


def test_cluster_run_with_licensing_draws_is_identical(cluster: Any, world: World) -> None:
    """Drawn grant shares, a leaky ban and a shock: solved draw by draw on the workers, the
    same numbers as the local threads."""
    scenario: dict[str, Any] = {
        "name": "dask licensing",
        "zone": SCENARIO["zone"],
        "product": [{"id": "gallium_germanium"}],
        "policy": [
            {
                "type": "export_licensing",
                "exporters": ["CHN"],
                "grant_share": {"default": 0.8, "USA": 0.3},
                "grant_share_range": {"default": [0.6, 0.95], "USA": [0.0, 0.5]},
            },
            {
                "type": "export_ban",
                "exporters": ["CHN"],
                "importers": ["CAN"],
                "leak_via": ["USA"],
                "leak_cost": 0.1,
                "leak_share": 0.2,
            },
        ],
        "shock": [{"type": "demand", "countries": ["JPN"], "change": 0.05}],
        "disruption": [{"probability": 0.3}],
    }
    kw: dict[str, Any] = {"draws": 16, "seed": 7, "chunk_size": 5, "world": world}
    local = run_uncertainty(scenario, workers=2, **kw)
    remote = run_uncertainty(scenario, scheduler=cluster.scheduler_address, **kw)
    prod = local.products["gallium_germanium"]
    assert prod.converged.all() and np.ptp(prod.draws["grant_share[0].USA"]) > 0
    for key, values in prod.draws.items():
        assert np.array_equal(values, remote.products["gallium_germanium"].draws[key]), key
    assert local.to_dict()["products"] == remote.to_dict()["products"]
