"""The linked chain (critmin.model.chain): one stage is today's market, no change is no change,
mass balance at every stage, cost pass-through, rules of origin, the analytic Jacobian."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from critmin.model import Market, Policy, solve
from critmin.model.chain import ChainStage, chain_setup, origin_shares, reshift
from critmin.model.chain_kernels import _lu_factor, alloc_chain_eval, eval_chain, jacobian_chain
from critmin.model.chain_solver import solve_chain
from critmin.model.core import ModelInputError
from critmin.model.kernels import _LAPACK_INT, lu_factor_single


def random_market(rng: np.random.Generator, n: int, *, domestic: float = 80.0) -> Market:
    V = rng.random((n, n)) * (rng.random((n, n)) < 0.7) * 100.0
    V[np.diag_indices(n)] += domestic
    t0 = np.where(rng.random((n, n)) < 0.3, 0.05, 0.0)
    return Market(
        V=V,
        t0=t0,
        sigma=float(rng.uniform(2.0, 6.0)),
        eta=float(rng.uniform(0.2, 0.8)),
        eps=rng.uniform(0.3, 1.5, n),
    )


def zone_policy(rng: np.random.Generator, m: Market) -> Policy:
    n = m.n
    t1 = m.t0.copy()
    t1[0, 1:] += 0.3
    banned = np.zeros((n, n), dtype=bool)
    banned[n - 1, 1] = True
    cap = np.full(n, np.inf)
    cap[1] = 0.7
    sub = np.zeros(n)
    sub[2] = 1.05
    levy = np.where(rng.random((n, n)) < 0.2, 1.1, 0.0)
    return Policy(t1=t1, banned=banned, levy_floor=levy, subsidy_floor=sub, export_cap=cap)


def three_stages(rng: np.random.Generator, n: int = 5, *, policy: bool = True) -> list[ChainStage]:
    ms = [random_market(rng, n) for _ in range(3)]
    pols = [zone_policy(rng, m) if policy else None for m in ms]
    return [
        ChainStage(ms[0], pols[0], name="ore"),
        ChainStage(
            ms[1],
            pols[1],
            link="input",
            input_share=rng.uniform(0.2, 0.6, n),
            origin_share=rng.uniform(0.0, 1.0, n),
            alt_policy=Policy(t1=ms[1].t0 + 0.2) if policy else None,
            name="refined",
        ),
        ChainStage(
            ms[2], pols[2], link="input", input_share=rng.uniform(0.2, 0.5, n), name="product"
        ),
    ]


@pytest.mark.parametrize("seed", range(6))
def test_one_stage_chain_is_todays_market(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = random_market(rng, 6)
    p = zone_policy(rng, m)
    today = solve(m, p)
    chain = solve_chain([ChainStage(m, p)])
    assert chain.converged and today.converged
    st = chain.stages[0]
    for name in ("pi", "e", "P", "S", "pi_s", "D", "exports"):
        np.testing.assert_allclose(getattr(st, name), getattr(today, name), rtol=1e-12, atol=1e-12)
    scale = m.V.sum()  # welfare in USD: relative to the market's size
    for name in ("dCS", "dPS", "tariff_revenue", "quota_rent", "subsidy_cost", "welfare"):
        diff = np.abs(getattr(st, name) - getattr(today, name)).max()
        assert diff <= 1e-12 * scale, name
    np.testing.assert_allclose(st.q, today.q, rtol=1e-12, atol=1e-12 * scale)


def test_no_policy_is_exactly_no_change() -> None:
    stages = three_stages(np.random.default_rng(3), policy=False)
    sol = solve_chain(stages)
    assert sol.converged and sol.iterations == 0 and sol.max_residual == 0.0
    for st in sol.stages:
        assert (st.pi == 1.0).all() and (st.P == 1.0).all() and (st.S == 1.0).all()
        assert (st.welfare == 0.0).all()
        np.testing.assert_array_equal(st.q, st.V)


@pytest.mark.parametrize("seed", range(4))
def test_mass_balance_at_every_stage(seed: int) -> None:
    """Sales equal supply at every stage, and the composite each country buys (its CES
    quantity index, computed from the pair quantities) is its other use plus exactly
    input share x baseline sales x output of its next stage: input bought = coefficient x
    output."""
    stages = three_stages(np.random.default_rng(seed))
    sol = solve_chain(stages)
    assert sol.converged, sol.message
    cs = chain_setup(stages)
    for s, (stage, st) in enumerate(zip(stages, sol.stages, strict=True)):
        m = stage.market
        sales = st.q.sum(axis=1)
        prod = st.R > 0
        np.testing.assert_allclose(sales[prod], (st.R * st.S)[prod], rtol=1e-10)
        # CES quantity index from the pair quantities, over the varieties: each pair's
        # qualifying and non-qualifying shares
        w = m.V * (1.0 + m.t0)
        k = (m.sigma - 1.0) / m.sigma
        phi = (stage.origin_share if stage.alt_policy is not None else np.ones(m.n))[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            x_main = np.where(w * phi > 0, (st.q - st.q_nonqualifying) / (m.V * phi), 0.0)
            x_alt = np.where(w * (1 - phi) > 0, st.q_nonqualifying / (m.V * (1 - phi)), 0.0)
            s_ij = np.where(w > 0, w / st.E, 0.0)
        terms = s_ij * (phi * x_main**k + (1 - phi) * x_alt**k)
        composite = st.E * terms.sum(axis=0) ** (1.0 / k)
        delta = cs.arrays.delta[s]
        other = (1.0 - delta) * st.E * st.D_other
        buyers = st.E > 0
        np.testing.assert_allclose(composite[buyers], (other + st.input_bought)[buyers], rtol=1e-9)
        if s + 1 < len(stages):
            nxt = sol.stages[s + 1]
            expected = nxt.input_share * nxt.R * nxt.S
            np.testing.assert_allclose(st.input_bought, expected, rtol=1e-10, atol=1e-9)


def two_stage(
    rng: np.random.Generator, n: int, *, eps_refined: float
) -> tuple[Market, Market, np.ndarray]:
    ore = random_market(rng, n, domestic=150.0)
    ref = random_market(rng, n)
    ref = Market(V=ref.V, t0=ref.t0, sigma=ref.sigma, eta=ref.eta, eps=np.full(n, eps_refined))
    return ore, ref, rng.uniform(0.2, 0.5, n)


def test_ore_floor_raises_refiners_cost_and_refined_price() -> None:
    rng = np.random.default_rng(11)
    n = 6
    ore, ref, a = two_stage(rng, n, eps_refined=1.0)
    members = np.zeros(n, dtype=bool)
    members[:3] = True
    levy = np.where(~members[:, None] & members[None, :], 1.3, 0.0)
    stages = [
        ChainStage(ore, Policy(levy_floor=levy)),
        ChainStage(ref, None, link="input", input_share=a),
    ]
    sol = solve_chain(stages)
    assert sol.converged
    o, r = sol.stages
    # zone ore buyers pay more; zone refiners' unit cost (a P_ore) and refined prices rise
    assert (o.P[members] > 1.0).all()
    unit_cost = r.input_share * o.P + (1.0 - r.input_share) * r.w
    assert (r.input_share[members] * o.P[members] > r.input_share[members]).all()
    assert (r.pi[members] > 1.0).all()
    np.testing.assert_allclose(r.pi_s[r.R > 0], unit_cost[r.R > 0], rtol=1e-12)  # zero profit


def test_refined_price_moves_by_cost_share_times_ore_price() -> None:
    """With value added in elastic supply, a small ore tariff moves each refiner's price by
    its ore cost share times its ore composite's price change (to first order)."""
    rng = np.random.default_rng(5)
    n = 5
    ore, ref, a = two_stage(rng, n, eps_refined=1e3)
    t1 = ore.t0 + np.where(~np.eye(n, dtype=bool), 0.05, 0.0)
    sol = solve_chain(
        [ChainStage(ore, Policy(t1=t1)), ChainStage(ref, None, link="input", input_share=a)]
    )
    assert sol.converged
    o, r = sol.stages
    dP = o.P - 1.0
    dpi = r.pi - 1.0
    share = r.input_share
    assert np.abs(dP).max() > 1e-3
    np.testing.assert_allclose(dpi, share * dP, atol=2e-3 * np.abs(dP).max())


