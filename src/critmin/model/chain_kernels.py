"""The linked chain compiled: equations, Jacobian and Newton iteration of all stages at once.

The equations are those of :mod:`critmin.model.chain` (``DESIGN.md``, "Linked chains"). All
arrays are flat over the stages of one chain: pairs (stage after stage, seller after seller,
then buyer), producer slots (stage after stage), per-stage buyers ``(S, n)``; the unknown
vector ``z`` holds, stage after stage, the log producer prices ``u`` of the stage's active
slots, then ``nu = ln(1 + e)`` of its export quotas.

Everything compiled lives in this one module (Numba's cache does not notice changes to
compiled functions called from another file). Sums over pairs run in pair order, the order
in which the baseline totals were summed, so baseline inputs reproduce the baseline bit for
bit (no change gives exactly zero residuals).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, types
from numba.np import linalg as numba_linalg

from critmin.model.kernel_tuples import ChainEval

EXP_CLIP = 700.0
"""Exponents are clipped here before ``exp`` (only reached by wild line-search trials)."""
LINK_NONE = 0
LINK_INPUT = 1
LINK_BYPRODUCT = 2

MAX_STEP = 5.0
MAX_STEP_LIMIT = 320.0
ARMIJO = 1e-4
MAX_BACKTRACK = 40
MEMORY = 8
RELAX = 0.5
KINK_MIN_STEP = 1e-3
KINK_STREAK = 1
"""Safeguards of the Newton iteration, as in :mod:`critmin.model.kernels`: a trust region in
log units (``MAX_STEP``, growing fourfold after capped full steps up to ``MAX_STEP_LIMIT``),
a non-monotone Armijo line search (max of the last ``MEMORY`` norms, relaxed by
``RELAX^k``; Grippo, Lampariello & Lucidi 1986, Li & Fukushima 2000) that first tries the
first floor kink on the way before halving, unless ``KINK_STREAK`` steps in a row stopped at
a kink: then it halves first and stops at the kink only once halving would pass it."""
LINE_SEARCH_FAILED = 2
AT_ROUNDING = 3
"""Status of an iteration whose line search failed at a point where the residual is already
below :data:`ROUNDING_RESIDUAL` and no larger than what changing the unknowns by a few units
in the last place does to it (:func:`_at_rounding_floor`): a solution as exact as float64
allows, where the tolerance asks for more than the arithmetic can give."""
ROUNDING_RESIDUAL = 1e-8
ROUNDING_NUDGE = 1e-15
"""Relative change of the unknowns (about 4.5 units in the last place) that probes the
residual's rounding noise."""


@njit(cache=True, nogil=True)
def stage_pairs(
    V: Any,
    t0: Any,
    t1: Any,
    banned: Any,
    levy: Any,
    t1_alt: Any,
    banned_alt: Any,
    levy_alt: Any,
    phi: Any,
    cap: Any,
) -> tuple[Any, ...]:
    """Every baseline pair of one stage, seller after seller (its share ``phi`` under the
    policy, then its share ``1 - phi`` under the alternative policy), then buyer, with the
    baseline sums over them in that order: expenditure ``E``, tariff revenue, sales ``R``,
    exports ``X0``. Returns seller, buyer, ``V``, ``t0``, ``t1``, levy floor, alternative
    flag, open flag (not banned, not an export of a seller with an export cap of 0), then
    ``E, rev0, R, X0``."""
    n = V.shape[0]
    count = 0
    for i in range(n):
        k = (1 if phi[i] > 0.0 else 0) + (1 if phi[i] < 1.0 else 0)
        for j in range(n):
            if V[i, j] > 0.0:
                count += k
    ri = np.empty(count, dtype=np.intp)
    rj = np.empty(count, dtype=np.intp)
    rV = np.empty(count)
    rt0 = np.empty(count)
    rt1 = np.empty(count)
    rF = np.empty(count)
    ralt = np.empty(count, dtype=np.bool_)
    ropen = np.empty(count, dtype=np.bool_)
    E = np.zeros(n)
    rev0 = np.zeros(n)
    R = np.zeros(n)
    X0 = np.zeros(n)
    k = 0
    for i in range(n):
        for alt in (False, True):
            share = 1.0 - phi[i] if alt else phi[i]
            if not share > 0.0:
                continue
            for j in range(n):
                v0 = V[i, j]
                if not v0 > 0.0:
                    continue
                v = v0 if share == 1.0 else v0 * share
                g = 1.0 + t0[i, j]
                E[j] += v * g
                rev0[j] += (g - 1.0) * v
                R[i] += v
                if i != j:
                    X0[i] += v
                ri[k] = i
                rj[k] = j
                rV[k] = v
                rt0[k] = t0[i, j]
                rt1[k] = t1_alt[i, j] if alt else t1[i, j]
                rF[k] = levy_alt[i, j] if alt else levy[i, j]
                ralt[k] = alt
                ban = banned_alt[i, j] if alt else banned[i, j]
                ropen[k] = not ban and not (i != j and cap[i] == 0.0)
                k += 1
    return ri, rj, rV, rt0, rt1, rF, ralt, ropen, E, rev0, R, X0


