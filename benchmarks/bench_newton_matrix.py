"""Benchmark: the Newton step's linear algebra of the compiled solver, against another source tree.

Run ``python benchmarks/bench_newton_matrix.py --compare-src /path/to/other/src`` (options:
``--rounds 7 --case d|b``). Per market of bench_solver's case (d) (30 random products of
10..200 countries, levy floor + tariff + ban) or (b) (the bundled products under example 04),
at an iterate half way to the solution, it times

* ``newton_system_one`` + ``lu_factor_single``: the float32 Newton matrix and its float32 LU,
  as ``_newton_one`` builds them while it works in single precision;
* ``_newton_one`` from the baseline ``z = 0``: the whole iteration,

for this tree's ``critmin.model.kernels`` and for ``kernels.py`` of ``--compare-src`` (a copy,
compiled by Numba in the same process), alternating the two per market in every round (each
tree first in every other round), with one BLAS thread (as :func:`critmin.model.solve` runs).
It prints the per-market medians of the largest markets, the sums over all markets per round
(ranges over the rounds) and their ratio, and checks that both trees give the same Newton
matrix, LU factors and solution bit for bit (it says so when they differ). Without
``--compare-src`` only this tree is timed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import inspect
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numba import njit
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_solver import bundled_zone, random_market, zone_policy
from critmin.model import Market, Policy
from critmin.model import kernels as this_kernels
from critmin.model.core import stack


def load_kernels(src: Path) -> ModuleType:
    """``critmin/model/kernels.py`` of another source tree as a module of its own.

    The file is copied into a folder of the temporary directory named by its hash and loaded
    from there, so that Numba's cache of the copy lives beside it: never in the other tree's
    ``__pycache__``, whose processes must not find entries compiled for another module name.
    The copy imports ``critmin.model.kernel_tuples`` of this tree."""
    original = src / "critmin" / "model" / "kernels.py"
    if not original.is_file():
        raise SystemExit(f"no kernels.py at {original}")
    text = original.read_bytes()
    folder = (
        Path(tempfile.gettempdir())
        / f"critmin-compared-kernels-{hashlib.sha256(text).hexdigest()[:16]}"
    )
    folder.mkdir(exist_ok=True)
    path = folder / "kernels.py"
    if not path.is_file() or path.read_bytes() != text:
        path.write_bytes(text)
    spec = importlib.util.spec_from_file_location("critmin_kernels_compared", path)
    if spec is None or spec.loader is None:  # pragma: no cover - a plain .py file
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # Numba's cache finds a function's module by its name
    spec.loader.exec_module(module)
    return module


def timers(K: ModuleType) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Compiled loops that run ``K``'s Newton matrix + LU, and ``K``'s whole iteration,
    ``reps`` times (no Python call per repetition). A tree whose ``newton_system_one`` has
    no product buffer ``P`` (before it was added) gets none."""
    system = K.newton_system_one
    factor = K.lu_factor_single
    newton = K._newton_one
    takes_p = "P" in inspect.signature(system.py_func).parameters

    if takes_p:

        @njit(nogil=True)
        def matrix(a: Any, z: Any, e: Any, w: Any, reps: int) -> None:
            J, rhs, Qd, ThKd, P, lu, ipiv = w
            for _ in range(reps):
                system(a, 0, z, e, J, rhs, Qd, ThKd, P)
                factor(J, lu, ipiv)

    else:

        @njit(nogil=True)
        def matrix(a: Any, z: Any, e: Any, w: Any, reps: int) -> None:
            J, rhs, Qd, ThKd, _P, lu, ipiv = w
            for _ in range(reps):
                system(a, 0, z, e, J, rhs, Qd, ThKd)
                factor(J, lu, ipiv)

    @njit(nogil=True)
    def whole(a: Any, z0: Any, e: Any, reps: int) -> Any:
        z = z0.copy()
        for _ in range(reps):
            z = z0.copy()
            newton(a, 0, z, e, 1e-12, 100, False, True)
        return z

    return matrix, whole


def work_arrays(a: Any, fortran: bool) -> tuple[Any, ...]:
    """``(J, rhs, Qd, ThKd, P, lu, ipiv)`` as ``_newton_one`` allocates them in single
    precision (``J`` in Fortran order where the tree keeps it so)."""
    ns = a.R.shape[1]
    n = a.W.shape[1] - 1
    N = ns + a.qslot.shape[1]
    J = np.zeros((N, N)).T if fortran else np.zeros((N, N))
    return (
        J,
        np.zeros(N),
        np.zeros((ns, n), np.float32),
        np.zeros((ns, n), np.float32),
        np.empty((ns, ns), np.float32),
        np.empty((N, N), np.float32).T,
        np.empty(N, dtype=this_kernels._LAPACK_INT),
    )