def test_rules_of_origin_threshold_zero_and_impossible() -> None:
    stages = three_stages(np.random.default_rng(7))
    members = np.array([True, True, False, True, False])
    every = origin_shares(stages, members, "rvc", 0.0)
    none = origin_shares(stages, members, "rvc", 1.01)
    for s in range(3):
        np.testing.assert_array_equal(every[s], members.astype(float))
    for s in (1, 2):
        assert (none[s] == 0.0).all()
    mi = origin_shares(stages, members, "member_inputs")
    assert ((mi[1] > 0) & (mi[1] < 1)).any() and (mi[1][~members] == 0).all()


def test_rule_that_everyone_meets_changes_nothing() -> None:
    """With threshold 0 every member qualifies: the alternative policy never applies."""
    rng = np.random.default_rng(8)
    stages = three_stages(rng)
    members = np.array([True, True, False, True, False])
    phi = origin_shares(stages, members, "rvc", 0.0)
    plain = [ChainStage(s.market, s.policy, s.link, s.input_share, name=s.name) for s in stages]
    with_rule = [
        ChainStage(
            s.market,
            s.policy,
            s.link,
            s.input_share,
            origin_share=np.where(members, phi[k], 1.0),
            alt_policy=Policy(t1=s.market.t0 + 0.5),
            name=s.name,
        )
        for k, s in enumerate(stages)
    ]
    a, b = solve_chain(plain), solve_chain(with_rule)
    for x, y in zip(a.stages, b.stages, strict=True):
        np.testing.assert_allclose(x.pi, y.pi, rtol=1e-12)