@njit(cache=True, nogil=True)
def alloc_chain_eval(L: int, S: int, n: int, G: int, N: int) -> Any:
    """Space for one evaluation."""
    return ChainEval(
        np.zeros(L),
        np.zeros(L),
        np.zeros(L, dtype=np.bool_),
        np.zeros(L),
        np.zeros(L),
        np.zeros((S, n)),
        np.zeros((S, n)),
        np.ones((S, n)),
        np.zeros(G),
        np.zeros(G),
        np.zeros(G),
        np.zeros(G),
        np.zeros(G),
        np.zeros(G),
        np.zeros(N),
        np.ones(G),
    )


@njit(cache=True, nogil=True)
def _supply(a: Any, g: int, z: Any, e: Any) -> None:
    """Supply of slot ``g``: ``ln S``, ``alpha = d ln S / d u`` and ``beta = -d ln S / d ln P_in``.

    Received price ``pt = phi max(pi, G) + (1 - phi) pi``. Input link: value-added price
    ``w = (pt - a P_in) / (1 - a)`` (zero profit), ``S = A w^eps``; by-product link:
    ``S = A S_host pt^eps``; otherwise ``S = A pt^eps``.
    """
    u = z[a.su[g]] if a.su[g] >= 0 else 0.0
    lg = a.lnG[g]
    ph = a.phi[g]
    if lg > u and ph > 0.0:
        pt = ph * math.exp(lg) + (1.0 - ph) * math.exp(u)
        lnpt = math.log(pt)
        dlnpt = (1.0 - ph) * math.exp(u) / pt
    else:
        lnpt = u
        dlnpt = 1.0
    e.lnpt[g] = lnpt
    s = a.sstage[g]
    ep = a.eps[g]
    lnS = a.lnA[g]
    alpha = 0.0
    beta = 0.0
    if a.link[s] == LINK_INPUT and a.a[g] > 0.0:
        sh = a.a[g]
        lnPin = e.lnP[s - 1, a.scountry[g]]
        x = (math.expm1(lnpt) - sh * math.expm1(min(lnPin, EXP_CLIP))) / (1.0 - sh)
        if x > -1.0:
            lnw = math.log1p(x)
            w = 1.0 + x
            alpha = ep * math.exp(lnpt) * dlnpt / ((1.0 - sh) * w)
            beta = ep * sh * math.exp(min(lnPin, EXP_CLIP)) / ((1.0 - sh) * w)
        else:  # the input costs more than the output fetches: no value added, no supply
            lnw = -EXP_CLIP
        lnS += ep * lnw
    else:
        lnS += ep * lnpt
        alpha = ep * dlnpt
        if a.link[s] == LINK_BYPRODUCT and a.host[g] >= 0:
            lnS += e.lnS[a.host[g]]
    e.lnS[g] = max(lnS, -EXP_CLIP)
    e.alpha[g] = alpha
    e.beta[g] = beta


