"""Benchmark: whole-process CPU time of `critmin` commands against `python -c "import numpy"`.

Run ``python benchmarks/bench_cli.py`` (options: ``--repeats 7 --draws 10000 --skip-uncertainty
--compare-src DIR``).
Each command runs as its own process, exactly as a user types it (the ``critmin`` script of
this Python environment; ``PYTHONPATH`` is passed on, so a worktree's sources are used); its
CPU time is the user + system time of that process and its children (``os.wait4``), its wall
time from start to exit. ``--compare-src DIR`` adds the same ``critmin simulate`` run on the
sources in ``DIR`` (``PYTHONPATH=DIR``, e.g. ``/work/main/src``: before and after a change, in the
same rounds). Rounds alternate: in each round the baseline ``python -c "import
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


def run(cmd: list[str], src: str | None = None) -> tuple[float, float]:
    """CPU seconds (user + system, children included) and wall seconds of one process
    (``src``: the ``PYTHONPATH`` to run it with, else this process's)."""
    env = {**os.environ, "PYTHONPATH": src} if src else None
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--draws", type=int, default=10_000, help="draws of the uncertainty run")
    ap.add_argument("--skip-uncertainty", action="store_true")
    ap.add_argument(
        "--compare-src", default=None, help="also time critmin simulate on the sources in DIR"
    )
    args = ap.parse_args()

    critmin = critmin_script()
    simulate = [critmin, "simulate", str(EXAMPLES / "04_full_zone_all_products.toml"), "--json"]
    commands: list[tuple[str, list[str], str | None]] = [
        ('python -c "import numpy" (baseline)', [sys.executable, "-c", "import numpy"], None),
        ("critmin --help", [critmin, "--help"], None),
        ("critmin simulate examples/04_full_zone_all_products.toml --json", simulate, None),
    ]
    if args.compare_src:
        commands.append((f"  the same on {args.compare_src}", simulate, args.compare_src))
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
            )
        )
    for _, cmd, src in commands:  # load the compiled solver's cache once, outside the timings
        if cmd is simulate:
            run(cmd, src)
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in commands}
    wall: dict[str, list[float]] = {name: [] for name, _, _ in commands}
    for _ in range(args.repeats):
        for name, cmd, src in commands:  # alternate: baseline, then every command, every round
            c, w = run(cmd, src)
            cpu[name].append(c)
            wall[name].append(w)
    print(
        f"critmin whole-process benchmark: medians (min-max) of {args.repeats} rounds; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f} (1 min) at the end"
    )
    base = statistics.median(cpu[commands[0][0]])
    print(f"{'command':78s} {'CPU s (user+sys)':>22s} {'wall s':>22s} {'x numpy':>8s}")
    for name, _, _ in commands:
        ratio = statistics.median(cpu[name]) / base
        print(f"{name:78s} {fmt(cpu[name]):>22s} {fmt(wall[name]):>22s} {ratio:7.1f}x")


if __name__ == "__main__":
    main()
