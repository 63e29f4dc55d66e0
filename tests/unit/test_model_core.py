"""critmin.model: inputs, exact no-change, neutral policies, edge cases, Jacobian.

Equations: DESIGN.md "The trade model". Tolerances are stated per test; "exact" means
bit-for-bit (``== 0.0`` / ``== 1.0``), which the engine guarantees for "no policy change".
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.errors import CritminError
from critmin.model import Market, ModelInputError, Policy, Solution, solve
from critmin.model.core import evaluate, jacobian, stack
from critmin.model.kernels import lu_factor_single, lu_step, market_sizes, vexp

WELFARE_FIELDS = ("dCS", "dPS", "tariff_revenue", "quota_rent", "subsidy_cost", "welfare")


def random_market(
    rng: np.random.Generator,
    n: int,
    *,
    density: float = 0.7,
    sigma: float | None = None,
    eta: float | None = None,
    zero_t0: bool = False,
) -> Market:
    V = rng.lognormal(0.0, 1.5, (n, n)) * (rng.random((n, n)) < density) * 1e6
    t0 = (
        np.zeros((n, n))
        if zero_t0
        else np.where(rng.random((n, n)) < 0.5, rng.uniform(0, 0.5, (n, n)), 0.0)
    )
    return Market(
        V=V,
        t0=t0,
        sigma=float(rng.uniform(1.2, 10.0)) if sigma is None else sigma,
        eta=float(rng.uniform(0.05, 2.0)) if eta is None else eta,
        eps=np.where(rng.random(n) < 0.2, 0.0, rng.uniform(0.05, 3.0, n)),
    )


def assert_no_change(sol: Solution) -> None:
    assert sol.converged and sol.iterations == 0 and sol.max_residual == 0.0
    assert (sol.pi == 1.0).all()
    assert (sol.e == 0.0).all()
    assert (sol.x == 1.0).all()
    assert (sol.P == 1.0).all() and (sol.D == 1.0).all() and (sol.S == 1.0).all()
    # flows and exports reproduce the baseline bit for bit (the solver sums them in the order
    # in which the baseline was summed)
    V = sol.levels.market.V
    assert (sol.q == V).all()
    assert (sol.exports == sol.baseline_exports).all()
    np.testing.assert_allclose(sol.baseline_exports, sol.levels.market.baseline_exports, rtol=1e-14)
    for name in WELFARE_FIELDS:
        assert (getattr(sol, name) == 0.0).all(), name


# --------------------------------------------------------------------------------------------
# exact no-change


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    density=st.floats(0.0, 1.0),
    eta=st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 2.0)),
)
def test_no_policy_change_is_exactly_the_baseline(
    n: int, seed: int, density: float, eta: float
) -> None:
    m = random_market(np.random.default_rng(seed), n, density=density, eta=eta)
    sol = solve(m, Policy())
    assert_no_change(sol)
    np.testing.assert_array_equal(sol.q, m.V)
    # an explicit policy that restates the baseline is also no change
    n_ = m.n
    explicit = Policy(
        t1=m.t0.copy(),
        banned=np.zeros((n_, n_), bool),
        levy_floor=np.zeros((n_, n_)),
        subsidy_floor=np.zeros(n_),
        export_cap=np.full(n_, np.inf),
    )
    assert_no_change(solve(m, explicit))


def test_no_change_with_eta_exactly_one_and_pure_importers() -> None:
    V = np.array([[5.0, 2.0, 1.0], [0.0, 0.0, 0.0], [1.0, 3.0, 0.0]])  # country 1 buys only
    m = Market(V=V, t0=np.full((3, 3), 0.1), sigma=3.0, eta=1.0, eps=np.array([1.0, 0.5, 0.0]))
    assert_no_change(solve(m, Policy()))


# --------------------------------------------------------------------------------------------
# neutral policies


def test_ban_on_a_country_that_does_not_export_changes_nothing() -> None:
    rng = np.random.default_rng(1)
    m = random_market(rng, 6, density=1.0)
    V = m.V.copy()
    V[2, [0, 1, 3, 4, 5]] = 0.0  # country 2 only sells at home
    m = Market(V=V, t0=m.t0, sigma=m.sigma, eta=m.eta, eps=m.eps)
    banned = np.zeros((6, 6), bool)
    banned[2, [0, 1, 3, 4, 5]] = True
    sol = solve(m, Policy(banned=banned))
    assert sol.converged and sol.iterations == 0
    assert (sol.pi == 1.0).all() and (sol.q == m.V).all()
    for name in WELFARE_FIELDS:
        assert (getattr(sol, name) == 0.0).all(), name


def test_floors_below_the_market_price_change_nothing() -> None:
    rng = np.random.default_rng(2)
    m = random_market(rng, 6, density=1.0)
    n = m.n
    t1 = m.t0 + 0.2 * (rng.random((n, n)) < 0.5)
    base = solve(m, Policy(t1=t1))
    assert base.converged
    # floors strictly below the prices reached with the tariff alone
    levy = 0.9 * base.b.min() * np.ones((n, n))
    sub = 0.9 * base.pi.min() * np.ones(n)
    with_floors = solve(m, Policy(t1=t1, levy_floor=levy, subsidy_floor=sub))
    for name in ("pi", "b", "x", "P", "S", *WELFARE_FIELDS):
        np.testing.assert_array_equal(getattr(with_floors, name), getattr(base, name), name)
    # and without any other policy the result is exactly the baseline
    assert_no_change(
        solve(m, Policy(levy_floor=np.full((n, n), 0.5), subsidy_floor=np.full(n, 0.5)))
    )


def test_quota_above_baseline_exports_changes_nothing() -> None:
    rng = np.random.default_rng(3)
    m = random_market(rng, 5, density=1.0)
    cap = np.full(5, 1.5)
    assert_no_change(solve(m, Policy(export_cap=cap)))
    # with a tariff that lowers exports further, a slack quota still has e = 0
    t1 = m.t0 + 0.3
    a = solve(m, Policy(t1=t1))
    b = solve(m, Policy(t1=t1, export_cap=cap))
    assert b.converged and (b.e == 0.0).all()
    np.testing.assert_allclose(b.pi, a.pi, rtol=1e-13)
    np.testing.assert_allclose(b.welfare, a.welfare, rtol=1e-10, atol=1e-6)


# --------------------------------------------------------------------------------------------
# instruments do what they say


def test_binding_quota_holds_exports_at_the_cap() -> None:
    rng = np.random.default_rng(4)
    m = random_market(rng, 5, density=1.0)
    cap = np.full(5, np.inf)
    cap[0] = 0.6
    sol = solve(m, Policy(export_cap=cap))
    assert sol.converged
    assert sol.e[0] > 0
    assert sol.exports[0] == pytest.approx(0.6 * m.baseline_exports[0], rel=1e-10)
    assert sol.quota_rent[0] == pytest.approx(sol.pi[0] * sol.e[0] * sol.exports[0])
    assert sol.quota_rent[0] > 0


def test_cap_of_zero_is_an_export_ban() -> None:
    rng = np.random.default_rng(5)
    m = random_market(rng, 4, density=1.0)
    banned = np.zeros((4, 4), bool)
    banned[1, [0, 2, 3]] = True
    a = solve(m, Policy(banned=banned))
    b = solve(m, Policy(export_cap=np.array([np.inf, 0.0, np.inf, np.inf])))
    np.testing.assert_allclose(b.pi, a.pi, rtol=1e-13)
    assert b.exports[1] == 0.0 and (b.e == 0.0).all()


def test_levy_floor_binds_and_collects_the_levy() -> None:
    V = np.array([[10.0, 4.0], [3.0, 8.0]])
    m = Market(V=V, t0=np.zeros((2, 2)), sigma=5.0, eta=0.5, eps=np.array([1.0, 1.0]))
    levy = np.zeros((2, 2))
    levy[0, 1] = 1.3  # imports of 1 from 0 must cost at least 1.3 x baseline
    sol = solve(m, Policy(levy_floor=levy))
    assert sol.converged
    assert sol.b[0, 1] == pytest.approx(1.3)
    assert sol.pi[0] < 1.0 < sol.pi[1]
    expected_levy = (1.3 - sol.pi[0]) * sol.q[0, 1]
    assert sol.tariff_revenue[1] == pytest.approx(expected_levy, rel=1e-12)


def test_subsidy_floor_raises_supply_and_costs_the_treasury() -> None:
    V = np.array([[10.0, 4.0], [3.0, 8.0]])
    m = Market(V=V, t0=np.zeros((2, 2)), sigma=5.0, eta=0.5, eps=np.array([1.0, 2.0]))
    sol = solve(m, Policy(subsidy_floor=np.array([0.0, 1.1])))
    assert sol.converged
    assert sol.pi_s[1] == pytest.approx(1.1) and sol.pi[1] < 1.1
    assert sol.S[1] == pytest.approx(1.1**2.0)
    assert sol.subsidy_cost[1] == pytest.approx((1.1 - sol.pi[1]) * sol.S[1] * V[1].sum())
    assert sol.q[1].sum() == pytest.approx(V[1].sum() * sol.S[1], rel=1e-12)


# --------------------------------------------------------------------------------------------
# edge cases reported, not crashed


def test_buyer_that_loses_every_supplier() -> None:
    V = np.array([[5.0, 2.0, 0.0], [1.0, 4.0, 0.0], [1.0, 0.0, 3.0]])
    for eta, cs in ((0.5, -np.inf), (1.0, -np.inf), (2.0, None)):
        m = Market(
            V=V,
            t0=np.zeros((3, 3)),
            sigma=4.0,
            eta=eta,
            eps=np.array([1.0, 1.0, 1.0]),
            countries=("AAA", "BBB", "CCC"),
        )
        banned = np.zeros((3, 3), bool)
        banned[0, 1] = banned[1, 1] = True  # BBB buys only from AAA and itself
        sol = solve(m, Policy(banned=banned))
        assert sol.converged, sol.message
        assert sol.unsupplied.tolist() == [False, True, False]
        assert sol.P[1] == np.inf and sol.D[1] == 0.0 and (sol.x[:, 1] == 0.0).all()
        assert "BBB" in sol.message and "no supplier" in sol.message
        E1 = 2.0 + 4.0
        expected = -E1 / (eta - 1.0) if cs is None else cs
        assert sol.dCS[1] == expected
        assert np.isfinite(sol.pi).all()


def test_producer_that_loses_every_buyer() -> None:
    V = np.array([[0.0, 5.0, 2.0], [0.0, 4.0, 1.0], [0.0, 1.0, 3.0]])
    m = Market(V=V, t0=np.zeros((3, 3)), sigma=4.0, eta=0.5, eps=np.array([0.5, 1.0, 1.0]))
    banned = np.zeros((3, 3), bool)
    banned[0, :] = True
    sol = solve(m, Policy(banned=banned))
    assert sol.converged, sol.message
    assert sol.stranded.tolist() == [True, False, False]
    assert sol.pi[0] == 0.0 and (sol.q[0] == 0.0).all() and sol.S[0] == 0.0
    assert sol.dPS[0] == pytest.approx(-V[0].sum() / 1.5)
    assert "no buyer" in sol.message
    assert sol.pi[1] > 1.0 and sol.pi[2] > 1.0  # the others gain from the ban


def test_buyer_without_demand_and_pure_importer() -> None:
    V = np.array([[5.0, 2.0, 0.0], [0.0, 0.0, 0.0], [1.0, 3.0, 0.0]])  # 1 buys only, 2 no demand
    m = Market(V=V, t0=np.zeros((3, 3)), sigma=4.0, eta=0.5, eps=np.array([1.0, 1.0, 1.0]))
    sol = solve(m, Policy(t1=np.where(np.eye(3, dtype=bool), 0.0, 0.2)))
    assert sol.converged
    assert sol.pi[1] == 1.0  # no price unknown for a pure importer
    assert sol.P[2] == 1.0 and sol.D[2] == 1.0 and sol.dCS[2] == 0.0


def test_eta_zero_and_fixed_supply_is_normalised_or_reported() -> None:
    # one buyer, two suppliers: relative prices are determined, the level is not
    V = np.array([[0.0, 0.0, 3.0], [0.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    m = Market(V=V, t0=np.zeros((3, 3)), sigma=4.0, eta=0.0, eps=np.array([0.0, 0.0, 0.0]))
    t1 = np.zeros((3, 3))
    t1[0, 2] = 0.1
    sol = solve(m, Policy(t1=t1))
    assert sol.converged, sol.message
    assert "price level not determined" in sol.message
    assert sol.pi[0] * 1.1 == pytest.approx(sol.pi[1], rel=1e-12)  # equal buyer prices
    np.testing.assert_allclose(sol.x[:2, 2], 1.0, rtol=1e-12)
    # two buyers: quantities fixed on both sides and a tariff -> generically no equilibrium
    V2 = np.array([[0.0, 2.0, 3.0], [0.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    m2 = Market(V=V2, t0=np.zeros((3, 3)), sigma=4.0, eta=0.0, eps=np.array([0.0, 0.0, 0.0]))
    sol2 = solve(m2, Policy(t1=t1))
    assert not sol2.converged
    assert "no equilibrium" in sol2.message


def test_non_convergence_is_reported_not_raised() -> None:
    rng = np.random.default_rng(6)
    m = random_market(rng, 6, density=1.0)
    sol = solve(m, Policy(t1=m.t0 + 0.5), max_iter=1)
    # one Newton step, one each from the float64 and full-Newton restarts, at most two LM steps
    assert not sol.converged and 1 <= sol.iterations <= 5
    assert sol.max_residual > 1e-12 and "did not converge" in sol.message


def test_infeasible_quota_is_reported() -> None:
    V = np.array([[0.0, 5.0], [1.0, 4.0]])  # country 0 only exports
    m = Market(
        V=V,
        t0=np.zeros((2, 2)),
        sigma=4.0,
        eta=0.5,
        eps=np.array([0.0, 1.0]),
        countries=("EXP", "IMP"),
    )
    sol = solve(m, Policy(export_cap=np.array([0.5, np.inf])))
    assert not sol.converged
    assert "EXP" in sol.message and "nowhere to go" in sol.message


# --------------------------------------------------------------------------------------------
# input validation


def _valid() -> dict[str, object]:
    return dict(V=np.ones((3, 3)), t0=np.zeros((3, 3)), sigma=3.0, eta=0.5, eps=np.ones(3))


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("sigma", 1.0, "sigma"),
        ("sigma", 0.5, "sigma"),
        ("sigma", float("nan"), "sigma"),
        ("eta", -0.1, "eta"),
        ("eps", np.array([1.0, -1.0, 1.0]), "eps"),
        ("eps", np.ones(4), "eps"),
        ("V", np.ones((3, 2)), "V"),
        ("V", np.array([[1.0, np.nan, 0], [0, 1, 0], [0, 0, 1]]), "V"),
        ("V", -np.ones((3, 3)), "V"),
        ("t0", np.zeros((2, 2)), "t0"),
        ("t0", np.full((3, 3), np.inf), "t0"),
        ("t0", np.full((3, 3), -1.0), "t0"),
        ("V", "abc", "V"),
    ],
)
def test_bad_market_inputs(field: str, value: object, needle: str) -> None:
    kw = _valid()
    kw[field] = value
    with pytest.raises(ModelInputError, match=needle) as info:
        Market(**kw)  # type: ignore[arg-type]
    assert isinstance(info.value, CritminError)


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("t1", np.zeros((2, 2)), "t1"),
        ("t1", np.full((3, 3), np.nan), "t1"),
        ("banned", np.full((3, 3), 2), "banned"),
        ("banned", np.zeros((2, 3), bool), "banned"),
        ("levy_floor", np.full((3, 3), -1.0), "levy_floor"),
        ("levy_floor", np.full((3, 3), np.nan), "levy_floor"),
        ("subsidy_floor", np.ones(2), "subsidy_floor"),
        ("export_cap", np.array([1.0, -0.5, 1.0]), "export_cap"),
        ("export_cap", np.array([1.0, np.nan, 1.0]), "export_cap"),
    ],
)
def test_bad_policy_inputs(field: str, value: object, needle: str) -> None:
    m = Market(**_valid())  # type: ignore[arg-type]
    with pytest.raises(ModelInputError, match=needle):
        solve(m, Policy(**{field: value}))  # type: ignore[arg-type]


def test_scalar_eps_is_broadcast_and_inputs_are_copied() -> None:
    V = np.ones((3, 3))
    m = Market(V=V, t0=np.zeros((3, 3)), sigma=3.0, eta=0.5, eps=0.7)  # type: ignore[arg-type]
    V[0, 0] = 99.0
    assert m.V[0, 0] == 1.0 and (m.eps == 0.7).all()
    with pytest.raises(ValueError, match="read-only"):
        m.V[0, 0] = 2.0


# --------------------------------------------------------------------------------------------
# the analytic Jacobian against central finite differences


def _fd_case(seed: int) -> tuple[Market, Policy]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 8))
    m = random_market(rng, n, density=0.8)
    members = rng.random(n) < 0.5
    nm_m = ~members[:, None] & members[None, :]
    p = Policy(
        t1=m.t0 + 0.2 * nm_m,
        banned=nm_m & (rng.random((n, n)) < 0.2),
        levy_floor=np.where(nm_m & (rng.random((n, n)) < 0.5), rng.uniform(0.6, 1.6, (n, n)), 0),
        subsidy_floor=np.where(members, rng.uniform(0.7, 1.3, n), 0.0),
        export_cap=np.where(~members & (rng.random(n) < 0.6), rng.uniform(0.3, 1.5, n), np.inf),
    )
    return m, p


@pytest.mark.parametrize("seed", range(25))
def test_jacobian_matches_finite_differences(seed: int) -> None:
    m, p = _fd_case(seed)
    stk = stack([m], [p.resolve(m)])
    rng = np.random.default_rng(1000 + seed)
    z = rng.normal(0.0, 0.3, (1, stk.N))
    if stk.nq:
        z[:, stk.ns :] = np.abs(z[:, stk.ns :])
    ev = evaluate(stk, z)
    h = 1e-6
    # stay away from kinks, where the one-sided derivatives differ
    dist = np.abs(ev.lnc_hat - stk.plnFc)[stk.pvalid]
    assert_far = dist.min(initial=np.inf) > 50 * h
    u = z[:, : stk.ns]
    assert_far &= np.abs(u - stk.lnG).min(initial=np.inf) > 50 * h
    if stk.nq:
        assert_far &= np.abs(ev.h - z[:, stk.ns :])[stk.qmask].min(initial=np.inf) > 1e-3
    if not assert_far:
        pytest.skip("random point too close to a kink")
    J = jacobian(stk, ev)[0]
    act = np.concatenate([stk.uact, stk.qmask], axis=1)[0]
    Jn = np.zeros_like(J)
    for k in range(stk.N):
        zp, zm = z.copy(), z.copy()
        zp[0, k] += h
        zm[0, k] -= h
        Jn[:, k] = (evaluate(stk, zp).F[0] - evaluate(stk, zm).F[0]) / (2 * h)
    sub = np.ix_(act, act)
    np.testing.assert_allclose(J[sub], Jn[sub], rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------------------------
# the compiled pair loops against plain numpy


@pytest.mark.parametrize("seed", range(10))
def test_market_lists_match_dense_numpy(seed: int) -> None:
    """``kernels.market_fill`` (sums and open pairs in one compiled pass, as a one-market
    stack) equals the same quantities computed densely with numpy: baseline sums, the open
    pairs, their data; ``kernels.market_sizes`` counts them."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    m = random_market(rng, n)
    banned = rng.random((n, n)) < 0.1
    cap = np.where(rng.random(n) < 0.2, 0.0, np.inf)
    t1 = m.t0 + np.where(rng.random((n, n)) < 0.3, 0.25, 0.0)
    levy = np.where(rng.random((n, n)) < 0.2, 1.3, 0.0)
    p = Policy(t1=t1, banned=banned, export_cap=cap, levy_floor=levy).resolve(m)
    stk = stack([m], [p])
    sc = stk.slot_country[0]
    off = ~np.eye(n, dtype=bool)
    assert (sc == np.flatnonzero(m.R > 0)).all()
    np.testing.assert_allclose(stk.R[0], m.R[sc], rtol=1e-13)
    np.testing.assert_allclose(stk.X0[0], m.baseline_exports[sc], rtol=1e-13)
    np.testing.assert_allclose(stk.W[0, :n], m.E, rtol=1e-13)
    np.testing.assert_allclose(stk.rev0[0, :n], m.baseline_tariff_revenue, rtol=1e-13, atol=1e-6)
    assert stk.W[0, n] == stk.rev0[0, n] == 0.0 and not stk.supplied[0, n]  # the dummy buyer
    open_ = (m.V > 0) & ~banned & ~((cap == 0.0)[:, None] & off)
    ii, jj = np.nonzero(open_)  # row-major: seller after seller, then buyer
    assert market_sizes(m.V, p.banned, p.export_cap) == (len(ii), len(sc), stk.nq)
    assert len(ii) == stk.L and stk.nvalid[0] == len(ii) and stk.pvalid.all()
    assert (sc[stk.ps[0]] == ii).all() and (stk.pj[0] == jj).all()
    assert (stk.pV[0] == m.V[ii, jj]).all() and (stk.pt1[0] == t1[ii, jj]).all()
    assert (stk.pF[0] == levy[ii, jj]).all()
    assert (stk.pw[0] == m.V[ii, jj] * (1.0 + m.t0[ii, jj])).all()
    assert (stk.supplied[0, :n] == open_.any(axis=0)).all()
    assert (stk.stranded[0] == ~open_.any(axis=1)[sc]).all()
    assert (stk.check[0] == open_.any(axis=1)[sc]).all() and (stk.uact[0] == stk.check[0]).all()
    assert (stk.eps_country[0] == m.eps).all() and (stk.floor_country[0] == 0.0).all()


