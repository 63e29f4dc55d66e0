"""Benchmark: whole-process CPU time of `critmin` commands against `python -c "import numpy"`.

Run ``python benchmarks/bench_cli.py`` (options: ``--repeats 7 --draws 10000 --skip-uncertainty
--compare-src DIR --env NAME=VALUE --no-bytecode-cache --phases``).
Each command runs as its own process, exactly as a user types it (the ``critmin`` script of
this Python environment; ``PYTHONPATH`` is passed on, so a worktree's sources are used); its
CPU time is the user + system time of that process and its children (``os.wait4``), its wall
time from start to exit. ``--compare-src DIR`` adds the same ``critmin simulate`` run on the
sources in ``DIR`` (``PYTHONPATH=DIR``, e.g. ``/work/main/src``: before and after a change, in the
same rounds); ``--env NAME=VALUE`` (repeatable) adds the same ``critmin simulate`` with that
environment variable set (e.g. a switch being measured).

Bytecode: an installed package has its ``.pyc`` files, so the commands run with Python's
bytecode cache on, in a temporary folder (``PYTHONPYCACHEPREFIX``; ``PYTHONDONTWRITEBYTECODE``
removed), filled by the untimed first runs: otherwise a process with ``PYTHONDONTWRITEBYTECODE``
set compiles critmin's ~150 modules from source every time (0.1 s of CPU). ``--no-bytecode-cache``
runs with the environment as it is.

``--phases`` prints, instead, where the CPU time of ``critmin simulate`` goes inside one process
(medians over the rounds, ``time.process_time``): the imports (numpy; Typer, Rich and pydantic;
the command's modules; the compiled solver), reading the scenario, loading the world, resolving
the markets, solving, building the results and the JSON text. Rounds alternate: in each round the baseline ``python -c "import
numpy"`` runs, then every command once, so that the machine's drift (a shared VM) falls on
both sides alike. Medians and ranges (min-max) over the rounds; ``x numpy`` is the median CPU
time over the baseline's median in the same run.

The compiled solver must already be in Numba's cache (run any ``critmin simulate`` once):
the first run on a machine compiles it for about a minute.

Commands (targets of issue 18, CPU time unless said):

* ``critmin --help``: under 0.25 s;
* ``critmin simulate examples/04_full_zone_all_products.toml --json``: under 0.8 s;
* ``critmin uncertainty examples/01_lithium_floor_levy.toml -n 10000 --json``: under 3 s wall
  on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def critmin_script() -> str:
    """The ``critmin`` console script next to this interpreter."""
    script = Path(sys.executable).parent / "critmin"
    if not script.exists():
        raise SystemExit(f"no critmin script at {script}: pip install -e . first")
    return str(script)


BASE_ENV = dict(os.environ)
"""The environment of every timed process (:func:`main` sets its bytecode cache)."""


def run(
    cmd: list[str], src: str | None = None, extra: dict[str, str] | None = None
) -> tuple[float, float]:
    """CPU seconds (user + system, children included) and wall seconds of one process
    (``src``: the ``PYTHONPATH`` to run it with, else this process's; ``extra``: more
    environment variables)."""
    env = {**BASE_ENV, **({"PYTHONPATH": src} if src else {}), **(extra or {})}
    t = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=env
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values):6.3f} ({min(values):.3f}-{max(values):.3f})"


PHASES = r"""
import gc, sys, time
gc.disable()  # as critmin simulate does
marks = [("start", time.process_time())]
def mark(name):
    marks.append((name, time.process_time()))
import numpy
mark("import numpy")
import typer, rich.console, pydantic
mark("import typer, rich, pydantic")
import critmin.cli
try:
    from critmin.cli.app import json_bytes as dump
except ImportError:  # older sources (--phases with PYTHONPATH=...)
    from critmin.cli.app import json_text as dump
