"""Benchmark: Monte Carlo draws per second, locally and on a 2-worker Dask LocalCluster.

Run ``python benchmarks/bench_uncertainty.py`` (options: ``--draws 10000 --draws-all 300
--draws-licensing 200 --repeats 3 --seed 0 --chunk-size 250 --no-cluster``). Three cases, each
on three engines measured in the same run:

(a) one product: examples/01_lithium_floor_levy.toml (lithium carbonate, 120 countries, a
    variable-levy floor), ``--draws`` draws;
(b) every bundled product: examples/04_full_zone_all_products.toml (30 products, tariff, floor
    and ban) plus a probabilistic Chinese export ban (p = 0.1), ``--draws-all`` draws each;
(c) export licensing with an uncertain grant share: examples/controls/ga_ge_licensing_2023.toml
    (gallium/germanium, 2022 baseline, 93 countries; each draw solves the quota group as
    ``critmin simulate`` does), ``--draws-licensing`` draws.

Engines: ``local x1`` (one thread, the baseline), ``local x2`` (two threads of this process,
the default of ``critmin uncertainty`` on a 2-core machine: the compiled draws release the GIL)
and ``dask x2`` (a ``LocalCluster`` of two single-threaded worker processes on 127.0.0.1,
started once before timing). Times are wall-clock medians over the repeats of the whole
``run_uncertainty`` call (bundled data already loaded), with the CPU time of this process (all
its threads; on a loaded machine the wall time is mostly waiting for a core, the CPU time
is not); draws/s counts product-draws. Every
engine's draws are checked to be bit-for-bit identical to the baseline's.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from critmin.scenario import Scenario
from critmin.uncertainty import UncertaintyResult, run_uncertainty
from critmin.world import World, load_world

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def cpu_seconds() -> float:
    """CPU time of this process so far (every thread), user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(
    scenario: Any, world: World, repeats: int, **kw: Any
) -> tuple[float, float, float, UncertaintyResult]:
    """Median wall seconds, median solve-stage seconds and median CPU seconds of this process
    (all its threads; a Dask cluster's workers are other processes) over ``repeats`` runs."""
    walls, solves, cpus = [], [], []
    result: UncertaintyResult | None = None
    for _ in range(repeats):
        t = time.perf_counter()
        c = cpu_seconds()
        result = run_uncertainty(scenario, world=world, **kw)
        walls.append(time.perf_counter() - t)
        cpus.append(cpu_seconds() - c)
        solves.append(result.timings["solve_seconds"])
    assert result is not None
    return statistics.median(walls), statistics.median(solves), statistics.median(cpus), result


def identical(a: UncertaintyResult, b: UncertaintyResult) -> bool:
    return all(
        np.array_equal(v, b.products[pid].draws[k], equal_nan=True)
        for pid, p in a.products.items()
        for k, v in p.draws.items()
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=10_000, help="draws, one-product case")
    ap.add_argument("--draws-all", type=int, default=300, help="draws, all-products case")
    ap.add_argument("--draws-licensing", type=int, default=200, help="draws, licensing case")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk-size", type=int, default=250)
    ap.add_argument("--no-cluster", action="store_true", help="skip the Dask LocalCluster")
    args = ap.parse_args()

    world = load_world(2024)
    all_products = Scenario.from_file(EXAMPLES / "04_full_zone_all_products.toml").model_dump(
        exclude_none=True
    )
    all_products["disruption"] = [{"probability": 0.1, "exporters": ["CHN"]}]
    cases = [
        (
            "one product (lithium carbonate, 120 countries)",
            EXAMPLES / "01_lithium_floor_levy.toml",
            args.draws,
            world,
        ),
        (
            f"all {len(all_products['product'])} bundled products",
            all_products,
            args.draws_all,
            world,
        ),
        (
            "export licensing, grant share drawn (gallium/germanium, 93 countries)",
            EXAMPLES / "controls" / "ga_ge_licensing_2023.toml",
            args.draws_licensing,
            load_world(2022),
        ),
    ]
    cluster = None
    if not args.no_cluster:
        from distributed import LocalCluster

        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        )
        # warm the workers up (imports) outside the timings
        run_uncertainty(cases[0][1], world=world, draws=4, scheduler=cluster.scheduler_address)
    print(
        f"critmin uncertainty benchmark: seed {args.seed}, chunks of {args.chunk_size}, "
        f"medians of {args.repeats} repeats; python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (1 min) at start"
    )
    try:
        for title, sc, draws, case_world in cases:
            kw = {"draws": draws, "seed": args.seed, "chunk_size": args.chunk_size}
            base_wall, _, base_cpu, base = timed(sc, case_world, args.repeats, workers=1, **kw)
            nprod = len(base.products)
            rows = [("local x1 (baseline)", base_wall, base_cpu, True)]
            wall, _, cpu, res = timed(sc, case_world, args.repeats, workers=2, **kw)
            rows.append(("local x2 threads", wall, cpu, identical(base, res)))
            if cluster is not None:
                wall, _, _, res = timed(
                    sc, case_world, args.repeats, scheduler=cluster.scheduler_address, **kw
                )
                rows.append(("dask LocalCluster x2", wall, math.nan, identical(base, res)))
            print(f"\n{title}: {draws:,} draws x {nprod} product(s) = {draws * nprod:,} solves")
            print(
                f"{'engine':24s} {'wall s':>8s} {'CPU s':>8s} {'draws/s':>9s} {'speed-up':>9s}"
                "  identical"
            )
            for name, w, c, same in rows:
                cpu_text = "-" if math.isnan(c) else f"{c:8.2f}"
                print(
                    f"{name:24s} {w:8.2f} {cpu_text:>8s} {draws * nprod / w:9.0f} "
                    f"{base_wall / w:8.2f}x  {'yes' if same else 'NO'}"
                )
    finally:
        if cluster is not None:
            cluster.close()
    print(
        f"\nload average {os.getloadavg()[0]:.2f} (1 min) at the end; other processes' load "
        "takes cores from the parallel engines (compare with the baseline of the same run)"
    )


if __name__ == "__main__":
    main()
