"""critmin.model: the path around the Newton kernel (stacks filled in place, levels and
welfare in one compiled call, views in solutions) gives every market the numbers it gets
alone, bit for bit, whatever the batch, its buckets and the number of threads."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from _helpers import no_equilibrium_market

import critmin.model.solver as solver_module
from critmin.model import Market, Policy, Solution, solve, solve_batch
from critmin.model import threads as threads_module
from critmin.model.core import stack
from critmin.model.solver import LOG_RANGE, _newton, _welfare
from critmin.model.threads import levels_threaded
from critmin.model.welfare import assemble_welfare

FIELDS = (
    "pi",
    "e",
    "P",
    "D",
    "S",
    "pi_s",
    "exports",
    "baseline_exports",
    "dCS",
    "dPS",
    "tariff_revenue",
    "quota_rent",
    "subsidy_cost",
    "welfare",
    "unsupplied",
    "stranded",
    "x",
    "q",
    "b",
)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal shapes and bytes (NaN equal to NaN, -0.0 different from 0.0)."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def assert_same_solution(got: Solution, alone: Solution) -> None:
    assert (got.converged, got.iterations, got.max_residual, got.message) == (
        alone.converged,
        alone.iterations,
        alone.max_residual,
        alone.message,
    )
    for name in FIELDS:
        assert same_bits(getattr(got, name), getattr(alone, name)), name


def market(rng: np.random.Generator, n: int, *, eta: float = 0.6, fixed: bool = False) -> Market:
    V = rng.lognormal(size=(n, n)) * (rng.random((n, n)) < 0.5) * 1e3
    V[np.diag_indices(n)] += 500.0
    t0 = np.where(rng.random((n, n)) < 0.3, rng.uniform(0.0, 0.1, (n, n)), 0.0)
    eps = np.zeros(n) if fixed else rng.uniform(0.3, 1.5, n)
    return Market(V=V, t0=t0, sigma=float(rng.uniform(2.0, 6.0)), eta=eta, eps=eps)


def policy(rng: np.random.Generator, m: Market, k: int) -> Policy:
    """Tariffs everywhere; by turns bans, levy floors, export caps (0 included: an export
    ban), subsidy floors and demand and supply shifts."""
    n = m.n
    off = ~np.eye(n, dtype=bool)
    cap = np.full(n, np.inf)
    if k % 3 == 0:
        cap[0], cap[-1] = 0.7, 0.0
    return Policy(
        t1=m.t0 + np.where(off & (rng.random((n, n)) < 0.4), 0.25, 0.0),
        banned=off & (rng.random((n, n)) < 0.1) if k % 2 else None,
        levy_floor=np.where(off & (rng.random((n, n)) < 0.2), 1.1, 0.0) if k % 4 == 1 else None,
        subsidy_floor=np.where(rng.random(n) < 0.3, 1.05, 0.0) if k % 5 == 2 else None,
        export_cap=cap,
        demand_shift=np.full(n, 1.05) if k % 4 == 3 else None,
        supply_shift=np.r_[0.9, np.ones(n - 1)] if k % 6 == 5 else None,
    )


def test_one_market_in_one_compiled_call_equals_the_general_path_bit_for_bit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """solve() of one market runs its sizes, fill, Newton iteration and levels in one compiled
    call (kernels.market_solve) where nothing comes between the fill and the iteration; the
    solution equals the general path's (the stack built, then newton_batch and levels_batch
    called one by one) bit for bit: every instrument, a Fortran-ordered input, an iteration
    limit hit (the retries run after the call). Numeraires (eta = 0) and demand or supply
    shifts take the general path."""
    rng = np.random.default_rng(5)
    cases = []
    for k in range(12):
        m = market(rng, int(rng.integers(3, 40)))
        cases.append((m, policy(rng, m, k), 100))
    m = market(rng, 25)
    fortran = Market(V=np.asfortranarray(m.V), t0=m.t0, sigma=m.sigma, eta=m.eta, eps=m.eps)
    cases.append((fortran, policy(rng, m, 1), 100))
    numeraire = market(rng, 8, eta=0.0, fixed=True)
    cases.append((numeraire, policy(rng, numeraire, 0), 100))
    cases.append((m, policy(rng, m, 4), 1))  # one iteration: not converged, the retries run
    one_call = solver_module.market_solve
    calls: list[int] = []

    def spy(*args: Any) -> Any:
        calls.append(args[0].shape[0])
        return one_call(*args)

    monkeypatch.setattr(solver_module, "market_solve", spy)
    fused = [solve(m, p, max_iter=it) for m, p, it in cases]
    one = [solver_module._one_call(m, p.resolve(m)) for m, p, _ in cases]
    assert calls == [m.n for (m, _, _), o in zip(cases, one, strict=True) if o]
    assert 0 < sum(one) < len(one) and one[-1] and not one[-2]  # both paths ran
    assert not fused[-1].converged and fused[-1].iterations > 1  # the retries ran
    monkeypatch.setattr(solver_module, "_one_call", lambda market, policy: False)
    for (m, p, it), got in zip(cases, fused, strict=True):
        assert_same_solution(got, solve(m, p, max_iter=it))


@pytest.mark.parametrize("sizes", [[14] * 6, [3, 31, 7, 18, 3, 40, 11, 26]], ids=["equal", "mixed"])
def test_a_batch_equals_each_market_alone_bit_for_bit(
    sizes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Equal sizes (one bucket, no padding) and mixed sizes (padded buckets), on 1 and 2
    threads, in buckets or in one padded stack: every solution is the market's alone."""
    rng = np.random.default_rng(sum(sizes))
    markets = [market(rng, n) for n in sizes]
    markets[1] = market(rng, sizes[1], eta=0.0, fixed=True)  # a numeraire
    policies = [policy(rng, m, k) for k, m in enumerate(markets)]
    alone = [solve(m, p) for m, p in zip(markets, policies, strict=True)]
    # share out even these small batches (below the thresholds, they run on one thread)
    monkeypatch.setattr(threads_module, "MIN_SHARED_NS", 0.0)
    monkeypatch.setattr(threads_module, "MIN_SHARED_ENTRIES", 0)
    monkeypatch.setattr(threads_module, "MIN_SHARED_COUNT", 0)
    for group in (True, False):
        for threads in (1, 2):
            out = solve_batch(markets, policies, threads=threads, group_sizes=group)
            for got, own in zip(out, alone, strict=True):
                assert_same_solution(got, own)