def test_impossible_rule_taxes_member_output_like_outside_supply() -> None:
    """No member output qualifies: a tariff on non-member supply then reaches members' sales to
    other members too: trade among members falls and zone buyers pay more."""
    rng = np.random.default_rng(9)
    n = 5
    ore, ref, a = two_stage(rng, n, eps_refined=1.0)
    members = np.array([True, True, True, False, False])
    nm = ~members[:, None] & members[None, :] & ~np.eye(n, dtype=bool)
    all_to_m = members[None, :] & ~np.eye(n, dtype=bool)
    main = Policy(t1=np.where(nm, 0.3, 0.0))
    alt = Policy(t1=np.where(all_to_m, 0.3, 0.0))
    phi = origin_shares(
        [ChainStage(ore), ChainStage(ref, link="input", input_share=a)], members, "rvc", 2.0
    )
    free = solve_chain([ChainStage(ore), ChainStage(ref, main, link="input", input_share=a)])
    ruled = solve_chain(
        [
            ChainStage(ore),
            ChainStage(
                ref,
                main,
                link="input",
                input_share=a,
                origin_share=np.where(members, phi[1], 1.0),
                alt_policy=alt,
            ),
        ]
    )
    assert free.converged and ruled.converged
    assert (ruled.stages[1].q_nonqualifying[members].sum() > 0) and (phi[1][members] == 0).all()
    mm = members[:, None] & members[None, :] & ~np.eye(n, dtype=bool)
    assert ruled.stages[1].q[mm].sum() < free.stages[1].q[mm].sum()
    zone_e = ruled.stages[1].E * members
    assert (zone_e * ruled.stages[1].P).sum() > (zone_e * free.stages[1].P).sum()


