"""The compiled evaluation of the equations, bit for bit against plain NumPy.

:func:`critmin.model.kernels.vexp` and :func:`critmin.model.kernels.eval_one` are tuned for
speed (fused loops, wide vectors); their results must not move by a single bit, because the
AOT build is compared with the JIT exactly (and the golden examples within rounding only,
``test_golden.py``). The references below are written
independently, with NumPy arrays and ``math`` on scalars, in the order of operations that
``DESIGN.md`` ("The trade model") and the kernels' docstrings give:

- ``ref_exp``: the degree-13 Taylor polynomial after a Cody-Waite reduction, ``2^k`` from the
  bits of ``x log2(e) + 1.5 * 2^52``, with the range handling of the docstring (the exp of
  the kernels since it was introduced).
- ``ref_evaluate``: the pair, buyer and slot terms of one market of a stack, every sum in pair
  order (``numpy.add.at`` adds unbuffered, in index order: the kernels' sequential sums).

Both are compared with ``==`` on the bit patterns (NaN included), never with a tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from critmin.model import Market, Policy
from critmin.model import kernels as K
from critmin.model.core import evaluate, stack
from critmin.model.kernels import EXP_CLIP, vexp

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
ROUND = 6755399441055744.0  # 1.5 * 2^52
ROUND_BITS = 0x4338000000000000
TAYLOR = [1.0 / math.factorial(k) for k in range(13, -1, -1)]  # 1/13!, ..., 1/1!, 1/0!


def ref_exp(x: np.ndarray) -> np.ndarray:
    """``exp`` as the kernels compute it, element-wise NumPy (each operation rounded once)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        xc = np.where(np.isnan(x), -746.0, np.minimum(np.maximum(x, -746.0), 710.0))
        t = xc * LOG2E + ROUND
        k = t - ROUND
        r = (xc - k * LN2_HI) - k * LN2_LO
        p = np.full_like(x, TAYLOR[0])
        for c in TAYLOR[1:]:
            p = p * r + c
        shift = np.where(x < -700.0, 600, np.where(x > 700.0, -600, 0)).astype(np.int64)
        scale = ((t.view(np.int64) - ROUND_BITS + 1023 + shift) << 52).view(np.float64)
        v = p * scale
        v = np.where(x < -700.0, v * 2.0**-600, np.where(x > 700.0, v * 2.0**600, v))
        v = np.where(x > 709.78, np.inf, v)
        return np.where(np.isnan(x), x, np.where(x >= -746.0, v, 0.0))


def clog(x: float) -> float:
    """``math.log`` as compiled code computes it: ``-inf`` at 0, NaN below and at NaN."""
    if x > 0.0:
        return math.log(x)
    return -math.inf if x == 0.0 else math.nan


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype == np.bool_:
        return bool(np.array_equal(a, b))
    return bool(np.array_equal(a.view(np.int64), b.view(np.int64)))


def exp_inputs() -> np.ndarray:
    rng = np.random.default_rng(11)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 5e-324, -5e-324, 1e-300, 1e308, -1e308]
    ranges = [-746.0, -745.2, -745.1, -708.4, -708.39, -700.0, 700.0, 709.78, 709.79, 710.0]
    edges = np.array([*special, *ranges])
    near = np.array([-746.0, -745.13, -708.4, -700.0, 0.0, 700.0, 709.78, 710.0])
    steps = np.arange(-40, 41)
    around = np.concatenate([[np.nextafter(c, np.inf * s) for s in steps if s] for c in near])
    return np.concatenate(
        [
            edges,
            around,
            (near[:, None] + np.linspace(-1e-6, 1e-6, 501)[None, :]).ravel(),
            rng.uniform(-800.0, 800.0, 300_000),
            rng.uniform(-1.0, 1.0, 100_000),
            rng.normal(0.0, 5.0, 100_000),
            rng.uniform(-40.0, 0.0, 100_000),
            -np.abs(rng.normal(0.0, 1e-12, 10_000)),
        ]
    )


def test_vexp_is_bit_identical_to_the_plain_polynomial() -> None:
    x = exp_inputs()
    for n in (len(x), 1, 7, 33):  # vector loop, remainder loops
        out = np.full(len(x), -1.0)
        vexp(x, out, n)
        assert same_bits(out[:n], ref_exp(x[:n]))
        assert (out[n:] == -1.0).all()


def test_reference_exp_is_the_exp() -> None:
    """The reference itself is an ``exp`` (within 1 ulp of NumPy's), so it is worth matching."""
    x = np.random.default_rng(5).uniform(-745.0, 709.78, 100_001)
    ref = np.exp(x)
    ulp = np.abs(ref_exp(x) - ref) / np.spacing(np.maximum(ref, np.finfo(float).tiny))
    assert ulp.max() <= 1.0