def test_solutions_of_one_batch_are_independent() -> None:
    """A solution's arrays are views of the batch's results: each market's own rows, which
    no other solution shares."""
    rng = np.random.default_rng(3)
    markets = [market(rng, n) for n in (9, 9, 9)]
    out = solve_batch(markets, [policy(rng, m, 1) for m in markets], threads=1)
    before = [s.pi.copy() for s in out]
    out[0].pi[:] = -1.0
    assert np.array_equal(out[1].pi, before[1]) and np.array_equal(out[2].pi, before[2])
    for name in ("pi", "welfare", "stranded"):
        for a in out:
            for b in out:
                if a is not b:
                    assert not np.shares_memory(getattr(a, name), getattr(b, name)), name


def test_compiled_welfare_equals_assemble_welfare_and_warns_like_it() -> None:
    """The welfare terms of ``levels_batch`` are :func:`assemble_welfare`'s, bit for bit, also
    where prices overflow (inf, NaN); where a converged market's welfare is NaN, ``_welfare``
    computes them with NumPy again, which warns of the invalid operation as it always did."""
    rng = np.random.default_rng(5)
    markets = [market(rng, n) for n in (6, 9, 4)]
    m0 = markets[0]
    markets[0] = Market(V=m0.V, t0=m0.t0, sigma=m0.sigma, eta=m0.eta, eps=np.full(m0.n, 2.0))
    policies = [policy(rng, m, k).resolve(m) for k, m in enumerate(markets)]
    st = stack(markets, policies)
    state = _newton(st, 1e-12, 100)
    z = state.z.copy()
    z[0, 0] = 690.0  # pi = e^690, supply pi^2 overflows: subsidy cost (pi_s - pi) S = 0 * inf
    z[2, 1] = -50.0
    ev = evaluate_at(st, z)
    (lv,) = levels_threaded([st], [z], [ev.F], [ev.buf], LOG_RANGE, 1)
    with np.errstate(all="ignore"):
        ref = assemble_welfare(
            dCS=lv.dCS,
            dPS=lv.dPS,
            revenue=lv.revenue,
            baseline_revenue=st.rev0[:, : st.n],
            pi=lv.pi,
            e=lv.e,
            pi_s=lv.pi_s,
            S=lv.S,
            R=lv.R,
            exports=lv.exports,
        )
    for name in ("tariff_revenue", "quota_rent", "subsidy_cost", "welfare"):
        assert same_bits(getattr(lv, name), getattr(ref, name)), name
    assert np.isnan(lv.welfare[0]).any() and not np.isnan(lv.welfare[1:]).any()
    assert lv.invalid.tolist() == [True, False, False] and lv.representable.all()
    state.z, state.F, state.done[:] = z, ev.F, True
    with pytest.warns(RuntimeWarning, match="invalid value"):
        wf = _welfare(st, state, lv)
    assert same_bits(wf.welfare, ref.welfare)
    state.done[0] = False  # not converged: the same numbers, silently
    assert same_bits(_welfare(st, state, lv).welfare, ref.welfare)


