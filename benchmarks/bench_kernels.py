"""Benchmark: the compiled Newton iteration's kernels, against another source tree.

    python benchmarks/bench_kernels.py [--rounds 5] [--seconds 1.0] [--compare-src DIR]

Times, in one process, the exponential of the kernels (ns per value, 8,276 values), one
evaluation of the equations (``eval_one``) on the largest market of ``bench_solver``'s case
(d) (n=197, 8,276 pairs) and the Newton iteration (``newton_markets``, one thread) on every
market of cases (d) and (b), stacked in size buckets as ``solve_batch`` stacks them. With
``--compare-src DIR`` the same measurement runs in child processes alternately on this tree and
on ``DIR`` (e.g. a checkout of main's ``src``; both with Numba's JIT, ``CRITMIN_JIT=1``), and
the minima and medians of each side and their ratio are printed: on a shared machine the speed
drifts, so both sides are sampled over the same stretch of time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


def cases() -> dict[str, tuple[list[Any], list[Any]]]:
    """Per case, the markets as single-market stack arrays and the size-bucket stacks."""
    from bench_solver import bundled_zone, random_market, zone_policy
    from critmin.model.core import stack
    from critmin.model.solver import _buckets

    rng = np.random.default_rng(0)
    # the draws bench_solver's cases (a) and (c) take first, so that (d) is its case (d)
    m = random_market(rng, 200)
    zone_policy(rng, m, n_members=40, tariff=0.25)
    m = random_market(rng, 200)
    zone_policy(rng, m, n_members=40, tariff=0.0, ban=False, quotas=5)
    sizes = rng.integers(10, 201, 30)
    markets = [random_market(rng, int(k)) for k in sizes]
    policies = [
        zone_policy(rng, mk, n_members=max(2, mk.n // 5), tariff=0.25, floor=1.15) for mk in markets
    ]
    out = {}
    for name, (ms, ps) in {"d": (markets, policies), "b": bundled_zone()[:2]}.items():
        rps = [p.resolve(mk) for mk, p in zip(ms, ps, strict=True)]
        singles = [stack([mk], [rp]).arrays for mk, rp in zip(ms, rps, strict=True)]
        stacks = [
            stack([ms[k] for k in g], [rps[k] for k in g]) for g in _buckets([mk.n for mk in ms])
        ]
        out[name] = (singles, stacks)
    return out


def samples(f: Callable[[], object], seconds: float) -> list[float]:
    f()
    out: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(out) < 5:
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return out


def measure(seconds: float) -> dict[str, float]:
    """Minimum time of each measurement (ns per value, µs, ms) in this process."""
    from numba import njit

    from critmin.model import kernels as K

    # the exponential: vexp(x, out, n), or before 6 December 2026 vexp(x, out, scratch, n)
    with_scratch = K.vexp.py_func.__code__.co_argcount == 4

    @njit
    def exp_loop_scratch(x: Any, out: Any, scratch: Any, reps: int) -> None:
        for _ in range(reps):
            K.vexp(x, out, scratch, x.size)

    @njit
    def exp_loop_plain(x: Any, out: Any, scratch: Any, reps: int) -> None:
        for _ in range(reps):
            K.vexp(x, out, x.size)

    exp_loop = exp_loop_scratch if with_scratch else exp_loop_plain

    @njit
    def eval_loop(a: Any, z: Any, e: Any, reps: int) -> None:
        for _ in range(reps):
            K.eval_one(a, 0, z, e)

    res: dict[str, float] = {}
    x = np.random.default_rng(1).uniform(-20.0, 0.0, 8276)
    out, scratch = np.empty_like(x), np.empty_like(x)
    res["exp_ns_per_value"] = (
        min(samples(lambda: exp_loop(x, out, scratch, 100), seconds)) / 100 / x.size * 1e9
    )
    for name, (singles, stacks) in cases().items():
        if name == "d":
            a = max(singles, key=lambda s: s.ps.shape[1])
            ns, nq = a.R.shape[1], a.qslot.shape[1]
            e = K.row(K.alloc_eval(1, a.ps.shape[1], a.W.shape[1], ns, nq), 0)
            z = np.zeros(ns + nq)
            K._newton_one(a, 0, z, e, 1e-12, 100, False, True)
            one = (a, z, e)
            res["eval_one_us"] = (
                min(samples(lambda one=one: eval_loop(*one, 20), seconds)) / 20 * 1e6
            )

        def newton(stacks: list[Any] = stacks) -> None:
            for st in stacks:
                K.newton_markets(
                    st.arrays,
                    np.asarray(st.sizes, dtype=np.intp),
                    1e-12,
                    100,
                    False,
                    True,
                    np.arange(st.B, dtype=np.intp),
                    np.zeros((st.B, st.N)),
                    K.alloc_eval(st.B, st.L, st.n + 1, st.ns, st.nq),
                    np.zeros(st.B, dtype=np.intp),
                    np.zeros(st.B, dtype=np.intp),
                )

        res[f"newton_{name}_ms"] = min(samples(newton, seconds)) * 1e3
    return res


def child(src: Path, seconds: float) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(src), CRITMIN_JIT="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, str(Path(__file__)), "--seconds", str(seconds), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement and round")
    parser.add_argument("--compare-src", type=Path, default=None)
    parser.add_argument("--json", action="store_true", help="one round, as JSON (for a child)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    if args.json:
        print(json.dumps(measure(args.seconds)))
        return
    this = HERE.parent / "src"
    sides = {"this": this} | ({"other": args.compare_src} if args.compare_src else {})
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in sides}
    for _ in range(args.rounds):
        for side, src in sides.items():
            runs[side].append(child(src, args.seconds))
    print(f"{'measurement':20s}" + "".join(f"{s + ' min':>12s}{s + ' median':>14s}" for s in sides))
    for key in runs["this"][0]:
        row = f"{key:20s}"
        for side in sides:
            vals = [r[key] for r in runs[side]]
            row += f"{min(vals):12.3f}{statistics.median(vals):14.3f}"
        if "other" in sides:
            ratio = min(r[key] for r in runs["other"]) / min(r[key] for r in runs["this"])
            row += f"   other/this {ratio:.2f}x"
        print(row)
    print(f"({args.rounds} rounds alternating, {os.cpu_count()} CPUs, minima per round)")


if __name__ == "__main__":
    main()