def test_byproduct_follows_its_host() -> None:
    """A host output shock moves by-product supply one for one at unchanged prices, and a
    by-product buys nothing from its host."""
    rng = np.random.default_rng(4)
    n = 5
    host = random_market(rng, n)
    byp = random_market(rng, n)
    byp = Market(V=byp.V, t0=byp.t0, sigma=byp.sigma, eta=byp.eta, eps=np.zeros(n))
    shock = np.ones(n)
    shock[0] = 0.5
    sol = solve_chain([ChainStage(host, supply_shift=shock), ChainStage(byp, link="byproduct")])
    assert sol.converged
    h, b = sol.stages
    np.testing.assert_allclose(b.S, np.where(b.R > 0, h.S, 0.0), rtol=1e-12)
    assert (h.input_bought == 0).all() and b.S[0] < 0.8


def test_a_byproduct_producer_without_host_output_is_named() -> None:
    """A by-product producer whose country has no host output follows its own price only
    (nothing to follow): the notes name it and its share of the stage's sales (36% of the
    zone's gallium sales in the bundled gallium chain were so, and nothing said it)."""
    rng = np.random.default_rng(4)
    n = 4
    host = random_market(rng, n)
    V = host.V.copy()
    V[2, :] = 0.0  # CCC has no host output
    host = Market(V=V, t0=host.t0, sigma=host.sigma, eta=host.eta, eps=host.eps)
    host = replace(host, countries=("AAA", "BBB", "CCC", "DDD"))
    byp = replace(random_market(rng, n), countries=("AAA", "BBB", "CCC", "DDD"), eps=np.zeros(n))
    shock = np.full(n, 0.5)
    sol = solve_chain(
        [ChainStage(host, supply_shift=shock, name="alumina"), ChainStage(byp, link="byproduct")]
    )
    assert sol.converged
    said = [note for note in sol.notes if "without baseline output of their host" in note]
    share = byp.V[2].sum() / byp.V.sum()
    assert len(said) == 1 and "first: CCC (" in said[0] and f"({share:.0%} of" in said[0], sol.notes
    h, b = sol.stages
    np.testing.assert_allclose(b.S[[0, 1, 3]], h.S[[0, 1, 3]], rtol=1e-12)
    assert b.S[2] == 1.0  # the host's shock does not reach it (eps = 0: its price neither)


@pytest.mark.parametrize("demand_shift", [False, True])
def test_analytic_jacobian_matches_finite_differences(demand_shift: bool) -> None:
    """With and without a demand shift ``H`` on every stage's other use."""
    rng = np.random.default_rng(2)
    stages = three_stages(rng)
    stages.append(
        ChainStage(
            random_market(rng, 5),
            link="byproduct",
            supply_shift=np.array([1.0, 1.2, 1.0, 1.0, 0.8]),
            name="byproduct",
        )
    )
    if demand_shift:
        stages = [replace(st, demand_shift=rng.uniform(0.7, 1.4, 5)) for st in stages]
    cs = chain_setup(stages)
    a = cs.arrays
    N = a.zslot.shape[0]
    dims = (a.pV.shape[0], len(stages), 5, a.R.shape[0], N)
    z = rng.normal(0.0, 0.1, N)
    ev = alloc_chain_eval(*dims)
    eval_chain(a, z, ev)
    J = jacobian_chain(a, z, ev)
    fd = np.zeros((N, N))
    h = 1e-7
    for k in range(N):
        up, dn = alloc_chain_eval(*dims), alloc_chain_eval(*dims)
        zp, zm = z.copy(), z.copy()
        zp[k] += h
        zm[k] -= h
        eval_chain(a, zp, up)
        eval_chain(a, zm, dn)
        fd[:, k] = (np.asarray(up.F) - np.asarray(dn.F)) / (2 * h)
    np.testing.assert_allclose(J, fd, atol=1e-6)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("stage", [0, 1, 2])