# --------------------------------------------------------------------------------------------
# the equations of one market


def ref_evaluate(a: object, b: int, z: np.ndarray) -> dict[str, np.ndarray]:
    """Market ``b`` of the stack arrays ``a`` evaluated at ``z = [u, nu]`` (see
    :func:`critmin.model.kernels.eval_one` for the formulas)."""
    A: dict[str, np.ndarray] = {
        f: np.asarray(getattr(a, f))[b]
        for f in a._fields
        if f != "any_floor"  # type: ignore[attr-defined]
    }
    L = int(A["nvalid"])
    n1 = A["W"].shape[0]
    ns = A["R"].shape[0]
    nq = A["qslot"].shape[0]
    sig = float(A["sigma"])
    eta = float(A["eta"])
    ps, pj = A["ps"][:L], A["pj"][:L]
    poff, pdlt, plnFc = A["poff"][:L], A["pdlt"][:L], A["plnFc"][:L]
    nu = np.zeros(ns + 1)
    for k in range(nq):
        if A["qmask"][k]:
            nu[A["qslot"][k]] = z[ns + k]
    lnc_hat = (z[ps] + nu[ps] * poff) + pdlt
    K = lnc_hat >= plnFc
    lnc = np.where(K, lnc_hat, plnFc)
    m = np.full(n1, np.inf)
    np.minimum.at(m, pj, lnc)
    m[~A["supplied"]] = 0.0
    one_m = 1.0 - sig
    theta = A["pw"][:L] * ref_exp(one_m * (lnc - m[pj]))
    T = np.zeros(n1)
    np.add.at(T, pj, theta)
    lnP = np.zeros(n1)
    for j in range(n1):
        if A["supplied"][j]:
            lnP[j] = m[j] + clog(T[j] / A["W"][j]) / one_m
        else:
            T[j] = 1.0
    theta = theta / T[pj]
    lp = lnP[pj]
    w = np.minimum(-eta * lp + sig * (lp - lnc) + A["lna"][pj], EXP_CLIP)
    q = A["pV"][:L] * ref_exp(w)
    Q = np.zeros(ns + 1)
    X = np.zeros(ns + 1)
    np.add.at(Q, ps, q)
    np.add.at(X, ps, q * poff)
    S, dS, f_check, F, h = np.zeros(ns), np.zeros(ns), np.zeros(ns), np.zeros(ns + nq), np.zeros(nq)
    for s in range(ns):
        u, g, eps = z[s], A["lnG"][s], A["eps"][s]
        lnS = eps * max(u, g) + A["lnk"][s]
        S[s] = math.exp(min(lnS, EXP_CLIP))
        dS[s] = eps if u >= g else 0.0
        if A["check"][s]:
            f_check[s] = math.log(max(Q[s] / A["R"][s], 1e-300)) - lnS
            F[s] = f_check[s] if A["uact"][s] else 0.0
    for k in range(nq):
        qs = A["qslot"][k]
        x0 = A["X0"][qs] if qs < ns else 1.0
        x0 = x0 if x0 > 0.0 else 1.0
        h[k] = 1.0 - (X[qs] / x0) * math.exp(-A["lncap"][k])
        zk = z[ns + k]
        F[ns + k] = (zk if zk < h[k] else h[k]) if A["qmask"][k] else 0.0
    pad = A["ps"].shape[0] - L
    return {
        "lnc_hat": np.concatenate([lnc_hat, np.zeros(pad)]),
        "K": np.concatenate([K, np.zeros(pad, dtype=np.bool_)]),
        "theta": np.concatenate([theta, np.zeros(pad)]),
        "q": np.concatenate([q, np.zeros(pad)]),
        "lnP": lnP,
        "Q": Q,
        "X": X,
        "nu": nu,
        "f_check": f_check,
        "F": F,
        "S": S,
        "dS": dS,
        "h": h,
    }