@njit(cache=True, nogil=True)
def eval_chain(a: Any, z: Any, e: Any) -> None:
    """Evaluate every stage at ``z`` into ``e``.

    Stages are evaluated in order for composite prices and supply (an input-linked stage's
    unit cost needs the previous stage's composite price), then in reverse for demand (an
    intermediate stage's derived demand needs the next stage's output). Per pair
    ``ln c = max(u + nu [i != j] + ln((1+t1)/(1+t0)), ln F_c)``; per buyer
    ``ln P = m + ln(sum w exp((1-sigma)(ln c - m)) / W) / (1-sigma)``, composite demand
    ``D = 1 + (1-delta)(H P^-eta - 1) + delta (S_next - 1)`` (``H`` the demand shift), ``ln x = ln D - sigma (ln c -
    ln P)``; clearing ``f = ln(sum q / R) - ln S``, quota rows ``min(nu, 1 - X / (cap X0))``.
    """
    S = a.sigma.shape[0]
    n = a.W.shape[1]
    for s in range(S):
        sig = a.sigma[s]
        one_m = 1.0 - sig
        m = np.full(n, math.inf)
        for ell in range(a.pstart[s], a.pstart[s + 1]):
            nu = z[a.pq[ell]] if a.pq[ell] >= 0 else 0.0
            u = z[a.pu[ell]] if a.pu[ell] >= 0 else 0.0
            lh = u + nu * a.poff[ell] + a.pdlt[ell]
            e.lnc_hat[ell] = lh
            fl = a.plnFc[ell]
            free = lh >= fl
            e.K[ell] = free
            lc = lh if free else fl
            e.lnc[ell] = lc
            j = a.pj[ell]
            if lc < m[j]:
                m[j] = lc
        T = np.zeros(n)
        for ell in range(a.pstart[s], a.pstart[s + 1]):
            j = a.pj[ell]
            th = a.pw[ell] * math.exp(one_m * (e.lnc[ell] - m[j]))
            e.theta[ell] = th
            T[j] += th
        for j in range(n):
            if a.supplied[s, j]:
                e.lnP[s, j] = m[j] + math.log(T[j] / a.W[s, j]) / one_m
            else:
                e.lnP[s, j] = 0.0
                T[j] = 1.0
        for ell in range(a.pstart[s], a.pstart[s + 1]):
            e.theta[ell] = e.theta[ell] / T[a.pj[ell]]
        for g in range(a.sstart[s], a.sstart[s + 1]):
            _supply(a, g, z, e)
    for s in range(S - 1, -1, -1):
        sig = a.sigma[s]
        eta = a.eta[s]
        for j in range(n):
            lp = e.lnP[s, j]
            other = math.expm1(a.lnH[s, j] - eta * lp)
            dl = a.delta[s, j]
            g = a.nxt[s, j]
            if dl > 0.0 and g >= 0:
                dD = (1.0 - dl) * other + dl * math.expm1(min(e.lnS[g], EXP_CLIP))
                D = 1.0 + dD
                e.lnD[s, j] = math.log1p(dD) if D > 0.0 else -EXP_CLIP
                e.omega[s, j] = (1.0 - dl) * (1.0 + other) / D if D > 0.0 else 1.0
            else:
                e.lnD[s, j] = a.lnH[s, j] - eta * lp
                e.omega[s, j] = 1.0
        for g in range(a.sstart[s], a.sstart[s + 1]):
            e.Q[g] = 0.0
            e.X[g] = 0.0
        for ell in range(a.pstart[s], a.pstart[s + 1]):
            j = a.pj[ell]
            lp = e.lnP[s, j]
            x = math.exp(min(e.lnD[s, j] + sig * (lp - e.lnc[ell]), EXP_CLIP))
            qq = a.pV[ell] * x
            e.q[ell] = qq
            g = a.pslot[ell]
            e.Q[g] += qq
            e.X[g] += qq * a.poff[ell]
    N = z.shape[0]
    for r in range(N):
        g = a.zslot[r]
        if a.zkind[r] == 0:
            e.F[r] = math.log(max(e.Q[g] / a.R[g], 1e-300)) - e.lnS[g]
        else:
            hk = 1.0 - e.X[g] / a.capX0[g]
            e.h[g] = hk
            e.F[r] = z[r] if z[r] < hk else hk