def evaluate_at(st: object, z: np.ndarray) -> object:
    from critmin.model.core import evaluate

    with np.errstate(all="ignore"):
        return evaluate(st, z)  # type: ignore[arg-type]


def test_small_systems_run_on_one_blas_thread_and_the_count_is_restored() -> None:
    """``_blas`` sets every BLAS library to one thread for small systems (through
    OpenBLAS's own functions) and restores the count on exit; large systems are left alone."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from critmin.model.solver import SINGLE_THREAD_BELOW, _blas

    def counts() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    with threadpool_limits(limits=2, user_api="blas"):
        before = counts()
        with _blas(100):
            assert set(counts()) == {1}
        assert counts() == before
        with _blas(SINGLE_THREAD_BELOW):
            assert counts() == before


def test_solve_shared_equals_the_phased_path_bit_for_bit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On two threads each thread fills, solves and levels its markets with one hand-over
    (threads.solve_shared, each thread its own stacks; on one thread the same on the calling
    thread); the results equal the phased path (every fill, then every Newton iteration, then
    the levels) and each market alone, bit for bit, also for a market that goes through every
    retry and for one with a numeraire."""
    rng = np.random.default_rng(7)
    sizes = [5, 23, 9, 17, 4, 30, 12]
    markets = [market(rng, n) for n in sizes]
    markets[2] = market(rng, sizes[2], eta=0.0, fixed=True)  # a numeraire
    policies = [policy(rng, m, k) for k, m in enumerate(markets)]
    stuck, stuck_policy = no_equilibrium_market()
    markets.insert(3, stuck)
    policies.insert(3, stuck_policy)
    alone = [solve(m, p) for m, p in zip(markets, policies, strict=True)]
    assert not alone[3].converged  # the retries ran
    monkeypatch.setattr(threads_module, "MIN_SHARED_NS", 0.0)
    monkeypatch.setattr(threads_module, "MIN_SHARED_ENTRIES", 0)
    monkeypatch.setattr(threads_module, "MIN_SHARED_COUNT", 0)
    monkeypatch.setattr(threads_module, "MIN_CHUNK_NS", 0.0)  # several chunks: both threads work
    calls: list[int] = []
    shared = solver_module.solve_shared

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = shared(*args, **kwargs)
        calls.append(len(out))
        return out

    monkeypatch.setattr(solver_module, "solve_shared", spy)
    for group in (True, False):
        out = solve_batch(markets, policies, threads=2, group_sizes=group)
        for got, own in zip(out, alone, strict=True):
            assert_same_solution(got, own)
    assert len(calls) == 2 and min(calls) >= 2  # the shared path ran, a stack per chunk
    for threads in (1, 2):  # one thread: the same path on the calling thread
        out = solve_batch(markets, policies, threads=threads)
        for got, own in zip(out, alone, strict=True):
            assert_same_solution(got, own)
    assert len(calls) == 4
    # systems too large for one BLAS thread take the phased path
    monkeypatch.setattr(solver_module, "SINGLE_THREAD_BELOW", 0)
    phased = solve_batch(markets, policies, threads=2)
    for got, own in zip(phased, alone, strict=True):
        assert_same_solution(got, own)
    assert len(calls) == 4


def test_empty_evaluation_has_the_layout_of_alloc_eval() -> None:
    """The evaluation space allocated in Python (threads.empty_evaluation) has the shapes,
    types and flags of the compiled alloc_eval's, so the kernels take it as the same type."""
    from critmin.model.compiled import alloc_eval
    from critmin.model.threads import empty_evaluation

    ours, theirs = empty_evaluation(3, 17, 6, 4, 2), alloc_eval(3, 17, 6, 4, 2)
    assert type(ours) is type(theirs)
    for name, a, b in zip(type(ours)._fields, ours, theirs, strict=True):
        assert (a.shape, a.dtype, a.flags.c_contiguous, a.flags.writeable) == (
            b.shape,
            b.dtype,
            True,
            True,
        ), name


