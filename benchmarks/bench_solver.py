"""Benchmark: critmin's batched semismooth Newton vs a plain scipy.optimize.root.

Run ``python benchmarks/bench_solver.py`` (options: ``--repeats 7 --seed 0``). Prints median
wall-clock times over the repeats and the speed-up of critmin over scipy measured in the same
run, for three cases:

(a) one product, 200 countries: 25% tariff by 40 zone members on every non-member, plus a ban
    of the largest non-member producer's sales to the zone;
(b) 30 products of mixed size (10..200 countries) under a zone scenario (variable-levy floor +
    tariff + ban): one batched ``solve_batch`` vs a loop of scipy solves;
(c) 200 countries with export quotas (caps at 60-80% of baseline exports) on five exporters.

The scipy baseline solves the same equations (DESIGN.md) written plainly in levels with
numpy: unknowns log producer prices and quota export-tax equivalents, Fischer-Burmeister
complementarity for quotas, ``method='hybr'`` with its finite-difference Jacobian. Both
answers are compared (largest relative difference in producer prices is printed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from scipy.optimize import root

from critmin.model import Market, Policy, Solution, solve, solve_batch


def random_market(rng: np.random.Generator, n: int, *, producer_share: float = 0.6) -> Market:
    """A heavy-tailed, sparse-ish market: Pareto country sizes, lognormal pair noise."""
    size_x = rng.pareto(1.2, n) + 0.01
    producers = rng.random(n) < producer_share
    producers[np.argsort(size_x)[-3:]] = True  # the largest ones produce
    size_x = np.where(producers, size_x, 0.0)
    size_m = rng.pareto(1.5, n) + 0.01
    V = np.outer(size_x, size_m) * rng.lognormal(0.0, 1.0, (n, n))
    V *= rng.random((n, n)) < 0.35  # most pairs do not trade
    V[np.diag_indices(n)] = np.where(producers, size_x * size_m.mean() * 3.0, 0.0)
    V *= 1e6
    t0 = np.where(rng.random((n, n)) < 0.3, rng.uniform(0.0, 0.1, (n, n)), 0.0)
    t0[np.diag_indices(n)] = 0.0
    sigma = float(rng.uniform(2.0, 8.0))
    eta = float(rng.uniform(0.2, 0.8))
    eps = rng.uniform(0.3, 1.5, n)
    return Market(V=V, t0=t0, sigma=sigma, eta=eta, eps=eps)


def zone_policy(
    rng: np.random.Generator,
    m: Market,
    *,
    n_members: int,
    tariff: float,
    floor: float = 0.0,
    ban: bool = True,
    quotas: int = 0,
) -> Policy:
    n = m.n
    members = np.zeros(n, dtype=bool)
    members[rng.choice(n, size=min(n_members, n - 1), replace=False)] = True
    nm_to_m = ~members[:, None] & members[None, :]
    t1 = np.where(nm_to_m, m.t0 + tariff, m.t0)
    banned = np.zeros((n, n), dtype=bool)
    if ban:
        big = int(np.argmax(np.where(members, -1.0, m.R)))  # largest non-member producer
        banned[big] = members
    levy = np.where(nm_to_m, floor, 0.0)
    cap = np.full(n, np.inf)
    if quotas:
        exporters = np.argsort(np.where(members, -1.0, m.baseline_exports))[-quotas:]
        cap[exporters] = rng.uniform(0.6, 0.8, len(exporters))
    return Policy(t1=t1, banned=banned, levy_floor=levy, export_cap=cap)


# --------------------------------------------------------------------------------------------
# the plain scipy baseline


def scipy_solve(m: Market, p: Policy) -> tuple[np.ndarray, np.ndarray, float]:
    """Solve the DESIGN.md equations in levels with scipy.optimize.root(method='hybr')."""
    rp = p.resolve(m)
    V, t0, t1 = m.V, m.t0, rp.t1
    n = m.n
    sigma, eta, eps = m.sigma, m.eta, m.eps
    E = (V * (1 + t0)).sum(axis=0)
    s = np.divide(V * (1 + t0), E, out=np.zeros((n, n)), where=E > 0)
    R = V.sum(axis=1)
    off = ~np.eye(n, dtype=bool)
    X0 = np.where(off, V, 0.0).sum(axis=1)
    openp = (V > 0) & ~rp.banned
    prod = np.flatnonzero((R > 0) & (openp.any(axis=1)))
    quota = np.flatnonzero(np.isfinite(rp.export_cap) & (X0 > 0) & (R > 0))
    has_demand = openp.any(axis=0)

    def levels(y: np.ndarray) -> tuple[np.ndarray, ...]:
        pi = np.ones(n)
        pi[prod] = np.exp(y[: len(prod)])
        e = np.zeros(n)
        e[quota] = y[len(prod) :]
        b = pi[:, None] * np.where(off, 1 + e[:, None], 1.0) * (1 + t1)
        b = np.maximum(b, rp.levy_floor)
        c = b / (1 + t0)
        terms = np.where(openp, s * c ** (1 - sigma), 0.0)
        P = np.where(has_demand, terms.sum(axis=0), 1.0) ** (1 / (1 - sigma))
        D = P**-eta
        x = np.where(openp, D * (c / P) ** (-sigma), 0.0)
        return pi, e, x

    def resid(y: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            pi, e, x = levels(y)
            sales = (V * x).sum(axis=1)
            S = np.maximum(pi, rp.subsidy_floor) ** eps
            f = sales[prod] / R[prod] - S[prod]
            a = e[quota]
            bq = rp.export_cap[quota] - np.where(off, V * x, 0.0).sum(axis=1)[quota] / X0[quota]
            g = a + bq - np.sqrt(a * a + bq * bq)
            r = np.concatenate([f, g])
            return np.where(np.isfinite(r), r, 1e6)

    sol = root(resid, np.zeros(len(prod) + len(quota)), method="hybr", options={"xtol": 1e-12})
    pi, e, _ = levels(sol.x)
    return pi, e, float(np.abs(resid(sol.x)).max(initial=0.0))


# --------------------------------------------------------------------------------------------


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times = []
    out: object = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a - b) / np.maximum(np.abs(b), 1e-12)).max(initial=0.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    rows: list[tuple[str, float, float, str]] = []

    # (a) one product, 200 countries, tariff + ban
    m = random_market(rng, 200)
    p = zone_policy(rng, m, n_members=40, tariff=0.25)
    t_ours, sol = timed(lambda: solve(m, p), args.repeats)
    t_sp, ref = timed(lambda: scipy_solve(m, p), args.repeats)
    assert isinstance(sol, Solution) and isinstance(ref, tuple)
    info = (
        f"iters {sol.iterations}, resid {sol.max_residual:.0e} vs {ref[2]:.0e}, "
        f"max rel diff pi {rel_diff(sol.pi, ref[0]):.0e}"
    )
    rows.append(("(a) 1 product, n=200, tariff+ban", t_ours, t_sp, info))

    # (b) 30 products of mixed size, batched vs a loop of scipy
    ms = [random_market(rng, int(k)) for k in rng.integers(10, 201, 30)]
    ps = [zone_policy(rng, mk, n_members=max(2, mk.n // 5), tariff=0.25, floor=1.15) for mk in ms]
    t_ours, sols = timed(lambda: solve_batch(ms, ps), args.repeats)
    t_sp, refs = timed(
        lambda: [scipy_solve(mk, pk) for mk, pk in zip(ms, ps, strict=True)],
        max(1, args.repeats // 2),
    )
    assert isinstance(sols, list) and isinstance(refs, list)
    diffs = max(rel_diff(s.pi, r[0]) for s, r in zip(sols, refs, strict=True))
    conv = sum(s.converged for s in sols)
    info = (
        f"sizes {min(mk.n for mk in ms)}..{max(mk.n for mk in ms)}, converged {conv}/30, "
        f"max rel diff pi {diffs:.0e}, {1e3 * t_ours / 30:.1f} ms/product"
    )
    rows.append(("(b) 30 products, floor+tariff+ban", t_ours, t_sp, info))

    # (c) quotas
    m = random_market(rng, 200)
    p = zone_policy(rng, m, n_members=40, tariff=0.0, ban=False, quotas=5)
    t_ours, sol = timed(lambda: solve(m, p), args.repeats)
    t_sp, ref = timed(lambda: scipy_solve(m, p), args.repeats)
    assert isinstance(sol, Solution) and isinstance(ref, tuple)
    binding = int((sol.e > 0).sum())
    info = (
        f"iters {sol.iterations}, {binding} quotas binding, max rel diff pi "
        f"{rel_diff(sol.pi, ref[0]):.0e}, e {np.abs(sol.e - ref[1]).max():.0e}"
    )
    rows.append(("(c) 1 product, n=200, 5 export quotas", t_ours, t_sp, info))

    print(f"{'case':40s} {'critmin':>10s} {'scipy':>10s} {'speed-up':>9s}  notes")
    for name, a, b, note in rows:
        print(f"{name:40s} {1e3 * a:8.1f}ms {1e3 * b:8.1f}ms {b / a:8.0f}x  {note}")
    print(
        f"(medians over {args.repeats} repeats; scipy loop in (b) over "
        f"{max(1, args.repeats // 2)}; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