def test_a_tariff_in_an_undistorted_chain_lowers_world_welfare(seed: int, stage: int) -> None:
    """Welfare adds up across stages without double counting: starting from free trade, a
    tariff at any stage costs the world (a deadweight loss, smaller than the revenue the
    taxing buyers collect)."""
    rng = np.random.default_rng(seed)
    free = []
    for k, st in enumerate(three_stages(rng, policy=False)):
        m = st.market
        free.append(
            ChainStage(
                Market(V=m.V, t0=np.zeros_like(m.t0), sigma=m.sigma, eta=m.eta, eps=m.eps),
                link=st.link,
                input_share=st.input_share,
                name=str(k),
            )
        )
    n = free[0].market.n
    t1 = np.where(~np.eye(n, dtype=bool), 0.2, 0.0)
    taxed = list(free)
    taxed[stage] = ChainStage(
        free[stage].market,
        Policy(t1=t1),
        link=free[stage].link,
        input_share=free[stage].input_share,
    )
    sol = solve_chain(taxed)
    assert sol.converged
    world = float(sol.welfare.sum())
    assert world < 0
    assert sol.stages[stage].tariff_revenue.sum() > 0
    assert -world < sol.stages[stage].tariff_revenue.sum()


def test_input_bought_by_the_next_stage_is_not_consumer_surplus() -> None:
    """Where a stage's whole purchases are the next stage's input (no other use), its buyers'
    price changes are borne by the next stage's producers (their value added): no consumer
    surplus at the input stage, whatever the policy."""
    rng = np.random.default_rng(21)
    n = 5
    ore = random_market(rng, n)
    ref = random_market(rng, n)
    E0 = (ore.V * (1.0 + ore.t0)).sum(axis=0)
    scale = 2.0 * float((E0 / ref.R).max())
    ref = Market(V=ref.V * scale, t0=ref.t0, sigma=ref.sigma, eta=ref.eta, eps=ref.eps)
    share = E0 / ref.R  # every unit the ore buyers purchase is refiners' input
    t1 = ore.t0 + np.where(~np.eye(n, dtype=bool), 0.3, 0.0)
    sol = solve_chain(
        [ChainStage(ore, Policy(t1=t1)), ChainStage(ref, None, link="input", input_share=share)]
    )
    assert sol.converged
    o, r = sol.stages
    assert np.abs(o.P - 1.0).max() > 1e-3  # the tariff moved ore prices
    np.testing.assert_allclose(o.dCS, 0.0, atol=1e-9 * E0.max())
    assert (r.dPS[r.R > 0] != 0).all()


# ----------------------------------------------------------------- the demand shift H


@pytest.mark.parametrize("seed", range(3))
def test_a_shift_of_one_changes_nothing(seed: int) -> None:
    rng = np.random.default_rng(seed)
    stages = three_stages(rng)
    ones = [replace(st, demand_shift=np.ones(st.market.n)) for st in stages]
    a, b = solve_chain(stages), solve_chain(ones)
    for x, y in zip(a.stages, b.stages, strict=True):
        for key in ("pi", "P", "D", "S", "q", "dCS", "welfare"):
            np.testing.assert_array_equal(getattr(x, key), getattr(y, key))


def test_no_change_with_a_shift_grows_demand_and_prices() -> None:
    rng = np.random.default_rng(3)
    m = random_market(rng, 4)
    base = solve_chain([ChainStage(m)])
    grown = solve_chain([ChainStage(m, demand_shift=np.full(4, 1.2))])
    assert base.converged and grown.converged
    np.testing.assert_array_equal(base.stages[0].pi, 1.0)
    assert (grown.stages[0].pi[grown.stages[0].R > 0] > 1.0).all()
    # market clearing in levels: sales = supply, and buyers' demand = H P^-eta
    st = grown.stages[0]
    np.testing.assert_allclose(st.D, 1.2 * st.P ** (-m.eta), rtol=1e-12)
    np.testing.assert_allclose(st.q.sum(axis=1)[st.R > 0], (st.S * st.R)[st.R > 0], rtol=1e-10)