def test_a_batch_solution_views_its_rows_on_first_access() -> None:
    """A solution of a batch holds its stack's rows, not twenty views: each field is taken on
    first access (then the same object every time), equals the market solved alone, is
    frozen like any field, and survives dataclasses.replace, repr and pickling."""
    import dataclasses
    import pickle

    rng = np.random.default_rng(11)
    markets = [market(rng, n) for n in (8, 5, 11)]
    policies = [policy(rng, m, k) for k, m in enumerate(markets)]
    out = solve_batch(markets, policies, threads=1)
    sol = out[2]
    assert "pi" not in vars(sol) and "levels" not in vars(sol)
    assert sol.pi is sol.pi and "pi" in vars(sol)
    alone = solve(markets[2], policies[2])
    assert_same_solution(sol, alone)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sol.pi = alone.pi  # type: ignore[misc]
    again = dataclasses.replace(out[1], welfare=out[1].welfare * 2.0)
    assert same_bits(again.welfare, out[1].welfare * 2.0) and same_bits(again.x, out[1].x)
    assert "dCS=array" in repr(out[0])
    copied = pickle.loads(pickle.dumps(out[0]))
    assert "_source" not in vars(copied)
    assert_same_solution(copied, solve(markets[0], policies[0]))


def test_guided_chunks_take_every_market_once_largest_first_in_shrinking_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """threads.guided_chunks: every market in exactly one chunk, each chunk in the order of
    the members, chunks taken by decreasing cost, each (but the last) holding at least its
    share of the work left (CHUNK_SHARE / threads) and at least MIN_CHUNK_NS; no chunks for
    no markets, one chunk when the floor exceeds the whole."""
    from critmin.model.threads import CHUNK_SHARE, guided_chunks

    rng = np.random.default_rng(3)
    costs = list(rng.pareto(1.2, 40) * 1e5 + 3e4)
    members = list(rng.permutation(100)[:40])
    position = {k: i for i, k in enumerate(members)}
    for threads, floor in ((2, 0.0), (2, 5e5), (4, 2e5)):
        monkeypatch.setattr(threads_module, "MIN_CHUNK_NS", floor)
        chunks = guided_chunks(costs, members, threads)
        assert sorted(k for c in chunks for k in c) == sorted(members)
        for c in chunks:
            assert [position[k] for k in c] == sorted(position[k] for k in c)
        cost = [[costs[position[k]] for k in c] for c in chunks]
        for first, second in itertools.pairwise(cost):
            assert min(first) >= max(second)  # largest first
        left = sum(costs)
        for c in cost[:-1]:
            assert sum(c) >= max(CHUNK_SHARE / threads * left, floor) * (1 - 1e-12)
            assert sum(c) - min(c) < max(CHUNK_SHARE / threads * left, floor)  # no more
            left -= sum(c)
    assert guided_chunks([], [], 2) == []
    monkeypatch.setattr(threads_module, "MIN_CHUNK_NS", 1e12)
    assert guided_chunks(costs, members, 2) == [sorted(members, key=position.__getitem__)]


def test_an_error_in_one_chunk_stops_the_threads_taking_new_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When solving a chunk fails (an error, or Ctrl-C on the calling thread), the error
    reaches the caller and no thread starts another chunk: of twelve one-market chunks on
    two threads, at most the failing one and one already taken by the other thread run."""
    rng = np.random.default_rng(5)
    markets = [market(rng, n) for n in range(6, 18)]
    policies = [policy(rng, m, k) for k, m in enumerate(markets)]
    monkeypatch.setattr(threads_module, "MIN_SHARED_NS", 0.0)
    monkeypatch.setattr(threads_module, "MIN_CHUNK_NS", 0.0)
    monkeypatch.setattr(threads_module, "CHUNK_SHARE", 1e-9)  # a chunk per market
    started: list[int] = []
    real_space = threads_module._newton_space

    def failing_space(*shape: int) -> Any:
        started.append(1)
        if len(started) == 1:
            raise ValueError("chunk failed")
        return real_space(*shape)

    monkeypatch.setattr(threads_module, "_newton_space", failing_space)
    with pytest.raises(ValueError, match="chunk failed"):
        solve_batch(markets, policies, threads=2, group_sizes=False)
    assert 1 <= len(started) <= 3 < len(markets)


def test_a_thread_merges_its_buckets_while_the_padding_stays_small() -> None:
    """merge_parts joins consecutive parts while the padding pairs the join adds
    (``B x max L - sum L``) stay within MERGE_PAIRS, and keeps every market once, in order."""
    from critmin.model.threads import MERGE_PAIRS, merge_parts

    big = MERGE_PAIRS
    pairs = {0: 3 * big, 1: 3 * big, 2: big, 3: big // 2, 4: 10, 5: 12}
    # 0 and 1 are alike; 2 next to them would add 2 x 2 big of padding; 3, 4, 5 are small
    assert merge_parts([[0], [1], [2], [3], [4, 5]], pairs) == [[0, 1], [2, 3], [4, 5]]
    assert merge_parts([[4], [5]], pairs) == [[4, 5]]
    assert merge_parts([], pairs) == []