def cases(which: str) -> tuple[list[Market], list[Policy]]:
    """bench_solver's case (d) (its random draws, seed 0) or (b)."""
    rng = np.random.default_rng(0)
    m = random_market(rng, 200)
    zone_policy(rng, m, n_members=40, tariff=0.25)  # case (a): keeps the draws in step
    if which == "b":
        ms, ps, _ = bundled_zone()
        return ms, ps
    m = random_market(rng, 200)
    zone_policy(rng, m, n_members=40, tariff=0.0, ban=False, quotas=5)  # case (c)
    ms = [random_market(rng, int(k)) for k in rng.integers(10, 201, 30)]
    ps = [zone_policy(rng, mk, n_members=max(2, mk.n // 5), tariff=0.25, floor=1.15) for mk in ms]
    return ms, ps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare-src", type=Path, default=None)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--case", choices=("d", "b"), default="d")
    args = ap.parse_args()
    trees: list[tuple[str, ModuleType]] = [("this", this_kernels)]
    if args.compare_src is not None:
        trees.append(("compared", load_kernels(args.compare_src.resolve())))
    fns = [timers(K) for _, K in trees]
    ms, ps = cases(args.case)
    markets = []
    for m, p in zip(ms, ps, strict=True):
        rp = p.resolve(m)
        a = stack([m], [rp]).arrays
        ns, nq = a.R.shape[1], a.qslot.shape[1]
        if ns == 0:
            continue
        e = this_kernels.row(this_kernels.alloc_eval(1, a.ps.shape[1], a.W.shape[1], ns, nq), 0)
        z0 = np.zeros(ns + nq)
        with threadpool_limits(limits=1, user_api="blas"):
            z_half = 0.5 * fns[0][1](a, z0, e, 1)
        this_kernels.eval_one(a, 0, z_half, e)
        ws = [work_arrays(a, fortran=True), work_arrays(a, fortran=False)]
        markets.append((m.n, ns + nq, a, e, z0, z_half, ws))
    same = True
    with threadpool_limits(limits=1, user_api="blas"):
        for n, N, a, e, z0, z_half, ws in markets:  # compile, and compare the results
            outs = []
            for (matrix, whole), w in zip(fns, ws, strict=False):
                matrix(a, z_half, e, w, 1)
                outs.append((np.array(w[0]), w[1].copy(), np.array(w[5]), whole(a, z0, e, 1)))
                this_kernels.eval_one(a, 0, z_half, e)
            if len(outs) == 2:
                for x, y in zip(outs[0], outs[1], strict=True):
                    if not np.array_equal(x, y, equal_nan=True):
                        same = False
                        print(f"n={n} N={N}: the two trees differ")
        sums = np.zeros((args.rounds, len(fns), 2))
        per: dict[tuple[int, int], list[list[float]]] = {}
        for rnd in range(args.rounds):
            for n, N, a, e, z0, z_half, ws in markets:
                reps = max(3, int(3000.0 / (N * N / 100.0 + 5.0)))
                row = [0.0] * (2 * len(fns))
                order = range(len(fns)) if rnd % 2 == 0 else reversed(range(len(fns)))
                for t in order:  # each tree goes first in every other round
                    (matrix, whole), w = fns[t], ws[t]
                    start = time.perf_counter()
                    matrix(a, z_half, e, w, reps)
                    t_matrix = (time.perf_counter() - start) / reps
                    r2 = max(2, reps // 5)
                    start = time.perf_counter()
                    whole(a, z0, e, r2)
                    t_whole = (time.perf_counter() - start) / r2
                    this_kernels.eval_one(a, 0, z_half, e)
                    sums[rnd, t] += (t_matrix, t_whole)
                    row[2 * t : 2 * t + 2] = [t_matrix, t_whole]
                per.setdefault((n, N), []).append(row)
    us = 1e6
    largest = sorted(per, key=lambda k: -k[1])[:5]
    for n, N in largest:
        r = np.array(per[(n, N)]) * us
        line = f"n={n:3d} N={N:3d}  matrix+LU this {statistics.median(r[:, 0]):6.1f} us"
        if len(fns) == 2:
            line += f", compared {statistics.median(r[:, 2]):6.1f} us"
            line += f" ({statistics.median(r[:, 2] / r[:, 0]):.2f}x)"
        print(line)
    for k, what in enumerate(("matrix+LU", "_newton_one")):
        s = sums[:, :, k] * us
        line = f"sum over {len(markets)} markets, {what}: this {s[:, 0].min():.0f}-{s[:, 0].max():.0f} us"
        if len(fns) == 2:
            ratio = s[:, 1] / s[:, 0]
            line += (
                f", compared {s[:, 1].min():.0f}-{s[:, 1].max():.0f} us; speed-up per round "
                f"{ratio.min():.2f}-{ratio.max():.2f} (median {np.median(ratio):.2f})"
            )
        print(line)
    if len(fns) == 2:
        print("results bit for bit the same" if same else "RESULTS DIFFER between the trees")
    print(f"({args.rounds} rounds, case ({args.case}), one BLAS thread, iterate z = z*/2)")


if __name__ == "__main__":
    main()
