"""Benchmark: whole-process CPU time with the ahead-of-time compiled kernels against Numba's JIT.

Run ``python benchmarks/bench_aot.py`` (options: ``--repeats 9``). It needs a current AOT
build (``make setup`` or ``python -m critmin.model.aot_build``). Each round runs, each as its
own process (timed as in ``bench_cli.py``: user + system CPU of the process, ``os.wait4``):

* the baseline ``python -c "import numpy"`` (through ``env``, as the others);
* ``critmin simulate examples/04_full_zone_all_products.toml --json`` with the AOT build, then
  with ``CRITMIN_JIT=1`` (Numba's JIT, its kernels loaded from Numba's cache);
* the model alone (``import critmin.model; warm_up()``: one 2-country solve), both ways.

Rounds alternate so that a shared VM's drift falls on every command alike. Medians and ranges
(min-max) over the rounds; ``x numpy`` is a median over the baseline's median; ``AOT - JIT``
the difference of medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import EXAMPLES, critmin_script, fmt, run
from critmin.model import compiled


def kernels(jit: bool, cmd: list[str]) -> list[str]:
    """``cmd`` run with ``CRITMIN_JIT`` set to 1 (Numba's JIT) or 0 (the AOT build), through
    ``env`` (an ``exec``: the same process, timed as one)."""
    return ["env", f"{compiled.JIT_ENV}={int(jit)}", *cmd]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args()
    if compiled.load_aot(compiled.aot_dir(), compiled.build_key()) is None:
        raise SystemExit("no current AOT build: run python -m critmin.model.aot_build first")

    simulate = [
        critmin_script(),
        "simulate",
        str(EXAMPLES / "04_full_zone_all_products.toml"),
        "--json",
    ]
    model = [sys.executable, "-c", "from critmin.model import warm_up; warm_up()"]
    commands: list[tuple[str, list[str]]] = [
        ('python -c "import numpy" (baseline)', ["env", sys.executable, "-c", "import numpy"]),
        (
            "critmin simulate examples/04_full_zone_all_products.toml --json: AOT",
            kernels(False, simulate),
        ),
        ("  the same with CRITMIN_JIT=1 (Numba's JIT)", kernels(True, simulate)),
        ("import critmin.model; warm_up(): AOT", kernels(False, model)),
        ("  the same with CRITMIN_JIT=1", kernels(True, model)),
    ]
    for _, cmd in commands:  # Numba's cache and the OS's file cache, outside the timings
        run(cmd)
    cpu: dict[str, list[float]] = {name: [] for name, _ in commands}
    wall: dict[str, list[float]] = {name: [] for name, _ in commands}
    for _ in range(args.repeats):
        for name, cmd in commands:
            c, w = run(cmd)
            cpu[name].append(c)
            wall[name].append(w)
    print(
        f"AOT vs JIT kernels, whole processes: medians (min-max) of {args.repeats} rounds; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f} (1 min) at the end"
    )
    base = statistics.median(cpu[commands[0][0]])
    print(f"{'command':72s} {'CPU s (user+sys)':>22s} {'wall s':>22s} {'x numpy':>8s}")
    for name, _ in commands:
        ratio = statistics.median(cpu[name]) / base
        print(f"{name:72s} {fmt(cpu[name]):>22s} {fmt(wall[name]):>22s} {ratio:7.1f}x")
    for aot, jit in ((1, 2), (3, 4)):
        saved = statistics.median(cpu[commands[jit][0]]) - statistics.median(cpu[commands[aot][0]])
        print(f"JIT - AOT, {commands[aot][0].split(':')[0]}: {saved:.3f} s of CPU")


if __name__ == "__main__":
    main()
