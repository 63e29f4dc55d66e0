"""Array-level Armington partial-equilibrium model of one product market: inputs and equations.

This module holds the model *at the level of arrays*: no country names are looked up, no data is
read. Calibration (``World`` -> arrays) and scenarios live elsewhere and call this engine.

The equations are those of ``DESIGN.md`` ("The trade model"), a multi-region Armington (1969)
partial equilibrium in the spirit of GSIM (Francois & Hall 2003), solved in levels. For one
product, sellers ``i`` and buyers ``j`` (the same ``n`` countries in a fixed order):

* calibration: ``E_j = sum_i V_ij (1 + t0_ij)``, ``s_ij = V_ij (1 + t0_ij) / E_j``,
  ``R_i = sum_j V_ij``; quantities are in baseline-value units, so baseline producer prices are 1;
* buyer price: ``b_ij = pi_i (1 + e_i [i != j]) (1 + t1_ij)``; under a variable-levy floor
  ``b_ij = max(b_ij, F_ij)`` with ``F_ij`` the floor relative to the baseline unit value;
* relative buyer price ``c_ij = b_ij / (1 + t0_ij)``; banned pairs are removed from the sums;
* composite price ``P_j = (sum_i s_ij c_ij^(1 - sigma))^(1 / (1 - sigma))``, demand
  ``D_j = P_j^(-eta)``, quantities ``x_ij = D_j (c_ij / P_j)^(-sigma)``;
* supply ``S_i = (pi^s_i)^eps_i`` with ``pi^s_i = max(pi_i, G_i)`` (producer-subsidy floor);
* clearing ``sum_j V_ij x_ij = R_i S_i``; export quota ``X_i <= cap_i X0_i`` with
  ``X_i = sum_{j != i} V_ij x_ij``, ``e_i >= 0`` and complementarity.

Unknowns of the Newton system (per market, padded to a common size in a batch):
``z = [u, nu]`` with ``u_i = ln pi_i`` for every producing country whose price is determined,
and ``nu_k = ln(1 + e_k)`` for every binding-capable export quota. A later multi-stage model
appends further blocks to ``z`` (one per stage) with the same residual conventions.

Residuals (all dimensionless, so one tolerance fits every market):

* clearing ``f_i = sum_j V_ij x_ij / R_i - S_i`` (fraction of baseline sales);
* quota ``g_k = min(nu_k, ln cap_k - ln(X_k / X0_k))`` (min-function complementarity in logs:
  ``nu >= 0``, ``X <= cap X0``, one of them holds with equality).

No policy change gives exactly ``u = 0`` and zero residuals: every quantity is computed so that
baseline inputs reproduce the baseline bit for bit (see the comments in :func:`evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from critmin.errors import CritminError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]

EXP_CLIP = 700.0
"""Exponents are clipped here before ``np.exp`` (only reached by wild line-search trials)."""

__all__ = [
    "Evaluation",
    "Market",
    "ModelInputError",
    "Policy",
    "ResolvedPolicy",
    "Stack",
    "evaluate",
    "jacobian",
    "stack",
]


class ModelInputError(CritminError):
    """Model arrays or parameters that are invalid (wrong shape, NaN, sigma <= 1, ...)."""


# --------------------------------------------------------------------------------------------
# validation helpers


def _float_array(
    value: Any,
    name: str,
    *,
    shape: tuple[int, ...] | None = None,
    ndim: int | None = None,
    allow_inf: bool = False,
) -> FloatArray:
    """Copy ``value`` into a read-only float64 array, checking shape and finiteness."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"{name}: expected an array of numbers ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ModelInputError(f"{name}: expected a {ndim}-dimensional array, got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ModelInputError(f"{name}: expected shape {shape}, got {arr.shape}")
    if np.isnan(arr).any():
        raise ModelInputError(f"{name}: contains NaN; every entry must be a number")
    if not allow_inf and np.isinf(arr).any():
        raise ModelInputError(f"{name}: contains an infinite value; every entry must be finite")
    arr.flags.writeable = False
    return arr


def _scalar(value: Any, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ModelInputError(f"{name}: expected a number, got {value!r}") from None
    if not np.isfinite(out):
        raise ModelInputError(f"{name}: expected a finite number, got {out}")
    return out


def _bool_array(value: Any, name: str, *, ndim: int) -> BoolArray:
    arr = np.asarray(value)
    if arr.ndim != ndim:
        raise ModelInputError(f"{name}: expected a {ndim}-dimensional array, got shape {arr.shape}")
    if arr.dtype != np.bool_:
        try:
            num = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ModelInputError(f"{name}: expected booleans (or 0/1)") from None
        if not np.isin(num, (0.0, 1.0)).all():
            raise ModelInputError(f"{name}: expected booleans (or 0/1), found other values")
        arr = num.astype(np.bool_)
    out = np.array(arr, dtype=np.bool_)
    out.flags.writeable = False
    return out


# --------------------------------------------------------------------------------------------
# inputs


@dataclass(frozen=True, eq=False)
class Market:
    """One product market: baseline flows, tariffs and elasticities for ``n`` countries.

    Attributes:
        V: ``(n, n)`` baseline sales from seller ``i`` (row) to buyer ``j`` (column) at producer
            prices, USD; the diagonal holds domestic sales. Non-negative.
        t0: ``(n, n)`` baseline ad valorem tariffs (fractions, > -1).
        sigma: Armington elasticity of substitution; must exceed 1 (with ``sigma <= 1`` a
            banned supplier would be essential and the composite price undefined).
        eta: aggregate (composite) demand elasticity, ``>= 0``.
        eps: ``(n,)`` supply elasticities, ``>= 0`` (a scalar is broadcast).
        countries: optional labels (e.g. ISO3 codes), used in messages only.
        name: optional product label, used in messages only.
    """

    V: FloatArray
    t0: FloatArray
    sigma: float
    eta: float
    eps: FloatArray
    countries: tuple[str, ...] | None = None
    name: str = ""

    def __post_init__(self) -> None:
        V = _float_array(self.V, "V", ndim=2)
        n = V.shape[0]
        if V.shape != (n, n) or n == 0:
            raise ModelInputError(f"V: expected a non-empty square (n, n) array, got {V.shape}")
        if (V < 0).any():
            raise ModelInputError("V: baseline sales must be >= 0")
        t0 = _float_array(self.t0, "t0", shape=(n, n))
        if (t0 <= -1).any():
            raise ModelInputError("t0: baseline tariffs must be > -1 (fractions, 0.1 = 10%)")
        sigma = _scalar(self.sigma, "sigma")
        if sigma <= 1.0:
            raise ModelInputError(
                f"sigma: the Armington elasticity must be > 1, got {sigma} "
                "(with sigma <= 1 a removed supplier leaves the composite price undefined)"
            )
        eta = _scalar(self.eta, "eta")
        if eta < 0.0:
            raise ModelInputError(f"eta: the demand elasticity must be >= 0, got {eta}")
        eps_in = np.asarray(self.eps, dtype=object)
        if eps_in.ndim == 0:
            eps = _float_array(np.full(n, _scalar(self.eps, "eps")), "eps")
        else:
            eps = _float_array(self.eps, "eps", shape=(n,))
        if (eps < 0).any():
            raise ModelInputError("eps: supply elasticities must be >= 0")
        countries = self.countries
        if countries is not None:
            countries = tuple(str(c) for c in countries)
            if len(countries) != n:
                raise ModelInputError(f"countries: expected {n} labels, got {len(countries)}")
        object.__setattr__(self, "V", V)
        object.__setattr__(self, "t0", t0)
        object.__setattr__(self, "sigma", sigma)
        object.__setattr__(self, "eta", eta)
        object.__setattr__(self, "eps", eps)
        object.__setattr__(self, "countries", countries)

    @property
    def n(self) -> int:
        """Number of countries."""
        return int(self.V.shape[0])

    @property
    def E(self) -> FloatArray:
        """Baseline expenditure of each buyer at buyer prices, ``E_j = sum_i V_ij (1+t0_ij)``."""
        return np.asarray((self.V * (1.0 + self.t0)).sum(axis=0), dtype=np.float64)

    @property
    def R(self) -> FloatArray:
        """Baseline sales of each seller, ``R_i = sum_j V_ij``."""
        return np.asarray(self.V.sum(axis=1), dtype=np.float64)

    @property
    def baseline_exports(self) -> FloatArray:
        """Baseline exports ``X0_i = sum_{j != i} V_ij`` (USD = baseline-value units)."""
        off = 1.0 - np.eye(self.n)
        return np.asarray((self.V * off).sum(axis=1), dtype=np.float64)

    @property
    def shares(self) -> FloatArray:
        """Baseline expenditure shares ``s_ij = V_ij (1+t0_ij) / E_j`` (0 where ``E_j = 0``)."""
        w = self.V * (1.0 + self.t0)
        E = w.sum(axis=0)
        return np.divide(w, E, out=np.zeros_like(w), where=E > 0)

    def label(self, i: int) -> str:
        """The label of country ``i`` (its code if given, else ``#i``)."""
        return self.countries[i] if self.countries is not None else f"#{i}"


@dataclass(frozen=True, eq=False)
class ResolvedPolicy:
    """A :class:`Policy` expanded to full arrays for one market (see :meth:`Policy.resolve`)."""

    t1: FloatArray
    banned: BoolArray
    levy_floor: FloatArray
    subsidy_floor: FloatArray
    export_cap: FloatArray


@dataclass(frozen=True, eq=False)
class Policy:
    """Scenario instruments for one market. ``Policy()`` is "no change".

    Attributes:
        t1: ``(n, n)`` scenario tariffs; ``None`` keeps the baseline ``t0``.
        banned: ``(n, n)`` bool, pairs removed from trade (seller row, buyer column).
        levy_floor: ``(n, n)`` variable-levy floor on the buyer price, relative to the baseline
            unit value (``F / p0_ij``); 0 where none. ``b_ij = max(b_ij, F_ij)``.
        subsidy_floor: ``(n,)`` producer-subsidy floor ``G / p0``; 0 where none.
        export_cap: ``(n,)`` cap on exports (quantity, baseline-value units) as a fraction of
            baseline exports; ``np.inf`` where none. A cap of 0 is an export ban.
    """

    t1: FloatArray | None = None
    banned: BoolArray | None = None
    levy_floor: FloatArray | None = None
    subsidy_floor: FloatArray | None = None
    export_cap: FloatArray | None = None

    def __post_init__(self) -> None:
        if self.t1 is not None:
            t1 = _float_array(self.t1, "t1", ndim=2)
            if (t1 <= -1).any():
                raise ModelInputError("t1: scenario tariffs must be > -1 (fractions, 0.25 = 25%)")
            object.__setattr__(self, "t1", t1)
        if self.banned is not None:
            object.__setattr__(self, "banned", _bool_array(self.banned, "banned", ndim=2))
        if self.levy_floor is not None:
            lf = _float_array(self.levy_floor, "levy_floor", ndim=2)
            if (lf < 0).any():
                raise ModelInputError("levy_floor: relative floors must be >= 0 (0 = no floor)")
            object.__setattr__(self, "levy_floor", lf)
        if self.subsidy_floor is not None:
            sf = _float_array(self.subsidy_floor, "subsidy_floor", ndim=1)
            if (sf < 0).any():
                raise ModelInputError("subsidy_floor: relative floors must be >= 0 (0 = none)")
            object.__setattr__(self, "subsidy_floor", sf)
        if self.export_cap is not None:
            cap = _float_array(self.export_cap, "export_cap", ndim=1, allow_inf=True)
            if (cap < 0).any():
                raise ModelInputError(
                    "export_cap: caps are fractions of baseline exports and must be >= 0 "
                    "(np.inf = no cap)"
                )
            object.__setattr__(self, "export_cap", cap)

    def resolve(self, market: Market) -> ResolvedPolicy:
        """Expand to full arrays for ``market``, checking every shape against ``n``."""
        n = market.n
        for name, shape in (
            ("t1", (n, n)),
            ("banned", (n, n)),
            ("levy_floor", (n, n)),
            ("subsidy_floor", (n,)),
            ("export_cap", (n,)),
        ):
            val = getattr(self, name)
            if val is not None and val.shape != shape:
                raise ModelInputError(
                    f"{name}: expected shape {shape} to match the market's {n} countries, "
                    f"got {val.shape}"
                )
        return ResolvedPolicy(
            t1=market.t0 if self.t1 is None else self.t1,
            banned=np.zeros((n, n), dtype=np.bool_) if self.banned is None else self.banned,
            levy_floor=np.zeros((n, n)) if self.levy_floor is None else self.levy_floor,
            subsidy_floor=np.zeros(n) if self.subsidy_floor is None else self.subsidy_floor,
            export_cap=np.full(n, np.inf) if self.export_cap is None else self.export_cap,
        )


# --------------------------------------------------------------------------------------------
# the stacked (batched) system


@dataclass(eq=False)
class Stack:
    """Markets padded to a common size ``n`` and stacked along a leading batch axis.

    Padding countries have no sales and no demand, so they carry no unknown. Arrays are
    indexed ``[batch, seller i, buyer j]``. The unknown vector has length ``N = n + nq``:
    ``u`` (log producer prices, one slot per country) then ``nu`` (one slot per quota).

    Structural flags, fixed before any iteration:

    * ``active[b, i, j]``: pair with baseline trade that is not banned (enters every sum);
    * ``stranded[b, i]``: producer with sales whose every pair is banned (price 0, no sales);
    * ``unsupplied[b, j]``: buyer with baseline demand whose every supplier is banned
      (``P_j = inf``, no purchases);
    * ``numeraire[b, i]``: with ``eta = 0`` and ``eps = 0`` for every producer of a connected
      group, prices there are determined only up to a common factor; this producer's price is
      held at 1 and its clearing equation is checked after the solve;
    * ``uact[b, i]``: ``u_i`` is an unknown; ``check[b, i]``: clearing of ``i`` is checked.
    """

    B: int
    n: int
    nq: int
    sizes: IntArray
    sigma: FloatArray
    eta: FloatArray
    eps: FloatArray
    V: FloatArray
    w: FloatArray
    W: FloatArray
    R: FloatArray
    X0: FloatArray
    dlt: FloatArray
    lnFc: FloatArray
    lnG: FloatArray
    active: BoolArray
    any_floor: bool
    uact: BoolArray
    check: BoolArray
    supplied: BoolArray
    stranded: BoolArray
    unsupplied: BoolArray
    numeraire: BoolArray
    qidx: IntArray
    qmask: BoolArray
    lncap: FloatArray
    off: FloatArray

    @property
    def N(self) -> int:
        """Length of the unknown vector."""
        return self.n + self.nq

    def subset(self, idx: IntArray) -> Stack:
        """The stack restricted to batch elements ``idx`` (copies)."""
        kw: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            val = getattr(self, name)
            if name in ("n", "nq", "any_floor", "off"):
                kw[name] = val
            elif name == "B":
                kw[name] = len(idx)
            else:
                kw[name] = val[idx]
        return Stack(**kw)

    def nu_full(self, z: FloatArray) -> FloatArray:
        """Scatter the quota unknowns of ``z`` into a ``(B, n)`` array (0 where no quota)."""
        B, n = z.shape[0], self.n
        if self.nq == 0:
            return np.zeros((B, n))
        ext = np.zeros((B, n + 1))
        np.put_along_axis(ext, self.qidx, np.where(self.qmask, z[:, n:], 0.0), axis=1)
        return ext[:, :n]


def _components(active: BoolArray) -> tuple[int, IntArray]:
    """Connected components of the bipartite seller/buyer graph of active pairs."""
    n = active.shape[0]
    rows, cols = np.nonzero(active)
    graph = coo_matrix(
        (np.ones(len(rows)), (rows, cols + n)), shape=(2 * n, 2 * n)
    ).tocsr()
    ncomp, labels = connected_components(graph, directed=False)
    return int(ncomp), np.asarray(labels, dtype=np.intp)


def stack(
    markets: list[Market], policies: list[ResolvedPolicy], n: int | None = None
) -> Stack:
    """Pad ``markets`` (with their resolved policies) to a common ``n`` and stack them."""
    B = len(markets)
    sizes = np.array([m.n for m in markets], dtype=np.intp)
    n = int(sizes.max()) if n is None else n
    V = np.zeros((B, n, n))
    t0 = np.zeros((B, n, n))
    t1 = np.zeros((B, n, n))
    banned = np.zeros((B, n, n), dtype=np.bool_)
    F = np.zeros((B, n, n))
    G = np.zeros((B, n))
    cap = np.full((B, n), np.inf)
    eps = np.zeros((B, n))
    for b, (m, p) in enumerate(zip(markets, policies, strict=True)):
        k = m.n
        V[b, :k, :k] = m.V
        t0[b, :k, :k] = m.t0
        t1[b, :k, :k] = p.t1
        banned[b, :k, :k] = p.banned
        F[b, :k, :k] = p.levy_floor
        G[b, :k] = p.subsidy_floor
        cap[b, :k] = p.export_cap
        eps[b, :k] = m.eps
    sigma = np.array([m.sigma for m in markets])
    eta = np.array([m.eta for m in markets])
    off = 1.0 - np.eye(n)

    # A cap of 0 is an export ban (a finite export-tax equivalent cannot reach zero exports).
    zero_cap = cap == 0.0
    if zero_cap.any():
        banned = banned | (zero_cap[:, :, None] & (off > 0)[None, :, :])

    w = V * (1.0 + t0)
    W = w.sum(axis=1)  # E_j, same reduction as the composite-price sum (exact baseline)
    R = V.sum(axis=2)
    X0 = (V * off).sum(axis=2)
    # log of (1 + t1) / (1 + t0): exactly 0 where t1 == t0
    dlt = np.log1p(t1) - np.log1p(t0)
    active = (V > 0) & ~banned
    any_floor = bool((F > 0).any())
    lnFc = np.full((B, n, n), -np.inf)
    np.log(F, out=lnFc, where=F > 0)
    lnFc = lnFc - np.log1p(t0)  # floor on c = b / (1 + t0), in logs
    lnG = np.full((B, n), -np.inf)
    np.log(G, out=lnG, where=G > 0)

    supplied = active.any(axis=1)  # buyer has at least one active pair
    unsupplied = (W > 0) & ~supplied
    stranded = (R > 0) & ~active.any(axis=2)
    producer = (R > 0) & ~stranded

    numeraire = np.zeros((B, n), dtype=np.bool_)
    for b in range(B):
        if eta[b] != 0.0:
            continue
        ncomp, labels = _components(active[b])
        seller_lab = labels[:n]
        for comp in range(ncomp):
            members = producer[b] & (seller_lab == comp)
            if members.any() and (eps[b][members] == 0.0).all():
                idx = np.flatnonzero(members)
                numeraire[b, idx[np.argmax(R[b, idx])]] = True
    uact = producer & ~numeraire
    check = producer

    # export quotas that can bind: finite positive cap, exports in the baseline, an export
    # pair still open, and a producer that is not stranded
    has_exp = (active & (off > 0)[None]).any(axis=2)
    quota = np.isfinite(cap) & (cap > 0) & (X0 > 0) & producer & has_exp
    nq = int(quota.sum(axis=1).max()) if B else 0
    qidx = np.full((B, nq), n, dtype=np.intp)
    qmask = np.zeros((B, nq), dtype=np.bool_)
    lncap = np.zeros((B, nq))
    for b in range(B):
        idx = np.flatnonzero(quota[b])
        qidx[b, : len(idx)] = idx
        qmask[b, : len(idx)] = True
        lncap[b, : len(idx)] = np.log(cap[b, idx])

    return Stack(
        B=B,
        n=n,
        nq=nq,
        sizes=sizes,
        sigma=sigma,
        eta=eta,
        eps=eps,
        V=V,
        w=w,
        W=W,
        R=R,
        X0=X0,
        dlt=dlt,
        lnFc=lnFc,
        lnG=lnG,
        active=active,
        any_floor=any_floor,
        uact=uact,
        check=check,
        supplied=supplied,
        stranded=stranded,
        unsupplied=unsupplied,
        numeraire=numeraire,
        qidx=qidx,
        qmask=qmask,
        lncap=lncap,
        off=off,
    )


# --------------------------------------------------------------------------------------------
# equations


@dataclass(eq=False)
class Evaluation:
    """The model evaluated at ``z`` for every element of a :class:`Stack`.

    ``F`` is the residual of the Newton system (``(B, N)``: clearing rows for the unknown
    prices, then quota rows; 0 for fixed slots). ``f_check`` is the clearing residual of every
    producer, including numeraires. The other arrays are intermediates the Jacobian reuses.
    """

    z: FloatArray
    F: FloatArray
    f_check: FloatArray
    u: FloatArray
    nu: FloatArray
    lnc: FloatArray
    K: BoolArray
    theta: FloatArray
    lnP: FloatArray
    lnx: FloatArray
    q: FloatArray
    S: FloatArray
    dS: FloatArray
    X: FloatArray
    h: FloatArray


def _exp(a: FloatArray) -> FloatArray:
    return np.asarray(np.exp(np.minimum(a, EXP_CLIP)), dtype=np.float64)


def evaluate(st: Stack, z: FloatArray) -> Evaluation:
    """Evaluate the equations of ``DESIGN.md`` at ``z = [u, nu]`` for the whole stack.

    Exactness at the baseline: with ``t1 == t0``, no floor and ``z = 0`` we get
    ``ln c = 0`` (``dlt`` is exactly 0), every CES term equals ``w_ij`` bit for bit, the
    composite sum equals ``W_j`` (same reduction), so ``ln P = 0``, ``x = 1``, ``q = V``,
    sales equal ``R`` and every residual is exactly 0.
    """
    n = st.n
    u = z[:, :n]
    nu = st.nu_full(z)
    sig = st.sigma[:, None, None]
    eta = st.eta[:, None]
    # ln c_ij = ln pi_i + ln(1+e_i)[i != j] + ln((1+t1_ij)/(1+t0_ij)), floored at ln(F/(1+t0))
    lnc_hat = u[:, :, None] + nu[:, :, None] * st.off + st.dlt
    if st.any_floor:
        lnc = np.maximum(lnc_hat, st.lnFc)
        K = (lnc_hat >= st.lnFc) & st.active
    else:
        lnc = lnc_hat
        K = st.active
    # composite price, shifted by the cheapest active price so that no exponent is positive
    m = np.where(st.active, lnc, np.inf).min(axis=1)
    m = np.where(st.supplied, m, 0.0)
    expo = np.where(st.active, (1.0 - sig) * (lnc - m[:, None, :]), -np.inf)
    th = st.w * np.exp(expo)
    T = th.sum(axis=1)
    ok = st.supplied
    Ts = np.where(ok, T, 1.0)
    lnP = np.where(ok, m + np.log(Ts / np.where(ok, st.W, 1.0)) / (1.0 - st.sigma[:, None]), 0.0)
    theta = th / Ts[:, None, :]
    lnD = -eta * lnP
    # ln x_ij = ln D_j + sigma (ln P_j - ln c_ij)
    lnx = lnD[:, None, :] + sig * (lnP[:, None, :] - lnc)
    q = np.where(st.active, st.V * _exp(lnx), 0.0)
    Q = q.sum(axis=2)
    lnps = np.maximum(u, st.lnG)
    S = _exp(st.eps * lnps)
    dS = np.where(u >= st.lnG, st.eps * S, 0.0)  # dS/du (0 while the subsidy floor binds)
    Rs = np.where(st.check, st.R, 1.0)
    f_check = np.where(st.check, Q / Rs - S, 0.0)
    f = np.where(st.uact, f_check, 0.0)
    X = (q * st.off).sum(axis=2)
    if st.nq:
        Xe = np.concatenate([X, np.ones((st.B, 1))], axis=1)
        X0e = np.concatenate([np.where(st.X0 > 0, st.X0, 1.0), np.ones((st.B, 1))], axis=1)
        ratio = np.take_along_axis(Xe, st.qidx, axis=1) / np.take_along_axis(
            X0e, st.qidx, axis=1
        )
        h = st.lncap - np.log(np.maximum(ratio, 1e-300))
        g = np.where(st.qmask, np.minimum(z[:, n:], h), 0.0)
        F = np.concatenate([f, g], axis=1)
    else:
        h = np.zeros((st.B, 0))
        F = f
    return Evaluation(
        z=z,
        F=F,
        f_check=f_check,
        u=u,
        nu=nu,
        lnc=lnc,
        K=K,
        theta=theta,
        lnP=lnP,
        lnx=lnx,
        q=q,
        S=S,
        dS=dS,
        X=X,
        h=h,
    )


def jacobian(st: Stack, ev: Evaluation) -> FloatArray:
    """Analytic (semismooth) Jacobian ``dF/dz`` of the system at ``ev.z``, shape ``(B, N, N)``.

    With ``K_ij = 1`` where pair ``ij`` is active and not held at its levy floor, current
    expenditure shares ``theta_kj`` and quantities ``q_ij = V_ij x_ij``:

    * ``d ln x_ij / d ln c_kj = -sigma [i = k] + (sigma - eta) theta_kj`` (Armington CES with
      composite demand elasticity ``eta``: the GSIM own/cross price elasticities of
      Francois & Hall 2003);
    * ``d ln c_kj / d u_k = K_kj``, ``d ln c_kj / d nu_k = K_kj [j != k]``;
    * ``df_i/du_k = (-sigma [i=k] sum_j q_ij K_ij + (sigma-eta) sum_j q_ij theta_kj K_kj) / R_i
      - [i=k] eps_i S_i [pi_i >= G_i]``;
    * binding quota rows ``dg_k/dz = -d ln X_k / dz``; slack ones ``dg_k/dnu_k = 1``.

    At a kink (price exactly at a floor) the element with ``K = 1`` is used. A residual that
    floors make flat in its own unknown (a producer whose every sale sits at a floor while its
    supply is fixed; a binding quota whose every export sits at a floor) would make the
    Jacobian singular; for it the unfloored piece is used (a generalised-Newton choice that
    moves the price off the floor, where a solution must lie).
    """
    B, n, nq = st.B, st.n, st.nq
    N = n + nq
    sig = st.sigma[:, None, None]
    se = (st.sigma - st.eta)[:, None, None]
    q = ev.q
    K = ev.K
    if st.any_floor:
        # generalised-Newton choice for residuals made flat by floors (see docstring)
        rs = (q * K).sum(axis=2)
        flat = st.uact & (rs == 0.0) & (ev.dS == 0.0)
        if flat.any():
            K = np.where(flat[:, :, None], st.active, K)
        if nq:
            rsx_all = (q * K * st.off).sum(axis=2)
            qi0 = np.minimum(st.qidx, n - 1)
            bind = st.qmask & (ev.h <= ev.z[:, n:])
            flat_q = bind & (np.take_along_axis(rsx_all, qi0, axis=1) == 0.0)
            if flat_q.any():
                fq = np.zeros((B, n), dtype=np.bool_)
                bb, kk = np.nonzero(flat_q)
                fq[bb, qi0[bb, kk]] = True
                K = np.where(fq[:, :, None] & (st.off > 0), st.active, K)
    Kf = K.astype(np.float64)
    thK = ev.theta * Kf
    rowsum = (q * Kf).sum(axis=2)
    Rs = np.where(st.check, st.R, 1.0)[:, :, None]
    J = np.zeros((B, N, N))
    Juu = se * np.matmul(q, thK.transpose(0, 2, 1))
    diag = np.arange(n)
    Juu[:, diag, diag] -= st.sigma[:, None] * rowsum
    Juu /= Rs
    Juu[:, diag, diag] -= ev.dS
    J[:, :n, :n] = Juu
    if nq:
        Kx = Kf * st.off
        thKx = ev.theta * Kx
        qi = np.minimum(st.qidx, n - 1)  # padded slots point anywhere, masked below
        qm = st.qmask[:, :, None].astype(np.float64)
        thKx_q = np.take_along_axis(thKx, qi[:, :, None], axis=1) * qm  # (B, nq, n)
        qx = q * st.off
        qx_q = np.take_along_axis(qx, qi[:, :, None], axis=1) * qm  # (B, nq, n)
        rsx = (qx * Kf).sum(axis=2)  # sum_j q_kj K_kj [j != k]
        rsx_q = np.take_along_axis(rsx, qi, axis=1) * st.qmask
        # clearing rows, quota columns
        Juv = se * np.matmul(q, thKx_q.transpose(0, 2, 1))  # (B, n, nq)
        bidx = np.arange(B)[:, None]
        kidx = np.arange(nq)[None, :]
        Juv[bidx, qi, kidx] -= st.sigma[:, None] * rsx_q
        Juv /= Rs
        J[:, :n, n:] = Juv
        # quota rows: -d ln X_k / dz where binding (h <= nu), unit row otherwise
        Xq = np.take_along_axis(ev.X, qi, axis=1)
        Xq = np.where(st.qmask & (Xq > 0), Xq, 1.0)
        dXu = se * np.matmul(qx_q, thK.transpose(0, 2, 1))  # (B, nq, n)
        dXu[bidx, kidx, qi] -= st.sigma[:, None] * rsx_q
        dXv = se * np.matmul(qx_q, thKx_q.transpose(0, 2, 1))  # (B, nq, nq)
        dXv[:, np.arange(nq), np.arange(nq)] -= st.sigma[:, None] * rsx_q
        binding = st.qmask & (ev.h <= ev.z[:, n:])
        bq = binding[:, :, None]
        J[:, n:, :n] = np.where(bq, -dXu / Xq[:, :, None], 0.0)
        J[:, n:, n:] = np.where(bq, -dXv / Xq[:, :, None], 0.0)
        slack = ~binding
        J[:, n:, n:][slack] = 0.0
        eye_q = np.broadcast_to(np.eye(nq), (B, nq, nq))
        J[:, n:, n:] = np.where(slack[:, :, None], eye_q, J[:, n:, n:])
    # fixed slots: unit row, zero column
    act = np.concatenate([st.uact, st.qmask], axis=1)
    J *= act[:, None, :]
    J = np.where(act[:, :, None], J, 0.0)
    idx = np.arange(N)
    J[:, idx, idx] = np.where(act, J[:, idx, idx], 1.0)
    return J