@pytest.mark.parametrize("u", [101.0, 101.8, 102.5])
def test_jacobian_stays_finite_when_sales_are_subnormal(u: float) -> None:
    """A trial price far above the others drives a producer's sales to ~1e-310 (found by
    Hypothesis on a subsidy-floor case): the Jacobian must scale its row by ``(sigma-eta)/Q``
    without overflowing (the suite turns the overflow warning into an error)."""
    m = Market(V=np.ones((3, 3)), t0=np.zeros((3, 3)), sigma=7.0, eta=0.0, eps=1.0)
    stk = stack([m], [Policy().resolve(m)])
    z = np.zeros((1, stk.N))
    z[0, 0] = u
    ev = evaluate(stk, z)
    assert 0.0 < ev.Q[0, 0] < 1e-300
    assert np.isfinite(jacobian(stk, ev)).all()


# --------------------------------------------------------------------------------------------
# the compiled building blocks: exp, float32 LU, market setup


@pytest.mark.parametrize(("lo", "hi"), [(-1e-9, 1e-9), (-1.0, 1.0), (-40.0, 0.0), (-745.0, 709.78)])
def test_vexp_is_within_one_ulp_of_numpy(lo: float, hi: float) -> None:
    """The vectorisable polynomial ``exp`` of the kernels against ``numpy.exp``."""
    x = np.random.default_rng(0).uniform(lo, hi, 200_001)
    out = np.empty_like(x)
    vexp(x, out, len(x))
    ref = np.exp(x)
    ulp = np.abs(out - ref) / np.spacing(np.maximum(ref, np.finfo(float).tiny))
    assert ulp.max() <= 1.0


