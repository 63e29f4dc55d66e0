"""Where a batched solve spends its time: each step of ``solve_batch`` wrapped in a timer.

Run ``python benchmarks/bench_batch_steps.py [--case b|d] [--threads 1] [--batches 30]``.
Builds the markets of ``bench_solver.py``'s case (b) (the 30 bundled products under
``examples/04_full_zone_all_products.toml``) or (d) (30 random products, floor + tariff + ban),
solves the batch ``--batches`` times (after five warm-up batches, fresh ``Market`` objects each
time) and prints the median time of the whole batch and the mean time per batch of each step
(:data:`STEPS`): sizes, stacks, the Newton iteration, levels and welfare, ``Solution``
objects. Figures: docs/performance.md, "Where the batch time goes now" and "Less Python
around the kernels".
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

import critmin.model.solver as solver_module
from bench_solver import bundled_zone, fresh, random_market, zone_policy
from critmin.model import solve_batch

STEPS = (
    "count_sizes",
    "solve_shared",
    "stack_builders",
    "fill_and_solve",
    "fill_stacks",
    "stack_all",
    "newton_stacks",
    "levels_threaded",
    "_welfare",
    "stack_solutions",
    "_unpack",
)
"""The steps timed, where ``critmin.model.solver`` has them: the sizes (``count_sizes``),
then fill, Newton and levels on each thread, or on the one (``solve_shared``);
``stack_builders``, ``fill_stacks``, ``newton_stacks`` and ``levels_threaded`` for systems
of 1,024 unknowns or more; then ``Solution`` objects (``stack_solutions``). ``stack_all``,
``fill_and_solve`` and ``_unpack`` are names of earlier versions (compare with
``PYTHONPATH`` set to them)."""


def case_d() -> tuple[list[Any], list[Any]]:
    """bench_solver's case (d), drawn after the same draws of (a) and (c) (seed 0)."""
    rng = np.random.default_rng(0)
    m = random_market(rng, 200)
    zone_policy(rng, m, n_members=40, tariff=0.25)
    m = random_market(rng, 200)
    zone_policy(rng, m, n_members=40, tariff=0.0, ban=False, quotas=5)
    markets = [random_market(rng, int(k)) for k in rng.integers(10, 201, 30)]
    policies = [
        zone_policy(rng, mk, n_members=max(2, mk.n // 5), tariff=0.25, floor=1.15) for mk in markets
    ]
    return markets, policies


def timed_steps(spent: dict[str, list[float]]) -> None:
    """Wrap each of :data:`STEPS` in ``critmin.model.solver`` so its time goes to ``spent``."""

    def wrap(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            out = f(*args, **kwargs)
            spent[name].append(time.perf_counter() - t)
            return out

        return timed

    for name in STEPS:
        if hasattr(solver_module, name):
            setattr(solver_module, name, wrap(name, getattr(solver_module, name)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=("b", "d"), default="d")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--batches", type=int, default=30)
    args = ap.parse_args()
    markets, policies = case_d() if args.case == "d" else bundled_zone()[:2]
    spent: dict[str, list[float]] = defaultdict(list)
    timed_steps(spent)
    for _ in range(5):
        solve_batch([fresh(m) for m in markets], policies, threads=args.threads)
    spent.clear()
    whole = []
    for _ in range(args.batches):
        batch = [fresh(m) for m in markets]
        t = time.perf_counter()
        solve_batch(batch, policies, threads=args.threads)
        whole.append(time.perf_counter() - t)
    print(
        f"case ({args.case}), threads {args.threads or 'all'}: whole batch median "
        f"{1e3 * statistics.median(whole):.2f} ms"
    )
    for name in STEPS:
        if hasattr(solver_module, name):
            print(f"  {name:16s} {1e3 * sum(spent[name]) / args.batches:6.2f} ms per batch")


if __name__ == "__main__":
    main()
