"""The model compiled: its equations and the Newton iteration, one market at a time.

Building a market's pair lists (:func:`market_sizes`, :func:`market_fill`), evaluating the
equations (:func:`eval_one`), the semismooth Newton system (:func:`newton_system_one`) and
the first floor kink along a step (:func:`first_kink_one`) are passes over the trading pairs
of one market, written as plain loops and compiled with Numba (``cache=True``: compiled once
per machine, then loaded from the cache). The safeguarded Newton iteration
(:func:`newton_batch`) runs on top of them without returning to Python: per market, the
Newton system (its dense product in float32), an LU solve (float32 LAPACK ``sgetrf`` with
float64 triangular solves; float64 ``gesv``, or least squares where the matrix is singular,
when that is not good enough), the step capped by a trust region in log units, then a
non-monotone Armijo line search on the residual norm that, when the full step fails, first
tries the step to the first floor kink on the way, then halves; before the first Newton
step, up to two Jacobi steps corrected along the price level where they pay
(:data:`SWEEPS`); once the residual is small,
quasi-Newton steps keep the last LU factors and correct them by Broyden's updates
(:data:`BROYDEN_BELOW`), so that most markets form and factor one Newton matrix. Residuals
and the convergence test are float64 throughout. The Newton iteration evaluates the
equations by :func:`eval_factored` (the exponentials split per pair, slot and buyer: a few
hundred per evaluation instead of two per pair), equal to :func:`eval_one` to a few ulps;
:func:`eval_one` is the reference, and the fallback far from the baseline. The ``*_batch`` functions apply the equations to every market of a stack for
the Python-level callers (Levenberg-Marquardt, tests), and :func:`country_levels` and
:func:`buyer_revenue` turn a solved market back into countries.

Everything lives in this one module because Numba's cache does not notice changes to
compiled functions called from another file.

The loops follow the equations of ``DESIGN.md`` exactly as documented in
:func:`critmin.model.core.evaluate` and :func:`critmin.model.core.jacobian`. Every sum runs
in pair order (seller after seller, then buyer), the order in which the baseline totals were
summed, so baseline inputs reproduce the baseline bit for bit.

In :func:`eval_one` the two exponentials per pair use :func:`_exp`, a branch-free polynomial
``exp`` (within 1 ulp of numpy's ``exp``, and ``exp(0) = 1`` exactly) in loops that the compiler vectorises
with the CPU's widest registers (:func:`_prefer_wide_vectors`); the C library's scalar
``exp`` would make an evaluation about twice as slow. :func:`eval_one` gathers first (loops
that read through the pair lists, ``m[pj]``, ``T[pj]``, cannot vectorise) and then runs
each exponential, with the products and quotients that go with it, in one such loop.

The functions the Newton iteration calls most often and that allocate nothing
(:func:`eval_factored`, :func:`eval_residual`, :func:`place_eval`) are compiled without
Numba's reference counting (:data:`WITHOUT_REFCOUNTS`). A call of a function that takes the
named tuples of arrays otherwise counts an atomic reference (a ``lock``-prefixed add, which
waits for every pending store) for each array it reads, on entry and again on exit: 203 per
call of :func:`eval_factored`, 65,000 increments per batch of bench_solver's case (d), against
26,000 without them; 5% of the batch's time on one thread (7.1-7.3 against 7.6 ms). The
caller holds every array for the duration of the call, and these functions create only
views, so nothing needs counting; a function that allocates must keep the default.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic as numba_intrinsic
from numba.np import linalg as numba_linalg

from critmin.model.kernel_tuples import EvalBuf, Levels, StackArrays

intrinsic: Any = numba_intrinsic  # typed loosely: an intrinsic is called without typingctx

WITHOUT_REFCOUNTS: dict[str, Any] = {"_nrt": False}
"""Numba's option for a function compiled without reference counting (see the module's
docstring): for functions that allocate nothing and are called with arrays their caller holds."""

EXP_CLIP = 700.0
"""Exponents are clipped here before ``exp`` (only reached by wild line-search trials)."""

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split for an exact k ln 2 (Cody & Waite 1980)
_LN2_LO = 1.90821492927058770002e-10
_ROUND = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer in the low bits
_ROUND_BITS = 0x4338000000000000  # its bit pattern
_TINY_SHIFT = 600  # results beyond e^+-700 are scaled by 2^-+600 and back (no bit overflow)
_TWO_M600 = 2.0**-600
_TWO_600 = 2.0**600


@njit(cache=True, nogil=True)
def alloc_eval(B: int, L: int, n1: int, ns: int, nq: int) -> Any:
    """An :class:`EvalBuf` for ``B`` markets (uninitialised: :func:`eval_one` writes every
    entry, padding pairs included)."""
    return EvalBuf(
        np.empty((B, L)),
        np.empty((B, L), dtype=np.bool_),
        np.empty((B, L)),
        np.empty((B, n1)),
        np.empty((B, L)),
        np.empty((B, ns + 1)),
        np.empty((B, ns + 1)),
        np.empty((B, ns + 1)),
        np.empty((B, ns)),
        np.empty((B, ns + nq)),
        np.empty((B, ns)),
        np.empty((B, ns)),
        np.empty((B, nq)),
        np.empty((B, L)),
        np.empty((B, n1)),
        np.empty((B, n1)),
        np.empty((B, L)),
        np.empty((B, L)),
    )


@njit(cache=True, nogil=True)
def row(buf: Any, b: int) -> Any:
    """Market ``b`` of a stacked :class:`EvalBuf` (views)."""
    return EvalBuf(
        buf.lnc_hat[b],
        buf.K[b],
        buf.theta[b],
        buf.lnP[b],
        buf.q[b],
        buf.Q[b],
        buf.X[b],
        buf.nu[b],
        buf.f_check[b],
        buf.F[b],
        buf.S[b],
        buf.dS[b],
        buf.h[b],
        buf.lnc[b],
        buf.m[b],
        buf.T[b],
        buf.work[b],
        buf.scratch[b],
    )


@intrinsic
def _float_bits(typingctx: Any, x: Any) -> Any:
    """The bit pattern of a float64 as an int64 (no conversion: a register reinterpreted)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_float(typingctx: Any, k: Any) -> Any:
    """The float64 whose bit pattern is the int64 ``k`` (the inverse of :func:`_float_bits`)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _prefetch(typingctx: Any, arr: Any, i: Any, j: Any) -> Any:
    """Ask the CPU to bring the cache line that holds ``arr[i, j]`` (a 2-D array, any layout)
    into its caches: LLVM's ``llvm.prefetch`` (a read, to be kept close), which never faults
    and changes no value."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, value=args[0])
        item = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1], args[2]])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(item, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.none(arr, types.intp, types.intp), codegen


@intrinsic
def _prefer_wide_vectors(typingctx: Any) -> Any:
    """Let the compiler vectorise the loops of the calling function with the CPU's widest
    registers: on AVX-512 CPUs LLVM otherwise prefers 256-bit vectors. Sets the LLVM function
    attribute ``"prefer-vector-width"="512"`` (llvmlite knows no string attributes, hence the
    plain ``set.add``). Machine code only: the loops that use it are element-wise, so the
    numbers are the same at any vector width (no fused multiply-add, no reordered sums)."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        return context.get_dummy_value()

    return types.none(), codegen


@njit(cache=True, nogil=True, inline="always")
def _exp(x: float) -> float:
    """``exp(x) = 2^k p(r)``, ``x = k ln 2 + r``, branch-free so that loops of it vectorise.

    Cody-Waite reduction (``|r| <= ln 2 / 2``, ``k ln 2`` subtracted in two parts) and the
    Taylor polynomial of degree 13 (truncation below 1e-17), evaluated by Horner; ``2^k`` is
    built from the bits of ``x log2(e) + 1.5 * 2^52``. Within 1 ulp of ``numpy.exp`` (measured
    over ``[-745, 709.78]``); ``exp(0) = 1`` exactly, ``exp(-inf) = 0``, subnormal results
    below ``e^-708``, ``inf`` above ``e^709.78``, NaN stays NaN.
    """
    xc = min(max(x, -746.0), 710.0)
    t = xc * _LOG2E + _ROUND
    k = t - _ROUND
    r = (xc - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    shift = _TINY_SHIFT if x < -700.0 else (-_TINY_SHIFT if x > 700.0 else 0)
    v = p * _bits_float((_float_bits(t) - _ROUND_BITS + 1023 + shift) << 52)
    if x < -700.0:
        v *= _TWO_M600
    elif x > 700.0:
        v *= _TWO_600
    if not x >= -746.0:
        v = x if x != x else 0.0
    elif x > 709.78:
        v = math.inf
    return v


@njit(cache=True, nogil=True)
def vexp(x: Any, out: Any, n: int) -> None:
    """``out[:n] = exp(x[:n])`` by :func:`_exp`, vectorised (512-bit registers where the CPU
    has them)."""
    _prefer_wide_vectors()
    for i in range(n):
        out[i] = _exp(x[i])


@njit(cache=True, nogil=True)
def _scaled_exp(c: Any, x: Any, out: Any, n: int) -> None:
    """``out[:n] = c[:n] * exp(x[:n])`` (:func:`_exp`), vectorised as :func:`vexp`."""
    _prefer_wide_vectors()
    for i in range(n):
        out[i] = c[i] * _exp(x[i])


@njit(cache=True, nogil=True, error_model="numpy")
def _scaled_exp_divide(c: Any, x: Any, out: Any, num: Any, den: Any, n: int) -> None:
    """:func:`_scaled_exp` and ``num[:n] /= den[:n]`` in the same vectorised loop.

    NumPy's error model: a division by zero gives ``inf`` or NaN instead of raising, which is
    what lets the division vectorise (Python's model tests every divisor). In
    :func:`eval_one` the divisors are CES sums ``T_j`` of supplied buyers, each at least the
    weight of the buyer's cheapest pair (whose exponential is ``exp(0) = 1``), so never 0.
    """
    _prefer_wide_vectors()
    for i in range(n):
        out[i] = c[i] * _exp(x[i])
        num[i] = num[i] / den[i]


@njit(cache=True, nogil=True, inline="always")
def _slot_nu(a: Any, b: int, z: Any, e: Any) -> Any:
    """The quota unknowns ``nu`` per producer slot into ``e.nu`` (0 without a quota and on
    the padding slot); returns it."""
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    nu = e.nu
    for s in range(ns + 1):
        nu[s] = 0.0
    for k in range(nq):
        if a.qmask[b, k]:
            nu[a.qslot[b, k]] = z[ns + k]
    nu[ns] = 0.0
    return nu


@njit(cache=True, nogil=True, inline="always")
def _eval_prices(a: Any, b: int, z: Any, e: Any, want_min: bool) -> Any:
    """The start of an evaluation (see :func:`eval_one`): the quota unknowns ``nu`` per slot,
    each pair's log price ``ln c_hat`` before and ``ln c`` after the floor (``K``: the floor
    does not bind) and, with ``want_min``, each buyer's cheapest log price ``m_j``. Returns
    the array holding ``ln c`` (``lnc_hat`` itself without quotas and floors)."""
    L = a.nvalid[b]
    n1 = a.W.shape[1]
    nq = a.qslot.shape[1]
    nu = _slot_nu(a, b, z, e)
    m = e.m
    if want_min:
        for j in range(n1):
            m[j] = math.inf
    floors = a.any_floor
    ps = a.ps[b].view(np.uint64)
    pj = a.pj[b].view(np.uint64)
    pdlt = a.pdlt[b]
    lnc_hat = e.lnc_hat
    K = e.K
    lnc = e.lnc if (nq > 0 or floors) else lnc_hat  # floored log prices
    if nq == 0 and not floors:  # the common case, without the quota and floor terms
        for ell in range(L):
            lh = z[ps[ell]] + pdlt[ell]  # (u + 0 nu) + dlt: the same rounding
            lnc_hat[ell] = lh
            K[ell] = True
            j = pj[ell]
            if want_min and lh < m[j]:
                m[j] = lh
    elif nq == 0:  # floors without quotas: nu = 0 as above
        plnFc = a.plnFc[b]
        for ell in range(L):
            lh = z[ps[ell]] + pdlt[ell]
            lnc_hat[ell] = lh
            fl = plnFc[ell]
            k_free = lh >= fl
            lc = lh if k_free else fl
            K[ell] = k_free
            lnc[ell] = lc
            j = pj[ell]
            if want_min and lc < m[j]:
                m[j] = lc
    else:
        poff = a.poff[b]
        plnFc = a.plnFc[b]
        for ell in range(L):
            s = ps[ell]
            lh = z[s] + nu[s] * poff[ell] + pdlt[ell]
            lnc_hat[ell] = lh
            k_free = (lh >= plnFc[ell]) if floors else True
            lc = lh if k_free else plnFc[ell]
            K[ell] = k_free
            lnc[ell] = lc
            j = pj[ell]
            if want_min and lc < m[j]:
                m[j] = lc
    return lnc


@njit(cache=True, nogil=True, inline="always")
def own_slots(a: Any, b: int) -> int:
    """How many producer slots market ``b`` of a stack has (its own come first in its row;
    the padding slots belong to the stack's dummy country)."""
    npad = a.W.shape[1] - 1
    ns = 0
    while ns < a.R.shape[1] and a.slot_country[b, ns] < npad:
        ns += 1
    return ns


@njit(cache=True, nogil=True, inline="always")
def _buyer_sums(th: Any, pj: Any, T: Any, L: int) -> None:
    """``T_j`` = the CES numerators ``th`` of buyer ``j``'s pairs, summed in pair order."""
    for j in range(T.shape[0]):
        T[j] = 0.0
    for ell in range(L):
        T[pj[ell]] += th[ell]


@njit(cache=True, nogil=True)
def eval_one(a: Any, b: int, z: Any, e: Any) -> None:
    """Evaluate the equations of market ``b`` at ``z = [u, nu]`` into ``e`` (one market).

    Per active pair ``l`` (seller slot ``s``, buyer ``j``): ``ln c_hat = u_s + nu_s [s != j]
    + ln((1+t1)/(1+t0))``, ``ln c = max(ln c_hat, ln F_c)`` (``K = 1`` where the floor does
    not bind), ``theta = w exp((1-sigma)(ln c - m_j)) / T_j`` (``m_j`` the cheapest active log
    price, ``T_j`` the sum of the numerators), ``ln P_j = m_j + ln(T_j / W_j) / (1 - sigma)``,
    ``q = V exp(-eta ln P_j + sigma (ln P_j - ln c))``; sales ``Q_s`` and exports ``X_s`` per
    slot; supply ``S = exp(eps max(u, ln G))``, ``dS = d ln S / du``; clearing
    ``f = ln(Q / R) - ln S`` and quota rows ``g = min(nu, h)`` with the slack
    ``h = 1 - X / (cap X0)``.
    """
    n1 = a.W.shape[1]
    sig = a.sigma[b]
    eta = a.eta[b]
    L = a.nvalid[b]
    lnc = _eval_prices(a, b, z, e, True)
    pj = a.pj[b]
    m = e.m
    for j in range(n1):
        if not a.supplied[b, j]:
            m[j] = 0.0
    one_m = 1.0 - sig
    w = e.work
    for ell in range(L):  # gathers first: the exponentials then vectorise
        w[ell] = one_m * (lnc[ell] - m[pj[ell]])
    th = e.theta  # the CES numerators first, divided by their sums below
    _scaled_exp(a.pw[b], w, th, L)
    T = e.T
    _buyer_sums(th, pj, T, L)
    lnP = e.lnP
    for j in range(n1):
        if a.supplied[b, j]:
            lnP[j] = m[j] + math.log(T[j] / a.W[b, j]) / one_m
        else:
            lnP[j] = 0.0
            T[j] = 1.0
    lna = a.lna[b]
    Tp = e.scratch  # T of each pair's buyer
    for ell in range(L):
        j = pj[ell]
        Tp[ell] = T[j]
        lp = lnP[j]
        w[ell] = min(-eta * lp + sig * (lp - lnc[ell]) + lna[j], EXP_CLIP)
    q = e.q  # V x per pair
    _scaled_exp_divide(a.pV[b], w, q, th, Tp, L)
    _eval_totals(a, b, z, e)


@njit(cache=True, nogil=True, inline="always")
def _eval_totals(a: Any, b: int, z: Any, e: Any) -> None:
    """The end of an evaluation, once ``q`` and ``theta`` are known on the pairs: zeros on
    the padding pairs, sales ``Q`` and exports ``X`` per slot, supply and the clearing and
    quota rows of ``F`` (see :func:`eval_one`)."""
    L = a.nvalid[b]
    ns = a.R.shape[1]
    ps = a.ps[b].view(np.uint64)
    lnc_hat = e.lnc_hat
    K = e.K
    th = e.theta
    q = e.q
    for ell in range(L, a.ps.shape[1]):  # padding pairs (to the dummy slot): nothing
        lnc_hat[ell] = 0.0
        K[ell] = False
        th[ell] = 0.0
        q[ell] = 0.0
    Q = e.Q
    X = e.X
    for s in range(ns + 1):
        Q[s] = 0.0
        X[s] = 0.0
    # sales and exports per slot; pairs run seller after seller, so the sums are kept in
    # registers while the seller stays the same (the same sequential sums as ``Q[s] += q``)
    poff = a.poff[b]
    s_cur = ps[0] if L > 0 else np.uint64(0)
    q_sum = 0.0
    x_sum = 0.0
    for ell in range(L):
        qq = q[ell]
        s = ps[ell]
        if s != s_cur:
            Q[s_cur] += q_sum
            X[s_cur] += x_sum
            s_cur = s
            q_sum = 0.0
            x_sum = 0.0
        q_sum += qq
        x_sum += qq * poff[ell]
    if L > 0:
        Q[s_cur] += q_sum
        X[s_cur] += x_sum
    _slot_rows(a, b, z, e)


@njit(cache=True, nogil=True, inline="always")
def _slot_rows(a: Any, b: int, z: Any, e: Any) -> None:
    """Supply and the clearing and quota rows of ``F`` from the sales ``Q`` and exports
    ``X`` per slot (see :func:`eval_one`)."""
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    Q = e.Q
    X = e.X
    for s in range(ns):
        u = z[s]
        g = a.lnG[b, s]
        lnS = a.eps[b, s] * max(u, g) + a.lnk[b, s]
        e.S[s] = math.exp(min(lnS, EXP_CLIP))
        e.dS[s] = a.eps[b, s] if u >= g else 0.0
        e.f_check[s] = 0.0
        e.F[s] = 0.0
        if a.check[b, s]:
            # ln(sales / R) - ln S: exactly 0 at the baseline (sales == R bit for bit)
            fc = math.log(max(Q[s] / a.R[b, s], 1e-300)) - lnS
            e.f_check[s] = fc
            if a.uact[b, s]:
                e.F[s] = fc
    for k in range(nq):
        # slack of the cap as a fraction of it: exactly 1 - 1/cap at the baseline
        hk = 1.0 - (X[a.qslot[b, k]] / _quota_x0(a, b, k)) * math.exp(-a.lncap[b, k])
        e.h[k] = hk
        zk = z[ns + k]
        e.F[ns + k] = (zk if zk < hk else hk) if a.qmask[b, k] else 0.0


FACTOR_BOUND = 600.0
"""The factored evaluation (:func:`eval_factored`) is used while every exponent it splits
stays within +-600 in all (below ``EXP_CLIP``, so the clip of the direct formulas cannot
apply, and no partial product overflows or underflows); otherwise :func:`eval_one`."""


@njit(cache=True, nogil=True)
def _scaled_by_exp(
    g: Any, h: Any, c: Any, d: Any, x: Any, idx: Any, k: int, sg: float, sh: float
) -> float:
    """``g[l] = c[l] exp(sg x[l])`` and ``h[l] = d[l] exp(sh x[l])`` for the ``k`` pairs
    ``l = idx[:k]`` (:func:`vexp` on the gathered exponents); returns ``max |x[l]|``."""
    xg = np.empty(k)
    xh = np.empty(k)
    top = 0.0
    for i in range(k):
        v = x[idx[i]]
        xg[i] = sg * v
        xh[i] = sh * v
        top = max(top, abs(v))
    yg = np.empty(k)  # not in place: a loop over aliased arrays does not vectorise
    yh = np.empty(k)
    vexp(xg, yg, k)
    vexp(xh, yh, k)
    for i in range(k):
        ell = idx[i]
        g[ell] = c[ell] * yg[i]
        h[ell] = d[ell] * yh[i]
    return top


@njit(cache=True, nogil=True)
def pair_factors(a: Any, b: int) -> tuple[Any, Any, Any, Any, float, Any]:
    """The per-pair factors of :func:`eval_factored` for market ``b``, computed once per
    solve: ``g = w exp((1 - sigma) dlt)``, ``h = V exp(-sigma dlt)`` and, where floors are
    set, ``gF = w exp((1 - sigma) ln F_c)``, ``hF = V exp(-sigma ln F_c)`` (1 on pairs
    without a floor, where they are never used); the largest ``|exponent|`` among them; and
    work space for the per-slot and per-buyer factors."""
    L = a.nvalid[b]
    ns = a.R.shape[1]
    n1 = a.W.shape[1]
    sig = a.sigma[b]
    one_m = 1.0 - sig
    floors = a.any_floor
    g = np.empty(L)
    h = np.empty(L)
    gF = np.empty(L if floors else 0)
    hF = np.empty(L if floors else 0)
    # most pairs have no tariff change and no floor (exp(0) = 1 there, exactly): the others
    # are gathered (without a branch per pair), their exponentials computed in vectorised
    # loops, and scattered back
    pw = a.pw[b]
    pV = a.pV[b]
    dlt = a.pdlt[b]
    idx = np.empty(L, dtype=np.intp)
    k = 0
    for ell in range(L):
        g[ell] = pw[ell]
        h[ell] = pV[ell]
        idx[k] = ell
        k += dlt[ell] != 0.0
    span = sig * _scaled_by_exp(g, h, pw, pV, dlt, idx, k, one_m, -sig)
    if floors:
        lnF = a.plnFc[b]
        k = 0
        for ell in range(L):
            gF[ell] = 1.0
            hF[ell] = 1.0
            idx[k] = ell
            k += lnF[ell] > -math.inf
        span = max(span, sig * _scaled_by_exp(gF, hF, pw, pV, lnF, idx, k, one_m, -sig))
    return g, h, gF, hF, span, np.empty(4 * (ns + 1) + n1)


@njit(cache=True, nogil=True, inline="always")
def _slot_factors(a: Any, b: int, z: Any, e: Any, fac: Any) -> tuple[float, float, float, float]:
    """The start of :func:`eval_factored` and :func:`eval_residual`, once the quota unknowns
    per slot are in ``e.nu`` (:func:`_slot_nu`): the lowest log price ``lo`` of any slot and
    the factors ``a_s``, ``b_s`` per slot, for its own sales and, with quotas, its exports
    (into ``fac``'s work space; without quotas the export factors equal the others and are
    not read: two exponentials per slot instead of four). Returns ``(lo, bound, cF, cQ)``:
    the bound on the exponents so far (NaN or beyond :data:`FACTOR_BOUND`: the factored
    evaluation does not apply) and the factors of a pair held at its floor."""
    span = fac[4]
    sv = fac[5]
    ns = a.R.shape[1]
    sig = a.sigma[b]
    one_m = 1.0 - sig
    nu = e.nu
    lo = 0.0
    hi = 0.0
    own = own_slots(a, b)  # a padded stack's other slots have no pair
    for s in range(own):
        u = z[s]
        ux = u + nu[s]
        if s == 0:
            lo = min(u, ux)
            hi = max(u, ux)
        else:
            lo = min(lo, u, ux)
            hi = max(hi, u, ux)
    bound = sig * (hi - lo) + span + (sig * abs(lo) if a.any_floor else 0.0)
    if not bound <= FACTOR_BOUND:  # NaN too
        return lo, bound, 0.0, 0.0
    ns1 = ns + 1
    ad = sv[:ns1]  # own sales
    ax = sv[ns1 : 2 * ns1]  # exports
    bd = sv[2 * ns1 : 3 * ns1]
    bx = sv[3 * ns1 : 4 * ns1]
    quotas = a.qslot.shape[1] > 0  # without quotas the export factors are never read
    for s in range(own):
        u = z[s] - lo
        ad[s] = math.exp(one_m * u)
        bd[s] = math.exp(-sig * u)
        if quotas:
            ux = u + nu[s]
            ax[s] = math.exp(one_m * ux)
            bx[s] = math.exp(-sig * ux)
    for s in range(own, ns1):  # slots without pairs
        ad[s] = ax[s] = bd[s] = bx[s] = 0.0
    return lo, bound, math.exp(-one_m * lo), math.exp(sig * lo)


@njit(cache=True, nogil=True, inline="always")
def _buyer_factors(a: Any, b: int, e: Any, fac: Any, lo: float, bound: float) -> bool:
    """The middle of :func:`eval_factored` and :func:`eval_residual`, once the CES sums
    ``e.T`` are known: the log price indices ``e.lnP`` and the factors ``D_j`` per buyer
    (into ``fac``'s work space); False where an exponent could pass :data:`FACTOR_BOUND`."""
    sv = fac[5]
    n1 = a.W.shape[1]
    ns1 = a.R.shape[1] + 1
    sig = a.sigma[b]
    eta = a.eta[b]
    one_m = 1.0 - sig
    T = e.T
    lnP = e.lnP
    lna = a.lna[b]
    D = sv[4 * ns1 : 4 * ns1 + n1]
    top = 0.0
    for j in range(n1):
        if a.supplied[b, j]:
            lp = lo + math.log(T[j] / a.W[b, j]) / one_m
        else:
            lp = 0.0
            T[j] = 1.0
        lnP[j] = lp
        x = (sig - eta) * lp - sig * lo + lna[j]
        top = max(top, abs(x))
        D[j] = x
    if not bound + top <= FACTOR_BOUND:
        return False
    for j in range(n1):
        D[j] = math.exp(D[j])
    return True


@njit(cache=True, nogil=True, error_model="numpy", **WITHOUT_REFCOUNTS)
def eval_factored(a: Any, b: int, z: Any, e: Any, fac: Any) -> bool:
    """:func:`eval_one` with each pair's exponentials split into factors per pair (fixed for
    the solve: :func:`pair_factors`), per seller and per buyer, so that an evaluation takes
    ``O(slots + buyers)`` exponentials instead of two per pair.

    With ``lo`` the lowest log price ``u_s`` or ``u_s + nu_s`` of any slot, a pair whose
    floor does not bind (``ln c = u_s + nu_s [export] + dlt``) has the CES numerator
    ``w e^((1-sigma)(ln c - lo)) = g a_s`` with ``a_s = e^((1-sigma)(u_s + nu_s [export] -
    lo))``, a pair at its floor ``gF e^(-(1-sigma) lo)``. Their sums ``T'_j`` give ``ln P_j =
    lo + ln(T'_j / W_j) / (1 - sigma)`` (the same price index as :func:`eval_one`'s, scaled by
    ``lo`` instead of ``m_j``), and ``q = V e^(-eta ln P_j + sigma (ln P_j - ln c) + ln a_j) =
    h b_s D_j`` (``b_s = e^(-sigma (u_s + nu_s [export] - lo))``, ``D_j = e^((sigma - eta)
    ln P_j - sigma lo + ln a_j)``), or ``hF e^(sigma lo) D_j`` at the floor. Log prices, the
    floor test and every sum (``T_j``, sales and exports per slot) are those of
    :func:`eval_one`, in the same order; the shares and quantities equal its results to a
    few ulps. Returns False, with ``e`` incomplete, when an exponent could pass
    :data:`FACTOR_BOUND` (the caller then uses :func:`eval_one`).
    """
    g, h, gF, hF, _, sv = fac
    L = a.nvalid[b]
    n1 = a.W.shape[1]
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    floors = a.any_floor
    ps = a.ps[b].view(np.uint64)
    pj = a.pj[b].view(np.uint64)
    K = e.K
    _eval_prices(a, b, z, e, False)
    lo, bound, cF, cQ = _slot_factors(a, b, z, e, fac)
    if not bound <= FACTOR_BOUND:
        return False
    ns1 = ns + 1
    ad = sv[:ns1]
    ax = sv[ns1 : 2 * ns1]
    bd = sv[2 * ns1 : 3 * ns1]
    bx = sv[3 * ns1 : 4 * ns1]
    D = sv[4 * ns1 : 4 * ns1 + n1]
    poff = a.poff[b]
    th = e.theta
    # the CES numerators (without quotas no export factor to choose), then their sums
    if nq > 0:
        for ell in range(L):
            s = ps[ell]
            v = g[ell] * (ax[s] if poff[ell] != 0.0 else ad[s])
            th[ell] = v if (K[ell] or not floors) else gF[ell] * cF
    elif floors:
        for ell in range(L):
            v = g[ell] * ad[ps[ell]]
            th[ell] = v if K[ell] else gF[ell] * cF
    else:
        for ell in range(L):
            th[ell] = g[ell] * ad[ps[ell]]
    T = e.T
    _buyer_sums(th, pj, T, L)
    if not _buyer_factors(a, b, e, fac, lo, bound):
        return False
    m = e.m  # the log price the sums T_j are scaled by (eval_one: the cheapest, m_j)
    for j in range(n1):
        m[j] = lo if a.supplied[b, j] else 0.0
    q = e.q  # quantities, and the shares divided by their sums
    if nq > 0:
        for ell in range(L):
            s = ps[ell]
            j = pj[ell]
            v = h[ell] * (bx[s] if poff[ell] != 0.0 else bd[s])
            q[ell] = (v if (K[ell] or not floors) else hF[ell] * cQ) * D[j]
            th[ell] = th[ell] / T[j]
    elif floors:
        for ell in range(L):
            j = pj[ell]
            v = h[ell] * bd[ps[ell]]
            q[ell] = (v if K[ell] else hF[ell] * cQ) * D[j]
            th[ell] = th[ell] / T[j]
    else:
        for ell in range(L):
            j = pj[ell]
            q[ell] = h[ell] * bd[ps[ell]] * D[j]
            th[ell] = th[ell] / T[j]
    _eval_totals(a, b, z, e)
    return True


@njit(cache=True, nogil=True, error_model="numpy", **WITHOUT_REFCOUNTS)
def eval_residual(a: Any, b: int, z: Any, e: Any, fac: Any) -> bool:
    """Only the residual ``e.F`` of :func:`eval_factored`, bit for bit, with what it is made
    of per slot and buyer (``nu``, ``T``, ``ln P``, sales ``Q``, exports ``X``, supply,
    ``f_check``, the quota slacks ``h``); of the pair arrays only the floor test ``K`` is
    written (with floors), the others (``ln c_hat``, ``theta``, ``q``, ``ln c``, ``m``) are
    left as they were. Two passes over the pairs that store at most a byte per pair, instead
    of six that store five arrays: about half the time of :func:`eval_factored` without
    floors (17 against 33 us for 200 countries and 8,300 pairs), four fifths with them (32
    against 40 us). The Newton iteration evaluates its trial points so once the residual
    norm is below :data:`RESIDUAL_ONLY_BELOW`, and a point in full again where it needs the
    pair arrays (a Newton matrix, the results).

    Each pair's floor test, numerator and quantity are the same expressions as in
    :func:`_eval_prices` and :func:`eval_factored`, and the sums run in the same order, so
    ``F`` has the same bits. Returns False, with ``e`` incomplete, where
    :func:`eval_factored` would."""
    g, h, gF, hF, _, sv = fac
    L = a.nvalid[b]
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    floors = a.any_floor
    ps = a.ps[b].view(np.uint64)
    pj = a.pj[b].view(np.uint64)
    nu = _slot_nu(a, b, z, e)
    lo, bound, cF, cQ = _slot_factors(a, b, z, e, fac)
    if not bound <= FACTOR_BOUND:
        return False
    ns1 = ns + 1
    ad = sv[:ns1]
    ax = sv[ns1 : 2 * ns1]
    bd = sv[2 * ns1 : 3 * ns1]
    bx = sv[3 * ns1 : 4 * ns1]
    D = sv[4 * ns1 : 4 * ns1 + a.W.shape[1]]
    poff = a.poff[b]
    pdlt = a.pdlt[b]
    plnFc = a.plnFc[b]
    K = e.K  # the floor test per pair (with floors; written in the first pass, read in the second)
    T = e.T
    for j in range(T.shape[0]):
        T[j] = 0.0
    if nq > 0:  # the floor test as in _eval_prices, with the quota term
        for ell in range(L):
            s = ps[ell]
            v = g[ell] * (ax[s] if poff[ell] != 0.0 else ad[s])
            if floors:  # both terms loaded, one chosen: no branch per pair
                at_floor = gF[ell] * cF
                k_free = z[s] + nu[s] * poff[ell] + pdlt[ell] >= plnFc[ell]
                K[ell] = k_free
                v = v if k_free else at_floor
            T[pj[ell]] += v
    elif floors:
        for ell in range(L):
            s = ps[ell]
            free = g[ell] * ad[s]
            at_floor = gF[ell] * cF
            k_free = z[s] + pdlt[ell] >= plnFc[ell]
            K[ell] = k_free
            T[pj[ell]] += free if k_free else at_floor
    else:
        for ell in range(L):
            T[pj[ell]] += g[ell] * ad[ps[ell]]
    if not _buyer_factors(a, b, e, fac, lo, bound):
        return False
    Q = e.Q
    X = e.X
    for s in range(ns + 1):
        Q[s] = 0.0
        X[s] = 0.0
    # sales (and exports) per slot, summed while the seller stays the same (_eval_totals);
    # each pair's quantity as in eval_factored (the branches on nq and floors are the same
    # for every pair: the compiler takes them out of the loop)
    s_cur = ps[0] if L > 0 else np.uint64(0)
    q_sum = 0.0
    x_sum = 0.0
    for ell in range(L):
        s = ps[ell]
        v = h[ell] * (bx[s] if (nq > 0 and poff[ell] != 0.0) else bd[s])
        if floors:
            at_floor = hF[ell] * cQ
            v = v if K[ell] else at_floor
        qq = v * D[pj[ell]]
        if s != s_cur:
            Q[s_cur] += q_sum
            X[s_cur] += x_sum
            s_cur = s
            q_sum = 0.0
            x_sum = 0.0
        q_sum += qq
        x_sum += qq * poff[ell]
    if L > 0:
        Q[s_cur] += q_sum
        X[s_cur] += x_sum
    _slot_rows(a, b, z, e)
    return True


@njit(cache=True, nogil=True)
def evaluate_fast(a: Any, b: int, z: Any, e: Any, fac: Any) -> None:
    """:func:`eval_factored` where its bounds allow, else :func:`eval_one`."""
    if not eval_factored(a, b, z, e, fac):
        eval_one(a, b, z, e)


@njit(cache=True, nogil=True)
def _quota_x0(a: Any, b: int, k: int) -> float:
    """Baseline exports ``X0_k`` of quota ``k`` (1 for a padding quota)."""
    qs = a.qslot[b, k]
    x0 = a.X0[b, qs] if qs < a.R.shape[1] else 1.0
    return x0 if x0 > 0.0 else 1.0


@njit(cache=True, nogil=True)
def _quota_base(a: Any, b: int, k: int) -> float:
    """``cap_k X0_k`` of quota ``k``."""
    return _quota_x0(a, b, k) * math.exp(a.lncap[b, k])


@njit(cache=True, nogil=True, inline="always")
def _clearing_sales(Q: Any, check: Any, s: int) -> float:
    """Slot ``s``'s sales ``Q_s`` as the Newton matrix divides by them: 1 for a slot whose
    clearing is not checked (``check``: the market's row of ``StackArrays.check``) or that
    sells nothing. Arrays, not the kernels' named tuples: a tuple handed to a helper inside
    a loop costs an atomic reference count per array per pass (see :func:`place_eval`)."""
    return Q[s] if (check[s] and Q[s] > 0.0) else 1.0


@njit(cache=True, nogil=True)
def jacobian_one(a: Any, b: int, z: Any, e: Any, J: Any, Qd: Any, ThKd: Any, P: Any) -> Any:
    """The analytic (semismooth) Jacobian ``dF/dz`` of market ``b`` into ``J`` (``N x N``).

    See :func:`critmin.model.core.jacobian` for the formulas. The clearing block is
    ``(sigma - eta) Qd ThKd^T`` minus the diagonal, with ``Qd_sj = q_sj / Q_s`` (shares of
    the seller's sales: every entry in ``[0, 1]``, so tiny sales cannot overflow) and
    ``ThKd_sj = theta_sj K_sj``: one dense product. ``Qd`` and ``ThKd`` are ``(ns, n)`` work
    arrays holding zeros off this market's pairs (each call writes the same entries); in
    float32 they halve the product's cost and give a Jacobian accurate to about 1e-7, which
    Newton's method tolerates (the residual stays float64). ``P`` ``(ns, ns)``, of ``Qd``'s
    dtype, receives the product (work space, no allocation per call). ``J`` may be C- or
    Fortran-ordered (the Newton iteration keeps it in Fortran order, LAPACK's, so that the
    copy into the LU buffer and the linear residual read it contiguously); the clearing
    block is written column by column. Returns the export row sums
    ``sum_j q_sj K_sj [j != s]`` per slot.
    """
    L = a.nvalid[b]
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    n = a.W.shape[1] - 1
    N = ns + nq
    sig = a.sigma[b]
    se = sig - a.eta[b]
    Qs = np.empty(ns + 1)
    Q = e.Q
    check = a.check[b]
    for s in range(ns):
        Qs[s] = _clearing_sales(Q, check, s)
    Qs[ns] = 1.0
    inv_Qs = np.empty(ns + 1)  # q / Q by a reciprocal, except where Q is too small for one
    for s in range(ns + 1):
        inv_Qs[s] = 1.0 / Qs[s] if Qs[s] > 1e-300 else math.inf
    rowsum = np.zeros(ns + 1)
    rowsum_x = np.zeros(ns + 1)
    ps = a.ps[b].view(np.uint64)  # unsigned indices: no negative-index wraparound
    pj = a.pj[b].view(np.uint64)
    s_cur = np.uint64(ns)
    r_sum = 0.0
    x_sum = 0.0
    for ell in range(L):  # seller after seller: row sums kept in registers per seller
        s = ps[ell]
        j = pj[ell]
        if s >= ns or j >= n:
            continue
        if s != s_cur:
            rowsum[s_cur] += r_sum
            rowsum_x[s_cur] += x_sum
            s_cur = s
            r_sum = 0.0
            x_sum = 0.0
        qq = e.q[ell]
        Qd[s, j] = qq * inv_Qs[s] if inv_Qs[s] < math.inf else qq / Qs[s]
        if e.K[ell]:
            ThKd[s, j] = e.theta[ell]
            r_sum += qq
            x_sum += qq * a.poff[b, ell]
        else:
            ThKd[s, j] = 0.0
    rowsum[s_cur] += r_sum
    rowsum_x[s_cur] += x_sum
    rowsum[ns] = 0.0
    rowsum_x[ns] = 0.0
    if ns == 0:
        J[:, :] = 0.0
        return rowsum_x
    np.dot(Qd, ThKd.T, P)  # every entry of J is written below
    for k in range(ns):
        for i in range(ns):
            J[i, k] = se * P[i, k]
    for i in range(ns):
        J[i, i] -= sig * rowsum[i] / Qs[i] + e.dS[i]
    if nq > 0:
        Qd64 = Qd.astype(np.float64)
        ThKd64 = ThKd.astype(np.float64)
        # the quota slots' rows of Qd and ThKd restricted to exports (own country zeroed)
        thKx = np.zeros((nq, n))
        qx = np.zeros((nq, n))
        rsx = np.zeros(nq)
        qsl = np.empty(nq, dtype=np.intp)
        for k in range(nq):
            qs = min(a.qslot[b, k], ns - 1)
            qsl[k] = qs
            if a.qmask[b, k]:
                own = a.slot_country[b, qs]
                for j in range(n):
                    if j != own:
                        thKx[k, j] = ThKd64[qs, j]
                        qx[k, j] = Qd64[qs, j]
                rsx[k] = rowsum_x[a.qslot[b, k]]
        Juv = np.dot(Qd64, thKx.T)  # clearing rows, quota columns
        for i in range(ns):
            for k in range(nq):
                J[i, ns + k] = se * Juv[i, k]
        for k in range(nq):
            J[qsl[k], ns + k] -= sig * rsx[k] / Qs[qsl[k]]
        dXu = np.dot(qx, ThKd64.T)  # export shares of the quota slots: times Q for X
        dXv = np.dot(qx, thKx.T)
        for k in range(nq):
            # binding quota rows: -dX_k/dz / (cap_k X0_k); slack ones: d g_k / d nu_k = 1
            Xq = _quota_base(a, b, k)
            Qk = Qs[qsl[k]]
            binding = a.qmask[b, k] and e.h[k] <= z[ns + k]
            for i in range(ns):
                v = se * Qk * dXu[k, i]
                if i == qsl[k]:
                    v -= sig * rsx[k]
                J[ns + k, i] = -v / Xq if binding else 0.0
            for ll in range(nq):
                v = se * Qk * dXv[k, ll]
                if ll == k:
                    v -= sig * rsx[k]
                J[ns + k, ns + ll] = -v / Xq if binding else (1.0 if ll == k else 0.0)
    # fixed slots: unit row, zero column
    act = np.empty(N)
    every = True
    for r in range(N):
        on = a.uact[b, r] if r < ns else a.qmask[b, r - ns]
        act[r] = 1.0 if on else 0.0
        every = every and on
    if not every:
        for c in range(N):
            for r in range(N):
                J[r, c] = (J[r, c] * act[c]) * act[r]
        for r in range(N):
            if act[r] == 0.0:
                J[r, r] = 1.0
    return rowsum_x


@njit(cache=True, nogil=True)
def newton_system_one(
    a: Any, b: int, z: Any, e: Any, J: Any, rhs: Any, Qd: Any, ThKd: Any, P: Any
) -> bool:
    """The linear system ``J d = -rhs`` of one semismooth Newton step of market ``b``.

    ``J`` is :func:`jacobian_one` and ``rhs`` the residual, except for unknowns that affect
    nothing at ``z`` (a zero column); see :func:`critmin.model.core.newton_system`. Such a
    row becomes a unit row whose step jumps to the nearest kink (a hair past it), or holds
    the unknown (releases a quota). Returns whether there is such a row.

    Only an active producer price whose supply does not respond (``dS = 0``) or a binding
    quota with no free exports can have a zero column: the scan of ``J``'s column maxima
    runs only when there is such a candidate (most steps have none), which changes nothing
    else: without a candidate there is no jump row either way.
    """
    rowsum_x = jacobian_one(a, b, z, e, J, Qd, ThKd, P)
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    N = ns + nq
    for r in range(N):
        rhs[r] = e.F[r]
    if ns == 0:
        return False
    flat_q = np.zeros(nq, dtype=np.bool_)
    any_flat = False
    if a.any_floor:
        for k in range(nq):
            if a.qmask[b, k] and e.h[k] <= z[ns + k] and rowsum_x[a.qslot[b, k]] == 0.0:
                flat_q[k] = True
                any_flat = True
    candidate_u = False
    for s in range(ns):
        if a.uact[b, s] and e.dS[s] == 0.0:
            candidate_u = True
            break
    if not (candidate_u or any_flat):
        return False
    col_max = np.zeros(N)
    finite = True
    for c in range(N):  # column by column: contiguous in the Fortran-ordered J
        for r in range(N):
            v = abs(J[r, c])
            if v > col_max[c]:
                col_max[c] = v
            elif v != v:
                finite = False
    if not finite:  # a NaN makes every comparison false: no flat column
        return False
    scale = 1.0
    for c in range(N):
        scale = max(scale, col_max[c])
    flat_u = np.zeros(ns, dtype=np.bool_)
    for s in range(ns):
        if a.uact[b, s] and col_max[s] <= 1e-12 * scale and e.dS[s] == 0.0:
            flat_u[s] = True
            any_flat = True
    if not any_flat:
        return False
    # distance of every floored pair to its kink (> 0: the price is held at the floor)
    gap_all = np.full(ns + 1, math.inf)
    gap_exp = np.full(ns + 1, math.inf)
    for ell in range(a.nvalid[b]):
        if not e.K[ell]:
            gap = a.plnFc[b, ell] - e.lnc_hat[ell]
            s = a.ps[b, ell]
            gap_all[s] = min(gap_all[s], gap)
            if a.poff[b, ell] > 0.0:
                gap_exp[s] = min(gap_exp[s], gap)
    for r in range(N):
        if r < ns:
            if not flat_u[r]:
                continue
            u = z[r]
            g = gap_all[r]
            if u < a.lnG[b, r]:
                g = min(g, a.lnG[b, r] - u)
            # sales above supply: the price must rise, to the nearest kink; else hold it
            jump = g if (e.F[r] > 0.0 and math.isfinite(g)) else 0.0
        else:
            k = r - ns
            if not flat_q[k]:
                continue
            if e.h[k] < 0.0:  # exports above the cap: jump to the kink
                gq = gap_exp[a.qslot[b, k]]
                jump = gq if math.isfinite(gq) else 0.0
            else:  # below it: release the quota (nu -> 0)
                jump = -z[r]
        for c in range(N):
            J[r, c] = 0.0
        J[r, r] = 1.0
        rhs[r] = -(jump * (1.0 + 1e-9) + 1e-12) if jump > 0.0 else -jump
    return True


@njit(cache=True, nogil=True)
def first_kink_one(a: Any, b: int, z: Any, e: Any, d: Any, lo: float) -> float:
    """Smallest step ``alpha`` in ``(lo, 1)`` at which ``z + alpha d`` reaches a floor kink
    of market ``b`` (``inf`` if none): along a step a pair's log buyer price is linear,
    ``ln c_hat + alpha (d_u + d_nu)``, and so is a producer price against its subsidy floor.
    Kinks closer than ``lo`` (a pair already at its floor) are ignored."""
    out = math.inf
    if not a.any_floor:
        return out
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    dnu = np.zeros(ns + 1)
    for k in range(nq):
        if a.qmask[b, k]:
            dnu[a.qslot[b, k]] = d[ns + k]
    dnu[ns] = 0.0
    for ell in range(a.nvalid[b]):
        s = a.ps[b, ell]
        slope = (d[s] if s < ns else 0.0) + dnu[s] * a.poff[b, ell]
        dist = a.plnFc[b, ell] - e.lnc_hat[ell]
        if math.isfinite(dist) and slope != 0.0:
            alpha = dist / slope
            if lo < alpha < 1.0:
                out = min(out, alpha)
    for s in range(ns):
        g = a.lnG[b, s]
        if a.uact[b, s] and math.isfinite(g) and d[s] != 0.0:
            alpha = (g - z[s]) / d[s]
            if lo < alpha < 1.0:
                out = min(out, alpha)
    return out


@njit(cache=True, nogil=True)
def evaluate_batch(a: Any, z: Any, buf: Any) -> None:
    """Evaluate every market of a stack (``z`` is ``(B, N)``) as the Newton iteration does
    (:func:`evaluate_fast`)."""
    for b in range(z.shape[0]):
        evaluate_fast(a, b, z[b], row(buf, b), pair_factors(a, b))


@njit(cache=True, nogil=True)
def newton_system_batch(a: Any, z: Any, buf: Any) -> tuple[Any, Any]:
    """:func:`newton_system_one` for every market: ``J`` ``(B, N, N)`` and ``rhs`` ``(B, N)``."""
    B, N = z.shape
    ns = a.R.shape[1]
    n = a.W.shape[1] - 1
    J = np.zeros((B, N, N))
    rhs = np.zeros((B, N))
    for b in range(B):
        Qd = np.zeros((ns, n))
        ThKd = np.zeros((ns, n))
        newton_system_one(a, b, z[b], row(buf, b), J[b], rhs[b], Qd, ThKd, np.empty((ns, ns)))
    return J, rhs


@njit(cache=True, nogil=True)
def jacobian_batch(a: Any, z: Any, buf: Any) -> Any:
    """:func:`jacobian_one` for every market: ``(B, N, N)``."""
    B, N = z.shape
    ns = a.R.shape[1]
    n = a.W.shape[1] - 1
    J = np.zeros((B, N, N))
    for b in range(B):
        Qd = np.zeros((ns, n))
        ThKd = np.zeros((ns, n))
        jacobian_one(a, b, z[b], row(buf, b), J[b], Qd, ThKd, np.empty((ns, ns)))
    return J


@njit(cache=True, nogil=True)
def buyer_revenue(
    pair_i: Any,
    pair_j: Any,
    pair_q: Any,
    pair_t1: Any,
    pair_floor: Any,
    pi: Any,
    e: Any,
    n: int,
) -> Any:
    """Tariff and levy revenue per buyer: ``sum_i (b_ij - pi_i (1 + e_i [i != j])) q_ij`` over
    the trading pairs (``q > 0``), with ``b_ij = max(pi_i (1 + e_i [i != j]) (1 + t1_ij),
    F_ij)``; summed in pair order (see :func:`critmin.model.welfare.compute_welfare`)."""
    out = np.zeros(n)
    _buyer_revenue_into(out, pair_i, pair_j, pair_q, pair_t1, pair_floor, pi, e)
    return out


@njit(cache=True, nogil=True)
def _buyer_revenue_into(
    out: Any, pair_i: Any, pair_j: Any, pair_q: Any, pair_t1: Any, pair_floor: Any, pi: Any, e: Any
) -> None:
    """:func:`buyer_revenue` added into ``out`` (zeros: the revenue itself)."""
    for ell in range(pair_i.shape[0]):
        i = pair_i[ell]
        j = pair_j[ell]
        sell = pi[i] * (1.0 + e[i]) if i != j else pi[i]
        buy = sell * (1.0 + pair_t1[ell])
        if pair_floor[ell] > buy:
            buy = pair_floor[ell]
        qq = pair_q[ell]
        out[j] += (buy - sell if qq > 0.0 else 0.0) * qq


# welfare terms (critmin.model.welfare): here, so that the draws kernel can call them


@njit(cache=True, nogil=True)
def _log0(x: float) -> float:
    """``ln x`` with ``ln 0 = -inf`` (and ``-inf`` for a NaN, which only a failed solve has)."""
    return math.log(x) if x > 0.0 else -math.inf


@njit(cache=True, nogil=True)
def consumer_surplus_change(E: Any, P: Any, eta: float) -> Any:
    """``dCS_j = -E_j (P_j^(1-eta) - 1)/(1-eta)``, ``-E_j ln P_j`` at ``eta = 1``.

    Computed as ``-E expm1((1-eta) ln P) / (1-eta)``, exact at ``P = 1`` and accurate for
    ``eta`` near 1. ``P = inf`` (no supplier left) gives ``-inf`` for ``eta <= 1``; 0 for a
    buyer without baseline expenditure (``E_j = 0``). A compiled loop.
    """
    out = np.zeros(E.shape[0])
    for j in range(E.shape[0]):
        out[j] = _consumer_surplus_change(E[j], P[j], eta)
    return out


@njit(cache=True, nogil=True)
def _consumer_surplus_change(E: float, P: float, eta: float) -> float:
    """One buyer's ``dCS`` (:func:`consumer_surplus_change`)."""
    if not E > 0.0:
        return 0.0
    lnP = _log0(P)
    a = 1.0 - eta
    return -E * lnP if eta == 1.0 else -E * math.expm1(a * lnP) / a


@njit(cache=True, nogil=True)
def producer_surplus_change(R: Any, pi_s: Any, eps: Any) -> Any:
    """``dPS_i = R_i ((pi^s_i)^(1+eps_i) - 1)/(1+eps_i)`` (``-R_i/(1+eps_i)`` at ``pi^s = 0``);
    0 for a country without baseline sales. A compiled loop."""
    out = np.zeros(R.shape[0])
    for i in range(R.shape[0]):
        out[i] = _producer_surplus_change(R[i], pi_s[i], eps[i])
    return out


@njit(cache=True, nogil=True)
def _producer_surplus_change(R: float, pi_s: float, eps: float) -> float:
    """One producer's ``dPS`` (:func:`producer_surplus_change`)."""
    if not R > 0.0:
        return 0.0
    k = 1.0 + eps
    return R * math.expm1(k * _log0(pi_s)) / k


@njit(cache=True, nogil=True)
def _exp0(x: float) -> float:
    """``exp(x)``, with ``exp(0) = 1`` returned without the call (the same number: shifters
    and export-tax equivalents are mostly 0)."""
    return 1.0 if x == 0.0 else math.exp(x)


@njit(cache=True, nogil=True)
def _expm1_0(x: float) -> float:
    """``expm1(x)``, with ``expm1(+-0) = +-0`` returned without the call (the same number)."""
    return x if x == 0.0 else math.expm1(x)


@njit(cache=True, nogil=True)
def _quota_can_bind(cap: float, X0_positive: bool, sells: bool, exports: bool) -> bool:
    """Whether an export cap can bind: finite and positive, with baseline exports and an
    open export pair."""
    return math.isfinite(cap) and cap > 0.0 and X0_positive and sells and exports


@njit(cache=True, nogil=True)
def market_sizes(V: Any, banned: Any, cap: Any) -> tuple[int, int, int]:
    """The sizes of a market's lists (:func:`market_fill`): open pairs ``L`` (``V_ij > 0``,
    not banned, and not an export of a seller whose export cap is 0), producer slots ``ns``
    (countries with baseline sales) and export quotas that can bind ``nq`` (finite positive
    cap, baseline exports, an open export pair). One pass of branch-free counts over ``V``
    and ``banned`` (the compiler vectorises them)."""
    n = V.shape[0]
    L = 0
    ns = 0
    nq = 0
    for i in range(n):
        trading = 0  # V_ij > 0
        open_ = 0  # ... and not banned
        for j in range(n):
            positive = V[i, j] > 0.0
            trading += positive
            open_ += positive & (not banned[i, j])
        if trading == 0:
            continue
        ns += 1
        sold_home = 1 if V[i, i] > 0.0 else 0
        domestic = 1 if sold_home == 1 and not banned[i, i] else 0
        if cap[i] == 0.0:  # an export ban: only the domestic pair stays open
            open_ = domestic
        L += open_
        # a sum of positive numbers is positive: X0 > 0 iff an export pair trades
        if _quota_can_bind(cap[i], trading - sold_home > 0, open_ > 0, open_ - domestic > 0):
            nq += 1
    return L, ns, nq


@njit(cache=True, nogil=True, inline="always")
def _prefetch_row(x: Any, i: int) -> None:
    """:func:`_prefetch` row ``i`` of the 2-D array ``x``, one element per 64 bytes (a cache
    line, where the row is contiguous)."""
    step = max(1, 64 // x.itemsize)
    for k in range(0, x.shape[1], step):
        _prefetch(x, i, k)


@njit(cache=True, nogil=True)
def market_fill(
    V: Any,
    t0: Any,
    t1: Any,
    banned: Any,
    cap: Any,
    levy: Any,
    subsidy_floor: Any,
    eps: Any,
    b: int,
    pairs: Any,
    pair_index: Any,
    pvalid: Any,
    slots: Any,
    slot_country: Any,
    slot_flags: Any,
    buyers: Any,
    buyer_flags: Any,
    qslot: Any,
    lncap: Any,
    qmask: Any,
    countries: Any,
    nvalid: Any,
) -> bool:
    """Everything a stacked system needs from one market, written into row ``b`` of a
    stack's arrays (padding included) in one pass over the market's dense inputs; returns
    whether a levy floor applies on an open pair. Each market writes only its own rows, so
    threads may fill different markets of one stack at the same time.

    Pairs are the ``(i, j)`` with ``V_ij > 0``, seller after seller, then buyer (memory
    order). Over all of them, in that order: sales ``R_i = sum_j V_ij``, exports
    ``X0_i = sum_{j != i} V_ij``, expenditure ``W_j = sum_i V_ij (1 + t0_ij)`` and tariff
    revenue ``sum_i t0_ij V_ij``. The solver later sums sales and exports per seller and CES
    terms and revenue per buyer over the open pairs in the same order, so that without bans
    no change reproduces these sums bit for bit. A pair is open unless banned or an export of
    a seller whose export cap is 0 (an export ban). ``pairs[:, b]`` (``(7, L)``) holds per open
    pair ``V``, ``w = V (1 + t0)``, the log tariff ratio ``ln((1 + t1) / (1 + t0))`` (exactly 0
    where ``t1 == t0``), the log floor on the relative buyer price ``ln(F / (1 + t0))``
    (``-inf`` where there is no floor), ``[i != j]``, ``t1`` and the levy floor ``F``;
    ``pair_index[:, b]`` its producer slot and buyer. The logarithms are taken after the pass,
    for the pairs gathered (without a branch per pair) as having a tariff change or a floor;
    one whose argument equals the previous one's is not computed again (the same number: most
    pairs share a few tariff ratios). While a row is read, the next row of every dense input
    is prefetched (:func:`_prefetch_row`): after other work has pushed the inputs out of the
    caches (bench_solver's case (d) right after its scipy run), the fill of the 30 markets
    took 1.03-1.08 ms against 1.33-1.45 ms without, and the same 0.69 ms when warm
    (docs/performance.md, "Session 13").

    ``pvalid[b]`` marks the market's pairs (they come first; ``nvalid[b]`` of them).

    Producer slots are the countries with baseline sales, in country order:
    ``slot_country``, ``slots[:, b]`` (baseline sales ``R``, exports ``X0``, supply elasticity,
    log subsidy floor, ``-inf`` where none, and 0 for the log supply shifter) and
    ``slot_flags[:, b]`` (stranded: sells on no open pair; producer: a slot of the market not
    stranded, whose clearing is checked; its price is an unknown; numeraire: False). Export
    quotas that can bind (:func:`market_sizes`): ``qslot``, log cap ``lncap`` and ``qmask``.
    Per buyer, with a dummy entry at ``n`` (the padding buyer of a stack): ``buyers[:, b]``
    (``W``, baseline tariff revenue, 0 for the log demand shifter) and ``buyer_flags[:, b]``
    (buys on an open pair; has baseline demand but no open supplier). ``countries[:, b]``:
    supply elasticity and subsidy floor per country. (Shifters and numeraires, rare, are
    set afterwards by :class:`critmin.model.core.StackBuilder`.)

    Padding past the market's own sizes: pairs without trade (no floor: ``-inf``; slot ``ns``
    and buyer ``n`` of the stack, the padding ones), slots of no country (``n``) without sales,
    buyers without demand, quotas on the padding slot (masked), countries with 0.
    """
    n = V.shape[0]
    Lpad = pairs.shape[2]
    nspad = slots.shape[2]
    npad = buyers.shape[2] - 1
    buyers[:, b, :] = 0.0
    buyer_flags[:, b, :] = False
    R = np.empty(n)
    X0 = np.empty(n)
    sells = np.zeros(n, dtype=np.bool_)
    exports = np.zeros(n, dtype=np.bool_)
    cols = np.empty(n, dtype=np.uint64)  # unsigned: no negative-index wraparound
    # per open pair, 1 + t0 (the logarithms' denominators), and the pairs whose tariff ratio
    # or floor needs a logarithm: gathered without a branch per pair (in a zone, whether a
    # pair has a tariff change or a floor follows the membership of its buyer, which a
    # branch predictor cannot guess), the logarithms taken afterwards
    g_pair = np.empty(Lpad)
    with_ratio = np.empty(Lpad, dtype=np.intp)
    with_floor = np.empty(Lpad, dtype=np.intp)
    n_ratio = 0
    n_floor = 0
    a = 0
    ns = 0
    for i in range(n):
        ui = np.uint64(i)  # for comparisons with the unsigned buyer indices of cols
        export_ban = cap[i] == 0.0
        r_i = 0.0  # R[i] and X0[i], summed in registers (the same sequential sums)
        x_i = 0.0
        exports_i = False
        a_row = a
        if i + 1 < n:  # the next row of every dense input on its way to the caches
            _prefetch_row(V, i + 1)
            _prefetch_row(t0, i + 1)
            _prefetch_row(t1, i + 1)
            _prefetch_row(levy, i + 1)
            _prefetch_row(banned, i + 1)
        # the row's trading buyers first, without a branch per entry (about a third of the
        # entries trade: a branch per entry is mispredicted often), then the work per pair
        cnt = 0
        for j in range(n):
            cols[cnt] = j
            cnt += V[i, j] > 0.0
        for c in range(cnt):
            u = cols[c]  # buyer j, unsigned
            v = V[i, u]
            t0_ij = t0[i, u]
            g = 1.0 + t0_ij
            w = v * g
            off = ui != u
            r_i += v
            x_i += v * (1.0 if off else 0.0)
            buyers[0, b, u] += w
            buyers[1, b, u] += (g - 1.0) * v
            if banned[i, u] or (export_ban and off):
                continue
            t1_ij = t1[i, u]
            F = levy[i, u]
            pairs[0, b, a] = v
            pairs[1, b, a] = w
            pairs[2, b, a] = 0.0
            pairs[3, b, a] = -math.inf
            pairs[4, b, a] = 1.0 if off else 0.0
            pairs[5, b, a] = t1_ij
            pairs[6, b, a] = F
            pair_index[0, b, a] = ns  # the seller's slot: rows with a sale before this one
            pair_index[1, b, a] = u
            buyer_flags[0, b, u] = True
            g_pair[a] = g
            with_ratio[n_ratio] = a
            n_ratio += t1_ij != t0_ij
            with_floor[n_floor] = a
            n_floor += F > 0.0
            exports_i |= off
            a += 1
        R[i] = r_i
        X0[i] = x_i
        sells[i] = a > a_row
        exports[i] = exports_i
        ns += cnt > 0  # a sum of positive numbers is positive: R[i] > 0
    # the log tariff ratios ln((1 + t1) / (1 + t0)) and log floors ln(F / (1 + t0)); a
    # logarithm whose argument equals the previous one's is not computed again (the same
    # number: most pairs share a few tariff ratios)
    last = -1.0  # every argument is > 0: nothing matches before the first
    last_log = 0.0
    for k in range(n_ratio):
        ell = with_ratio[k]
        ratio = (1.0 + pairs[5, b, ell]) / g_pair[ell]
        if ratio != last:
            last = ratio
            last_log = math.log(ratio)
        pairs[2, b, ell] = last_log
    last = -1.0
    for k in range(n_floor):
        ell = with_floor[k]
        floor = pairs[6, b, ell] / g_pair[ell]
        if floor != last:
            last = floor
            last_log = math.log(floor)
        pairs[3, b, ell] = last_log
    any_floor = n_floor > 0
    for ell in range(a, Lpad):
        pairs[0, b, ell] = 0.0
        pairs[1, b, ell] = 0.0
        pairs[2, b, ell] = 0.0
        pairs[3, b, ell] = -math.inf
        pairs[4, b, ell] = 0.0
        pairs[5, b, ell] = 0.0
        pairs[6, b, ell] = 0.0
        pair_index[0, b, ell] = nspad
        pair_index[1, b, ell] = npad
    for ell in range(Lpad):
        pvalid[b, ell] = ell < a
    nvalid[b] = a
    k = 0
    kq = 0
    for i in range(n):
        countries[0, b, i] = eps[i]
        countries[1, b, i] = subsidy_floor[i]
        if not R[i] > 0.0:
            continue
        slot_country[b, k] = i
        slots[0, b, k] = R[i]
        slots[1, b, k] = X0[i]
        slots[2, b, k] = eps[i]
        g = subsidy_floor[i]
        slots[3, b, k] = math.log(g) if g > 0.0 else -math.inf
        slots[4, b, k] = 0.0
        slot_flags[0, b, k] = not sells[i]
        slot_flags[1, b, k] = sells[i]
        slot_flags[2, b, k] = sells[i]
        slot_flags[3, b, k] = False
        if _quota_can_bind(cap[i], X0[i] > 0.0, sells[i], exports[i]):
            qslot[b, kq] = k
            lncap[b, kq] = math.log(cap[i])
            qmask[b, kq] = True
            kq += 1
        k += 1
    countries[:, b, n:] = 0.0
    for s in range(k, nspad):
        slot_country[b, s] = npad
        slots[0, b, s] = 0.0
        slots[1, b, s] = 0.0
        slots[2, b, s] = 0.0
        slots[3, b, s] = -math.inf
        slots[4, b, s] = 0.0
        slot_flags[:, b, s] = False
    for q in range(kq, qslot.shape[1]):
        qslot[b, q] = nspad
        lncap[b, q] = 0.0
        qmask[b, q] = False
    for j in range(n):
        buyer_flags[1, b, j] = buyers[0, b, j] > 0.0 and not buyer_flags[0, b, j]
    return any_floor


@njit(cache=True, nogil=True)
def country_levels(
    a: Any, b: int, n: int, z: Any, nu: Any, X: Any, lnP: Any, eps: Any, subsidy_floor: Any
) -> tuple[Any, ...]:
    """Market ``b`` of a solved stack in countries (``n``), from its slots and pairs.

    Producer prices ``pi = exp(u)`` (0 if stranded, 1 for countries without sales), export-tax
    equivalents ``e = expm1(nu)``, composite prices ``P = exp(ln P)`` (``inf`` for an
    unsupplied buyer), demand ``D = a P^-eta`` (0 there; ``a`` the demand shifter),
    ``pi_s = max(pi, G)``, ``S = k pi_s^eps`` (``k`` the supply shifter), exports and baseline
    exports and baseline sales per country, the stranded flag per country, and the seller
    country of each valid pair. ``nu``, ``X`` and ``lnP`` are the market's evaluation at
    ``z`` (rows of an :class:`EvalBuf`).
    """
    pi, ee, P, D, pi_s, S = (
        np.empty(n),
        np.empty(n),
        np.empty(n),
        np.empty(n),
        np.empty(n),
        np.empty(n),
    )
    exports, baseline_exports, R, kc = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    stranded = np.empty(n, dtype=np.bool_)
    pair_i = np.empty(a.nvalid[b], dtype=np.intp)
    _levels_into(
        a,
        b,
        z,
        nu,
        X,
        lnP,
        eps,
        subsidy_floor,
        pi,
        ee,
        P,
        D,
        pi_s,
        S,
        exports,
        baseline_exports,
        R,
        kc,
        stranded,
        pair_i,
    )
    return pi, ee, P, D, pi_s, S, exports, baseline_exports, R, stranded, pair_i


@njit(cache=True, nogil=True)
def _levels_into(
    a: Any,
    b: int,
    z: Any,
    nu: Any,
    X: Any,
    lnP: Any,
    eps: Any,
    subsidy_floor: Any,
    pi: Any,
    ee: Any,
    P: Any,
    D: Any,
    pi_s: Any,
    S: Any,
    exports: Any,
    baseline_exports: Any,
    R: Any,
    kc: Any,
    stranded: Any,
    pair_i: Any,
) -> None:
    """:func:`country_levels` written into the given arrays (``n`` = their length), with the
    supply shifter per country in ``kc``."""
    n = pi.shape[0]
    ns = a.R.shape[1]
    eta = a.eta[b]
    pi[:] = 1.0
    ee[:] = 0.0
    exports[:] = 0.0
    baseline_exports[:] = 0.0
    R[:] = 0.0
    kc[:] = 1.0
    stranded[:] = False
    for s in range(ns):
        c = a.slot_country[b, s]
        if c >= n:
            continue
        kc[c] = _exp0(a.lnk[b, s])
        strand = not a.check[b, s]  # a country with sales but no open pair left
        stranded[c] = strand
        pi[c] = 0.0 if strand else math.exp(z[s])
        ee[c] = _expm1_0(nu[s])
        exports[c] = X[s]
        baseline_exports[c] = a.X0[b, s]
        R[c] = a.R[b, s]
    for j in range(n):
        if a.supplied[b, j] or not a.W[b, j] > 0.0:
            P[j] = math.exp(lnP[j])
            D[j] = math.exp(-eta * lnP[j] + a.lna[b, j])
        else:  # unsupplied: baseline demand, no supplier left
            P[j] = math.inf
            D[j] = 0.0
    for i in range(n):
        g = subsidy_floor[i]
        pi_s[i] = g if g > pi[i] else pi[i]
        # 1^eps = 1 (C99 pow): countries without sales keep pi = 1
        S[i] = (1.0 if pi_s[i] == 1.0 else pi_s[i] ** eps[i]) * kc[i]
    for ell in range(pair_i.shape[0]):
        pair_i[ell] = a.slot_country[b, a.ps[b, ell]]


@njit(cache=True, nogil=True)
def shifted(a: Any, b: int, n: int) -> Any:
    """The supply shifter ``k`` per country of market ``b`` (1 where none)."""
    kc = np.ones(n)
    for s in range(a.R.shape[1]):
        c = a.slot_country[b, s]
        if c < n:
            kc[c] = _exp0(a.lnk[b, s])
    return kc


@njit(cache=True, nogil=True)
def _max_abs_nan(v: Any) -> float:
    """``max(0, max |v|)``, NaN if any entry is NaN (as NumPy's ``abs(v).max(initial=0)``)."""
    m = 0.0
    for k in range(v.shape[0]):
        x = abs(v[k])
        if x > m:
            m = x
        elif x != x:
            return x
    return m


@njit(cache=True, nogil=True)
def levels_batch(
    a: Any,
    sizes: Any,
    z: Any,
    F: Any,
    nu: Any,
    X: Any,
    lnP: Any,
    q: Any,
    f_check: Any,
    eps: Any,
    subsidy_floor: Any,
    pt1: Any,
    pF: Any,
    rev0: Any,
    log_range: float,
) -> Any:
    """:func:`country_levels`, the consumer and producer surplus changes and the tariff and
    levy revenue per buyer (:func:`buyer_revenue`) of every market of a solved stack, in one
    call (one dispatch for the batch instead of several per market), written straight into
    the ``(B, n)`` results; and per market whether the solution is representable (every
    ``|z| < log_range``), its largest residual (``max |F|``, or of the clearing check of every
    producer slot when larger; NaN if any is NaN) and whether it has a numeraire, an unsupplied
    buyer or a stranded producer.

    The welfare terms are those of :func:`critmin.model.welfare.assemble_welfare`, the same
    operations in the same order (so the same numbers): tariff revenue change ``revenue -
    rev0``, quota rent ``pi e X``, subsidy cost ``(pi^s - pi) S R`` and ``welfare = dCS + dPS
    + revenue change + rent - subsidy``; ``invalid`` says where a welfare is NaN (where NumPy
    would have warned of an invalid operation, :func:`critmin.model.solver._welfare`).

    ``z`` are the solutions and ``F`` their residuals; ``nu``, ``X``, ``lnP``, ``q`` and
    ``f_check`` the stack's evaluation at ``z`` (fields of an :class:`EvalBuf`); ``eps`` and
    ``subsidy_floor`` are per market and country ``(B, n)``; ``pt1`` and ``pF`` the pairs'
    scenario tariffs and levy floors ``(B, L)``; ``rev0`` the baseline revenue per buyer.
    Surplus changes are on the shifted curves: demand scaled by ``a``, supply by ``k``
    (exactly ``E`` and ``R`` without shocks)."""
    B = z.shape[0]
    n = eps.shape[1]
    L = a.ps.shape[1]
    pi = np.zeros((B, n))
    ee = np.zeros((B, n))
    P = np.zeros((B, n))
    D = np.zeros((B, n))
    pi_s = np.zeros((B, n))
    S = np.zeros((B, n))
    exports = np.zeros((B, n))
    bexp = np.zeros((B, n))
    R = np.zeros((B, n))
    stranded = np.zeros((B, n), dtype=np.bool_)
    dCS = np.zeros((B, n))
    dPS = np.zeros((B, n))
    revenue = np.zeros((B, n))
    pair_i = np.zeros((B, L), dtype=np.intp)
    tariff_revenue = np.zeros((B, n))
    quota_rent = np.zeros((B, n))
    subsidy_cost = np.zeros((B, n))
    welfare = np.zeros((B, n))
    representable = np.empty(B, dtype=np.bool_)
    max_residual = np.empty(B)
    flagged = np.empty(B, dtype=np.bool_)
    invalid = np.zeros(B, dtype=np.bool_)
    kc = np.empty(n)
    for b in range(B):
        nb = sizes[b]
        Lb = a.nvalid[b]
        _levels_into(
            a,
            b,
            z[b],
            nu[b],
            X[b],
            lnP[b],
            eps[b, :nb],
            subsidy_floor[b, :nb],
            pi[b, :nb],
            ee[b, :nb],
            P[b, :nb],
            D[b, :nb],
            pi_s[b, :nb],
            S[b, :nb],
            exports[b, :nb],
            bexp[b, :nb],
            R[b, :nb],
            kc[:nb],
            stranded[b, :nb],
            pair_i[b, :Lb],
        )
        eta = a.eta[b]
        for j in range(nb):
            E = a.W[b, j] * _exp0(a.lna[b, j])
            dCS[b, j] = _consumer_surplus_change(E, P[b, j], eta)
            dPS[b, j] = _producer_surplus_change(R[b, j] * kc[j], pi_s[b, j], eps[b, j])
        _buyer_revenue_into(
            revenue[b, :nb],
            pair_i[b, :Lb],
            a.pj[b, :Lb],
            q[b, :Lb],
            pt1[b, :Lb],
            pF[b, :Lb],
            pi[b, :nb],
            ee[b, :nb],
        )
        for j in range(nb):
            tr = revenue[b, j] - rev0[b, j]
            qr = pi[b, j] * ee[b, j] * exports[b, j]
            sc = (pi_s[b, j] - pi[b, j]) * S[b, j] * R[b, j]
            w = dCS[b, j] + dPS[b, j] + tr + qr - sc
            tariff_revenue[b, j] = tr
            quota_rent[b, j] = qr
            subsidy_cost[b, j] = sc
            welfare[b, j] = w
            invalid[b] |= w != w
        fits = True
        for k in range(z.shape[1]):
            if not abs(z[b, k]) < log_range:
                fits = False
        representable[b] = fits
        resid = _max_abs_nan(F[b])
        fcheck = _max_abs_nan(f_check[b])
        max_residual[b] = fcheck if fcheck > resid else resid
        flag = False
        for s in range(a.check.shape[1]):
            flag |= a.check[b, s] and not a.uact[b, s]  # a numeraire
        for j in range(a.W.shape[1]):
            flag |= a.W[b, j] > 0.0 and not a.supplied[b, j]  # an unsupplied buyer
        for j in range(nb):
            flag |= stranded[b, j]
        flagged[b] = flag
    return Levels(
        pi,
        ee,
        P,
        D,
        pi_s,
        S,
        exports,
        bexp,
        R,
        stranded,
        dCS,
        dPS,
        revenue,
        pair_i,
        representable,
        max_residual,
        flagged,
        tariff_revenue,
        quota_rent,
        subsidy_cost,
        welfare,
        invalid,
    )


# --------------------------------------------------------------------------------------------
# the Newton iteration (newton_batch)


# LAPACK's sgetrf as Numba binds it for np.linalg.inv (an internal Numba API: pyproject.toml
# bounds numba's version, and tests cover it):
# a float32 LU whose factors are kept, so that a quasi-Newton step costs two triangular solves.
numba_linalg.ensure_lapack()
_SGETRF = numba_linalg._LAPACK().numba_xxgetrf(types.float32)
_SGETRF_KIND = ord("s")
_LAPACK_INT = numba_linalg.F_INT_nptype
_DGESV = numba_linalg._LAPACK().numba_xgesv(types.float64)  # np.linalg.solve's, float64
_DGESV_KIND = ord("d")

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
"""Mixed precision: a float32 LU (and the float32 product in the matrix) makes each step
accurate to about ``kappa`` times 1e-7 (relative), so near the solution Newton's quadratic
contraction becomes at worst linear with that ratio. A market whose residual norm is below
``SINGLE_UNTIL`` and falls by less than this factor in a step, or whose step needed
backtracking, is factored in float64 from then on (an ill-conditioned system)."""
SINGLE_LINEAR_TOL = 1e-4
"""A float32 step whose linear residual ``max |J d + F| / max |F|`` exceeds this (an
ill-conditioned matrix, e.g. a price level nearly undetermined with ``eta = 0``) is redone in
float64, and the market stays in float64: an inexact Newton step with relative residual
``r`` contracts the residual by about ``r`` at best (Dembo, Eisenstat & Steihaug 1982)."""
BROYDEN_BELOW = 0.1
BROYDEN_CONTRACTION = 0.5
BROYDEN_MEMORY = 16
"""Quasi-Newton steps. After a full float32 Newton step, while the residual norm is below
``BROYDEN_BELOW``, the next steps keep the last LU factors and correct them by Broyden's
"good" rank-one updates instead of forming and factoring a new Jacobian: with ``B_0`` the
factored matrix and ``s_0, ..., s_k`` the steps taken since (each in full),
``w = -B_0^-1 F``, ``w <- w + s_(j+1) (s_j . w) / |s_j|^2`` for ``j = 0 .. k-1`` and
``s_(k+1) = w / (1 - s_k . w / |s_k|^2)`` (Broyden 1965; this form, which needs only the
steps and two triangular solves, is Kelley 1995, "Iterative Methods for Linear and
Nonlinear Equations", algorithm ``brsol``, sec. 7.3). Near a solution the iteration
converges superlinearly (Dennis & More 1974), and a step costs one evaluation of the
equations, where a Newton step costs an evaluation, the Newton matrix and its LU. A
quasi-Newton step is taken in full or not at all: it is kept if it lowers the residual,
the next one follows while each cuts the residual by at least ``BROYDEN_CONTRACTION``
(and at most ``BROYDEN_MEMORY`` steps per matrix); otherwise the next step is a Newton step
with a fresh matrix, so a step that crosses a floor or quota kink (where the Jacobian
jumps) costs one evaluation. The chord step (the last factors without the updates;
Shamanskii 1967) is the first of these steps up to the factor ``1 / (1 - s_0 . w / |s_0|^2)``."""
RESIDUAL_ONLY_BELOW = 1.0
"""Trial points of a step taken where the residual norm is below this are evaluated for
their residual only (:func:`eval_residual`: no pair arrays); the point is evaluated in full
again where a Newton matrix or the results need it. Quasi-Newton steps (below
``BROYDEN_BELOW``) always are; Newton steps taken this close to the solution mostly lead to
quasi-Newton ones, further out a Newton step mostly leads to another (whose matrix needs the
pair arrays: evaluating the trial in full saves the second evaluation)."""
FULL_TRIAL_BELOW = 3e-10
"""Trial points of steps taken where the residual norm is below this are evaluated in full
again, not for their residual only: a step from there mostly ends the solve (the
quasi-Newton steps cut the norm about a thousandfold each; the solve stops at a largest
residual of ``tol``, 1e-12 by default), and the results need the full evaluation at the
last point, which the trial's then is (one evaluation instead of a residual-only one and a
full one). Over the 200-country market of bench_solver's case (a) and twelve of case (d)'s
markets, the last step started from a norm of 4e-12 to 3e-10 in all but one (6e-10). A step
that does not end the solve costs the difference (about 16 us on 200 countries)."""
SWEEPS = 2
SWEEP_CONTRACTION = 0.5
"""First steps without a Newton matrix. While the residual norm is above ``BROYDEN_BELOW``,
up to ``SWEEPS`` first steps are Jacobi steps on the producer prices corrected along the
price level (:func:`_sweep_direction`: the diagonal of the Jacobian and two passes over the
pairs, no matrix, no factorisation), each taken in full if the linear model predicts, and
the evaluation confirms, that it cuts the residual norm by ``SWEEP_CONTRACTION``; the first
that does not ends them (before its evaluation where the prediction already fails). On a
market of 200 countries the first Newton step from the baseline leaves a residual norm of
about 0.14 and needs a second matrix; two such steps (about 55 us each, against 170-200 us
for a Newton step) leave about 0.05, from where one Newton matrix and its quasi-Newton steps
finish. Measured per market (compiled loops, one thread): 0.60 -> 0.50-0.52 ms on that
market, -5% over 30 random markets of 10-200 countries, +1% over the 30 bundled products
(where most first steps are rejected by the prediction, at the cost of the direction)."""
KINK_MIN_STEP = 1e-3
"""Kinks closer than this fraction of a step are not tried (a pair already at its floor)."""
KINK_STREAK = 1
"""After a failed full step the line search tries the first floor kink along the step at once,
unless this many steps in a row already stopped at a kink: then (until a step does not stop
at one) it halves the step and stops at the kink only once halving would pass it. Where
hundreds of pairs reach a levy floor on the way (the NdPr paths example's variable levy at
1.56 times the baseline price), stopping at the first kink every time crossed one or two
floors per step: 100-150 steps, and the iteration limit of every attempt in 11 of its
yearly solves; with the streak rule 9-12 steps. Always halving first instead took 20 steps
where the kink at once takes 7 (tests/unit/test_model_solver.py)."""
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
def _gesv(J: Any, neg: Any) -> tuple[Any, bool]:
    """``J^-1 neg`` by LAPACK ``dgesv``, as ``np.linalg.solve`` calls it (the same copies, the
    same numbers), and whether it succeeded, without raising: ``np.linalg.solve`` raises for
    a singular or non-finite ``J``, and an exception raised in compiled code leaks the arrays
    allocated before it (Numba frees them only on a normal return). Two such arrays per
    failed Newton call made a Monte Carlo run of markets that do not solve grow by about
    100 KB a draw, to 21 GB in the server (docs/performance.md, "Session 19")."""
    n = J.shape[0]
    for c in range(n):
        for r in range(n):
            if not math.isfinite(J[r, c]):
                return np.zeros(n), False
    if not _all_finite(neg):
        return np.zeros(n), False
    acpy = np.empty((n, n)).T  # Fortran order: dgesv overwrites it with the factors
    acpy[:, :] = J
    bcpy = np.empty((1, n)).T
    bcpy[:, 0] = neg
    ipiv = np.empty(n, dtype=_LAPACK_INT)
    info = _DGESV(_DGESV_KIND, n, 1, acpy.ctypes, n, ipiv.ctypes, bcpy.ctypes, n)
    return bcpy[:, 0].copy(), info == 0


@njit(cache=True, nogil=True)
def _all_finite_matrix(J: Any) -> bool:
    for c in range(J.shape[1]):
        for r in range(J.shape[0]):
            if not math.isfinite(J[r, c]):
                return False
    return True


@njit(cache=True, nogil=True)
def solve_step(J: Any, rhs: Any) -> Any:
    """The Newton step ``d = -J^-1 rhs`` (LAPACK ``gesv``); the least-squares step
    (``rcond = 1e-13``) where ``J`` is singular; 0 where neither is finite."""
    neg = -rhs
    d, ok = _gesv(J, neg)  # never raises (an exception in compiled code leaks its arrays)
    ok = ok and _all_finite(d)
    if not ok and _all_finite(neg) and _all_finite_matrix(J):
        try:  # finite, so lstsq raises only if its SVD does not converge (rare)
            d = np.linalg.lstsq(J, neg, 1e-13)[0]
            ok = _all_finite(d)
        except Exception:
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
    if info != 0:
        return False
    for j in range(N):  # noqa: SIM110 - a plain loop for Numba (a zero pivot despite the status)
        if lu[j, j] == 0.0:
            return False
    return True


@njit(cache=True, nogil=True)
def lu_step(lu: Any, ipiv: Any, rhs: Any) -> Any:
    """``d = -J^-1 rhs`` from the float32 LU factors of ``J`` (triangular solves in float64)."""
    N = rhs.shape[0]
    x = -rhs
    for k in range(N):
        p = ipiv[k] - 1  # LAPACK pivots are 1-based
        if p != k:
            x[k], x[p] = x[p], x[k]
    # column by column (contiguous in Fortran order), with unsigned indices: a signed one
    # from j + 1 keeps Numba's negative-index wraparound in the loop, which then does not
    # vectorise (2.4x slower at 117 unknowns; the same numbers: no sum is reordered)
    un = np.uint64(N)
    for j in range(N):  # L (unit diagonal)
        xj = x[j]
        if xj != 0.0:
            uj = np.uint64(j)
            for i in range(uj + np.uint64(1), un):
                x[i] -= lu[i, uj] * xj
    for j in range(N - 1, -1, -1):
        x[j] /= lu[j, j]
        xj = x[j]
        if xj != 0.0:
            uj = np.uint64(j)
            for i in range(uj):
                x[i] -= lu[i, uj] * xj
    return x


@njit(cache=True, nogil=True)
def _keep_step(d: Any, steps: Any, step_sq: Any, k: int) -> None:
    """Store step ``d`` as ``s_k`` of the Broyden updates, with ``|s_k|^2``."""
    sq = 0.0
    for i in range(d.shape[0]):
        steps[k, i] = d[i]
        sq += d[i] * d[i]
    step_sq[k] = sq


@njit(cache=True, nogil=True)
def _broyden_step(lu: Any, ipiv: Any, F: Any, steps: Any, step_sq: Any, nb: int) -> Any:
    """The quasi-Newton step ``-B_nb^-1 F`` after ``nb`` full steps ``s_0 .. s_(nb-1)`` from
    the matrix ``B_0`` whose LU factors are given (see :data:`BROYDEN_BELOW`); NaN where
    the update is degenerate (``s_k . w = |s_k|^2``)."""
    w = lu_step(lu, ipiv, F)
    N = w.shape[0]
    for j in range(nb - 1):
        c = 0.0
        for i in range(N):
            c += steps[j, i] * w[i]
        c /= step_sq[j]
        for i in range(N):
            w[i] += steps[j + 1, i] * c
    c = 0.0
    for i in range(N):
        c += steps[nb - 1, i] * w[i]
    denom = 1.0 - c / step_sq[nb - 1]
    if not (denom != 0.0 and math.isfinite(denom)):
        w[:] = math.nan
        return w
    for i in range(N):
        w[i] /= denom
    return w


@njit(cache=True, nogil=True)
def _linear_residual(J: Any, d: Any, rhs: Any) -> float:
    """``max |J d + rhs| / max |rhs|``: how well a step solves its linear system.

    Row ``r``'s sum is ``rhs_r + J_r0 d_0 + J_r1 d_1 + ...`` in this order; the rows are
    accumulated side by side, column after column (contiguous in the Fortran-ordered ``J``
    of the Newton iteration)."""
    N = rhs.shape[0]
    acc = rhs.copy()
    for c in range(N):
        dc = d[c]
        for r in range(N):
            acc[r] += J[r, c] * dc
    worst = 0.0
    for r in range(N):
        worst = max(worst, abs(acc[r]))
    scale = _max_abs(rhs)
    return worst / scale if scale > 0.0 else 0.0


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
def _sweep_direction(a: Any, b: int, e: Any, cap: float) -> Any:
    """A Jacobi step on the producer prices with a correction along the price level, and
    the residual norm the linear model predicts after it: the first steps of a solve
    (:data:`SWEEPS`).

    ``d_s = -F_s / J_ss`` for every active producer slot (0 for the quota unknowns, fixed
    slots and a zero diagonal), then ``d <- d + c 1`` with ``c`` minimising
    ``|F + J d + c g|^2`` over the clearing rows, ``g`` approximating ``J 1``: a coarse
    correction along the constant vector, the slow mode of the Jacobi iteration (the
    clearing block is diagonally dominant by rows with the margin ``eta + eps``: a rise of
    every price moves demand by ``-eta`` and supply by ``eps``). With :func:`jacobian_one`'s
    terms, ``J_ss = (sigma - eta) sum_j q_sj theta_sj K_sj / Q_s - lam_s``,
    ``lam_s = sigma sum_j q_sj K_sj / Q_s + dS_s``, ``(J v)_s = (sigma - eta) sum_j (q_sj /
    Q_s) y_j - lam_s v_s`` with ``y_j = sum_k theta_kj K_kj v_k`` (two passes over the pairs,
    no matrix), and ``g_s = (sigma - eta) - lam_s`` (``J 1`` where every share ``theta_kj``
    counts, ``sum_k theta_kj = 1``; at floors, where some do not, an approximation, which
    only makes ``c`` less good). Capped at ``cap`` in any unknown. ``e`` is the full
    evaluation at the point (its pair arrays). The prediction is ``|F + J d_J + c g|``
    (``d_J`` the Jacobi part, the cap aside; the quota rows unchanged)."""
    L = a.nvalid[b]
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    n1 = a.W.shape[1]
    se = a.sigma[b] - a.eta[b]
    ps = a.ps[b].view(np.uint64)
    pj = a.pj[b].view(np.uint64)
    K = e.K
    q = e.q
    th = e.theta
    ns1 = ns + 1
    own = np.zeros(ns1)  # sum_j q_sj theta_sj K_sj
    free = np.zeros(ns1)  # sum_j q_sj K_sj
    s_cur = ps[0] if L > 0 else np.uint64(0)
    o_sum = 0.0
    f_sum = 0.0
    for ell in range(L):  # sums per seller kept in registers while the seller stays
        s = ps[ell]
        qk = q[ell] if K[ell] else 0.0
        if s != s_cur:
            own[s_cur] += o_sum
            free[s_cur] += f_sum
            s_cur = s
            o_sum = 0.0
            f_sum = 0.0
        o_sum += qk * th[ell]
        f_sum += qk
    if L > 0:
        own[s_cur] += o_sum
        free[s_cur] += f_sum
    ds = np.zeros(ns1)  # the Jacobi step per slot (0 on the padding slot)
    inv_Q = np.zeros(ns1)
    lam = np.zeros(ns1)
    Q = e.Q
    check = a.check[b]
    uact = a.uact[b]
    dS = e.dS
    F = e.F
    for s in range(ns):
        if not uact[s]:
            continue
        Qs = _clearing_sales(Q, check, s)
        inv_Q[s] = 1.0 / Qs
        lam[s] = a.sigma[b] * free[s] / Qs + dS[s]
        jss = se * own[s] / Qs - lam[s]
        if jss != 0.0 and math.isfinite(jss):
            ds[s] = -F[s] / jss
    y = np.zeros(n1)
    for ell in range(L):
        y[pj[ell]] += (th[ell] if K[ell] else 0.0) * ds[ps[ell]]
    jd = np.zeros(ns1)  # (J d)_s before the diagonal term, times Q_s / (sigma - eta)
    s_cur = ps[0] if L > 0 else np.uint64(0)
    d_sum = 0.0
    for ell in range(L):
        s = ps[ell]
        if s != s_cur:
            jd[s_cur] += d_sum
            s_cur = s
            d_sum = 0.0
        d_sum += q[ell] * y[pj[ell]]
    if L > 0:
        jd[s_cur] += d_sum
    num = 0.0
    den = 0.0
    for s in range(ns):
        if not uact[s]:
            continue
        g = se - lam[s]
        r = F[s] + se * jd[s] * inv_Q[s] - lam[s] * ds[s]
        num += r * g
        den += g * g
    c = -num / den if den > 0.0 and math.isfinite(num) else 0.0
    d = np.zeros(ns + nq)
    big = 0.0
    lin = 0.0  # the linear model's residual norm after the step
    for s in range(ns + nq):
        if s < ns and uact[s]:
            d[s] = ds[s] + c
            big = max(big, abs(d[s]))
            r = F[s] + se * jd[s] * inv_Q[s] - lam[s] * ds[s] + c * (se - lam[s])
        else:
            r = F[s]
        lin += r * r
    if big > cap:
        for s in range(ns):
            d[s] *= cap / big
    return d, math.sqrt(lin)


@njit(cache=True, nogil=True)
def _newton_one(
    a: Any, b: int, z: Any, out: Any, tol: float, max_iter: int, pure: bool, single: bool
) -> tuple[int, int]:
    """Solve market ``b`` from the ``z`` given (the baseline ``z = 0``, or a warm start);
    leaves the final ``z`` in ``z`` and its evaluation
    in ``out``. Returns ``(iterations, status)``: 1 converged, 0 iteration limit,
    ``LINE_SEARCH_FAILED``. With ``pure`` every finite step is taken in full (capped).

    With ``single`` the Newton matrix's dense product is formed in float32 (see
    :func:`jacobian_one`) and the matrix factored in float32 (see :data:`SINGLE_UNTIL`,
    :data:`SINGLE_LINEAR_TOL`) until a float32 step solves its linear system badly, needs
    backtracking or contracts the residual by less than ``SINGLE_MIN_CONTRACTION`` near the
    solution; from then on, and for steps with a jump row (which must land a hair past a
    kink), the market is solved in float64, product included."""
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    n = a.W.shape[1] - 1
    N = ns + nq
    L = a.ps.shape[1]
    cur = out
    trial = row(alloc_eval(1, L, n + 1, ns, nq), 0)
    in_out = True
    zt = np.zeros(N)
    fac = pair_factors(a, b)
    # the evaluations are called directly, not through evaluate_fast: a call of a function
    # taking the named tuples costs an atomic reference count per array field
    if not eval_factored(a, b, z, cur, fac):
        eval_one(a, b, z, cur)
    cur_full = True  # cur holds the pair arrays too (else only its residual: eval_residual)
    cap = MAX_STEP
    iterations = 0
    if not pure:  # first steps without a Newton matrix (SWEEPS)
        for _ in range(min(SWEEPS, max_iter)):
            phi_now = _norm(cur.F)
            if not phi_now > BROYDEN_BELOW:
                break
            d, predicted = _sweep_direction(a, b, cur, cap)
            if not predicted < SWEEP_CONTRACTION * phi_now:  # NaN too: not worth a trial
                break
            for i in range(N):
                zt[i] = z[i] + d[i]
            if not eval_factored(a, b, zt, trial, fac):
                eval_one(a, b, zt, trial)
            phi = _norm(trial.F)
            if not (math.isfinite(phi) and phi < SWEEP_CONTRACTION * phi_now):
                break
            z[:] = zt
            cur, trial = trial, cur
            in_out = not in_out
            iterations += 1
    hist = np.full(MEMORY, -math.inf)
    hist[0] = _norm(cur.F)
    J = np.empty((N, N)).T  # Fortran order, like lu; every entry written by jacobian_one
    rhs = np.zeros(N)
    # dense work arrays of the Jacobian's product (zeros off the pairs): float32 while single
    Qd32 = np.zeros((ns if single else 0, n), dtype=np.float32)
    ThKd32 = np.zeros((ns if single else 0, n), dtype=np.float32)
    P32 = np.empty((ns if single else 0, ns), dtype=np.float32)
    Qd = np.zeros((0 if single else ns, n))  # float64, allocated once needed
    ThKd = np.zeros((0 if single else ns, n))
    P = np.empty((0 if single else ns, ns))
    lu = np.empty((N, N), dtype=np.float32).T  # Fortran order, as LAPACK writes it
    ipiv = np.empty(N, dtype=_LAPACK_INT)
    have_lu = False  # lu holds the factors of the last Newton matrix
    steps = np.empty((BROYDEN_MEMORY, N))  # the steps taken since it was factored
    step_sq = np.empty(BROYDEN_MEMORY)  # their squared norms
    nb = 0  # how many
    status = 0
    kink_streak = 0  # steps in a row that stopped at a kink (KINK_STREAK)
    for it in range(iterations, max_iter):
        if _max_abs(cur.F) <= tol:
            break
        phi_now = _norm(cur.F)
        if have_lu and phi_now < BROYDEN_BELOW:  # have_lu: nb >= 1 steps stored
            # quasi-Newton step: the last LU factors with Broyden's updates, no new matrix
            d = _broyden_step(lu, ipiv, cur.F, steps, step_sq, nb)
            if _all_finite(d) and _max_abs(d) <= cap:
                for i in range(N):
                    zt[i] = z[i] + d[i]
                full_trial = phi_now < FULL_TRIAL_BELOW  # most likely the last step
                if not (
                    eval_factored(a, b, zt, trial, fac)
                    if full_trial
                    else eval_residual(a, b, zt, trial, fac)
                ):
                    eval_one(a, b, zt, trial)
                phi = _norm(trial.F)
                if math.isfinite(phi) and phi < phi_now:
                    z[:] = zt
                    cur, trial = trial, cur
                    in_out = not in_out
                    cur_full = full_trial
                    iterations += 1
                    kink_streak = 0
                    hist[(it + 1) % MEMORY] = phi
                    if nb < BROYDEN_MEMORY and phi < BROYDEN_CONTRACTION * phi_now:
                        _keep_step(d, steps, step_sq, nb)
                        nb += 1
                    else:  # too slow, or the memory is full: a fresh matrix next
                        have_lu = False
                        nb = 0
                    continue
            have_lu = False  # no progress: a Newton step from here
        have_lu = False
        nb = 0
        if not cur_full:  # after quasi-Newton steps: the pair arrays at z (the same F)
            if not eval_factored(a, b, z, cur, fac):
                eval_one(a, b, z, cur)
            cur_full = True
        if single:
            jump = newton_system_one(a, b, z, cur, J, rhs, Qd32, ThKd32, P32)
        else:
            if Qd.shape[0] != ns:
                Qd = np.zeros((ns, n))
                ThKd = np.zeros((ns, n))
                P = np.empty((ns, ns))
            jump = newton_system_one(a, b, z, cur, J, rhs, Qd, ThKd, P)
        if single and not jump and lu_factor_single(J, lu, ipiv):
            d = lu_step(lu, ipiv, rhs)
            have_lu = _all_finite(d) and _linear_residual(J, d, rhs) <= SINGLE_LINEAR_TOL
            if not have_lu:  # ill-conditioned for float32: float64 from here on
                single = False
        if not have_lu:
            d = solve_step(J, rhs)
        big = _max_abs(d)
        capped = big > cap
        d *= min(1.0, cap / max(big, 1e-300))
        phi_ref = hist.max()
        relax = RELAX**it
        full_trial = not (FULL_TRIAL_BELOW <= phi_now < RESIDUAL_ONLY_BELOW)
        alpha = 1.0
        accepted = False
        phi = math.inf
        kink = -math.inf  # the first floor kink along d (-inf: none, or already tried)
        at_kink = False  # alpha is that kink
        for k in range(MAX_BACKTRACK):
            for i in range(N):
                zt[i] = z[i] + alpha * d[i]
            if not (
                eval_factored(a, b, zt, trial, fac)
                if full_trial
                else eval_residual(a, b, zt, trial, fac)
            ):
                eval_one(a, b, zt, trial)
            phi = _norm(trial.F)
            slack = (1.0 - ARMIJO * alpha + relax) * phi_ref
            if math.isfinite(phi) and (pure or phi <= slack):
                accepted = True
                break
            # after a failed full step, the first kink on the way at once (searched for
            # only then: most full steps are taken; cur is still the point z), unless the
            # last step stopped at one: then halve, and stop at the kink once halving would
            # pass it. Always the kink first crossed one floor per step where hundreds
            # bind: 100 steps and more (docs/performance.md, "Session 18")
            if k == 0:
                kink = first_kink_one(a, b, z, cur, d, KINK_MIN_STEP)
                if not kink < 1.0:  # none
                    kink = -math.inf
                alpha = kink if kink_streak < KINK_STREAK and kink > 0.0 else 0.5
            else:
                alpha *= 0.5
            at_kink = alpha <= kink
            if at_kink:
                alpha = kink
                kink = -math.inf
        kink_streak = kink_streak + 1 if accepted and at_kink else 0
        full = accepted and alpha == 1.0
        if full and capped:
            cap = min(4.0 * cap, MAX_STEP_LIMIT)
        elif not full:
            cap = max(MAX_STEP, 0.25 * cap)
        if accepted:
            z[:] = zt
            cur, trial = trial, cur
            in_out = not in_out
            cur_full = full_trial
            iterations += 1
            if single and (
                not full or (phi_now < SINGLE_UNTIL and phi > SINGLE_MIN_CONTRACTION * phi_now)
            ):
                single = False
        have_lu = have_lu and single and full and not capped
        if have_lu:  # the Newton step, taken in full, is the first step of B_0 = the LU
            _keep_step(d, steps, step_sq, 0)
            nb = 1
        hist[(it + 1) % MEMORY] = _norm(cur.F)  # a ring buffer
        if not accepted:
            status = LINE_SEARCH_FAILED
            break
    if not cur_full and not eval_factored(a, b, z, cur, fac):
        eval_one(a, b, z, cur)
    if not in_out:
        _copy_into(cur, out)
    if status == 0 and _max_abs(cur.F) <= tol:
        status = 1
    return iterations, status


@njit(cache=True, nogil=True)
def newton_batch(a: Any, tol: float, max_iter: int, pure: bool, single: bool) -> tuple[Any, ...]:
    """Solve every market of a stack (:class:`critmin.model.kernels.StackArrays`) from the
    baseline; ``pure`` and ``single`` as in :func:`_newton_one`.

    Returns ``z`` ``(B, N)``, the evaluation at ``z`` (a stacked
    :class:`critmin.model.kernels.EvalBuf`), iterations ``(B,)`` and status ``(B,)``
    (1 converged, 0 iteration limit, :data:`LINE_SEARCH_FAILED`).
    """
    return _newton_from(a, np.zeros(0), tol, max_iter, pure, single)


@njit(cache=True, nogil=True)
def _newton_from(
    a: Any, start: Any, tol: float, max_iter: int, pure: bool, single: bool
) -> tuple[Any, ...]:
    """:func:`newton_batch` with every market started from ``start``, unknowns of length
    ``N = ns + nq`` (for a stack of one market: its solution under a nearby policy); from the
    baseline where ``start`` has another length (an empty one: :func:`newton_batch`)."""
    B = a.ps.shape[0]
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    n1 = a.W.shape[1]
    out = alloc_eval(B, a.ps.shape[1], n1, ns, nq)
    z = np.zeros((B, ns + nq))
    if start.shape[0] == ns + nq:
        for b in range(B):
            z[b, :] = start
    iterations = np.zeros(B, dtype=np.intp)
    status = np.zeros(B, dtype=np.intp)
    for b in range(B):
        iterations[b], status[b] = _newton_one(a, b, z[b], row(out, b), tol, max_iter, pure, single)
    return z, out, iterations, status


@njit(cache=True, nogil=True)
def market_solve(
    V: Any,
    t0: Any,
    t1: Any,
    banned: Any,
    cap: Any,
    levy: Any,
    subsidy_floor: Any,
    eps: Any,
    sigma: float,
    eta: float,
    tol: float,
    max_iter: int,
    log_range: float,
    start: Any,
) -> tuple[Any, ...]:
    """One market alone, from its dense inputs to its levels, in one call: its sizes
    (:func:`market_sizes`), its stack of one (the arrays of
    :class:`critmin.model.core.StackBuilder`, filled by :func:`market_fill`), the Newton
    iteration (:func:`newton_batch`) and the levels (:func:`levels_batch`), the same calls
    on the same arrays as :func:`critmin.model.core.stack` and the solver make one by one
    (so the same numbers), without returning to Python in between: for a market of 200
    countries the calls, their argument checks and the Python between them cost about a
    tenth of the solve. For markets that need nothing between the fill and the iteration
    (``eta > 0``: no numeraire; no demand or supply shifter; see
    :meth:`critmin.model.core.StackBuilder.finish_row`).

    ``start``: the unknowns to start the iteration from (a warm start: the solution of the
    same market under a nearby policy, e.g. the inner systems of
    :func:`critmin.model.quota_groups.solve_groups`), or an empty array for the baseline
    (what :func:`newton_batch` does: the same numbers); see :func:`_newton_from`.

    Returns the stack's arrays (in the order of ``StackBuilder.blocks``), whether a levy
    floor applies on an open pair, then what :func:`newton_batch` returns (``z``, the
    evaluation at ``z``, iterations, status) and the :class:`Levels`."""
    n = V.shape[0]
    L, ns, nq = market_sizes(V, banned, cap)
    pairs = np.empty((7, 1, L))
    pair_index = np.empty((2, 1, L), dtype=np.intp)
    pvalid = np.empty((1, L), dtype=np.bool_)
    slots = np.empty((5, 1, ns))
    slot_country = np.empty((1, ns), dtype=np.intp)
    slot_flags = np.empty((4, 1, ns), dtype=np.bool_)
    buyers = np.empty((3, 1, n + 1))
    buyer_flags = np.empty((2, 1, n + 1), dtype=np.bool_)
    qslot = np.empty((1, nq), dtype=np.intp)
    lncap = np.empty((1, nq))
    qmask = np.empty((1, nq), dtype=np.bool_)
    per_country = np.empty((2, 1, n))
    nvalid = np.empty(1, dtype=np.intp)
    blocks = (
        pairs,
        pair_index,
        pvalid,
        slots,
        slot_country,
        slot_flags,
        buyers,
        buyer_flags,
        qslot,
        lncap,
        qmask,
        per_country,
        nvalid,
    )
    any_floor = market_fill(V, t0, t1, banned, cap, levy, subsidy_floor, eps, 0, *blocks)
    sizes = np.full(1, n, dtype=np.intp)
    a = StackArrays(
        pair_index[0],
        pair_index[1],
        pairs[0],
        pairs[1],
        pairs[2],
        pairs[3],
        pairs[4],
        nvalid,
        np.full(1, sigma),
        np.full(1, eta),
        buyer_flags[0],
        buyers[0],
        slots[0],
        slots[1],
        slots[2],
        slots[3],
        slot_flags[2],
        slot_flags[1],
        slot_country,
        qslot,
        qmask,
        lncap,
        any_floor,
        buyers[2],
        slots[4],
    )
    z, e, iterations, status = _newton_from(a, start, tol, max_iter, False, True)
    lv = levels_batch(
        a,
        sizes,
        z,
        e.F,
        e.nu,
        e.X,
        e.lnP,
        e.q,
        e.f_check,
        per_country[0],
        per_country[1],
        pairs[5],
        pairs[6],
        buyers[1],
        log_range,
    )
    return blocks, any_floor, z, e, iterations, status, lv


@njit(cache=True, nogil=True)
def market_view(a: Any, b: int, n: int) -> Any:
    """Market ``b`` (``n`` countries) of a stack as a single-market stack at its own sizes:
    its valid pairs, its ``n`` buyers and dummy, its producer slots and quotas (each stored
    first in its row), and its own ``any_floor``. These are the arrays that
    :func:`critmin.model.core.stack` builds for the market alone, so the Newton iteration on
    the view does what it does on the market alone, bit for bit: the dense products and
    factorisations have the market's own sizes, not the padded ones. Views of ``a``'s rows
    (``sigma``, ``eta`` and ``nvalid`` copied)."""
    ns = own_slots(a, b)
    nq = 0
    while nq < a.qmask.shape[1] and a.qmask[b, nq]:
        nq += 1
    L = a.nvalid[b]
    floors = False
    for ell in range(L):
        if a.plnFc[b, ell] > -math.inf:  # a levy floor on an open pair
            floors = True
            break
    n1 = n + 1
    return StackArrays(
        a.ps[b, :L].reshape(1, L),
        a.pj[b, :L].reshape(1, L),
        a.pV[b, :L].reshape(1, L),
        a.pw[b, :L].reshape(1, L),
        a.pdlt[b, :L].reshape(1, L),
        a.plnFc[b, :L].reshape(1, L),
        a.poff[b, :L].reshape(1, L),
        np.full(1, L, dtype=a.nvalid.dtype),
        np.full(1, a.sigma[b]),
        np.full(1, a.eta[b]),
        a.supplied[b, :n1].reshape(1, n1),
        a.W[b, :n1].reshape(1, n1),
        a.R[b, :ns].reshape(1, ns),
        a.X0[b, :ns].reshape(1, ns),
        a.eps[b, :ns].reshape(1, ns),
        a.lnG[b, :ns].reshape(1, ns),
        a.uact[b, :ns].reshape(1, ns),
        a.check[b, :ns].reshape(1, ns),
        a.slot_country[b, :ns].reshape(1, ns),
        a.qslot[b, :nq].reshape(1, nq),
        a.qmask[b, :nq].reshape(1, nq),
        a.lncap[b, :nq].reshape(1, nq),
        floors,
        a.lna[b, :n1].reshape(1, n1),
        a.lnk[b, :ns].reshape(1, ns),
    )


@njit(cache=True, nogil=True)
def newton_markets(
    a: Any,
    sizes: Any,
    tol: float,
    max_iter: int,
    pure: bool,
    single: bool,
    which: Any,
    z: Any,
    out: Any,
    iterations: Any,
    status: Any,
) -> None:
    """Solve the markets ``which`` of a padded stack, each at its own size
    (:func:`market_view`): :func:`_newton_one` from the baseline, exactly as for the market
    alone (``sizes`` holds each market's number of countries). Writes the solution into row
    ``b`` of the caller's ``z`` ``(B, N)`` (producer slots first, quotas from column ``ns``
    of the stack; zeros elsewhere), its evaluation on the stack into row ``b`` of ``out`` (a
    stacked :class:`EvalBuf`), and ``iterations`` and ``status`` (as :func:`newton_batch`).

    Each market writes only its own rows, so threads may solve disjoint sets of markets of
    one stack at the same time (the function holds no Python object), and the numbers do
    not depend on the split (:func:`critmin.model.solver.solve_batch` runs it on several
    threads).
    """
    ns_pad = a.R.shape[1]
    for k in range(which.shape[0]):
        b = which[k]
        v = market_view(a, b, sizes[b])
        ns = v.R.shape[1]
        nq = v.qslot.shape[1]
        own = _market_buffer(out, b, v.ps.shape[1], v.W.shape[1], ns, nq)
        zb = np.zeros(ns + nq)
        iterations[b], status[b] = _newton_one(v, 0, zb, own, tol, max_iter, pure, single)
        zr = z[b]
        zr[:] = 0.0
        for s in range(ns):
            zr[s] = zb[s]
        for q in range(nq):
            zr[ns_pad + q] = zb[ns + q]
        place_eval(own, row(out, b), sizes[b], ns_pad)


@njit(cache=True, nogil=True)
def _market_buffer(out: Any, b: int, L: int, n1: int, ns: int, nq: int) -> Any:
    """An :class:`EvalBuf` for one market at its own sizes (:func:`market_view`) whose pair
    arrays are the first ``L`` entries of row ``b`` of the stacked ``out`` (the market's
    pairs come first in its row), so the evaluation lands there without a copy; the other
    arrays are its own (their layout differs from the row's: see :func:`place_eval`)."""
    return EvalBuf(
        out.lnc_hat[b, :L],
        out.K[b, :L],
        out.theta[b, :L],
        np.empty(n1),
        out.q[b, :L],
        np.empty(ns + 1),
        np.empty(ns + 1),
        np.empty(ns + 1),
        np.empty(ns),
        np.empty(ns + nq),
        np.empty(ns),
        np.empty(ns),
        np.empty(nq),
        out.lnc[b, :L],
        np.empty(n1),
        np.empty(n1),
        out.work[b, :L],
        out.scratch[b, :L],
    )


@njit(cache=True, nogil=True, **WITHOUT_REFCOUNTS)
def place_eval(src: Any, dst: Any, n: int, ns_pad: int) -> None:
    """Complete a market's row of the padded stack from its evaluation at its own sizes
    (:func:`market_view`): the pair arrays are already in the row (:func:`_market_buffer`),
    the rest is copied, with the values :func:`eval_one` gives the padding there: pairs past the
    market's (nothing: 0), buyers past its ``n`` (no supplier: ``ln P = 0``, ``T = 1``),
    producer slots past its own (no sales: ``Q = X = 0``, supply 1, residual 0) and quotas
    past its own (masked: residual 0, slack 1)."""
    L = src.q.shape[0]
    ns = src.f_check.shape[0]
    nq = src.h.shape[0]
    # every array taken out of its tuple once: a tuple's field read inside a loop with
    # branches costs an atomic reference count per field per pass (Numba cannot prune them)
    d_lnc_hat, d_K, d_theta, d_q = dst.lnc_hat, dst.K, dst.theta, dst.q
    # the pairs: already in place (:func:`_market_buffer`); the row's padding pairs
    for ell in range(L, d_q.shape[0]):
        d_lnc_hat[ell] = 0.0
        d_K[ell] = False
        d_theta[ell] = 0.0
        d_q[ell] = 0.0
    s_lnP, s_m, s_T, d_lnP, d_m, d_T = src.lnP, src.m, src.T, dst.lnP, dst.m, dst.T
    for j in range(d_lnP.shape[0]):
        inside = j < n
        d_lnP[j] = s_lnP[j] if inside else 0.0
        d_m[j] = s_m[j] if inside else 0.0
        d_T[j] = s_T[j] if inside else 1.0
    s_Q, s_X, s_nu, d_Q, d_X, d_nu = src.Q, src.X, src.nu, dst.Q, dst.X, dst.nu
    for s in range(d_Q.shape[0]):
        inside = s < ns
        d_Q[s] = s_Q[s] if inside else 0.0
        d_X[s] = s_X[s] if inside else 0.0
        d_nu[s] = s_nu[s] if inside else 0.0
    s_fc, s_F, s_S, s_dS = src.f_check, src.F, src.S, src.dS
    d_fc, d_F, d_S, d_dS = dst.f_check, dst.F, dst.S, dst.dS
    for s in range(ns_pad):
        inside = s < ns
        d_fc[s] = s_fc[s] if inside else 0.0
        d_F[s] = s_F[s] if inside else 0.0
        d_S[s] = s_S[s] if inside else 1.0
        d_dS[s] = s_dS[s] if inside else 0.0
    s_h, d_h = src.h, dst.h
    for k in range(d_h.shape[0]):
        inside = k < nq
        d_F[ns_pad + k] = s_F[ns + k] if inside else 0.0
        d_h[k] = s_h[k] if inside else 1.0


# --------------------------------------------------------------------------------------------
# Monte Carlo draws (critmin.uncertainty): many parameter draws of one market, solved and
# reduced to key outputs without leaving compiled code

DRAW_OUTPUTS = 11
"""Per draw, in order: zone and outside consumer price change (%), self-sufficiency, watch
share, zone, outside and world welfare change, tariff revenue change, subsidy cost (USD),
zone consumption ``Q`` (USD at baseline prices) and the largest residual."""


@njit(cache=True, nogil=True)
def with_parameters(a: Any, sigma: Any, eta: Any, eps: Any) -> Any:
    """The single-market stack ``a`` (``B = 1``) with its elasticities replaced: ``sigma``
    and ``eta`` of shape ``(1,)``, slot elasticities ``eps`` of shape ``(1, ns)``. The pair,
    buyer and slot lists are shared, not copied."""
    return StackArrays(
        a.ps,
        a.pj,
        a.pV,
        a.pw,
        a.pdlt,
        a.plnFc,
        a.poff,
        a.nvalid,
        sigma,
        eta,
        a.supplied,
        a.W,
        a.R,
        a.X0,
        eps,
        a.lnG,
        a.uact,
        a.check,
        a.slot_country,
        a.qslot,
        a.qmask,
        a.lncap,
        a.any_floor,
        a.lna,
        a.lnk,
    )


@njit(cache=True, nogil=True)
def draw_market(
    a: Any, sigma: Any, eta: Any, eps: Any, d: int, sig: Any, et: Any, eps_s: Any
) -> Any:
    """Draw ``d``'s market: ``a`` with ``sigma[d]``, ``eta[d]`` and the slot elasticities of
    the country elasticities ``eps[d]``, written into the work arrays ``sig``, ``et`` and
    ``eps_s`` (see :func:`with_parameters`)."""
    sig[0] = sigma[d]
    et[0] = eta[d]
    for s in range(eps_s.shape[1]):
        c = a.slot_country[0, s]
        eps_s[0, s] = eps[d, c] if c < eps.shape[1] else 0.0
    return with_parameters(a, sig, et, eps_s)


@njit(cache=True, nogil=True)
def draw_outputs(
    a: Any,
    z: Any,
    e: Any,
    eps: Any,
    subsidy_floor: Any,
    pt1: Any,
    pF: Any,
    rev0: Any,
    E: Any,
    members: Any,
    watch: Any,
    out: Any,
) -> None:
    """The key outputs (:data:`DRAW_OUTPUTS`) of market 0 of ``a`` solved at ``z`` with its
    evaluation ``e``, from the pair lists (no dense ``n x n`` array).

    Levels as :func:`country_levels`, welfare as :func:`critmin.model.welfare.compute_welfare`
    (consumer and producer surplus on the curves shifted by a market shock, tariff and levy
    revenue change, quota rent, subsidy cost).
    Consumer price changes are ``E``-weighted means of ``(P_j - 1) x 100`` over members and
    non-members (NaN, undefined, where a buyer with baseline purchases has no supplier left:
    its price is unbounded, as the single simulation reports it); self-sufficiency and the
    watch share are member purchases ``q_ij`` from members and from watch countries over all
    member purchases; zone consumption ``Q = sum_{j in zone} E_j D_j``. Welfare sums skip NaN.
    ``eps`` and ``subsidy_floor`` are per country; ``E`` is the baseline expenditure per buyer.
    """
    n = E.shape[0]
    pi, ee, P, D, pi_s, S, exports, _, R, _, pair_i = country_levels(
        a, 0, n, z, e.nu, e.X, e.lnP, eps, subsidy_floor
    )
    eta = a.eta[0]
    # surplus changes on the shifted curves, as levels_batch (exactly E and R without shocks)
    dCS = consumer_surplus_change(E * np.exp(a.lna[0, :n]), P, eta)
    dPS = producer_surplus_change(R * shifted(a, 0, n), pi_s, eps)
    L = pair_i.shape[0]
    revenue = buyer_revenue(pair_i, a.pj[0, :L], e.q[:L], pt1, pF, pi, ee, n)
    zone_w = 0.0
    outside_w = 0.0
    world_w = 0.0
    tariff = 0.0
    subsidy = 0.0
    wz = 0.0
    pz = 0.0
    wo = 0.0
    po = 0.0
    Q = 0.0
    for j in range(n):
        rev = revenue[j] - rev0[j]
        cost = (pi_s[j] - pi[j]) * S[j] * R[j]
        w = dCS[j] + dPS[j] + rev + pi[j] * ee[j] * exports[j] - cost
        if w == w:
            world_w += w
            if members[j]:
                zone_w += w
            else:
                outside_w += w
        if rev == rev:
            tariff += rev
        if cost == cost:
            subsidy += cost
        dP = (P[j] - 1.0) * 100.0 if math.isfinite(P[j]) else math.nan
        if E[j] <= 0.0:
            dP = 0.0  # no baseline purchases: no weight in the means
        if members[j]:
            wz += E[j]
            pz += E[j] * dP
            Dj = D[j] if D[j] == D[j] else 0.0
            Q += E[j] * Dj
        else:
            wo += E[j]
            po += E[j] * dP
    demand = 0.0
    own = 0.0
    from_watch = 0.0
    for ell in range(L):
        j = a.pj[0, ell]
        if not members[j]:
            continue
        qq = e.q[ell]
        if qq != qq:
            continue
        demand += qq
        i = pair_i[ell]
        if members[i]:
            own += qq
        if watch[i]:
            from_watch += qq
    any_watch = False
    for i in range(n):
        if watch[i]:
            any_watch = True
            break
    out[0] = pz / wz if wz > 0.0 else math.nan
    out[1] = po / wo if wo > 0.0 else math.nan
    out[2] = own / demand if demand > 0.0 else math.nan
    out[3] = (from_watch / demand if any_watch else 0.0) if demand > 0.0 else math.nan
    out[4] = zone_w
    out[5] = outside_w
    out[6] = world_w
    out[7] = tariff
    out[8] = subsidy
    out[9] = Q
    worst = 0.0
    for k in range(e.F.shape[0]):
        worst = max(worst, abs(e.F[k]))
    for k in range(e.f_check.shape[0]):
        worst = max(worst, abs(e.f_check[k]))
    for k in range(z.shape[0]):  # a log price beyond the float range is not a solution
        if not abs(z[k]) < EXP_CLIP:
            worst = math.inf
    out[10] = worst


@njit(cache=True, nogil=True)
def solve_draws(
    a: Any,
    sigma: Any,
    eta: Any,
    eps: Any,
    z0: Any,
    tol: float,
    max_iter: int,
    subsidy_floor: Any,
    pt1: Any,
    pF: Any,
    rev0: Any,
    E: Any,
    members: Any,
    watch: Any,
    cancel: Any,
) -> tuple[Any, Any, Any, Any]:
    """Solve draw ``d`` of one market (the single-market stack ``a``) with ``sigma[d]``,
    ``eta[d]`` and country supply elasticities ``eps[d]`` from the warm start ``z0`` (the point
    solution), by the safeguarded Newton iteration of :func:`newton_batch`, and reduce it to
    its key outputs (:func:`draw_outputs`).

    Returns ``z`` ``(D, N)``, outputs ``(D, DRAW_OUTPUTS)``, iterations and status ``(D,)``.
    Each draw depends only on its own inputs (no state is shared between draws), so any
    split of the draws over calls or threads gives the same numbers bit for bit; the
    function holds no Python object, and callers may run it on several threads at once.
    ``cancel`` (an integer array of one element, shared with the caller) is read before each
    draw: once it is not 0 the function returns at once, the draws not solved left with
    status 0 (Ctrl-C stops a long chunk within one draw).
    """
    Dn = sigma.shape[0]
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    n1 = a.W.shape[1]
    L = a.ps.shape[1]
    N = ns + nq
    zs = np.empty((Dn, N))
    outs = np.empty((Dn, DRAW_OUTPUTS))
    iterations = np.zeros(Dn, dtype=np.intp)
    status = np.zeros(Dn, dtype=np.intp)
    buf = alloc_eval(1, L, n1, ns, nq)
    e = row(buf, 0)
    sig = np.empty(1)
    et = np.empty(1)
    eps_s = np.empty((1, ns))
    for d in range(Dn):
        if cancel[0] != 0:
            break
        ad = draw_market(a, sigma, eta, eps, d, sig, et, eps_s)
        z = zs[d]
        z[:] = z0
        iterations[d], status[d] = _newton_one(ad, 0, z, e, tol, max_iter, False, True)
        draw_outputs(ad, z, e, eps[d], subsidy_floor, pt1, pF, rev0, E, members, watch, outs[d])
    return zs, outs, iterations, status


@njit(cache=True, nogil=True)
def outputs_at(
    a: Any,
    sigma: Any,
    eta: Any,
    eps: Any,
    z: Any,
    subsidy_floor: Any,
    pt1: Any,
    pF: Any,
    rev0: Any,
    E: Any,
    members: Any,
    watch: Any,
) -> Any:
    """The key outputs (:func:`draw_outputs`) of draws already solved elsewhere (``z`` per
    draw, e.g. by the fallbacks of :mod:`critmin.model.solver`): evaluate, then reduce."""
    Dn = sigma.shape[0]
    ns = a.R.shape[1]
    nq = a.qslot.shape[1]
    outs = np.empty((Dn, DRAW_OUTPUTS))
    buf = alloc_eval(1, a.ps.shape[1], a.W.shape[1], ns, nq)
    e = row(buf, 0)
    sig = np.empty(1)
    et = np.empty(1)
    eps_s = np.empty((1, ns))
    for d in range(Dn):
        ad = draw_market(a, sigma, eta, eps, d, sig, et, eps_s)
        evaluate_fast(ad, 0, z[d], e, pair_factors(ad, 0))
        draw_outputs(ad, z[d], e, eps[d], subsidy_floor, pt1, pF, rev0, E, members, watch, outs[d])
    return outs
