"""Benchmark: ``critmin paths`` on a lithium scenario, 10 years x 1,000 draws.

Run ``python benchmarks/bench_paths.py`` (options: ``--draws 1000 --years 2025-2034
--workers 2 --chunk-size 25 --mechanism producer_subsidy --check 20``). The scenario is
examples/paths/lithium_floor_2026_2035.toml (lithium carbonate, 120 countries, a USD 20,000/t
floor from 2026, a 10% yearly chance of a Chinese export ban, shocks fitted to the USGS price
history) with one mechanism plus the no-floor reference path that every comparison needs: two
paths of 10 yearly equilibria per draw.

Printed: the wall-clock time of the whole ``run_paths`` call (bundled data already loaded),
the time per yearly equilibrium (the process's CPU time over the run / solves: the draws run
on ``--workers`` threads of this process; on a shared machine wall time exceeds CPU time /
workers), the machine's load, draws per second, and the baseline of the same run: the same
work on ``--check`` draws on one thread, whose draws must be bit-for-bit identical to the
parallel run's first draws.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

from critmin.paths import run_paths
from critmin.scenario import load_scenario
from critmin.world import load_world

EXAMPLE = (
    Path(__file__).resolve().parents[1] / "examples" / "paths" / "lithium_floor_2026_2035.toml"
)
TARGET_S = 60.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--years", default="2025-2034")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=25)
    ap.add_argument("--mechanism", default="producer_subsidy")
    ap.add_argument("--check", type=int, default=20)
    a = ap.parse_args(argv)
    sc = load_scenario(EXAMPLE)
    assert sc.paths is not None
    sc = sc.model_copy(update={"paths": sc.paths.model_copy(update={"mechanisms": [a.mechanism]})})
    world = load_world(sc.year)
    t = time.perf_counter()
    base = run_paths(sc, years=a.years, draws=a.check, workers=1, chunk=a.chunk_size, world=world)
    t_base = time.perf_counter() - t
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    res = run_paths(
        sc, years=a.years, draws=a.draws, workers=a.workers, chunk=a.chunk_size, world=world
    )
    wall = time.perf_counter() - t
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    T = len(res.years)
    solves = a.draws * 2 * T
    same = all(
        np.array_equal(v[: a.check], base.raw[m][k], equal_nan=True)
        for m in res.raw
        for k, v in res.raw[m].items()
    )
    print(f"scenario: {EXAMPLE.name}, mechanism {a.mechanism} + no-floor reference")
    print(
        f"years {a.years} ({T}), draws {a.draws}, engine {res.timing['engine']} x{res.timing['workers']}"
    )
    print(
        f"baseline (1 thread, {a.check} draws): {t_base:.2f} s, "
        f"{1000 * t_base / (a.check * 2 * T):.2f} ms per yearly solve"
    )
    print(f"total wall time: {wall:.1f} s (target < {TARGET_S:.0f} s)")
    print(
        f"per yearly solve: {1000 * cpu / solves:.2f} ms CPU "
        f"({cpu:.1f} s CPU in all; {1000 * wall / solves:.2f} ms wall); "
        f"per year of all draws: {wall / T:.2f} s wall"
    )
    print(
        f"machine load (1-min average) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"draws per second: {a.draws / wall:.1f}")
    print(f"draws identical to the 1-thread baseline: {same}")
    conv = res.to_dict()["mechanisms"][a.mechanism]["converged_draws"]
    print(f"converged draws: {conv} of {a.draws}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
