"""The Newton matrix as the compiled iteration builds it: float32 product, Fortran-ordered
``J``, reused product buffer, column-max scan only when a zero column is possible.

:func:`critmin.model.kernels.newton_system_one` is checked against central finite
differences of :func:`critmin.model.kernels.eval_one` (an independent path: only the
equations), against the float64 C-ordered build that :func:`critmin.model.core.jacobian`
uses (the same numbers whatever the layout), and its zero-column rows against a plain numpy
restatement of the rule. :func:`critmin.model.kernels._linear_residual` is checked against
the row sums written out in order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from critmin.model import Market, Policy
from critmin.model.core import stack
from critmin.model.kernels import (
    _linear_residual,
    alloc_eval,
    eval_one,
    jacobian_one,
    lu_factor_single,
    lu_step,
    newton_system_one,
    row,
)


def _case(seed: int, *, flat_seller: bool = False) -> tuple[Any, np.ndarray]:
    """A small random market with levy and subsidy floors and export caps, and a point
    ``z`` away from every kink (or, with ``flat_seller``, seller 0 whose every sale is held
    at a levy floor and whose supply does not respond: a zero column)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 9))
    V = rng.lognormal(0.0, 1.5, (n, n)) * (rng.random((n, n)) < 0.8) * 1e6
    V[:, 0] += 1e5  # every buyer has a supplier besides seller 0
    V[1:, 1:] += 1e5
    t0 = np.where(rng.random((n, n)) < 0.5, rng.uniform(0.0, 0.3, (n, n)), 0.0)
    eps = rng.uniform(0.1, 2.0, n)
    members = rng.random(n) < 0.5
    nm_m = ~members[:, None] & members[None, :]
    levy = np.where(nm_m & (rng.random((n, n)) < 0.5), rng.uniform(0.6, 1.6, (n, n)), 0.0)
    if flat_seller:
        eps[0] = 0.0
        V[0, 0] = 0.0
        V[0, 1:] += 1e5
        levy[0, 1:] = 50.0  # far above any price reached here: every sale floored
    m = Market(
        V=V, t0=t0, sigma=float(rng.uniform(1.5, 8.0)), eta=float(rng.uniform(0.1, 1.5)), eps=eps
    )
    cap = np.where(~members & (rng.random(n) < 0.5), rng.uniform(0.5, 1.5, n), np.inf)
    if flat_seller:
        cap[0] = np.inf
    p = Policy(t1=m.t0 + 0.2 * nm_m, levy_floor=levy, export_cap=cap)
    st = stack([m], [p.resolve(m)])
    z = rng.normal(0.0, 0.2, st.N)
    z[st.ns :] = np.abs(z[st.ns :])
    return st.arrays, z


def _evaluated(a: Any, z: np.ndarray) -> Any:
    ns = a.R.shape[1]
    e = row(alloc_eval(1, a.ps.shape[1], a.W.shape[1], ns, a.qslot.shape[1]), 0)
    eval_one(a, 0, z, e)
    return e


def _newton_matrix(a: Any, z: np.ndarray, *, single: bool, fortran: bool) -> tuple[Any, ...]:
    """``(J, rhs, jump)`` as :func:`critmin.model.kernels._newton_one` builds them."""
    ns = a.R.shape[1]
    n = a.W.shape[1] - 1
    N = z.shape[0]
    dtype = np.float32 if single else np.float64
    J = np.full((N, N), np.nan).T if fortran else np.full((N, N), np.nan)
    rhs = np.full(N, np.nan)
    Qd = np.zeros((ns, n), dtype)
    ThKd = np.zeros((ns, n), dtype)
    P = np.full((ns, ns), np.nan, dtype)  # work space: every entry is overwritten
    jump = newton_system_one(a, 0, z, _evaluated(a, z), J, rhs, Qd, ThKd, P)
    return np.array(J), rhs, jump


def _far_from_kinks(a: Any, z: np.ndarray, e: Any, h: float) -> bool:
    ns = a.R.shape[1]
    L = a.nvalid[0]
    dist = np.abs(e.lnc_hat[:L] - a.plnFc[0, :L])
    far = dist.min(initial=np.inf) > 100 * h
    far &= np.abs(z[:ns] - a.lnG[0]).min(initial=np.inf) > 100 * h
    nq = a.qslot.shape[1]
    if nq:
        slack = np.abs(e.h[:nq] - z[ns:])[a.qmask[0]]
        far &= slack.min(initial=np.inf) > 1e-3
    return bool(far)


