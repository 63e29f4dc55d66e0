"""The safeguarded semismooth Newton iteration, compiled: one market at a time, no Python.

Per market of a stack, from the baseline ``z = 0``: the analytic semismooth Newton system
(:func:`critmin.model.kernels.newton_system_one`), one LAPACK solve (least squares where the
matrix is singular), the step capped by a trust region in log units, then a non-monotone
Armijo line search on the residual norm ``||F||_2`` that, when the full step fails, first
tries the step to the first floor kink on the way
(:func:`critmin.model.kernels.first_kink_one`), then halves. The evaluation of an accepted
trial is kept for the next step. Everything runs in compiled code, so a 200-country market
costs what its arithmetic costs (a dense ``ns x n x ns`` product and an ``ns x ns`` LU per
step), not the Python overhead of a few hundred small array operations.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, types
from numba.np import linalg as numba_linalg

from critmin.model.kernels import (
    alloc_eval,
    eval_one,
    first_kink_one,
    newton_system_one,
    row,
)

__all__ = ["LINE_SEARCH_FAILED", "newton_batch"]

# LAPACK's sgetrf as Numba binds it for np.linalg.inv (numba is pinned in pyproject.toml):
# a float32 LU whose factors are kept, so that a chord step costs two triangular solves.
numba_linalg.ensure_lapack()
_SGETRF = numba_linalg._LAPACK().numba_xxgetrf(types.float32)
_SGETRF_KIND = ord("s")
_LAPACK_INT = numba_linalg.F_INT_nptype

MAX_STEP = 5.0
"""Initial cap on a Newton step in any unknown (log units: a factor of about 150 in a price).
The cap of a market grows fourfold (up to ``MAX_STEP_LIMIT``) after each capped step taken
in full, and shrinks back after a step that needed backtracking: a simple trust region, so
that equilibria far from the baseline (a ban that removes most of a buyer's supply with
``sigma`` near 1 and ``eta = 0`` moves prices by orders of magnitude) are reached in a few
steps, while steps near the baseline stay cautious."""
MAX_STEP_LIMIT = 320.0
ARMIJO = 1e-4
MAX_BACKTRACK = 40
MEMORY = 8
RELAX = 0.5
"""Non-monotone line search. A step is accepted when the residual norm is at most
``(1 - ARMIJO alpha + RELAX^k)`` times the worst of the last MEMORY norms (k = iteration):
the max-memory rule of Grippo, Lampariello & Lucidi (1986) with the summable relaxation of
Li & Fukushima (2000). The floor and quota kinks make the residual norm non-smooth and flat
in places, and a monotone Armijo rule stalls at kinks that full Newton steps cross."""
SINGLE_UNTIL = 1e-6
SINGLE_MIN_CONTRACTION = 0.01
"""Mixed precision: a float32 Newton matrix makes each step accurate to about ``kappa``
times 1e-7 (relative), so near the solution Newton's quadratic contraction becomes at worst
linear with that ratio. A market whose residual norm is below ``SINGLE_UNTIL`` and falls by
less than this factor in a step continues in float64 (an ill-conditioned system)."""
CHORD_BELOW = 1e-6
CHORD_CONTRACTION = 0.01
"""Chord steps: once the residual norm is below ``CHORD_BELOW`` and the last step cut it by
at least ``CHORD_CONTRACTION`` (Newton's quadratic phase), the next step reuses the last
LU factors instead of a new Jacobian (Shamanskii 1967; Kelley 1995, ch. 5); it is kept if
it lowers the residual, and followed by more chord steps while each cuts the residual by
that factor."""
KINK_MIN_STEP = 1e-3
"""Kinks closer than this fraction of a step are not tried (a pair already at its floor)."""
LINE_SEARCH_FAILED = 2
"""Status of a market whose line search found no acceptable step."""


@njit(cache=True, nogil=True)
def _max_abs(v: Any) -> float:
    """``max |v|`` (0 for an empty vector), NaN if any entry is NaN."""
    out = 0.0
    for x in v:
        if x != x:
            return math.nan
        out = max(out, abs(x))
    return out


@njit(cache=True, nogil=True)
def _norm(v: Any) -> float:
    s = 0.0
    for x in v:
        s += x * x
    return math.sqrt(s)


@njit(cache=True, nogil=True)
def _all_finite(v: Any) -> bool:
    for x in v:  # noqa: SIM110 - a plain loop for Numba
        if not math.isfinite(x):
            return False
    return True


@njit(cache=True, nogil=True)
def solve_step(J: Any, rhs: Any) -> Any:
    """The Newton step ``d = -J^-1 rhs`` (LAPACK ``gesv``); the least-squares step
    (``rcond = 1e-13``) where ``J`` is singular; 0 where neither is finite."""
    neg = -rhs
    ok = False
    d = np.zeros_like(rhs)
    try:
        d = np.linalg.solve(J, neg)
        ok = _all_finite(d)
    except Exception:  # numba raises a plain exception for a singular matrix
        ok = False
    if not ok:
        try:
            d = np.linalg.lstsq(J, neg, 1e-13)[0]
            ok = _all_finite(d)
        except Exception:  # non-finite entries
            ok = False
    if not ok:
        d = np.zeros_like(rhs)
    return d


@njit(cache=True, nogil=True)
def lu_factor_single(J: Any, lu: Any, ipiv: Any) -> bool:
    """LU factors of ``J`` with partial pivoting in float32 (LAPACK ``sgetrf``) into the
    Fortran-ordered ``lu``; False if ``J`` is singular or not finite."""
    N = J.shape[0]
    for c in range(N):
        for r in range(N):
            v = J[r, c]
            if not math.isfinite(v):
                return False
            lu[r, c] = v
    info = _SGETRF(_SGETRF_KIND, N, N, lu.ctypes, N, ipiv.ctypes)
    return info == 0


@njit(cache=True, nogil=True)
def lu_step(lu: Any, ipiv: Any, rhs: Any) -> Any:
    """``d = -J^-1 rhs`` from the float32 LU factors of ``J`` (triangular solves in float64)."""
    N = rhs.shape[0]
    x = -rhs
    for k in range(N):
        p = ipiv[k] - 1  # LAPACK pivots are 1-based
        if p != k:
            x[k], x[p] = x[p], x[k]
    for j in range(N):  # L (unit diagonal), column by column: contiguous in Fortran order
        xj = x[j]
        if xj != 0.0:
            for i in range(j + 1, N):
                x[i] -= lu[i, j] * xj
    for j in range(N - 1, -1, -1):
        x[j] /= lu[j, j]
        xj = x[j]
        if xj != 0.0:
            for i in range(j):
                x[i] -= lu[i, j] * xj
    return x


@njit(cache=True, nogil=True)
def _copy_into(src: Any, dst: Any) -> None:
    """Copy the results of one :class:`critmin.model.kernels.EvalBuf` into another."""
    dst.lnc_hat[:] = src.lnc_hat
    dst.K[:] = src.K
    dst.theta[:] = src.theta
    dst.lnP[:] = src.lnP
    dst.q[:] = src.q
    dst.Q[:] = src.Q
    dst.X[:] = src.X
    dst.nu[:] = src.nu
    dst.f_check[:] = src.f_check
    dst.F[:] = src.F
    dst.S[:] = src.S
    dst.dS[:] = src.dS
    dst.h[:] = src.h


@njit(cache=True, nogil=True)
def _newton_one(
    a: Any, b: int, z: Any, out: Any, tol: float, max_iter: int, pure: bool, single: bool
) -> tuple[int, int]:
    """Solve market ``b`` from ``z = 0``; leaves the final ``z`` in ``z`` and its evaluation
    in ``out``. Returns ``(iterations, status)``: 1 converged, 0 iteration limit,
    ``LINE_SEARCH_FAILED``. With ``pure`` every finite step is taken in full (capped).

    The Newton matrix's dense product is formed in float32 (see
    :func:`critmin.model.kernels.jacobian_one`). With ``single`` it is also factored in
    float32 (see :data:`SINGLE_UNTIL`) until a step needs backtracking or contracts the
    residual by less than ``SINGLE_MIN_CONTRACTION`` near the solution; from then on, and for
    steps with a jump row (which must land a hair past a kink), in float64."""
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    n = a.W.shape[1] - 1
    N = ns + nq
    L = a.ps.shape[1]
    cur = out
    trial = row(alloc_eval(1, L, n + 1, ns, nq), 0)
    in_out = True
    z[:] = 0.0
    zt = np.zeros(N)
    eval_one(a, b, z, cur)
    hist = np.full(MEMORY, -math.inf)
    hist[0] = _norm(cur.F)
    cap = MAX_STEP
    J = np.zeros((N, N))
    rhs = np.zeros(N)
    # dense work arrays of the Jacobian's product (zeros off the pairs), float32
    Qd32 = np.zeros((ns, n), dtype=np.float32)
    ThKd32 = np.zeros((ns, n), dtype=np.float32)
    lu = np.empty((N, N), dtype=np.float32).T  # Fortran order, as LAPACK writes it
    ipiv = np.empty(N, dtype=_LAPACK_INT)
    have_lu = False  # lu holds the factors of the last Newton matrix
    phi_prev = math.inf
    iterations = 0
    status = 0
    for it in range(max_iter):
        if _max_abs(cur.F) <= tol:
            break
        phi_now = _norm(cur.F)
        if have_lu and phi_now < CHORD_BELOW and phi_now < CHORD_CONTRACTION * phi_prev:
            # chord step: the last factors, no new Jacobian (Newton converges quadratically
            # here, so the matrix has barely moved since it was factored)
            d = lu_step(lu, ipiv, cur.F)
            for i in range(N):
                zt[i] = z[i] + d[i]
            eval_one(a, b, zt, trial)
            phi = _norm(trial.F)
            if math.isfinite(phi) and phi < phi_now:
                z[:] = zt
                cur, trial = trial, cur
                in_out = not in_out
                iterations += 1
                hist[(it + 1) % MEMORY] = phi
                phi_prev = phi_now
                have_lu = phi < CHORD_CONTRACTION * phi_now  # else a fresh Jacobian next
                continue
            have_lu = False  # no progress: a Newton step from here
        have_lu = False
        jump = newton_system_one(a, b, z, cur, J, rhs, Qd32, ThKd32)
        if single and not jump and lu_factor_single(J, lu, ipiv):
            d = lu_step(lu, ipiv, rhs)
            have_lu = _all_finite(d)
        if not have_lu:
            d = solve_step(J, rhs)
        big = _max_abs(d)
        capped = big > cap
        d *= min(1.0, cap / max(big, 1e-300))
        phi_ref = hist.max()
        kink = first_kink_one(a, b, z, cur, d, KINK_MIN_STEP)
        relax = RELAX**it
        alpha = 1.0
        accepted = False
        phi = math.inf
        for k in range(MAX_BACKTRACK):
            for i in range(N):
                zt[i] = z[i] + alpha * d[i]
            eval_one(a, b, zt, trial)
            phi = _norm(trial.F)
            slack = (1.0 - ARMIJO * alpha + relax) * phi_ref
            if math.isfinite(phi) and (pure or phi <= slack):
                accepted = True
                break
            # after a failed full step, first try stopping at the first kink on the way
            alpha = kink if (k == 0 and math.isfinite(kink)) else 0.5 * alpha
        full = accepted and alpha == 1.0
        if full and capped:
            cap = min(4.0 * cap, MAX_STEP_LIMIT)
        elif not full:
            cap = max(MAX_STEP, 0.25 * cap)
        if accepted:
            z[:] = zt
            cur, trial = trial, cur
            in_out = not in_out
            iterations += 1
            if single and (
                not full or (phi_now < SINGLE_UNTIL and phi > SINGLE_MIN_CONTRACTION * phi_now)
            ):
                single = False
            phi_prev = phi_now
        have_lu = have_lu and single and full
        hist[(it + 1) % MEMORY] = _norm(cur.F)  # a ring buffer
        if not accepted:
            status = LINE_SEARCH_FAILED
            break
    if not in_out:
        _copy_into(cur, out)
    if status == 0 and _max_abs(cur.F) <= tol:
        status = 1
    return iterations, status


@njit(cache=True, nogil=True)
def newton_batch(a: Any, tol: float, max_iter: int, pure: bool, single: bool) -> tuple[Any, ...]:
    """Solve every market of a stack (:class:`critmin.model.kernels.StackArrays`); ``pure``
    and ``single`` as in :func:`_newton_one`.

    Returns ``z`` ``(B, N)``, the evaluation at ``z`` (a stacked
    :class:`critmin.model.kernels.EvalBuf`), iterations ``(B,)`` and status ``(B,)``
    (1 converged, 0 iteration limit, :data:`LINE_SEARCH_FAILED`).
    """
    B = a.ps.shape[0]
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    n1 = a.W.shape[1]
    out = alloc_eval(B, a.ps.shape[1], n1, ns, nq)
    z = np.zeros((B, ns + nq))
    iterations = np.zeros(B, dtype=np.intp)
    status = np.zeros(B, dtype=np.intp)
    for b in range(B):
        iterations[b], status[b] = _newton_one(a, b, z[b], row(out, b), tol, max_iter, pure, single)
    return z, out, iterations, status