def zone_market(
    seed: int, n: int, *, floors: bool, quotas: bool, ban: bool
) -> tuple[Market, Policy]:
    """A random market with a preferential zone: tariffs on outsiders, optionally levy and
    subsidy floors, export caps and a ban of the largest outside producer."""
    rng = np.random.default_rng(seed)
    V = rng.lognormal(0.0, 1.5, (n, n)) * (rng.random((n, n)) < 0.6) * 1e6
    t0 = np.where(rng.random((n, n)) < 0.5, rng.uniform(0.0, 0.3, (n, n)), 0.0)
    eps = np.where(rng.random(n) < 0.2, 0.0, rng.uniform(0.05, 3.0, n))
    m = Market(
        V=V, t0=t0, sigma=float(rng.uniform(1.5, 8.0)), eta=float(rng.uniform(0.1, 1.5)), eps=eps
    )
    members = rng.random(n) < 0.3
    outside_in = ~members[:, None] & members[None, :]
    banned = np.zeros((n, n), dtype=bool)
    if ban:
        banned[int(np.argmax(np.where(members, -1.0, V.sum(axis=1))))] = members
    cap = np.full(n, np.inf)
    if quotas:
        cap[rng.choice(n, size=3, replace=False)] = rng.uniform(0.5, 0.9, 3)
    p = Policy(
        t1=np.where(outside_in, t0 + 0.25, t0),
        banned=banned,
        levy_floor=np.where(outside_in, 1.15, 0.0) if floors else None,
        subsidy_floor=np.where(members, 1.05, 0.0) if floors else None,
        export_cap=cap,
    )
    return m, p


CASES = [
    dict(floors=False, quotas=False, ban=False),
    dict(floors=True, quotas=False, ban=True),
    dict(floors=False, quotas=True, ban=False),
    dict(floors=True, quotas=True, ban=True),
]


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: "-".join(k for k, v in c.items() if v) or "plain"
)
def test_eval_one_is_bit_identical_to_plain_numpy(case: dict[str, bool]) -> None:
    """Single markets and a padded stack of three (padding pairs, buyers, slots, quotas), at
    the baseline, near it, far from it and with quotas released or binding."""
    markets, policies = zip(
        *(zone_market(seed, n, **case) for seed, n in ((1, 23), (2, 9), (3, 40))), strict=True
    )
    resolved = [p.resolve(m) for m, p in zip(markets, policies, strict=True)]
    stacks = [stack([m], [rp]) for m, rp in zip(markets, resolved, strict=True)]
    stacks.append(stack(list(markets), resolved))
    rng = np.random.default_rng(7)
    checked = 0
    for st in stacks:
        for scale in (0.0, 0.01, 0.3, 5.0, 400.0):
            z = rng.normal(0.0, scale, (st.B, st.N)) if scale else np.zeros((st.B, st.N))
            z[:, st.ns :] = np.abs(z[:, st.ns :])  # quota prices are >= 0
            buf = st.new_evaluation()
            for b in range(st.B):
                K.eval_one(st.arrays, b, z[b], K.row(buf, b))
                with np.errstate(all="ignore"):  # far from the baseline: inf, 0
                    ref = ref_evaluate(st.arrays, b, z[b])
                for field, want in ref.items():
                    got = np.asarray(getattr(buf, field))[b]
                    assert same_bits(got, want), (case, st.B, b, scale, field)
                checked += 1
    assert checked == 2 * 3 * 5  # three markets alone and stacked, five points each


FACTORED_FIELDS = ("theta", "q", "lnP", "Q", "X", "F", "f_check", "h", "S", "dS")


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: "-".join(k for k, v in c.items() if v) or "plain"
)
def test_factored_evaluation_equals_eval_one_to_rounding(case: dict[str, bool]) -> None:
    """The evaluation the Newton iteration uses (kernels.eval_factored: exponentials split
    per pair, slot and buyer) against eval_one: log prices, floors and the quota terms bit
    for bit, quantities and shares within a few ulps (relative 1e-13; residuals, which are
    differences of logs, 1e-12 absolute), alone and in a padded stack; the same numbers
    alone and stacked; the baseline exactly; far from the baseline (``|z| ~ 400``) it steps
    aside and eval_one's numbers come out."""
    markets, policies = zip(
        *(zone_market(seed, n, **case) for seed, n in ((1, 23), (2, 9), (3, 40))), strict=True
    )
    resolved = [p.resolve(m) for m, p in zip(markets, policies, strict=True)]
    stacks = [stack([m], [rp]) for m, rp in zip(markets, resolved, strict=True)]
    stacked = stack(list(markets), resolved)
    rng = np.random.default_rng(11)
    used = fell_back = 0
    for scale in (0.0, 0.01, 0.3, 2.0, 400.0):
        z_all = (
            rng.normal(0.0, scale, (stacked.B, stacked.N))
            if scale
            else np.zeros((stacked.B, stacked.N))
        )
        z_all[:, stacked.ns :] = np.abs(z_all[:, stacked.ns :])
        padded = evaluate(stacked, z_all)
        for b, st in enumerate(stacks):
            z = np.zeros(st.N)
            z[: st.ns] = z_all[b, : st.ns]
            z[st.ns :] = z_all[b, stacked.ns : stacked.ns + st.N - st.ns]
            direct = st.new_evaluation()
            K.eval_one(st.arrays, 0, z, K.row(direct, 0))
            fast = st.new_evaluation()
            took = K.eval_factored(st.arrays, 0, z, K.row(fast, 0), K.pair_factors(st.arrays, 0))
            used += took
            if not took:
                fell_back += 1
                assert scale == 400.0
                continue
            L = int(st.nvalid[0])
            # (e.lnc is written only with floors or quotas; otherwise it is lnc_hat)
            same = ("lnc_hat", "K", "nu") + (("lnc",) if case["floors"] or case["quotas"] else ())
            for field in same:
                assert same_bits(getattr(fast, field)[0][:L], getattr(direct, field)[0][:L]), field
            for field in FACTORED_FIELDS:
                got = np.asarray(getattr(fast, field)[0], dtype=float)
                want = np.asarray(getattr(direct, field)[0], dtype=float)
                if field in ("F", "f_check", "lnP", "h"):
                    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=field)
                else:
                    np.testing.assert_allclose(got, want, rtol=1e-13, atol=0, err_msg=field)
            # the padded stack (evaluate: the Newton iteration's evaluation) gives the
            # market's own numbers bit for bit
            for field in ("theta", "q", "lnP"):
                n_own = np.asarray(getattr(fast, field)[0]).shape[0]
                own = np.asarray(getattr(padded.buf, field)[b])[
                    : min(n_own, L) if field != "lnP" else st.n
                ]
                assert same_bits(own, np.asarray(getattr(fast, field)[0])[: own.shape[0]]), field
    assert used >= 3 * 4 and fell_back >= 1
    for m in markets:  # no policy: the baseline clears exactly, as with eval_one
        st = stack([m], [Policy().resolve(m)])
        fast = st.new_evaluation()
        assert K.eval_factored(
            st.arrays, 0, np.zeros(st.N), K.row(fast, 0), K.pair_factors(st.arrays, 0)
        )
        assert not np.any(np.asarray(fast.F)), "the baseline must clear exactly"


