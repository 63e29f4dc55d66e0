"""Welfare accounting and first-order agreement with GSIM (Francois & Hall 2003).

GSIM linearises an Armington import-demand system. For buyer ``j`` with composite demand
elasticity ``eta`` and substitution elasticity ``sigma``, expenditure shares ``s_kj``, the
elasticity of the demand for variety ``i`` with respect to the price of variety ``k`` is

    N_ik,j = s_kj (sigma - eta) - sigma [i = k]

(own price: ``-s eta - (1 - s) sigma``, i.e. GSIM's ``theta E_m - (1 - theta) E_s`` with
``E_m = -eta``, ``E_s = sigma``; cross price: ``s_k (sigma - eta)``). Supply responds with
``d ln S_i = eps_i d ln pi_i`` and markets clear: ``sum_j V_ij d ln x_ij = R_i eps_i d ln pi_i``.
The tests below build that linear system from baseline data alone and compare it with the
nonlinear solution for a small tariff change; the gap must be second order.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.model import Market, Policy, solve
from critmin.model.welfare import consumer_surplus_change, producer_surplus_change


def _market(seed: int, n: int, *, eta: float = 0.6, zero_t0: bool = False) -> Market:
    rng = np.random.default_rng(seed)
    V = rng.lognormal(0.0, 1.0, (n, n)) * (rng.random((n, n)) < 0.8)
    V[0, 1] = max(V[0, 1], 1.0)
    V[np.diag_indices(n)] += 1.0  # every country produces and buys
    t0 = (
        np.zeros((n, n))
        if zero_t0
        else np.where(rng.random((n, n)) < 0.5, rng.uniform(0, 0.3, (n, n)), 0.0)
    )
    return Market(
        V=V * 1e6, t0=t0, sigma=float(rng.uniform(2.0, 8.0)), eta=eta, eps=rng.uniform(0.3, 2.0, n)
    )


# --------------------------------------------------------------------------------------------
# GSIM first order


def gsim_linear(m: Market, a: int, b: int, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Linearised GSIM response (d ln pi, d ln x) to raising t_ab by ``tau``."""
    n = m.n
    V, t0 = m.V, m.t0
    w = V * (1 + t0)
    s = w / w.sum(axis=0)
    shock = np.log((1 + t0[a, b] + tau) / (1 + t0[a, b]))  # d ln c_ab
    sig, eta = m.sigma, m.eta

    def N(i: int, k: int, j: int) -> float:
        return s[k, j] * (sig - eta) - sig * (i == k)

    A = np.zeros((n, n))
    rhs = np.zeros(n)
    for i in range(n):
        for j in range(n):
            if V[i, j] == 0:
                continue
            for k in range(n):
                A[i, k] += V[i, j] * N(i, k, j)
            rhs[i] -= V[i, j] * N(i, a, j) * shock * (j == b)
        A[i, i] -= V[i].sum() * m.eps[i]
    dpi = np.linalg.solve(A, rhs)
    dx = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            dx[i, j] = sum(N(i, k, j) * (dpi[k] + shock * (k == a and j == b)) for k in range(n))
    return dpi, dx


@pytest.mark.parametrize("seed", range(6))
def test_small_tariff_matches_gsim_to_first_order(seed: int) -> None:
    m = _market(seed, 5, eta=[0.0, 0.4, 1.0, 1.7, 0.6, 0.9][seed])
    a, b = 0, 1
    errors = []
    for tau in (1e-3, 1e-4):
        t1 = m.t0.copy()
        t1[a, b] += tau
        sol = solve(m, Policy(t1=t1))
        assert sol.converged
        dpi, dx = gsim_linear(m, a, b, tau)
        trade = m.V > 0
        # percentage changes (what GSIM reports) vs the linear prediction
        err = max(np.abs((sol.pi - 1) - dpi).max(), np.abs((sol.x - 1) - dx)[trade].max())
        scale = max(np.abs(dpi).max(), np.abs(dx[trade]).max())
        assert err / scale < 1e-2
        errors.append(err / scale)
    # the gap is second order: ten times smaller tariff, about ten times smaller relative gap
    assert errors[1] < errors[0] / 5


def test_closed_form_with_infinitely_elastic_supply() -> None:
    """Supply elasticities -> infinity: producer prices stay at 1, only buyer b adjusts and
    d ln x_ab = N_aa dln c, d ln x_kb = N_ka dln c (GSIM own and cross elasticities)."""
    m0 = _market(11, 4)
    m = Market(V=m0.V, t0=m0.t0, sigma=m0.sigma, eta=0.5, eps=np.full(4, 1e9))
    a, b = 2, 1
    w = m.V * (1 + m.t0)
    s = w[:, b] / w[:, b].sum()
    for tau in (1e-3, 1e-4):
        t1 = m.t0.copy()
        t1[a, b] += tau
        sol = solve(m, Policy(t1=t1))
        assert sol.converged
        dc = np.log((1 + t1[a, b]) / (1 + m.t0[a, b]))
        expected = s[a] * (m.sigma - m.eta) * dc * np.ones(4)
        expected[a] = (-s[a] * m.eta - (1 - s[a]) * m.sigma) * dc
        np.testing.assert_allclose(sol.x[:, b] - 1, expected, rtol=5 * tau, atol=1e-12)
        others = np.delete(np.arange(4), b)
        np.testing.assert_allclose(sol.x[:, others], 1.0, atol=1e-7)
        np.testing.assert_allclose(sol.pi, 1.0, atol=1e-7)