def test_vexp_special_values() -> None:
    """``exp(0) = 1`` exactly (the exact no-change rests on it), ``exp(-inf) = 0``, NaN stays
    NaN, subnormal results below ``e^-708`` and ``inf`` above ``e^709.78``."""
    x = np.array([0.0, -0.0, -np.inf, np.nan, -740.0, -800.0, 709.5, 710.0, np.inf])
    out = np.empty_like(x)
    vexp(x, out, len(x))
    assert out[0] == 1.0 and out[1] == 1.0 and out[2] == 0.0 and np.isnan(out[3])
    assert 0.0 < out[4] < np.finfo(float).tiny and out[4] == pytest.approx(np.exp(-740.0))
    assert out[5] == 0.0 and out[6] == pytest.approx(np.exp(709.5)) and out[7] == out[8] == np.inf


@pytest.mark.parametrize("n", [1, 7, 120])
def test_float32_lu_step_solves_the_system(n: int) -> None:
    """``lu_factor_single`` + ``lu_step`` (float32 LAPACK factors, float64 substitution) give
    the Newton step ``-J^-1 F`` to float32 accuracy, pivoting included."""
    rng = np.random.default_rng(n)
    J = rng.normal(size=(n, n)) + np.diag(rng.uniform(1.0, 3.0, n)) * np.sqrt(n)
    J = J[rng.permutation(n)]  # rows out of order: pivoting is needed
    F = rng.normal(size=n)
    lu = np.empty((n, n), dtype=np.float32).T
    ipiv = np.empty(n, dtype=np.int32)
    assert lu_factor_single(J, lu, ipiv)
    d = lu_step(lu, ipiv, F)
    np.testing.assert_allclose(J @ d, -F, atol=1e-4 * np.abs(F).max() * np.sqrt(n))
    singular = np.ones((3, 3))
    lu3 = np.empty((3, 3), dtype=np.float32).T
    assert not lu_factor_single(singular, lu3, np.empty(3, dtype=np.int32))
    assert not lu_factor_single(np.full((2, 2), np.nan), np.empty((2, 2), np.float32).T, ipiv[:2])


