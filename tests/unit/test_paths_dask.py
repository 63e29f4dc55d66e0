"""`critmin paths` on a Dask cluster and on two threads: the same draws as on one thread, bit
for bit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from critmin.paths import run_paths
from critmin.world import World

distributed = pytest.importorskip("distributed")

SCENARIO: dict[str, Any] = {
    "name": "paths dask test",
    "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
    "product": [{"id": "lithium_carbonate"}],
    "disruption": [{"probability": 0.3}],
    "paths": {
        "floor_usd_per_t": 20000,
        "years": "2025-2028",
        "start_year": 2026,
        "mechanisms": ["producer_subsidy", "offtake"],
    },
}


def test_dask_and_two_threads_equal_the_one_thread_run(cluster: Any, world: World) -> None:
    kw: dict[str, Any] = {"draws": 8, "seed": 5, "chunk": 3, "world": world}
    local = run_paths(SCENARIO, workers=1, **kw)
    progress: list[tuple[int, int]] = []
    remote = run_paths(
        SCENARIO,
        scheduler=cluster.scheduler_address,
        progress=lambda d, t: progress.append((d, t)),
        **kw,
    )
    threads = run_paths(SCENARIO, workers=2, **kw)
    assert remote.timing["engine"] == "dask" and threads.timing["engine"] == "local"
    assert threads.timing["workers"] == 2 and local.timing["workers"] == 1
    for other in (remote, threads):
        for mech, arrays in local.raw.items():
            for key, values in arrays.items():
                assert np.array_equal(values, other.raw[mech][key], equal_nan=True), (mech, key)
    assert progress[-1] == (8, 8)
    assert local.to_dict()["mechanisms"] == remote.to_dict()["mechanisms"]