# --------------------------------------------------------------------------------------------
# welfare


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 8),
    rate=st.floats(0.01, 0.5),
    eta=st.floats(0.0, 2.0),
)
def test_tariff_on_an_undistorted_baseline_lowers_world_welfare(
    seed: int, n: int, rate: float, eta: float
) -> None:
    m = _market(seed, n, eta=eta, zero_t0=True)
    rng = np.random.default_rng(seed + 1)
    pairs = (rng.random((n, n)) < 0.5) & ~np.eye(n, dtype=bool)
    pairs[0, 1] = True
    sol = solve(m, Policy(t1=np.where(pairs, rate, 0.0)))
    assert sol.converged
    assert sol.welfare.sum() < 0


def test_world_welfare_loss_is_second_order() -> None:
    """Harberger: on an undistorted baseline the world loss grows with the square of a small
    tariff (the first-order effects are transfers between countries)."""
    m = _market(21, 5, zero_t0=True)
    losses = []
    for tau in (1e-3, 2e-3):
        t1 = np.zeros((5, 5))
        t1[[0, 1, 3], [1, 2, 4]] = tau
        sol = solve(m, Policy(t1=t1))
        losses.append(-sol.welfare.sum())
    assert losses[0] > 0
    assert losses[1] / losses[0] == pytest.approx(4.0, rel=0.01)


def test_large_importer_gains_from_a_small_tariff() -> None:
    """Terms of trade: facing an inelastic foreign supplier, a small tariff raises the
    importer's welfare (the optimal tariff is positive) while the world loses."""
    V = np.array([[10.0, 20.0], [0.0, 5.0]]) * 1e6
    m = Market(V=V, t0=np.zeros((2, 2)), sigma=4.0, eta=0.5, eps=np.array([0.1, 1.0]))
    t1 = np.zeros((2, 2))
    t1[0, 1] = 0.02
    sol = solve(m, Policy(t1=t1))
    assert sol.welfare[1] > 0 > sol.welfare[0]
    assert sol.welfare.sum() < 0
    assert sol.pi[0] < 1.0  # the exporter absorbs part of the tariff


def test_welfare_terms_follow_their_formulas() -> None:
    """Recompute every term from the solved levels with DESIGN.md's formulas."""
    rng = np.random.default_rng(5)
    n = 4
    m = _market(5, n, eta=0.7)
    t1 = m.t0 + 0.15 * (rng.random((n, n)) < 0.5)
    cap = np.array([np.inf, 0.8, np.inf, np.inf])
    sub = np.array([0.0, 0.0, 1.05, 0.0])
    levy = np.zeros((n, n))
    levy[3, 0] = 1.2
    sol = solve(m, Policy(t1=t1, export_cap=cap, subsidy_floor=sub, levy_floor=levy))
    assert sol.converged
    E = (m.V * (1 + m.t0)).sum(axis=0)
    R = m.V.sum(axis=1)
    eta, eps = m.eta, m.eps
    np.testing.assert_allclose(sol.dCS, -E * (sol.P ** (1 - eta) - 1) / (1 - eta), rtol=1e-12)
    pis = np.maximum(sol.pi, sub)
    np.testing.assert_allclose(sol.dPS, R * (pis ** (1 + eps) - 1) / (1 + eps), rtol=1e-12)
    q = m.V * sol.x
    rev = np.zeros(n)
    for j in range(n):
        for i in range(n):
            seller = sol.pi[i] * ((1 + sol.e[i]) if i != j else 1.0)
            rev[j] += (sol.b[i, j] - seller) * q[i, j] - m.t0[i, j] * m.V[i, j]
    np.testing.assert_allclose(sol.tariff_revenue, rev, rtol=1e-10, atol=1e-3)
    exports = np.array([sum(q[i, j] for j in range(n) if j != i) for i in range(n)])
    np.testing.assert_allclose(sol.quota_rent, sol.pi * sol.e * exports, rtol=1e-12)
    np.testing.assert_allclose(sol.subsidy_cost, (pis - sol.pi) * sol.S * R, rtol=1e-12)
    total = sol.dCS + sol.dPS + sol.tariff_revenue + sol.quota_rent - sol.subsidy_cost
    np.testing.assert_allclose(sol.welfare, total, rtol=1e-12)
    assert sol.e[1] > 0 and sol.quota_rent[1] > 0 and sol.subsidy_cost[2] > 0


def test_consumer_surplus_log_case_is_the_limit() -> None:
    E = np.array([100.0, 50.0, 0.0])
    P = np.array([1.2, 0.9, 1.0])
    at_one = consumer_surplus_change(E, P, 1.0)
    np.testing.assert_allclose(at_one, -E * np.log(P))
    for eta in (1 - 1e-9, 1 + 1e-9):
        np.testing.assert_allclose(consumer_surplus_change(E, P, eta), at_one, rtol=1e-8)
    # exactly zero with no price change, whatever eta
    for eta in (0.0, 0.5, 1.0, 2.0):
        assert (consumer_surplus_change(E, np.ones(3), eta) == 0.0).all()


def test_producer_surplus_with_fixed_supply_is_the_revenue_change() -> None:
    R = np.array([10.0, 20.0])
    np.testing.assert_allclose(
        producer_surplus_change(R, np.array([1.1, 0.8]), np.zeros(2)), [1.0, -4.0]
    )
    assert producer_surplus_change(R, np.array([0.0, 1.0]), np.array([1.0, 2.0]))[0] == -5.0