@pytest.mark.parametrize("seed", range(8))
def test_market_setup_matches_numpy(seed: int) -> None:
    """``kernels.market_fill`` (slots, quotas, unsupplied buyers, pair terms in one compiled
    call) equals the same quantities computed densely with numpy."""
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 30))
    m = random_market(rng, n, density=0.5)
    banned = rng.random((n, n)) < 0.15
    cap = np.where(rng.random(n) < 0.3, rng.choice([0.0, 0.7, np.inf], n), np.inf)
    t1 = m.t0 + np.where(rng.random((n, n)) < 0.3, 0.25, 0.0)
    levy = np.where(rng.random((n, n)) < 0.2, 1.3, 0.0)
    G = np.where(rng.random(n) < 0.3, 1.2, 0.0)
    p = Policy(t1=t1, banned=banned, export_cap=cap, levy_floor=levy, subsidy_floor=G)
    stk = stack([m], [p.resolve(m)])
    slot_country, ps, pdlt, plnFc, qslot = (
        stk.slot_country[0],
        stk.ps[0],
        stk.pdlt[0],
        stk.plnFc[0],
        stk.qslot[0],
    )
    off = ~np.eye(n, dtype=bool)
    open_ = (m.V > 0) & ~banned & ~((cap == 0.0)[:, None] & off)
    assert (slot_country == np.flatnonzero(m.R > 0)).all()
    np.testing.assert_allclose(stk.R[0], m.R[slot_country], rtol=1e-13)
    np.testing.assert_allclose(stk.X0[0], m.baseline_exports[slot_country], rtol=1e-13, atol=1e-9)
    assert (stk.eps[0] == m.eps[slot_country]).all()
    np.testing.assert_allclose(np.exp(stk.lnG[0]), G[slot_country], rtol=1e-15)
    assert (stk.stranded[0] == ~open_.any(axis=1)[slot_country]).all()
    unsupplied = stk.unsupplied[0]
    assert (unsupplied[:n] == ((m.E > 0) & ~open_.any(axis=0))).all() and not unsupplied[n]
    ii, jj = np.nonzero(open_)
    assert (stk.pj[0] == jj).all() and (slot_country[ps] == ii).all()
    assert (stk.poff[0] == (ii != jj)).all() and (stk.pt1[0] == t1[ii, jj]).all()
    assert (stk.pF[0] == levy[ii, jj]).all()
    np.testing.assert_allclose(pdlt, np.log1p(t1[ii, jj]) - np.log1p(m.t0[ii, jj]), atol=1e-15)
    assert (pdlt[t1[ii, jj] == m.t0[ii, jj]] == 0.0).all()  # exactly 0 where unchanged
    has_floor = levy[ii, jj] > 0
    floor_c = levy[ii, jj][has_floor] / (1 + m.t0[ii, jj][has_floor])
    np.testing.assert_allclose(plnFc[has_floor], np.log(floor_c), rtol=1e-14)
    assert np.isneginf(plnFc[~has_floor]).all() and stk.any_floor == bool(has_floor.any())
    exporting = (open_ & off).any(axis=1)
    quota = np.isfinite(cap) & (cap > 0) & (m.baseline_exports > 0) & open_.any(axis=1)
    quota &= exporting & (m.R > 0)
    assert (slot_country[qslot] == np.flatnonzero(quota)).all() and stk.qmask.all()
    np.testing.assert_allclose(np.exp(stk.lncap[0]), cap[quota], rtol=1e-15)
    assert market_sizes(m.V, p.resolve(m).banned, p.resolve(m).export_cap) == (
        len(ii),
        len(slot_country),
        int(quota.sum()),
    )


