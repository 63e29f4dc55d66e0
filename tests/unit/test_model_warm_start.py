"""Warm starts: one market solved from the solution under a nearby policy
(``solver.solve_from``; ``solver.solve_inner`` without its ``Solution``), as the outer
iteration of destination quotas and licences solves its inner systems
(``quota_groups.solve_groups``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_controls import market as market4  # the controls tests' 4-country market

import critmin.model.solver as solver_module
from critmin.model import Market, Policy, solve
from critmin.model.quota_groups import GroupLeak, QuotaGroup, _PairSums, group_pairs, solve_groups
from critmin.model.solver import solve_from, solve_inner

REPO = Path(__file__).resolve().parents[2]
FIELDS = ("pi", "e", "P", "q", "welfare", "tariff_revenue", "quota_rent")


def random_market(seed: int, n: int = 30) -> Market:
    rng = np.random.default_rng(seed)
    V = rng.uniform(0.5, 2.0, (n, n)) * (rng.random((n, n)) < 0.5)
    np.fill_diagonal(V, rng.uniform(1.0, 3.0, n))
    t0 = np.where(rng.random((n, n)) < 0.3, 0.05, 0.0)
    return Market(V=V, t0=t0, sigma=4.0, eta=0.5, eps=rng.uniform(0.3, 1.2, n))


def tariff(m: Market, rate: float) -> Policy:
    t1 = m.t0.copy()
    t1[:, :5] += rate  # on every sale to the first five countries
    return Policy(t1=t1)


USD_FIELDS = ("welfare", "tariff_revenue", "quota_rent")


def assert_close(a: Any, b: Any, rtol: float, market_usd: float = 1.0) -> None:
    """Every field within ``rtol``, relative to the entry or, for accounts in USD, to the
    market's baseline sales ``market_usd`` (a tariff revenue change of 0 comes out as the
    difference of two sums of millions: 1e-9 USD either way)."""
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        scale = market_usd if name in USD_FIELDS else float(np.nanmax(np.abs(y), initial=1.0))
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * scale, err_msg=name)


def test_from_the_baseline_it_is_solve_bit_for_bit() -> None:
    m = random_market(1)
    p = tariff(m, 0.2)
    sol, z = solve_from(m, p.resolve(m), None)
    ref = solve(m, p)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(sol, name), getattr(ref, name))
    assert sol.iterations == ref.iterations and sol.converged
    assert z.shape == (int(np.count_nonzero(m.R > 0)),)  # a slot per producer, no quota
    np.testing.assert_allclose(np.exp(z), sol.pi[m.R > 0], rtol=1e-12)


def test_from_a_nearby_solution_it_is_the_same_solution_in_fewer_steps() -> None:
    m = random_market(2)
    _, near = solve_from(m, tariff(m, 0.20).resolve(m), None)
    p = tariff(m, 0.21)
    warm, z = solve_from(m, p.resolve(m), near)
    cold, z_cold = solve_from(m, p.resolve(m), None)
    assert warm.converged and cold.converged
    assert warm.iterations < cold.iterations  # it did start from there
    assert_close(warm, cold, rtol=1e-10)
    np.testing.assert_allclose(z, z_cold, rtol=0, atol=1e-11)
    # a start of another length (another market's unknowns) is the baseline
    other, _ = solve_from(m, p.resolve(m), np.zeros(3))
    assert other.iterations == cold.iterations
    np.testing.assert_array_equal(other.pi, cold.pi)


def test_a_start_the_iteration_fails_from_is_retried_from_the_baseline() -> None:
    m = random_market(3)
    p = tariff(m, 0.3)
    cold, z = solve_from(m, p.resolve(m), None)
    # a start far outside the trust region: the first attempt stops at the iteration limit
    wild = np.full_like(z, 40.0)
    sol, _ = solve_from(m, p.resolve(m), wild, max_iter=3)
    ref, _ = solve_from(m, p.resolve(m), None, max_iter=3)
    assert sol.converged == ref.converged
    if sol.converged:
        assert_close(sol, cold, rtol=1e-9)


def leaky_groups() -> tuple[QuotaGroup, ...]:
    to_1 = np.array([False, True, False, False])
    route = GroupLeak(1, 0.3, 0.2, 0.0, ((2, 1.0),))
    return (QuotaGroup(0, to_1, 0.4, leaks=(route,)),)


@pytest.mark.parametrize(
    "policy",
    [
        Policy(quota_groups=(QuotaGroup(0, np.array([False, True, True, False]), 0.5),)),
        Policy(quota_groups=leaky_groups()),
    ],
    ids=["quota", "leaky quota"],
)
def test_quota_groups_solve_their_inner_systems_from_the_last_point(
    policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outer iteration starts each inner solve from the inner solution at its last
    accepted point, and gets the solution it gets from the baseline, in fewer steps."""
    m = market4()
    starts: list[bool] = []
    warm_from = solver_module.solve_inner

    def spy(*args: Any, **kwargs: Any) -> Any:
        starts.append(args[2] is not None)
        return warm_from(*args, **kwargs)

    monkeypatch.setattr(solver_module, "solve_inner", spy)
    warm = solve_groups(m, policy, tol=1e-12, max_iter=100)
    assert starts[0] is False and all(starts[1:]) and len(starts) > 2

    def cold_from(market: Market, rp: Any, start: Any, **kwargs: Any) -> Any:
        return warm_from(market, rp, None, **kwargs)

    monkeypatch.setattr(solver_module, "solve_inner", cold_from)
    cold = solve_groups(m, policy, tol=1e-12, max_iter=100)
    assert warm.converged and cold.converged  # type: ignore[attr-defined]
    assert warm.iterations < cold.iterations  # type: ignore[attr-defined]
    assert_close(warm, cold, rtol=1e-8, market_usd=float(m.V.sum()))
    np.testing.assert_allclose(warm.groups.e, cold.groups.e, rtol=1e-8, atol=1e-10)  # type: ignore[attr-defined]


