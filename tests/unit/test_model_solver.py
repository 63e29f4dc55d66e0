"""critmin.model.solver: market clearing on random markets, batching, options."""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import no_equilibrium_market
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from critmin.model import Market, ModelInputError, Policy, Solution, solve, solve_batch
from critmin.model import threads as threads_module


@st.composite
def markets_with_policies(draw: st.DrawFn, max_n: int = 12) -> tuple[Market, Policy]:
    """Random market (n 2..12, zeros in V, tariffs 0..0.5, sigma 1.2..10, eta 0..2, eps 0..3)
    with random scenario tariffs 0..0.5 and some bans."""
    n = draw(st.integers(2, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    density = draw(st.floats(0.3, 1.0))
    V = rng.lognormal(0.0, 2.0, (n, n)) * (rng.random((n, n)) < density) * 1e5
    V[0, 1] = max(V[0, 1], 1.0)
    t0 = np.where(rng.random((n, n)) < 0.6, rng.uniform(0.0, 0.5, (n, n)), 0.0)
    sigma = draw(st.floats(1.2, 10.0))
    eta = draw(st.one_of(st.just(0.0), st.floats(0.05, 2.0)))
    eps = np.where(rng.random(n) < 0.2, 0.0, rng.uniform(0.05, 3.0, n))
    if eta == 0.0:  # eta = 0 with fixed supply everywhere leaves prices undetermined
        eps = np.maximum(eps, 0.05)
    t1 = np.where(rng.random((n, n)) < 0.5, rng.uniform(0.0, 0.5, (n, n)), t0)
    banned = (rng.random((n, n)) < draw(st.floats(0.0, 0.3))) & ~np.eye(n, dtype=bool)
    market = Market(V=V, t0=t0, sigma=sigma, eta=eta, eps=eps)
    return market, Policy(t1=t1, banned=banned)


def clearing_gap(m: Market, sol: Solution) -> float:
    """max_i |sum_j V_ij x_ij - R_i S_i| / (R_i S_i) over producers that still sell: the
    clearing residual relative to supply (prices may move by orders of magnitude when a ban
    removes most of a buyer's supply and sigma is near 1)."""
    R = m.V.sum(axis=1)
    live = (R > 0) & ~sol.stranded
    sales = (m.V * sol.x).sum(axis=1)
    supply = R * sol.S
    return float((np.abs(sales - supply)[live] / supply[live]).max(initial=0.0))


@settings(max_examples=60, deadline=None)
@given(case=markets_with_policies())
def test_markets_clear_on_random_markets(case: tuple[Market, Policy]) -> None:
    m, p = case
    sol = solve(m, p)
    # sigma near 1 with eta = 0 after a ban can put the equilibrium beyond float64 (prices
    # above e^700): reported, not solved
    assume(sol.converged or "floating-point range" not in sol.message)
    assert sol.converged, sol.message
    assert sol.max_residual <= 1e-12
    assert clearing_gap(m, sol) < 1e-10
    # composite prices and quantities are consistent with the CES definitions (evaluated in
    # logs: equilibria can move prices by many orders of magnitude when sigma is near 1)
    buyers = (m.E > 0) & ~sol.unsupplied
    open_ = (m.V > 0) & ~p.resolve(m).banned & ~sol.stranded[:, None]
    with np.errstate(divide="ignore"):
        lnc = np.log(sol.c)
    for j in np.flatnonzero(buyers):
        k = open_[:, j]
        lnP = logsumexp((1 - m.sigma) * lnc[k, j], b=m.shares[k, j]) / (1 - m.sigma)
        assert np.log(sol.P[j]) == pytest.approx(lnP, abs=1e-10)
        lnx = -m.eta * lnP - m.sigma * (lnc[k, j] - lnP)
        x = sol.x[k, j]
        assert ((x > 0) | (lnx < -700)).all()  # x underflows to 0 only where it should
        np.testing.assert_allclose(np.log(x[x > 0]), lnx[x > 0], atol=1e-10)
    assert (sol.x[~open_ & (m.V > 0)] == 0.0).all()


@settings(max_examples=30, deadline=None)
@given(cases=st.lists(markets_with_policies(max_n=9), min_size=1, max_size=6), group=st.booleans())
def test_batch_equals_one_by_one(cases: list[tuple[Market, Policy]], group: bool) -> None:
    markets = [m for m, _ in cases]
    policies = [p for _, p in cases]
    batch = solve_batch(markets, policies, group_sizes=group)
    assert len(batch) == len(cases)
    for (m, p), b in zip(cases, batch, strict=True):
        one = solve(m, p)
        assert b.n == m.n
        assert b.converged == one.converged
        for name in ("pi", "e", "P", "x", "S", "q"):
            np.testing.assert_allclose(
                getattr(b, name), getattr(one, name), rtol=1e-11, atol=1e-12, err_msg=name
            )
        for name in ("dCS", "dPS", "tariff_revenue", "welfare"):
            np.testing.assert_allclose(
                getattr(b, name), getattr(one, name), rtol=1e-9, atol=1e-6, err_msg=name
            )


def test_batch_of_mixed_sizes_keeps_input_order() -> None:
    rng = np.random.default_rng(0)
    sizes = [3, 40, 5, 25, 3, 60, 8]
    markets = []
    for n in sizes:
        V = rng.lognormal(size=(n, n)) * (rng.random((n, n)) < 0.5)
        V[np.diag_indices(n)] += 1.0
        markets.append(
            Market(V=V, t0=np.zeros((n, n)), sigma=4.0, eta=0.5, eps=np.ones(n), name=f"p{n}")
        )
    policies = [Policy(t1=np.where(np.eye(m.n, dtype=bool), 0.0, 0.1)) for m in markets]
    out = solve_batch(markets, policies)
    assert [s.name for s in out] == [m.name for m in markets]
    assert [s.n for s in out] == sizes
    assert all(s.converged for s in out)


def test_threads_do_not_change_the_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """solve_batch solves every market of a batch at its own size (not the padded one), each
    whole on one thread: on 1, 2 and 3 threads, in one padded stack or in size buckets, the
    solutions are those of the markets solved alone, bit for bit (quotas, floors and bans)."""
    rng = np.random.default_rng(7)
    markets, policies = [], []
    for k, n in enumerate([3, 40, 5, 25, 3, 60, 8, 33, 12, 50, 2, 18]):
        V = rng.lognormal(size=(n, n)) * (rng.random((n, n)) < 0.5)
        V[np.diag_indices(n)] += 1.0
        markets.append(Market(V=V, t0=np.zeros((n, n)), sigma=2.0 + k % 5, eta=0.4, eps=np.ones(n)))
        off = ~np.eye(n, dtype=bool)
        cap = np.full(n, np.inf)
        cap[0] = 0.7 if k % 3 == 0 else np.inf
        banned = off & (rng.random((n, n)) < 0.1)
        floor = np.where(off & (rng.random((n, n)) < 0.2), 1.1, 0.0) if k % 2 else None
        policies.append(
            Policy(t1=np.where(off, 0.2, 0.0), banned=banned, export_cap=cap, levy_floor=floor)
        )
    # share out even these small batches (below the thresholds, they run on one thread)
    monkeypatch.setattr(threads_module, "MIN_SHARED_NS", 0.0)
    monkeypatch.setattr(threads_module, "MIN_SHARED_ENTRIES", 0)
    fields = ("pi", "e", "P", "D", "S", "exports", "q", "dCS", "dPS", "welfare")
    alone = [solve(m, p) for m, p in zip(markets, policies, strict=True)]
    assert all(s.converged for s in alone)
    for group in (False, True):
        for threads in (1, 2, 3):
            out = solve_batch(markets, policies, threads=threads, group_sizes=group)
            for a, b in zip(out, alone, strict=True):
                assert (a.iterations, a.max_residual, a.message) == (
                    b.iterations,
                    b.max_residual,
                    b.message,
                )
                for name in fields:
                    np.testing.assert_array_equal(getattr(a, name), getattr(b, name), name)


def test_monte_carlo_draws_in_one_batch() -> None:
    rng = np.random.default_rng(1)
    n = 15
    V = rng.lognormal(size=(n, n)) * (rng.random((n, n)) < 0.6)
    V[np.diag_indices(n)] += 1.0
    t1 = np.where(np.eye(n, dtype=bool), 0.0, 0.25)
    draws = [
        Market(V=V, t0=np.zeros((n, n)), sigma=s, eta=e, eps=np.full(n, k))
        for s, e, k in zip(
            rng.uniform(2, 8, 50), rng.uniform(0.2, 1, 50), rng.uniform(0.3, 1.5, 50), strict=True
        )
    ]
    out = solve_batch(draws, [Policy(t1=t1)] * 50)
    assert all(s.converged for s in out)
    # more substitutable varieties -> larger fall in imports under the same tariff
    imports = np.array([s.q[~np.eye(n, dtype=bool)].sum() for s in out])
    sig = np.array([m.sigma for m in draws])
    assert np.corrcoef(sig, imports)[0, 1] < 0


def test_solver_options_are_checked() -> None:
    m = Market(V=np.ones((2, 2)), t0=np.zeros((2, 2)), sigma=3.0, eta=0.5, eps=np.ones(2))
    with pytest.raises(ModelInputError, match="policies"):
        solve_batch([m, m], [Policy()])
    with pytest.raises(ModelInputError, match="tol"):
        solve(m, Policy(), tol=0.0)
    with pytest.raises(ModelInputError, match="max_iter"):
        solve(m, Policy(), max_iter=-1)
    assert solve(m).converged  # policy defaults to "no change"


def test_fixed_demand_with_subsidy_floors_is_reported_not_raised() -> None:
    """Found by Hypothesis: eta = 0 and producer-subsidy floors above the baseline price leave
    no equilibrium (supply held up, demand fixed). The solve must end quietly (no overflow
    warning on the way: the suite turns warnings into errors), say it did not converge and
    name the likely cause."""
    m, p = no_equilibrium_market()
    sol = solve(m, p)
    assert not sol.converged
    assert "did not converge" in sol.message and "producer-subsidy floors" in sol.message


def test_ill_conditioned_case_is_solved_in_float64() -> None:
    """Found by a random search against the reference (tests/unit/test_model_reference.py):
    with fixed demand (eta = 0) the price level is nearly undetermined, so float32 LU steps
    are wrong in that direction and the line search fails. The solver must notice the
    inexact linear solve, continue in float64 and converge (as the float64 solver did)."""
    inf = np.inf
    m = Market(
        V=np.array(
            [
                [0.7701307803969629, 0.5, 0.0],
                [0.0, 0.4764560222708021, 0.0],
                [0.5718921284129254, 0.0, 2.0530021737841984],
            ]
        ),
        t0=np.array(
            [
                [0.0, 0.035601378170882325, 0.0],
                [0.23421096100028377, 0.0, 0.06940351517145804],
                [0.0, 0.35431668833767904, 0.0],
            ]
        ),
        sigma=9.57639043744436,
        eta=0.0,
        eps=np.array([1.5739915870037446, 2.1673875541897307, 1.1293880723288485]),
    )
    p = Policy(
        t1=np.array(
            [
                [0.0, 0.11296122295970115, 0.07735984478881883],
                [0.23421096100028377, 0.0, 0.06940351517145804],
                [0.0, 0.35431668833767904, 0.0],
            ]
        ),
        levy_floor=np.array([[0.0, 0.8513552422949016, 0.8513552422949016], [0, 0, 0], [0, 0, 0]]),
        subsidy_floor=np.array([0.0, 1.1317234178002942, 1.1317234178002942]),
        export_cap=np.array([0.32895493906517326, inf, inf]),
    )
    sol = solve(m, p)
    assert sol.converged and sol.max_residual <= 1e-12, sol.message
    assert sol.iterations <= 10


def test_nearly_singular_two_country_case_is_solved() -> None:
    """Also found by the random search: fixed demand, supply elasticities of 0.2, a binding
    subsidy floor, a levy floor and a quota on two countries. The float32 product of the
    Newton matrix blurs its near-singular direction; in float64 (product included) Newton
    converges in a few steps, as the float64 solver did."""
    m = Market(
        V=np.array([[2.163962053220345, 2.117031595334332], [0.0, 1.3207157229665318]]),
        t0=np.array([[0.38486984684290304, 0.0], [0.0, 0.2112141582949179]]),
        sigma=2.6889140252932098,
        eta=0.0,
        eps=np.array([0.2, 0.2]),
    )
    p = Policy(
        t1=np.array([[0.38486984684290304, 0.03075619723606851], [0.0, 0.2112141582949179]]),
        levy_floor=np.array([[0.0, 1.017555215277997], [0.0, 0.0]]),
        subsidy_floor=np.array([0.0, 1.1277272636627216]),
        export_cap=np.array([0.951698826337912, np.inf]),
    )
    sol = solve(m, p)
    assert sol.converged and sol.max_residual <= 1e-12, sol.message
    assert sol.iterations <= 10