def test_a_padded_stack_holds_each_market_as_alone() -> None:
    """Markets of different sizes stacked together: each market's rows equal its own
    one-market stack bit for bit, and the padding says "nothing here" (no pair, slot,
    quota, buyer or country; padding slot and buyer indices)."""
    rng = np.random.default_rng(11)
    markets = [random_market(rng, n, density=0.5) for n in (9, 4, 12, 7)]
    policies = []
    for k, m in enumerate(markets):
        n = m.n
        cap = np.where(np.arange(n) == k % n, 0.7, np.inf)
        policies.append(
            Policy(
                t1=m.t0 + 0.2,
                banned=rng.random((n, n)) < 0.1,
                export_cap=cap,
                levy_floor=np.where(rng.random((n, n)) < 0.2, 1.1, 0.0),
                subsidy_floor=np.where(rng.random(n) < 0.3, 1.1, 0.0),
            ).resolve(m)
        )
    big = stack(markets, policies)
    n, ns, L, nq = big.n, big.ns, big.L, big.nq
    pair_fields = ("pV", "pw", "pdlt", "plnFc", "poff", "pt1", "pF", "ps", "pj")
    pad = {"pV": 0, "pw": 0, "pdlt": 0, "plnFc": -np.inf, "poff": 0, "pt1": 0, "pF": 0}
    pad |= {"ps": ns, "pj": n}
    for b, (m, p) in enumerate(zip(markets, policies, strict=True)):
        own = stack([m], [p])
        Lb, nsb, nqb = own.L, own.ns, own.nq
        assert big.nvalid[b] == Lb and big.pvalid[b, :Lb].all() and not big.pvalid[b, Lb:].any()
        for f in pair_fields:
            got, alone = getattr(big, f)[b], getattr(own, f)[0]
            assert np.array_equal(got[:Lb], alone) and (got[Lb:] == pad[f]).all(), f
        for f, fill in (("R", 0), ("X0", 0), ("eps", 0), ("lnG", -np.inf), ("lnk", 0)):
            got, alone = getattr(big, f)[b], getattr(own, f)[0]
            assert np.array_equal(got[:nsb], alone) and (got[nsb:] == fill).all(), f
        assert np.array_equal(big.slot_country[b, :nsb], own.slot_country[0])
        assert (big.slot_country[b, nsb:] == n).all()
        for f in ("stranded", "check", "uact", "numeraire"):
            got, alone = getattr(big, f)[b], getattr(own, f)[0]
            assert np.array_equal(got[:nsb], alone) and not got[nsb:].any(), f
        for f in ("W", "rev0", "supplied", "unsupplied", "lna"):
            got, alone = getattr(big, f)[b], getattr(own, f)[0]
            assert np.array_equal(got[: m.n + 1], alone) and not got[m.n + 1 :].any(), f
        for f in ("eps_country", "floor_country"):
            got, alone = getattr(big, f)[b], getattr(own, f)[0]
            assert np.array_equal(got[: m.n], alone) and not got[m.n :].any(), f
        assert np.array_equal(big.qslot[b, :nqb], own.qslot[0]) and (big.qslot[b, nqb:] == ns).all()
        assert np.array_equal(big.lncap[b, :nqb], own.lncap[0])
        assert big.qmask[b, :nqb].all() and not big.qmask[b, nqb:].any()
    assert (L, nq) == (max(big.nvalid), max(int(q.sum()) for q in big.qmask))


def test_pair_components_match_scipy_connected_components() -> None:
    """The numpy label propagation finds the same partition of the seller/buyer graph as
    scipy's connected_components (labels may be numbered differently)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from critmin.model.numeraires import components

    rng = np.random.default_rng(7)
    for n, density in ((1, 1.0), (5, 0.1), (12, 0.05), (30, 0.02), (40, 0.3)):
        active = rng.random((n, n)) < density
        rows, cols = np.nonzero(active)
        graph = coo_matrix((np.ones(len(rows)), (rows, cols + n)), shape=(2 * n, 2 * n))
        expected_n, expected = connected_components(graph.tocsr(), directed=False)
        got_n, got = components(rows, cols, n)
        assert got_n == expected_n
        # the same partition: a one-to-one map between the two labellings
        pairs = set(zip(got.tolist(), expected.tolist(), strict=True))
        assert len(pairs) == got_n