RESIDUAL_FIELDS = ("F", "f_check", "h", "S", "dS", "Q", "X", "lnP", "T", "nu")
PAIR_FIELDS = ("lnc_hat", "K", "theta", "q", "lnc", "m")


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: "-".join(k for k, v in c.items() if v) or "plain"
)
def test_residual_evaluation_equals_factored_bit_for_bit(case: dict[str, bool]) -> None:
    """kernels.eval_residual (the Newton iteration's trial points near the solution) gives
    the residual and its slot and buyer terms of eval_factored bit for bit, alone and in a
    padded stack; of the pair arrays it writes only the floor test K of the market's own
    pairs (with floors: eval_factored's), and it steps aside exactly where eval_factored
    does."""
    markets, policies = zip(
        *(zone_market(seed, n, **case) for seed, n in ((1, 23), (2, 9), (3, 40))), strict=True
    )
    resolved = [p.resolve(m) for m, p in zip(markets, policies, strict=True)]
    stacks = [stack([m], [rp]) for m, rp in zip(markets, resolved, strict=True)]
    stacks.append(stack(list(markets), resolved))  # padded: every market of it below
    rng = np.random.default_rng(12)
    compared = declined = 0
    for st in stacks:
        for scale in (0.0, 0.01, 0.3, 2.0, 400.0):
            for b in range(st.B):
                z = rng.normal(0.0, scale, st.N) if scale else np.zeros(st.N)
                z[st.ns :] = np.abs(z[st.ns :])
                fac = K.pair_factors(st.arrays, b)
                full = st.new_evaluation()
                took = K.eval_factored(st.arrays, b, z, K.row(full, b), fac)
                part = st.new_evaluation()
                for field in PAIR_FIELDS:  # a sentinel in every pair array
                    arr = np.asarray(getattr(part, field))
                    arr[...] = True if arr.dtype == bool else -7.25
                before = {f: np.asarray(getattr(part, f)).copy() for f in PAIR_FIELDS}
                assert K.eval_residual(st.arrays, b, z, K.row(part, b), fac) == took
                if not took:
                    declined += 1
                    continue
                for field in RESIDUAL_FIELDS:
                    got = np.asarray(getattr(part, field))[b]
                    want = np.asarray(getattr(full, field))[b]
                    assert same_bits(got, want), (case, st.B, b, scale, field)
                L = int(st.nvalid[b])
                if case["floors"]:  # K: the floor test of the market's pairs, nothing else
                    k_full = np.asarray(full.K)[b, :L]
                    assert same_bits(np.asarray(part.K)[b, :L], k_full)
                    before["K"][b, :L] = k_full
                for field in PAIR_FIELDS:
                    assert same_bits(np.asarray(getattr(part, field)), before[field]), field
                compared += 1
    assert compared >= 4 * 4 * 3 // 2 and declined >= 1
