"""Benchmark: critmin's compiled semismooth Newton vs a plain scipy.optimize.root.

Run ``python benchmarks/bench_solver.py`` (options: ``--repeats 7 --seed 0``). Prints median
wall-clock times and the speed-up of critmin over scipy measured in the same run, in
alternating rounds (one scipy run, then five critmin runs, ``--repeats`` rounds; see
``timed_rounds``), for four cases:

(a) one product, 200 countries: 25% tariff by 40 zone members on every non-member, plus a ban
    of the largest non-member producer's sales to the zone;
(b) every bundled product (real data) under ``examples/04_full_zone_all_products.toml``: one
    batched ``solve_batch`` vs a loop of scipy solves;
(c) 200 countries with export quotas (caps at 60-80% of baseline exports) on five exporters;
(d) 30 random products of mixed size (10..200 countries) under a zone scenario
    (variable-levy floor + tariff + ban): one ``solve_batch`` vs a loop of scipy solves.

Batches run on every CPU (:mod:`critmin.model.threads`); (b) and (d) also print the same
batch on one thread (``threads=1``), timed in the same rounds.

The scipy baseline solves the same equations (DESIGN.md) written plainly in levels with
numpy: unknowns log producer prices and quota export-tax equivalents, Fischer-Burmeister
complementarity for quotas, ``method='hybr'`` with its finite-difference Jacobian. Both
answers are compared (largest relative difference in producer prices, where both solved).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.optimize import root

from critmin.model import Market, Policy, Solution, solve, solve_batch
from critmin.model.threads import batch_threads

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


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


def fresh(m: Market) -> Market:
    """A new Market with the same data: no cached derived arrays carry over between repeats."""
    return Market(V=m.V, t0=m.t0, sigma=m.sigma, eta=m.eta, eps=m.eps, countries=m.countries)


def timed(
    fn: Callable[[list[Market]], object], markets: list[Market], repeats: int
) -> tuple[float, object]:
    """Median wall time of ``fn`` over ``repeats`` runs, each on freshly built markets."""
    times = []
    out: object = None
    for _ in range(repeats):
        ms = [fresh(m) for m in markets]  # untimed
        t = time.perf_counter()
        out = fn(ms)
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


OURS_PER_ROUND = 5


def timed_rounds(
    ours: Callable[[list[Market]], object],
    baseline: Callable[[list[Market]], object],
    markets: list[Market],
    rounds: int,
    alternative: Callable[[list[Market]], object] | None = None,
) -> tuple[float, object, float, object, float, list[float]]:
    """Median wall times of critmin and the baseline, measured in alternating rounds.

    Each round times one baseline run, then ``OURS_PER_ROUND`` critmin runs (each on freshly
    built markets), so that both are sampled over the same stretch of time: on a shared VM
    the speed drifts by 20-30% over seconds, and timing one side's repeats after the other's
    would let that drift into the ratio. With ``alternative`` (critmin on one thread), each
    round then times ``OURS_PER_ROUND`` runs of it, after those of ``ours``: run between them
    (as until session 13), each one-thread run left the second CPU idle for 7-8 ms before a
    run on both, which then ran 5-10% slower (docs/performance.md, "Session 13"); the
    baseline's and critmin's runs are each timed back to back. Returns
    ``(t_ours, out_ours, t_base, out_base, t_alternative, per_round)`` (``nan`` without an
    alternative), ``per_round`` the speed-up of each round (its baseline time over the median
    of its critmin runs): their range shows how much the VM's speed moved during the run.
    """
    t_o: list[float] = []
    t_a: list[float] = []
    t_b: list[float] = []
    per_round: list[float] = []
    out_o: object = None
    out_b: object = None
    for _ in range(rounds):
        t, out_b = timed(baseline, markets, 1)
        t_b.append(t)
        mine: list[float] = []
        for _ in range(OURS_PER_ROUND):
            t, out_o = timed(ours, markets, 1)
            mine.append(t)
        t_o.extend(mine)
        per_round.append(t_b[-1] / statistics.median(mine))
        if alternative is not None:
            for _ in range(OURS_PER_ROUND):
                t_a.append(timed(alternative, markets, 1)[0])
    t_alt = statistics.median(t_a) if t_a else float("nan")
    return statistics.median(t_o), out_o, statistics.median(t_b), out_b, t_alt, per_round


def round_range(per_round: list[float]) -> str:
    """The speed-ups of the rounds as ``lo-hi x`` (one value for one round)."""
    lo, hi = min(per_round), max(per_round)
    return f"{lo:.0f}x" if round(lo) == round(hi) else f"{lo:.0f}-{hi:.0f}x"


def dense_access_ms(sol: Solution) -> float:
    """Time to build the dense n x n flows ``x`` of a solution on first access (ms)."""
    t = time.perf_counter()
    _ = sol.x
    return 1e3 * (time.perf_counter() - t)


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a - b) / np.maximum(np.abs(b), 1e-12)).max(initial=0.0))


def bundled_zone() -> tuple[list[Market], list[Policy], list[str]]:
    """Every bundled product under examples/04 (real data: BACI 2024 flows, USGS output)."""
    from critmin.scenario import load_scenario
    from critmin.scenario.resolution import resolve

    scenario = load_scenario(EXAMPLES / "04_full_zone_all_products.toml")
    _, resolved = resolve(scenario)
    return (
        [rp.market for rp in resolved],
        [rp.policy for rp in resolved],
        [rp.spec.id for rp in resolved],
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    rng = np.random.default_rng(args.seed)
    rows: list[tuple[str, float, float, str]] = []
    scipy_repeats = max(1, args.repeats // 2)

    def one(name: str, m: Market, p: Policy) -> None:
        t_ours, sol, t_sp, ref, _, per_round = timed_rounds(
            lambda ms: solve(ms[0], p), lambda ms: scipy_solve(ms[0], p), [m], args.repeats
        )
        assert isinstance(sol, Solution) and isinstance(ref, tuple)
        info = (
            f"rounds {round_range(per_round)}; iters {sol.iterations}, resid "
            f"{sol.max_residual:.0e} vs {ref[2]:.0e}, max rel "
            f"diff pi {rel_diff(sol.pi, ref[0]):.0e}, e {np.abs(sol.e - ref[1]).max():.0e}; "
            f"dense x on access +{dense_access_ms(sol):.1f} ms"
        )
        rows.append((name, t_ours, t_sp, info))

    def many(name: str, ms: list[Market], ps: list[Policy]) -> None:
        t_ours, sols, t_sp, refs, t_one, per_round = timed_rounds(
            lambda fm: solve_batch(fm, ps),
            lambda fm: [scipy_solve(mk, pk) for mk, pk in zip(fm, ps, strict=True)],
            ms,
            scipy_repeats,
            alternative=lambda fm: solve_batch(fm, ps, threads=1),
        )
        assert isinstance(sols, list) and isinstance(refs, list)
        both = [(s, r) for s, r in zip(sols, refs, strict=True) if r[2] < 1e-8]  # scipy solved
        diffs = max((rel_diff(s.pi, r[0]) for s, r in both), default=0.0)
        conv = sum(s.converged for s in sols)
        info = (
            f"rounds {round_range(per_round)}; "
            f"n {min(mk.n for mk in ms)}..{max(mk.n for mk in ms)}, converged {conv}/{len(ms)} "
            f"(scipy {len(both)}/{len(ms)}), max rel diff pi {diffs:.0e} where both did, "
            f"{1e3 * t_ours / len(ms):.1f} ms/product; on 1 thread {1e3 * t_one:.1f} ms "
            f"({t_sp / t_one:.0f}x)"
        )
        rows.append((name, t_ours, t_sp, info))

    # (a) one product, 200 countries, tariff + ban
    m = random_market(rng, 200)
    one("(a) 1 product, n=200, tariff+ban", m, zone_policy(rng, m, n_members=40, tariff=0.25))

    # (b) every bundled product under the full zone scenario (real data), batched
    bms, bps, ids = bundled_zone()
    many(f"(b) all {len(bms)} bundled products, ex. 04", bms, bps)
    worst = []
    for mk, pk, pid in zip(bms, bps, ids, strict=True):
        t, _ = timed(lambda fm, pk=pk: solve(fm[0], pk), [mk], 3)
        worst.append((t, pid, mk.n))
    t, pid, n = max(worst)
    print(f"slowest bundled product solved alone: {pid} (n={n}) {1e3 * t:.1f} ms (median of 3)")

    # (c) quotas
    m = random_market(rng, 200)
    one(
        "(c) 1 product, n=200, 5 export quotas",
        m,
        zone_policy(rng, m, n_members=40, tariff=0.0, ban=False, quotas=5),
    )

    # (d) 30 random products of mixed size, batched vs a loop of scipy
    ms = [random_market(rng, int(k)) for k in rng.integers(10, 201, 30)]
    ps = [zone_policy(rng, mk, n_members=max(2, mk.n // 5), tariff=0.25, floor=1.15) for mk in ms]
    many("(d) 30 random products, floor+tariff+ban", ms, ps)

    print(f"{'case':42s} {'critmin':>10s} {'scipy':>10s} {'speed-up':>9s}  notes")
    for name, a, b, note in rows:
        print(f"{name:42s} {1e3 * a:8.1f}ms {1e3 * b:8.1f}ms {b / a:8.0f}x  {note}")
    print(
        f"(medians over {args.repeats} rounds, in (b) and (d) {scipy_repeats}, of one scipy run "
        f"then {OURS_PER_ROUND} critmin runs (batches on {batch_threads()} threads, then "
        f"{OURS_PER_ROUND} on 1 thread); 'rounds': the range of the speed-ups of the rounds, "
        f"each its scipy run over the median of its critmin runs; fresh Market objects every "
        f"run; {os.cpu_count()} "
        f"CPUs, load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)"
    )


if __name__ == "__main__":
    main()