mark("import critmin.cli")
from critmin import simulation
mark("import critmin.simulation")
from critmin.cli.app import load_solver
load_solver()
mark("load the compiled solver")
from critmin.scenario.spec import load_scenario
scenario = load_scenario(sys.argv[1])
mark("read the scenario")
from critmin.world import load_world
world = load_world(scenario.year)
mark("load the world")
from critmin.scenario.chains import resolve_single_markets
world, resolved = resolve_single_markets(scenario, world)
mark("resolve the markets")
solutions = [simulation.solve(rp.market, rp.policy) for rp in resolved]
mark("solve")
products = {rp.spec.id: simulation.product_result(rp, s, 0.0) for rp, s in zip(resolved, solutions)}
mark("build the results")
data = simulation.simulate(scenario, world).to_dict()
mark("(the whole simulate again, warm)")
blob = dump(data, None)
mark("JSON text")
print("\n".join(f"{name}\t{t - marks[k][1]}" for k, (name, t) in enumerate(marks[1:])))
"""
"""The phases of ``critmin simulate`` in one process (``--phases``); prints name, CPU seconds."""


def phases(repeats: int, example: Path) -> None:
    """Median CPU time of each phase of ``critmin simulate`` over ``repeats`` processes."""
    times: dict[str, list[float]] = {}
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", PHASES, str(example)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env=BASE_ENV,
        ).stdout
        for line in out.strip().splitlines():
            name, seconds = line.split("\t")
            times.setdefault(name, []).append(float(seconds))
    print(f"CPU time by phase of critmin simulate {example.name} (ms, median of {repeats}):")
    total = 0.0
    for name, values in times.items():
        ms = 1000 * statistics.median(values)
        if not name.startswith("("):
            total += ms
        print(f"  {name:36s} {ms:7.1f} ({1000 * min(values):.1f}-{1000 * max(values):.1f})")
    print(f"  {'sum (without the warm repeat)':36s} {total:7.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--draws", type=int, default=10_000, help="draws of the uncertainty run")
    ap.add_argument("--skip-uncertainty", action="store_true")
    ap.add_argument(
        "--compare-src", default=None, help="also time critmin simulate on the sources in DIR"
    )
    ap.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="also time critmin simulate with this environment variable (repeatable)",
    )
    ap.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="run with the environment as it is (no temporary PYTHONPYCACHEPREFIX)",
    )
    ap.add_argument("--phases", action="store_true", help="CPU time by phase of simulate")
    args = ap.parse_args()

    pycache = None
    if not args.no_bytecode_cache:
        pycache = tempfile.TemporaryDirectory(prefix="critmin-bench-pycache-")
        BASE_ENV.pop("PYTHONDONTWRITEBYTECODE", None)
        BASE_ENV["PYTHONPYCACHEPREFIX"] = pycache.name
    example = EXAMPLES / "04_full_zone_all_products.toml"
    critmin = critmin_script()
    simulate = [critmin, "simulate", str(example), "--json"]
    if args.phases:
        run(simulate)  # the compiled solver's cache and the bytecode, outside the timings
        phases(args.repeats, example)
        return
    commands: list[tuple[str, list[str], str | None, dict[str, str] | None]] = [
        ('python -c "import numpy" (baseline)', [sys.executable, "-c", "import numpy"], None, None),
        ("critmin --help", [critmin, "--help"], None, None),
        ("critmin simulate examples/04_full_zone_all_products.toml --json", simulate, None, None),
    ]
    if args.compare_src:
        commands.append((f"  the same on {args.compare_src}", simulate, args.compare_src, None))
    for setting in args.env:
        name, _, value = setting.partition("=")
        commands.append((f"  the same with {name}={value}", simulate, None, {name: value}))
    if not args.skip_uncertainty:
        commands.append(
            (
                f"critmin uncertainty examples/01_lithium_floor_levy.toml -n {args.draws} --json",
                [
                    critmin,
                    "uncertainty",
                    str(EXAMPLES / "01_lithium_floor_levy.toml"),
                    "-n",
                    str(args.draws),
                    "--json",
                ],
                None,
                None,
            )
        )
    for _, cmd, src, extra in commands:  # the solver's cache and the bytecode, untimed
        run(cmd, src, extra)
    cpu: dict[str, list[float]] = {name: [] for name, *_ in commands}
    wall: dict[str, list[float]] = {name: [] for name, *_ in commands}
    for _ in range(args.repeats):
        for name, cmd, src, extra in commands:  # alternate: the baseline, then every command
            c, w = run(cmd, src, extra)
            cpu[name].append(c)
            wall[name].append(w)
    bytecode = "off (as the environment says)" if pycache is None else "cached (.pyc)"
    print(
        f"critmin whole-process benchmark: medians (min-max) of {args.repeats} rounds; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, bytecode {bytecode}, load "
        f"average {os.getloadavg()[0]:.2f} (1 min) at the end"
    )
    base = statistics.median(cpu[commands[0][0]])
    print(f"{'command':78s} {'CPU s (user+sys)':>22s} {'wall s':>22s} {'x numpy':>8s}")
    for name, *_ in commands:
        ratio = statistics.median(cpu[name]) / base
        print(f"{name:78s} {fmt(cpu[name]):>22s} {fmt(wall[name]):>22s} {ratio:7.1f}x")


if __name__ == "__main__":
    main()