@njit(cache=True, nogil=True)
def jacobian_chain(a: Any, z: Any, e: Any) -> Any:
    """The analytic Jacobian ``dF/dz`` at ``z`` (``N x N``); see :func:`jacobian_into`."""
    N = z.shape[0]
    J = np.empty((N, N))
    jacobian_into(a, z, e, J, np.empty((a.W.shape[1], N)))
    return J


@njit(cache=True, nogil=True)
def _minus_supply(a: Any, e: Any, g: int, r: int, J: Any, Gall: Any) -> None:
    """``J[r] -= T_g``, the row ``d ln S_g / dz``: ``alpha`` on the slot's own price; for an
    input link ``-beta G^{s-1}`` of its country's input composite; for a by-product plus its
    host's row (followed up the chain)."""
    while g >= 0:
        s = a.sstage[g]
        if a.su[g] >= 0:
            J[r, a.su[g]] -= e.alpha[g]
        if a.link[s] == LINK_INPUT:
            if e.beta[g] != 0.0:
                c = a.scountry[g]
                for k in range(a.zstart[s - 1], a.zstart[s]):
                    J[r, k] += e.beta[g] * Gall[c, k]
            return
        if a.link[s] != LINK_BYPRODUCT:
            return
        g = a.host[g]


@njit(cache=True, nogil=True)
def jacobian_into(a: Any, z: Any, e: Any, J: Any, Gall: Any) -> None:
    """The analytic (semismooth) Jacobian ``dF/dz`` of the chain at ``z`` into ``J``.

    With ``G^s_jk = d ln P^s_j / d z_k`` (sums of current expenditure shares ``theta K`` of
    the pairs priced by ``z_k``; stage ``s``'s block of columns of ``Gall``), ``T_g = d ln
    S_g / dz`` (see :func:`_minus_supply`) and ``M^s_j = d(ln D_j + sigma ln P_j)/dz =
    (sigma - eta omega_j) G^s_j + (1 - omega_j) T_next(j)`` (``omega``: the other use's share
    of composite demand), the clearing row of slot ``i`` is ``sum_j (q_ij / Q_i) M^s_j -
    sigma (own priced share) - T_i`` and a binding quota row ``-(sum_{j != i} q_ij M^s_j -
    sigma (own exports priced)) / (cap X0)``. The next stage's ``T`` has ``-beta G^s`` in
    stage ``s``'s block (folded into ``C_j``) and ``alpha`` at its own price.
    """
    S = a.sigma.shape[0]
    n = a.W.shape[1]
    J[:, :] = 0.0
    Gall[:, :] = 0.0
    for ell in range(a.pV.shape[0]):
        if e.K[ell]:
            j = a.pj[ell]
            if a.pu[ell] >= 0:
                Gall[j, a.pu[ell]] += e.theta[ell]
            if a.pq[ell] >= 0 and a.poff[ell] > 0.0:
                Gall[j, a.pq[ell]] += e.theta[ell]
    for s in range(S):
        z0 = a.zstart[s]
        z1 = a.zstart[s + 1]
        Ns = z1 - z0
        s0 = a.sstart[s]
        ns = a.sstart[s + 1] - s0
        sig = a.sigma[s]
        eta = a.eta[s]
        C = np.empty(n)
        for j in range(n):
            om = e.omega[s, j]
            g = a.nxt[s, j]
            extra = (1.0 - om) * e.beta[g] if (a.delta[s, j] > 0.0 and g >= 0) else 0.0
            C[j] = sig - eta * om - extra
        has_quota = False
        for g in range(s0, a.sstart[s + 1]):
            has_quota = has_quota or a.sq[g] >= 0
        Qd = np.zeros((ns, n))
        Xd = np.zeros((ns if has_quota else 0, n))
        own = np.zeros(ns)  # d ln Q / d u own: sum q K / Q
        ownx = np.zeros(ns)  # own exports priced: sum q K poff
        for ell in range(a.pstart[s], a.pstart[s + 1]):
            i = a.pslot[ell] - s0
            j = a.pj[ell]
            qq = e.q[ell]
            Qd[i, j] += qq
            if has_quota:
                Xd[i, j] += qq * a.poff[ell]
            if e.K[ell]:
                own[i] += qq
                ownx[i] += qq * a.poff[ell]
        CG = np.empty((n, Ns))
        for j in range(n):
            for k in range(Ns):
                CG[j, k] = C[j] * Gall[j, z0 + k]
        Qs = np.empty(ns)
        for i in range(ns):
            Qs[i] = e.Q[s0 + i] if e.Q[s0 + i] > 0.0 else 1.0
            inv_q = 1.0 / Qs[i]
            for j in range(n):
                Qd[i, j] *= inv_q
        P1 = np.dot(Qd, CG)
        P2 = np.dot(Xd, CG) if has_quota else P1
        for r in range(z0, z1):
            g = a.zslot[r]
            i = g - s0
            if a.zkind[r] == 0:
                for k in range(Ns):
                    J[r, z0 + k] = P1[i, k]
                if a.su[g] >= 0:
                    J[r, a.su[g]] -= sig * own[i] / Qs[i]
                if a.sq[g] >= 0:
                    J[r, a.sq[g]] -= sig * ownx[i] / Qs[i]
                for j in range(n):  # derived demand: the next stage's own prices
                    gn = a.nxt[s, j]
                    if a.delta[s, j] > 0.0 and gn >= 0 and a.su[gn] >= 0 and Qd[i, j] != 0.0:
                        J[r, a.su[gn]] += Qd[i, j] * (1.0 - e.omega[s, j]) * e.alpha[gn]
                _minus_supply(a, e, g, r, J, Gall)
            else:
                binding = e.h[g] <= z[r]
                if not binding:
                    J[r, r] = 1.0
                    continue
                inv = -1.0 / a.capX0[g]
                for k in range(Ns):
                    J[r, z0 + k] = inv * P2[i, k]
                if a.su[g] >= 0:
                    J[r, a.su[g]] -= inv * sig * ownx[i]
                J[r, r] -= inv * sig * ownx[i]
                for j in range(n):
                    gn = a.nxt[s, j]
                    if a.delta[s, j] > 0.0 and gn >= 0 and a.su[gn] >= 0 and Xd[i, j] != 0.0:
                        J[r, a.su[gn]] += inv * Xd[i, j] * (1.0 - e.omega[s, j]) * e.alpha[gn]


