"""How fast a batch runs right after other work: bench_solver's case (d) after a pause.

Run ``python benchmarks/bench_after_other_work.py [--threads 2] [--rounds 6] [--pause 0.4]``.
``bench_solver.py`` times five batches right after each scipy run (``timed_rounds``), so its
median for (d) is partly that of batches that start after 0.4 s of other work. This script
separates the causes: in each round, for each kind of preceding work, it runs that work for
about ``--pause`` seconds and then times five batches of case (d) (fresh ``Market`` objects
each, as bench_solver does), counting the page faults of each batch (``getrusage``). It prints,
per kind of work, the median time of the first to the fifth batch over the rounds and the
mean page faults of each. The kinds of work:

- ``scipy``: bench_solver's scipy loop over the 30 markets (the benchmark's own order);
- ``sleep``: both CPUs idle (``time.sleep``);
- ``spin``: this thread busy in a Python loop (one CPU busy, caches barely touched);
- ``churn``: NumPy temporaries of 200 x 200 allocated and freed in a loop (the heap and the
  caches churned on one CPU, as scipy's loop does, without its Python objects);
- ``none``: nothing (the batches run back to back).

Figures: docs/performance.md, "Session 15".
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np

from bench_batch_steps import case_d
from bench_solver import fresh, scipy_solve
from critmin.model import solve_batch

BATCHES_AFTER = 5
"""Batches timed after each pause (bench_solver's ``OURS_PER_ROUND``)."""


def spin(seconds: float) -> None:
    """Keep this thread busy in Python for ``seconds``."""
    t = time.perf_counter()
    while time.perf_counter() - t < seconds:
        pass


def churn(seconds: float) -> None:
    """Allocate, touch and free NumPy temporaries of 200 x 200 for ``seconds``."""
    t = time.perf_counter()
    while time.perf_counter() - t < seconds:
        a = np.ones((200, 200))
        b = a * 2.0
        np.where(b > 1.0, a, b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--pause", type=float, default=0.4, help="seconds of the work before")
    args = ap.parse_args()
    markets, policies = case_d()

    def scipy_loop() -> None:
        for m, p in zip(markets, policies, strict=True):
            scipy_solve(fresh(m), p)

    before: dict[str, Callable[[], None]] = {
        "scipy": scipy_loop,
        "sleep": lambda: time.sleep(args.pause),
        "spin": lambda: spin(args.pause),
        "churn": lambda: churn(args.pause),
        "none": lambda: None,
    }
    times: dict[str, list[list[float]]] = {k: [[] for _ in range(BATCHES_AFTER)] for k in before}
    faults = {k: [0] * BATCHES_AFTER for k in before}
    for _ in range(5):  # warm up
        solve_batch([fresh(m) for m in markets], policies, threads=args.threads)
    for _ in range(args.rounds):
        for kind, work in before.items():
            work()
            for i in range(BATCHES_AFTER):
                batch = [fresh(m) for m in markets]
                f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                t = time.perf_counter()
                solve_batch(batch, policies, threads=args.threads)
                times[kind][i].append(time.perf_counter() - t)
                faults[kind][i] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
    print(
        f"case (d) on {args.threads} thread(s): medians over {args.rounds} rounds of the 1st to "
        f"{BATCHES_AFTER}th batch after about {args.pause} s of each kind of work (ms), and "
        "their mean page faults"
    )
    for kind in before:
        ms = " ".join(f"{1e3 * statistics.median(t):6.2f}" for t in times[kind])
        flt = " ".join(f"{f / args.rounds:4.0f}" for f in faults[kind])
        print(f"  after {kind:6s} {ms}   faults {flt}")


if __name__ == "__main__":
    main()