def test_a_uniform_shift_with_equal_supply_shift_scales_quantities() -> None:
    """``H = A = k`` everywhere (no input link): prices unchanged, quantities times ``k``."""
    rng = np.random.default_rng(4)
    m = random_market(rng, 5)
    sol = solve_chain([ChainStage(m, demand_shift=np.full(5, 1.5), supply_shift=np.full(5, 1.5))])
    assert sol.converged
    st = sol.stages[0]
    np.testing.assert_allclose(st.pi[st.R > 0], 1.0, rtol=1e-10)
    np.testing.assert_allclose(st.q, 1.5 * m.V, rtol=1e-10)


def test_a_bad_shift_is_rejected() -> None:
    m = random_market(np.random.default_rng(0), 3)
    with pytest.raises(ModelInputError, match="demand_shift"):
        ChainStage(m, demand_shift=np.array([1.0, 0.0, 1.0]))


def test_reshift_equals_a_fresh_setup_bit_for_bit() -> None:
    rng = np.random.default_rng(9)
    stages = three_stages(rng)
    cs = chain_setup(stages)
    moved = [
        st.with_shifts(rng.uniform(0.6, 1.5, st.market.n), rng.uniform(0.6, 1.5, st.market.n))
        for st in stages
    ]
    a = solve_chain(moved)
    b = solve_chain(moved, setup=reshift(cs, moved))
    assert a.converged
    for x, y in zip(a.stages, b.stages, strict=True):
        for key in ("pi", "P", "D", "S", "q", "dCS", "dPS", "welfare"):
            np.testing.assert_array_equal(getattr(x, key), getattr(y, key))
    with pytest.raises(ModelInputError, match="demand_shift"):
        stages[0].with_shifts(np.ones(5), np.zeros(5))


@pytest.mark.parametrize("floor, named", [(1.3, False), (8.0, True)])
def test_a_chain_that_does_not_converge_names_floors_far_above_the_price(
    floor: float, named: bool
) -> None:
    """Stopped after one step (so that it does not converge), a chain says when its floors are
    at least five times the baseline price, naming the stage and the highest ratio."""
    rng = np.random.default_rng(11)
    n = 6
    ore, ref, a = two_stage(rng, n, eps_refined=1.0)
    members = np.zeros(n, dtype=bool)
    members[:3] = True
    levy = np.where(~members[:, None] & members[None, :], floor, 0.0)
    stages = [
        ChainStage(ore, Policy(levy_floor=levy), name="ore"),
        ChainStage(ref, None, link="input", input_share=a, name="refined"),
    ]
    sol = solve_chain(stages, max_iter=1)
    assert not sol.converged
    top = float((levy / (1.0 + ore.t0)).max())
    note = f"possible cause: floors far above the baseline price (ore up to {top:,.0f} times)"
    assert (note in sol.message) is named, sol.message
    assert solve_chain(stages).converged  # with its steps it does


def test_a_factorisation_with_a_zero_pivot_is_refused() -> None:
    """A Newton matrix of a cobalt chain path's yearly solve (USD 50,000/t on cobalt oxides,
    full Newton steps): one of its rows is zero, and OpenBLAS's ``dgetrf`` reported success
    (``info = 0``) with a zero pivot, which the triangular solve divided by (a
    ZeroDivisionError out of ``critmin paths``). Both solvers' factorisations refuse it, so
    the step falls back to least squares."""
    J = np.load(Path(__file__).parents[1] / "fixtures" / "matrices" / "chain_jacobian_zero_row.npy")
    N = J.shape[0]
    assert (J[46] == 0.0).all()
    ipiv = np.empty(N, dtype=_LAPACK_INT)
    assert not _lu_factor(J, np.empty((N, N)).T, ipiv)
    assert not lu_factor_single(J, np.empty((N, N), dtype=np.float32).T, ipiv)