# LAPACK's dgetrf as Numba binds it for np.linalg (an internal Numba API, as in
# critmin.model.kernels): LU factors that are kept, so that a chord step costs two
# triangular solves and no matrix is allocated per step.
numba_linalg.ensure_lapack()
_DGETRF = numba_linalg._LAPACK().numba_xxgetrf(types.float64)
_DGETRF_KIND = ord("d")
_LAPACK_INT = numba_linalg.F_INT_nptype
_DGESV = numba_linalg._LAPACK().numba_xgesv(types.float64)  # np.linalg.solve's
_DGESV_KIND = ord("d")
CHORD_BELOW = 1e-6
CHORD_CONTRACTION = 0.01
"""Chord steps (Shamanskii 1967; Kelley 1995, ch. 5): once the residual norm is below
``CHORD_BELOW`` and the last step cut it by at least ``CHORD_CONTRACTION``, the next step
reuses the last LU factors; it is kept if it lowers the residual."""


@njit(cache=True, nogil=True)
def _lu_factor(J: Any, lu: Any, ipiv: Any) -> bool:
    """LU factors of ``J`` (LAPACK ``dgetrf``) into the Fortran-ordered ``lu``; False if
    ``J`` is singular or not finite."""
    N = J.shape[0]
    for c in range(N):
        for r in range(N):
            v = J[r, c]
            if not math.isfinite(v):
                return False
            lu[r, c] = v
    info = _DGETRF(_DGETRF_KIND, N, N, lu.ctypes, N, ipiv.ctypes)
    return info == 0 and _pivots_nonzero(lu)


