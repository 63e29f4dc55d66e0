"""Benchmark: a 3-stage linked chain solved by critmin vs a plain scipy.optimize.root.

Run ``python benchmarks/bench_chain.py`` (options: ``--countries 200 --repeats 5 --seed 0``).
The case: ore -> refined -> product over 200 countries (heavy-tailed sizes, about a third of
pairs trading, producers at every stage), input links with cost shares 0.2-0.6; the zone (40
members) puts a 25% tariff on non-member refined material, a variable-levy floor 15% above
the baseline on non-member ore and bans the largest non-member refiner's sales to the zone.

The scipy baseline solves the same equations (docs/model.md, "Linked chains") written plainly
in levels with dense numpy arrays: unknowns the log producer prices of every stage,
``method='hybr'`` with its finite-difference Jacobian. Both are timed in the same run in
alternating rounds (one scipy run, then three critmin runs), medians reported, and their
producer prices compared (largest relative difference).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy.optimize import root

from critmin.model import Market, Policy
from critmin.model.chain import ChainStage
from critmin.model.chain_solver import solve_chain


def random_stage(rng: np.random.Generator, n: int, scale: float) -> Market:
    size_x = rng.pareto(1.2, n) + 0.01
    producers = rng.random(n) < 0.6
    producers[np.argsort(size_x)[-3:]] = True
    size_x = np.where(producers, size_x, 0.0)
    size_m = rng.pareto(1.5, n) + 0.01
    V = np.outer(size_x, size_m) * rng.lognormal(0.0, 1.0, (n, n))
    V *= rng.random((n, n)) < 0.35
    V[np.diag_indices(n)] = np.where(producers, size_x * size_m.mean() * 3.0, 0.0)
    V *= 1e6 * scale
    return Market(
        V=V,
        t0=np.zeros((n, n)),
        sigma=float(rng.uniform(3.0, 7.0)),
        eta=float(rng.uniform(0.3, 0.8)),
        eps=rng.uniform(0.5, 1.5, n),
    )


def make_case(n: int, seed: int) -> list[ChainStage]:
    rng = np.random.default_rng(seed)
    ms = [random_stage(rng, n, s) for s in (1.0, 3.0, 8.0)]
    members = np.zeros(n, dtype=bool)
    members[rng.choice(n, size=40, replace=False)] = True
    nm = ~members[:, None] & members[None, :]
    ore = Policy(levy_floor=np.where(nm, 1.15, 0.0))
    banned = np.zeros((n, n), dtype=bool)
    big = int(np.argmax(np.where(members, -1.0, ms[1].R)))
    banned[big] = members
    refined = Policy(t1=np.where(nm, 0.25, 0.0), banned=banned)
    return [
        ChainStage(ms[0], ore, name="ore"),
        ChainStage(ms[1], refined, link="input", input_share=rng.uniform(0.2, 0.6, n)),
        ChainStage(ms[2], None, link="input", input_share=rng.uniform(0.2, 0.6, n)),
    ]


def scipy_solve(stages: list[ChainStage]) -> tuple[list[np.ndarray], float]:
    """The chain's equations in levels, dense numpy, ``scipy.optimize.root('hybr')``."""
    n = stages[0].market.n
    S = len(stages)
    data = []
    for st in stages:
        m = st.market
        p = (st.policy or Policy()).resolve(m)
        E = (m.V * (1 + m.t0)).sum(axis=0)
        s = np.divide(m.V * (1 + m.t0), E, out=np.zeros((n, n)), where=E > 0)
        openp = (m.V > 0) & ~p.banned
        R = m.V.sum(axis=1)
        prod = np.flatnonzero((R > 0) & openp.any(axis=1))
        data.append((m, p, E, s, openp, R, prod))
    a = [np.zeros(n)]
    for k in range(1, S):
        R_k, E_prev = data[k][5], data[k - 1][2]
        room = np.divide(E_prev, R_k, out=np.zeros(n), where=R_k > 0)
        a.append(np.where(R_k > 0, np.minimum(np.asarray(stages[k].input_share), room), 0.0))
    delta = [
        np.divide(a[k + 1] * data[k + 1][5], data[k][2], out=np.zeros(n), where=data[k][2] > 0)
        for k in range(S - 1)
    ] + [np.zeros(n)]
    sizes = [len(d[6]) for d in data]

    def levels(y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        pis, Ps, Ss, cs = [], [], [], []
        pos = 0
        for k, (m, p, _E, s, openp, _R, prod) in enumerate(data):
            pi = np.ones(n)
            pi[prod] = np.exp(y[pos : pos + len(prod)])
            pos += len(prod)
            c = np.maximum(pi[:, None] * (1 + p.t1), p.levy_floor) / (1 + m.t0)
            terms = np.where(openp, s * c ** (1 - m.sigma), 0.0)
            P = np.where(openp.any(axis=0), terms.sum(axis=0), 1.0) ** (1 / (1 - m.sigma))
            if k == 0:
                Ssup = pi**m.eps
            else:
                w = (pi - a[k] * Ps[k - 1]) / (1 - a[k])
                Ssup = np.maximum(w, 1e-300) ** m.eps
            pis.append(pi)
            Ps.append(P)
            Ss.append(Ssup)
            cs.append(c)
        sales = []
        for k, (m, _p, _E, _s, openp, _R, _prod) in enumerate(data):
            D = Ps[k] ** -m.eta
            if k + 1 < S:
                D = (1 - delta[k]) * D + delta[k] * Ss[k + 1]
            x = np.where(openp, D * (cs[k] / Ps[k]) ** -m.sigma, 0.0)
            sales.append((m.V * x).sum(axis=1))
        return pis, [sales[k] / data[k][5].clip(1e-300) - Ss[k] for k in range(S)]

    def resid(y: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            _, f = levels(y)
            r = np.concatenate([f[k][data[k][6]] for k in range(S)])
            return np.where(np.isfinite(r), r, 1e6)

    sol = root(resid, np.zeros(sum(sizes)), method="hybr", options={"xtol": 1e-12})
    pis, _ = levels(sol.x)
    return pis, float(np.abs(resid(sol.x)).max(initial=0.0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--countries", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    stages = make_case(args.countries, args.seed)
    solve_chain(stages)  # load the compiled kernels
    ours: list[float] = []
    theirs: list[float] = []
    sol = ref = None
    ref_resid = float("nan")
    for _ in range(args.repeats):
        t = time.perf_counter()
        ref, ref_resid = scipy_solve(stages)
        theirs.append(time.perf_counter() - t)
        for _ in range(3):
            t = time.perf_counter()
            sol = solve_chain(stages)
            ours.append(time.perf_counter() - t)
    assert sol is not None and ref is not None
    diff = max(
        float(np.max(np.abs(st.pi - r) / np.maximum(np.abs(r), 1.0)))
        for st, r in zip(sol.stages, ref, strict=True)
    )
    unknowns = sum(int((st.R > 0).sum()) for st in sol.stages)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"3-stage chain, {args.countries} countries, {unknowns} producer prices")
    print(f"  critmin  {a * 1e3:9.1f} ms  ({sol.message})")
    print(f"  scipy    {b * 1e3:9.1f} ms  (hybr, max residual {ref_resid:.1e})")
    print(f"  speed-up {b / a:9.1f}x   largest relative price difference {diff:.1e}")


if __name__ == "__main__":
    main()
