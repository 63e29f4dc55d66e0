"""`critmin uncertainty` on a Dask cluster: the same numbers as the local run, bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from critmin.uncertainty import run_uncertainty
from critmin.world import World, load_world

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


@pytest.fixture(scope="module")
def world() -> World:
    return load_world(2024)


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