@njit(cache=True, nogil=True)
def _pivots_nonzero(lu: Any) -> bool:
    """Whether every diagonal entry of the factor ``U`` is non-zero. Checked besides
    ``dgetrf``'s status: a factorisation reported as done left a zero pivot in a yearly solve
    of a cobalt chain path (a floor of USD 50,000/t on cobalt oxides), and the triangular
    solve (:func:`_lu_step`) divided by it (a ZeroDivisionError out of ``critmin paths``)."""
    for j in range(lu.shape[0]):  # noqa: SIM110 - a plain loop for Numba
        if lu[j, j] == 0.0:
            return False
    return True


@njit(cache=True, nogil=True)
def _lu_step(lu: Any, ipiv: Any, F: Any) -> Any:
    """``d = -J^-1 F`` from the LU factors of ``J``."""
    N = F.shape[0]
    x = -F
    for k in range(N):
        p = ipiv[k] - 1  # LAPACK pivots are 1-based
        if p != k:
            x[k], x[p] = x[p], x[k]
    for j in range(N):  # L (unit diagonal), column by column
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
def _max_abs(v: Any) -> float:
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
def _step(J: Any, F: Any) -> Any:
    """``d = -J^-1 F`` (LAPACK ``gesv``), least squares where ``J`` is singular, else 0."""
    neg = -F
    d, ok = _gesv(J, neg)  # never raises (an exception in compiled code leaks its arrays)
    ok = ok and _all_finite(d)
    if not ok and _all_finite(neg) and _all_finite_matrix(J):
        try:  # finite, so lstsq raises only if its SVD does not converge (rare)
            d = np.linalg.lstsq(J, neg, 1e-13)[0]
            ok = _all_finite(d)
        except Exception:
            ok = False
    if not ok:
        d = np.zeros_like(F)
    return d


@njit(cache=True, nogil=True)
def _first_kink(a: Any, z: Any, e: Any, d: Any, lo: float) -> float:
    """Smallest step in ``(lo, 1)`` at which a pair's buyer price meets its levy floor or a
    producer price its subsidy floor (``inf`` if none)."""
    out = math.inf
    if a.any_floor:
        for ell in range(a.pV.shape[0]):
            fl = a.plnFc[ell]
            if not math.isfinite(fl):
                continue
            slope = d[a.pu[ell]] if a.pu[ell] >= 0 else 0.0
            if a.pq[ell] >= 0:
                slope += d[a.pq[ell]] * a.poff[ell]
            if slope != 0.0:
                alpha = (fl - e.lnc_hat[ell]) / slope
                if lo < alpha < 1.0:
                    out = min(out, alpha)
    for g in range(a.R.shape[0]):
        lg = a.lnG[g]
        r = a.su[g]
        if r >= 0 and math.isfinite(lg) and d[r] != 0.0:
            alpha = (lg - z[r]) / d[r]
            if lo < alpha < 1.0:
                out = min(out, alpha)
    return out


START_VALUE_ADDED = 0.5
"""Where an input-linked slot has no value added at the baseline prices under the policy (its
input costs more than its output fetches: no supply, and a supply that does not move with its
own price, so a Newton step cannot raise it), :func:`newton_chain` starts its price where it
keeps this share of its baseline value added per unit (:func:`_break_even_start`)."""