def test_the_licensing_example_gives_the_same_results_in_fewer_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The gallium/germanium licensing example (the bundled data) solved with and without
    warm starts: the same results to 1e-9 relative, in fewer Newton steps."""
    from critmin.scenario import load_scenario
    from critmin.scenario.resolution import resolve

    example = REPO / "examples" / "controls" / "ga_ge_licensing_2023.toml"
    _, resolved = resolve(load_scenario(example))
    (rp,) = [r for r in resolved if r.policy.has_groups]
    warm = solve_groups(rp.market, rp.policy, tol=1e-12, max_iter=100)
    from_ = solver_module.solve_inner
    monkeypatch.setattr(
        solver_module,
        "solve_inner",
        lambda market, rp, start, **kw: from_(market, rp, None, **kw),
    )
    cold = solve_groups(rp.market, rp.policy, tol=1e-12, max_iter=100)
    assert warm.converged and cold.converged  # type: ignore[attr-defined]
    assert warm.iterations < cold.iterations  # type: ignore[attr-defined]
    assert_close(warm, cold, rtol=1e-9, market_usd=float(rp.market.V.sum()))


def test_an_inner_solve_is_solve_from_without_its_solution_object() -> None:
    """``solve_inner`` reads what the outer iteration needs (converged, steps, the pairs'
    quantities) off the same solve as ``solve_from``, and builds the same Solution."""
    m = random_market(3)
    rp = tariff(m, 0.3).resolve(m)
    inner, z = solve_inner(m, rp, None)
    sol, z_ref = solve_from(m, rp, None)
    np.testing.assert_array_equal(z, z_ref)
    assert inner.converged == sol.converged and inner.iterations == sol.iterations
    i, j, q = inner.pair_quantities()
    dense = np.zeros((m.n, m.n))
    dense[i, j] = q
    np.testing.assert_array_equal(dense, sol.q)
    built = inner.solution()
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(built, name), getattr(sol, name))
    limited, _ = solve_inner(m, rp, None, max_iter=1)  # the retries run; still no convergence
    assert (
        not limited.converged
        and limited.converged == solve_from(m, rp, None, max_iter=1)[0].converged
    )


def test_group_sums_from_the_pair_lists_equal_the_dense_sums_bit_for_bit() -> None:
    """``q[mask].sum()`` over the dense quantities, zeros included, and the same sums from
    the pair lists: equal bit for bit, also for banned pairs, an exporter under an export ban
    (its pairs are in no list) and many destinations (NumPy's pairwise sums group them by
    position)."""
    m = random_market(5, n=60)
    banned = np.zeros((m.n, m.n), dtype=bool)
    banned[0, 10:20] = True
    cap = np.full(m.n, np.inf)
    cap[2] = 0.0  # an export ban: the group's pairs are in no list, their q is 0
    rp = Policy(t1=m.t0 + 0.1, banned=banned, export_cap=cap).resolve(m)
    inner, _ = solve_inner(m, rp, None)
    sol = inner.solution()
    groups = [
        QuotaGroup(0, np.arange(m.n) >= 5, 0.5),
        QuotaGroup(1, np.arange(m.n) % 3 == 0, 0.5),
        QuotaGroup(2, np.ones(m.n, dtype=bool), 0.5),
    ]
    masks = [group_pairs(m, g, banned) for g in groups]
    sums = _PairSums(m.n, masks, np.array([3 * m.n + 7, 0 * m.n + 12], dtype=np.intp))
    X, routed = sums(*inner.pair_quantities())
    want = np.array([sol.q[mk].sum() for mk in masks])
    assert masks[2].sum() > 1 and want[2] == 0.0 and want[0] > 0.0
    assert X.tobytes() == want.tobytes()
    assert routed.tobytes() == np.array([sol.q[3, 7], sol.q[0, 12]]).tobytes()
    X_again, _ = sums(*inner.pair_quantities())  # the index is kept
    assert X_again.tobytes() == want.tobytes()
