"""Benchmark: coalitions per second, in this process, on 2 local processes and on 2 Dask workers.

Run ``python benchmarks/bench_coalition.py`` (options: ``--repeats 1 --no-cluster``). The game:
examples/coalition_core.toml (lithium carbonate, cobalt oxides, unwrought nickel, natural
graphite and permanent magnets: every bundled product of those minerals; 10% common external
tariff, lithium floor, Chinese graphite and magnet ban) with its ten candidates kept in the game
whatever the gates (``on_fail = "flag"``) and two members as players (CAN, AUS): 12 players,
exact Shapley values over 2^12 = 4,096 coalitions (plus the members' leave-one-out coalitions).

Engines: ``local x1`` (this process: the baseline), ``local x2`` (two spawned worker processes,
spawning included) and ``dask x2`` (a ``LocalCluster`` of two single-threaded worker processes
on 127.0.0.1, started once before timing; their first task loads the bundled data and the
compiled solver, which is included). No cache (``cache_dir=False``); the bundled data is loaded
once before timing. Times are wall-clock medians of the whole ``run_coalition`` call over the
repeats; cpu s = CPU seconds of this process and its finished worker processes (not measured
for the Dask workers); coalitions/s = coalitions evaluated / wall seconds; markets/s counts the
distinct (product, member mask) solves. The load average is printed before and after: on a
shared machine the wall times depend on it. Every engine's results are checked to be identical to the
baseline's. A final run with a file cache shows the repeated run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from critmin.coalition import run_coalition
from critmin.model import warm_up
from critmin.scenario import load_scenario
from critmin.world import World, load_world

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "coalition_core.toml"
VOLATILE = {"timings", "engine", "workers", "markets_solved", "cache_hits", "notes"}


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished child processes (a local pool's)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(world: World, repeats: int, **kw: Any) -> tuple[float, float, dict[str, Any]]:
    """Median wall seconds and CPU seconds over ``repeats`` runs, and the last run's results."""
    walls, cpus = [], []
    data: dict[str, Any] = {}
    for _ in range(repeats):
        t, c = time.perf_counter(), cpu_seconds()
        data = run_coalition(EXAMPLE, world=world, **kw).to_dict()
        walls.append(time.perf_counter() - t)
        cpus.append(cpu_seconds() - c)
    return statistics.median(walls), statistics.median(cpus), data


def stable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in VOLATILE}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-cluster", action="store_true", help="skip the Dask engine")
    args = parser.parse_args()
    scenario = load_scenario(EXAMPLE)
    world = load_world(scenario.year)
    warm_up()
    game: dict[str, Any] = {"on_fail": "flag", "members_as_players": ["CAN", "AUS"]}
    print(
        f"{EXAMPLE.name}: {len(scenario.product)} products, 10 candidates + 2 members as "
        f"players; {os.cpu_count()} CPU(s)"
    )
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    rows: list[tuple[str, float, float | None, dict[str, Any], bool]] = []
    base_wall, cpu, base = timed(world, args.repeats, workers=1, cache_dir=False, **game)
    rows.append(("local x1", base_wall, cpu, base, True))
    wall, cpu, data = timed(world, args.repeats, workers=2, cache_dir=False, **game)
    rows.append(("local x2", wall, cpu, data, stable(data) == stable(base)))
    if not args.no_cluster:
        from distributed import LocalCluster

        with LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        ) as cluster:
            wall, _, data = timed(
                world, args.repeats, scheduler=cluster.scheduler_address, cache_dir=False, **game
            )
        rows.append(("dask x2", wall, None, data, stable(data) == stable(base)))
    print(
        f"{base['coalitions_evaluated']:,} coalitions ({base['method']} Shapley values over "
        f"{len(base['shapley_players'])} players), {base['markets_solved']:,} market solves"
    )
    print(
        f"{'engine':<10}{'wall s':>9}{'cpu s':>8}{'coalitions/s':>15}{'markets/s':>12}"
        f"{'vs x1':>8}  identical"
    )
    ok = True
    for name, wall, cpu_s, data, same in rows:
        cpu_text = f"{cpu_s:>8.1f}" if cpu_s is not None else f"{'-':>8}"
        print(
            f"{name:<10}{wall:>9.2f}{cpu_text}{data['coalitions_evaluated'] / wall:>15,.0f}"
            f"{data['markets_solved'] / wall:>12,.0f}{base_wall / wall:>8.2f}  {same}"
        )
        ok &= same
    with tempfile.TemporaryDirectory() as cache:
        run_coalition(EXAMPLE, world=world, workers=2, cache_dir=Path(cache), **game)
        wall, _, data = timed(world, 1, workers=2, cache_dir=Path(cache), **game)
    print(
        f"repeated run from the file cache: {wall:.2f} s "
        f"({data['cache_hits']:,} cached markets, {data['markets_solved']} solved), "
        f"identical: {stable(data) == stable(base)}"
    )
    print(
        f"load average after: {os.getloadavg()[0]:.1f} (the machine's other work shares the cores)"
    )
    best = min(w for _, w, _, _, _ in rows)
    print(f"target: 4,096 coalitions in under 60 s on 2 cores: {'met' if best < 60 else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