@njit(cache=True, nogil=True)
def _break_even_start(a: Any, z: Any, e: Any) -> bool:
    """Move the start ``z`` (evaluated into ``e``) of every input-linked slot whose value added
    ``w = (pt - a P_in) / (1 - a)`` is gone (``w <= 0``: :func:`_supply` gives no supply and no
    derivative) to the log price ``ln(a P_in + (1 - a) START_VALUE_ADDED)``; returns whether it
    moved any. Without it, a floor on an input that raises its price above what the next stage
    fetches (the cobalt chain with a floor of 4.7 times the price of cobalt intermediates: zone
    refiners' input costs exceed the refined price) left those refiners' rows of the Newton
    matrix without their own price, and both attempts ran to the iteration limit. Baseline
    inputs are never moved (``w = 1`` there)."""
    moved = False
    for g in range(a.R.shape[0]):
        r = a.su[g]
        s = a.sstage[g]
        sh = a.a[g]
        if r < 0 or a.link[s] != LINK_INPUT or not sh > 0.0:
            continue
        lnPin = min(e.lnP[s - 1, a.scountry[g]], EXP_CLIP)
        x = (math.expm1(e.lnpt[g]) - sh * math.expm1(lnPin)) / (1.0 - sh)
        if x > -1.0:
            continue
        z[r] = math.log1p(sh * math.expm1(lnPin) - (1.0 - sh) * (1.0 - START_VALUE_ADDED))
        moved = True
    return moved


@njit(cache=True, nogil=True)
def _at_rounding_floor(a: Any, z: Any, cur: Any, zt: Any, trial: Any) -> bool:
    """Whether the residual at ``z`` (``cur``) is within its own rounding noise: changing
    every unknown by :data:`ROUNDING_NUDGE` of itself (at least of 1), in three fixed sign
    patterns, moves the largest residual to at least its value at ``z`` in one of them.
    (A DRC export quota of 0 in the cobalt chain stopped at a residual of 4.2e-9 that such
    changes move to 5e-8..6e-7: prices a hundred times the baseline, and a quota's
    complementarity row, leave no more digits.) ``zt`` and ``trial`` are scratch."""
    base = _max_abs(cur.F)
    N = z.shape[0]
    for k in range(3):
        for i in range(N):
            sign = 1.0 if ((i * (k + 2) + k) % 3) != 0 else -1.0
            zt[i] = z[i] + sign * ROUNDING_NUDGE * max(1.0, abs(z[i]))
        eval_chain(a, zt, trial)
        noise = _max_abs(trial.F)
        if not math.isfinite(noise):
            return False
        if noise >= base:
            return True
    return False