@pytest.mark.parametrize("seed", range(16))
def test_float32_newton_matrix_matches_finite_differences(seed: int) -> None:
    """The matrix the iteration factors (float32 product, Fortran order) is ``dF/dz`` of
    the compiled equations, to the float32 product's accuracy, in every active row and
    column; fixed slots have a unit row."""
    a, z = _case(seed)
    e = _evaluated(a, z)
    h = 1e-6
    if not _far_from_kinks(a, z, e, h):
        pytest.skip("random point too close to a kink")
    J, rhs, jump = _newton_matrix(a, z, single=True, fortran=True)
    assert not jump
    np.testing.assert_array_equal(rhs, e.F)
    N = z.shape[0]
    Jn = np.zeros((N, N))
    for k in range(N):
        zp, zm = z.copy(), z.copy()
        zp[k] += h
        zm[k] -= h
        Jn[:, k] = (_evaluated(a, zp).F - _evaluated(a, zm).F) / (2 * h)
    ns = a.R.shape[1]
    act = np.concatenate([a.uact[0], a.qmask[0]])
    sub = np.ix_(act, act)
    scale = np.abs(Jn[sub]).max(initial=1.0)
    np.testing.assert_allclose(J[sub], Jn[sub], rtol=2e-4, atol=2e-5 * scale)
    for r in np.flatnonzero(~act):
        expected = np.zeros(N)
        expected[r] = 1.0
        np.testing.assert_array_equal(J[r], expected)
        np.testing.assert_array_equal(J[:, r][np.arange(N) != r], 0.0)
    assert ns > 0


@pytest.mark.parametrize("seed", range(8))
def test_newton_matrix_is_the_same_in_either_layout(seed: int) -> None:
    """The Fortran-ordered matrix of the iteration holds the very numbers of the C-ordered
    one the Python callers get (float64 and float32 product alike), and the float32 one is
    the float64 one to the product's accuracy."""
    a, z = _case(seed)
    for single in (False, True):
        Jc, rc, jc = _newton_matrix(a, z, single=single, fortran=False)
        Jf, rf, jf = _newton_matrix(a, z, single=single, fortran=True)
        np.testing.assert_array_equal(Jc, Jf)
        np.testing.assert_array_equal(rc, rf)
        assert jc == jf
    J64 = _newton_matrix(a, z, single=False, fortran=False)[0]
    J32 = _newton_matrix(a, z, single=True, fortran=True)[0]
    np.testing.assert_allclose(J32, J64, rtol=1e-5, atol=1e-6 * np.abs(J64).max())


def _plain_zero_columns(a: Any, z: np.ndarray) -> np.ndarray:
    """The zero-column rule of :func:`critmin.model.core.newton_system` restated with numpy
    on the float64 Jacobian: an active price whose column is negligible and whose supply
    does not respond (quotas are not used in these cases)."""
    e = _evaluated(a, z)
    ns = a.R.shape[1]
    n = a.W.shape[1] - 1
    J = np.zeros((z.shape[0], z.shape[0]))
    jacobian_one(a, 0, z, e, J, np.zeros((ns, n)), np.zeros((ns, n)), np.empty((ns, ns)))
    col_max = np.abs(J).max(axis=0)
    scale = max(1.0, col_max.max())
    return a.uact[0] & (col_max[:ns] <= 1e-12 * scale) & (e.dS[:ns] == 0.0)


@pytest.mark.parametrize("seed", range(8))
def test_a_price_that_moves_nothing_gets_a_jump_row(seed: int) -> None:
    """Seller 0 sells only at levy floors and its supply does not respond: its column is
    zero, so its row becomes a unit row (the scan of the column maxima runs because there is
    such a candidate). Without the candidate (supply responding) the system is the Jacobian."""
    a, z = _case(seed, flat_seller=True)
    e = _evaluated(a, z)
    if e.dS[0] != 0.0 or not a.uact[0, 0]:
        pytest.skip("seller 0 is a fixed slot here")
    flat = _plain_zero_columns(a, z)
    assert flat[0]
    for single in (False, True):
        J, rhs, jump = _newton_matrix(a, z, single=single, fortran=True)
        assert jump
        for s in np.flatnonzero(flat):
            expected = np.zeros(z.shape[0])
            expected[s] = 1.0
            np.testing.assert_array_equal(J[s], expected)
            assert math.isfinite(rhs[s])
    a2, z2 = _case(seed)
    assert not _plain_zero_columns(a2, z2).any()
    assert not _newton_matrix(a2, z2, single=True, fortran=True)[2]


@pytest.mark.parametrize("seed", range(6))
def test_float32_factors_of_the_newton_matrix_solve_it(seed: int) -> None:
    """``lu_factor_single`` on the Fortran-ordered matrix and ``lu_step`` give the Newton
    step; ``_linear_residual`` is ``max |J d + F| / max |F|`` with each row summed in order."""
    a, z = _case(seed)
    J, rhs, jump = _newton_matrix(a, z, single=True, fortran=True)
    assert not jump
    N = z.shape[0]
    Jf = np.asfortranarray(J)
    lu = np.empty((N, N), np.float32).T
    ipiv = np.empty(N, dtype=np.int32)
    assert lu_factor_single(Jf, lu, ipiv)
    d = lu_step(lu, ipiv, rhs)
    np.testing.assert_allclose(d, np.linalg.solve(J, -rhs), rtol=1e-3, atol=1e-6)
    worst = 0.0
    for r in range(N):
        acc = rhs[r]
        for c in range(N):
            acc += J[r, c] * d[c]
        worst = max(worst, abs(acc))
    expected = worst / np.abs(rhs).max()
    assert _linear_residual(Jf, d, rhs) == expected
    assert _linear_residual(np.ascontiguousarray(J), d, rhs) == expected
    assert expected < 1e-4