@njit(cache=True, nogil=True)
def newton_chain(a: Any, tol: float, max_iter: int, pure: bool) -> tuple[Any, Any, int, int]:
    """Solve the chain from ``z = 0`` (input-linked slots without value added there moved to
    :func:`_break_even_start`) by safeguarded semismooth Newton (float64 LU).

    Returns ``(z, evaluation, iterations, status)``: status 1 converged, 0 iteration limit,
    :data:`LINE_SEARCH_FAILED`, or :data:`AT_ROUNDING` (converged as far as float64 allows).
    With ``pure`` every finite step is taken in full (capped by the trust region): the
    fallback where a line search stalls at a kink.
    """
    N = a.zslot.shape[0]
    L = a.pV.shape[0]
    S = a.sigma.shape[0]
    n = a.W.shape[1]
    G_all = a.R.shape[0]
    z = np.zeros(N)
    zt = np.zeros(N)
    cur = alloc_chain_eval(L, S, n, G_all, N)
    trial = alloc_chain_eval(L, S, n, G_all, N)
    eval_chain(a, z, cur)
    if _break_even_start(a, z, cur):
        eval_chain(a, z, cur)
    hist = np.full(MEMORY, -math.inf)
    hist[0] = _norm(cur.F)
    cap = MAX_STEP
    iterations = 0
    status = 0
    J = np.empty((N, N))
    Gall = np.empty((n, N))
    lu = np.empty((N, N)).T  # Fortran order, as LAPACK writes it
    ipiv = np.empty(N, dtype=_LAPACK_INT)
    have_lu = False
    phi_prev = math.inf
    kink_streak = 0  # steps in a row that stopped at a kink
    for it in range(max_iter):
        if _max_abs(cur.F) <= tol:
            break
        phi_now = _norm(cur.F)
        if have_lu and phi_now < CHORD_BELOW and phi_now < CHORD_CONTRACTION * phi_prev:
            d = _lu_step(lu, ipiv, cur.F)
            for i in range(N):
                zt[i] = z[i] + d[i]
            eval_chain(a, zt, trial)
            phi = _norm(trial.F)
            if math.isfinite(phi) and phi < phi_now:
                z[:] = zt
                cur, trial = trial, cur
                iterations += 1
                kink_streak = 0
                hist[(it + 1) % MEMORY] = phi
                phi_prev = phi_now
                have_lu = phi < CHORD_CONTRACTION * phi_now
                continue
        jacobian_into(a, z, cur, J, Gall)
        have_lu = _lu_factor(J, lu, ipiv)
        d = _lu_step(lu, ipiv, cur.F) if have_lu else _step(J, cur.F)
        if not _all_finite(d):
            have_lu = False
            d = _step(J, cur.F)
        big = _max_abs(d)
        capped = big > cap
        d *= min(1.0, cap / max(big, 1e-300))
        phi_ref = hist.max()
        kink = _first_kink(a, z, cur, d, KINK_MIN_STEP)
        if not kink < 1.0:  # none
            kink = -math.inf
        relax = RELAX**it
        alpha = 1.0
        accepted = False
        at_kink = False  # alpha is that kink
        for k in range(MAX_BACKTRACK):
            for i in range(N):
                zt[i] = z[i] + alpha * d[i]
            eval_chain(a, zt, trial)
            phi = _norm(trial.F)
            if math.isfinite(phi) and (pure or phi <= (1.0 - ARMIJO * alpha + relax) * phi_ref):
                accepted = True
                break
            if k == 0:  # the first kink at once, unless the last step stopped at one
                alpha = kink if kink_streak < KINK_STREAK and kink > 0.0 else 0.5
            else:
                alpha *= 0.5
            at_kink = alpha <= kink  # (halving passes the kink: stop there first)
            if at_kink:
                alpha = kink
                kink = -math.inf
        kink_streak = kink_streak + 1 if accepted and at_kink else 0
        full = accepted and alpha == 1.0
        have_lu = have_lu and full and not capped
        if full and capped:
            cap = min(4.0 * cap, MAX_STEP_LIMIT)
        elif not full:
            cap = max(MAX_STEP, 0.25 * cap)
        if not accepted:
            at_floor = _max_abs(cur.F) <= ROUNDING_RESIDUAL and _at_rounding_floor(
                a, z, cur, zt, trial
            )
            status = AT_ROUNDING if at_floor else LINE_SEARCH_FAILED
            break
        z[:] = zt
        cur, trial = trial, cur
        iterations += 1
        phi_prev = phi_now
        hist[(it + 1) % MEMORY] = _norm(cur.F)
    if status == 0 and _max_abs(cur.F) <= tol:
        status = 1
    return z, cur, iterations, status


@njit(cache=True, nogil=True)
def newton_chain_flat(a: Any, tol: float, max_iter: int, pure: bool) -> tuple[Any, ...]:
    """:func:`newton_chain` returning one plain tuple: ``(z, iterations, status)`` and then
    the fields of the evaluation (:class:`ChainEval`, in order). Numba returns a named tuple
    to Python by running Python code (it unpickles the class, then calls it), where a Ctrl-C
    raised by a signal handler crashes the process; a plain tuple of arrays and numbers is
    returned without running any."""
    z, e, iterations, status = newton_chain(a, tol, max_iter, pure)
    return (
        z,
        iterations,
        status,
        e.lnc_hat,
        e.lnc,
        e.K,
        e.theta,
        e.q,
        e.lnP,
        e.lnD,
        e.omega,
        e.Q,
        e.X,
        e.lnS,
        e.lnpt,
        e.alpha,
        e.beta,
        e.F,
        e.h,
    )
