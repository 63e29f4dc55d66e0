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
``z = [u, nu]`` with ``u_s = ln pi_i`` for every producer slot ``s`` (a country with baseline
sales; pure importers carry no unknown and keep ``pi = 1``) and ``nu_k = ln(1 + e_k)`` for
every export quota that can bind. All equations run over the list of *active pairs* (baseline
trade, not banned), so the work scales with the number of trading pairs. A later multi-stage
model (ore -> refined -> product) is one larger system of the same kind: one ``u`` block per
stage, and the downstream stage's output entering the upstream stage's demand as a further
term of its clearing residual; the Jacobian gains off-diagonal blocks, the solver is unchanged.

Residuals (all dimensionless, so one tolerance fits every market):

* clearing ``f_i = ln(sum_j V_ij x_ij / R_i) - ln S_i`` (the relative gap between sales and
  supply; logs make the residual nearly linear in the log prices, so large shocks such as a
  ban with ``sigma`` near 1 still converge from the baseline);
* quota ``g_k = min(nu_k, 1 - X_k / (cap_k X0_k))`` (min-function complementarity:
  ``nu >= 0``, ``X <= cap X0``, one of them holds with equality).

No policy change gives exactly ``u = 0`` and zero residuals: every quantity is computed so that
baseline inputs reproduce the baseline bit for bit (see the comments in :func:`evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from critmin.errors import CritminError
from critmin.model.kernels import clearing, dense_pairs, evaluate_pairs, market_lists

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]

__all__ = [
    "Evaluation",
    "Market",
    "ModelInputError",
    "Policy",
    "ResolvedPolicy",
    "Stack",
    "evaluate",
    "first_kink",
    "jacobian",
    "newton_system",
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
        arr = np.array(value, dtype=np.float64, order="C")  # the compiled loops read rows
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
    out = np.array(arr, dtype=np.bool_, order="C")
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

    @cached_property
    def E(self) -> FloatArray:
        """Baseline expenditure of each buyer at buyer prices, ``E_j = sum_i V_ij (1+t0_ij)``."""
        return np.asarray((self.V * (1.0 + self.t0)).sum(axis=0), dtype=np.float64)

    @cached_property
    def R(self) -> FloatArray:
        """Baseline sales of each seller, ``R_i = sum_j V_ij``."""
        return np.asarray(self.V.sum(axis=1), dtype=np.float64)

    @cached_property
    def baseline_exports(self) -> FloatArray:
        """Baseline exports ``X0_i = sum_{j != i} V_ij`` (USD = baseline-value units)."""
        off = 1.0 - np.eye(self.n)
        return np.asarray((self.V * off).sum(axis=1), dtype=np.float64)

    @cached_property
    def shares(self) -> FloatArray:
        """Baseline expenditure shares ``s_ij = V_ij (1+t0_ij) / E_j`` (0 where ``E_j = 0``)."""
        w = self.V * (1.0 + self.t0)
        E = w.sum(axis=0)
        return np.divide(w, E, out=np.zeros_like(w), where=E > 0)

    @cached_property
    def baseline_tariff_revenue(self) -> FloatArray:
        """Baseline tariff revenue of each buyer, ``sum_i ((1 + t0_ij) - 1) V_ij`` (USD)."""
        return np.asarray((((1.0 + self.t0) - 1.0) * self.V).sum(axis=0), dtype=np.float64)

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
    """Markets padded to common sizes and stacked along a leading batch axis.

    Layout (``b`` = batch element):

    * buyers: the ``n`` countries (padded; a padding country has no demand), arrays ``(B, n)``
      with one extra dummy column where noted;
    * producer slots: every country with baseline sales gets a slot ``0..ns-1``
      (``slot_country[b, s]`` is its country index; padding slots point to ``n``); per-slot
      arrays are ``(B, ns)``;
    * pairs: the *active* pairs (baseline trade, not banned) as padded lists ``(B, L)`` in
      memory order (seller, then buyer), with slot ``ps``, buyer ``pj`` and baseline data;
      ``pvalid`` marks real entries.
      Only active pairs enter the equations, so all work scales with the number of trading
      pairs, not ``n^2``.

    The unknown vector has length ``N = ns + nq``: ``u`` (log producer prices, one per slot),
    then ``nu`` (``ln(1+e)``, one per quota slot).

    Structural flags, fixed before any iteration:

    * ``stranded``: producer with sales whose every pair is banned (price 0, no sales);
    * ``unsupplied``: buyer with baseline demand whose every supplier is banned
      (``P_j = inf``, no purchases);
    * ``numeraire``: with ``eta = 0`` and ``eps = 0`` for every producer of a connected group,
      prices there are determined only up to a common factor; this producer's price is held at
      1 and its clearing equation is only checked after the solve;
    * ``uact``: ``u`` is an unknown; ``check``: the clearing of the slot is checked.
    """

    B: int
    n: int
    ns: int
    L: int
    nq: int
    sizes: IntArray
    sigma: FloatArray
    eta: FloatArray
    # producer slots (B, ns)
    slot_country: IntArray
    R: FloatArray
    X0: FloatArray
    eps: FloatArray
    lnG: FloatArray
    uact: BoolArray
    check: BoolArray
    stranded: BoolArray
    numeraire: BoolArray
    # buyers (B, n + 1), last column a dummy: baseline expenditure E_j and tariff revenue
    # sum_i t0_ij V_ij, both summed seller after seller (the order of Market.E and of the
    # solver's own sums, so that no change reproduces them bit for bit)
    W: FloatArray
    rev0: FloatArray
    supplied: BoolArray
    unsupplied: BoolArray
    # active pairs (B, L)
    ps: IntArray
    pj: IntArray
    pV: FloatArray
    pw: FloatArray
    pdlt: FloatArray
    plnFc: FloatArray
    poff: FloatArray
    pvalid: BoolArray
    any_floor: bool
    # quotas (B, nq)
    qslot: IntArray
    qmask: BoolArray
    lncap: FloatArray

    # derived index arrays (computed in __post_init__)
    sflat: IntArray = field(init=False, repr=False)
    qflat: IntArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        b = np.arange(self.B)[:, None]
        self.sflat = (b * (self.ns + 1) + self.ps).ravel()
        self.qflat = (b * (self.ns + 1) + self.qslot).ravel()

    @property
    def N(self) -> int:
        """Length of the unknown vector."""
        return self.ns + self.nq

    def subset(self, idx: IntArray) -> Stack:
        """The stack restricted to batch elements ``idx`` (copies)."""
        kw: dict[str, Any] = {}
        for name, fld in self.__dataclass_fields__.items():
            if not fld.init:
                continue
            val = getattr(self, name)
            if name in ("n", "ns", "L", "nq", "any_floor"):
                kw[name] = val
            elif name == "B":
                kw[name] = len(idx)
            else:
                kw[name] = val[idx]
        return Stack(**kw)

    def at_seller(self, values: FloatArray) -> FloatArray:
        """Gather per-slot values ``(B, ns + 1)`` onto the pairs -> ``(B, L)``."""
        return values.ravel()[self.sflat].reshape(self.B, self.L)

    def at_quota(self, values: FloatArray) -> FloatArray:
        """Gather per-slot values ``(B, ns + 1)`` onto the quota slots -> ``(B, nq)``."""
        return values.ravel()[self.qflat].reshape(self.B, self.nq)

    def by_seller(self, values: FloatArray) -> FloatArray:
        """Sum pair values ``(B, L)`` per producer slot -> ``(B, ns + 1)`` (dummy last)."""
        out = _sum_into(self.sflat, values.ravel(), self.B * (self.ns + 1))
        return out.reshape(self.B, self.ns + 1)

    def nu_slots(self, z: FloatArray) -> FloatArray:
        """Scatter the quota unknowns of ``z`` onto producer slots -> ``(B, ns + 1)``."""
        ext = np.zeros((z.shape[0], self.ns + 1))
        if self.nq:
            ext.ravel()[self.qflat] = np.where(self.qmask, z[:, self.ns :], 0.0).ravel()
            ext[:, self.ns] = 0.0
        return ext


def _components(active: BoolArray) -> tuple[int, IntArray]:
    """Connected components of the bipartite seller/buyer graph of active pairs."""
    n = active.shape[0]
    rows, cols = np.nonzero(active)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols + n)), shape=(2 * n, 2 * n)).tocsr()
    ncomp, labels = connected_components(graph, directed=False)
    return int(ncomp), np.asarray(labels, dtype=np.intp)


@dataclass(frozen=True, eq=False)
class _MarketLists:
    """One market's open pairs and per-country arrays, before padding (see :func:`stack`)."""

    slot_country: IntArray  # country of each producer slot
    R: FloatArray  # per slot: baseline sales, exports, elasticity, subsidy floor, cap
    X0: FloatArray
    eps: FloatArray
    G: FloatArray
    cap: FloatArray
    sells: BoolArray  # per slot: sells on an open pair / exports on one
    exports: BoolArray
    W: FloatArray  # per buyer: baseline expenditure, tariff revenue, has an open supplier
    rev0: FloatArray
    supplied: BoolArray
    ai: IntArray  # per open pair (seller after seller, then buyer)
    aj: IntArray
    ps: IntArray
    pV: FloatArray
    pw: FloatArray
    pdlt: FloatArray
    plnFc: FloatArray
    poff: FloatArray


def _market_lists(m: Market, p: ResolvedPolicy) -> _MarketLists:
    """Sums and open-pair lists of one market (:func:`critmin.model.kernels.market_lists`),
    with the producer slots and the log tariff ratios and floors of the open pairs."""
    R, X0, W, rev0, ai, aj, aV, aw, at0, at1, aF, supplied, sells, exports = market_lists(
        m.V, m.t0, p.t1, p.banned, p.export_cap, p.levy_floor
    )
    slot_country = np.flatnonzero(R > 0)  # every country with baseline sales gets a slot
    slot_of = np.zeros(m.n, dtype=np.intp)
    slot_of[slot_country] = np.arange(len(slot_country))
    dlt = np.zeros(len(ai))  # ln((1+t1)/(1+t0)): exactly 0 where t1 == t0
    ch = at1 != at0
    if ch.any():
        dlt[ch] = np.log1p(at1[ch]) - np.log1p(at0[ch])
    lnFc = np.full(len(ai), -np.inf)  # the floor on c = b / (1 + t0), in logs
    fl = aF > 0
    if fl.any():
        lnFc[fl] = np.log(aF[fl]) - np.log1p(at0[fl])
    return _MarketLists(
        slot_country=slot_country,
        R=R[slot_country],
        X0=X0[slot_country],
        eps=m.eps[slot_country],
        G=p.subsidy_floor[slot_country],
        cap=p.export_cap[slot_country],
        sells=sells[slot_country],
        exports=exports[slot_country],
        W=W,
        rev0=rev0,
        supplied=supplied,
        ai=ai,
        aj=aj,
        ps=slot_of[ai],
        pV=aV,
        pw=aw,
        pdlt=dlt,
        plnFc=lnFc,
        poff=(ai != aj).astype(np.float64),
    )


def _padded(rows: list[NDArray[Any]], width: int, fill: Any, dtype: Any) -> NDArray[Any]:
    """Stack 1-d arrays of different lengths into ``(len(rows), width)``, padded with ``fill``."""
    if len(rows) == 1 and len(rows[0]) == width:
        return np.asarray(rows[0], dtype=dtype).reshape(1, width)
    out = np.full((len(rows), width), fill, dtype=dtype)
    for k, row in enumerate(rows):
        out[k, : len(row)] = row
    return out


def stack(markets: list[Market], policies: list[ResolvedPolicy]) -> Stack:
    """Pad ``markets`` (with their resolved policies) to common sizes and stack them.

    Pair lists run seller after seller, then buyer, both for the baseline sums and the open
    pairs, so that without bans every baseline sum (per seller or per buyer) and the
    corresponding evaluated sum are the same floating-point reduction (exact no-change).
    """
    B = len(markets)
    sizes = np.array([m.n for m in markets], dtype=np.intp)
    n = int(sizes.max())
    sigma = np.array([m.sigma for m in markets])
    eta = np.array([m.eta for m in markets])
    lists = [_market_lists(m, p) for m, p in zip(markets, policies, strict=True)]
    ns = max(len(ml.slot_country) for ml in lists)
    L = max(len(ml.ai) for ml in lists)

    def slots(name: str, fill: Any, dtype: Any = np.float64) -> NDArray[Any]:
        return _padded([getattr(ml, name) for ml in lists], ns, fill, dtype)

    def pairs(name: str, fill: Any, dtype: Any = np.float64) -> NDArray[Any]:
        return _padded([getattr(ml, name) for ml in lists], L, fill, dtype)

    def buyers(name: str, dtype: Any = np.float64) -> NDArray[Any]:
        return _padded([getattr(ml, name) for ml in lists], n + 1, 0, dtype)

    slot_country = slots("slot_country", n, np.intp)
    R = slots("R", 0.0)
    X0 = slots("X0", 0.0)
    eps_s = slots("eps", 0.0)
    G_s = slots("G", 0.0)
    cap_s = slots("cap", np.inf)
    W = buyers("W")
    rev0 = buyers("rev0")
    supplied = buyers("supplied", np.bool_)
    ps = pairs("ps", ns, np.intp)
    pj = pairs("aj", n, np.intp)
    pV = pairs("pV", 0.0)
    pw = pairs("pw", 0.0)
    pdlt = pairs("pdlt", 0.0)
    plnFc = pairs("plnFc", -np.inf)
    poff = pairs("poff", 0.0)
    pvalid = np.arange(L)[None, :] < np.array([len(ml.ai) for ml in lists])[:, None]
    any_floor = bool(np.isfinite(plnFc).any())

    lnG = np.full((B, ns), -np.inf)
    np.log(G_s, out=lnG, where=G_s > 0)
    slot_valid = slot_country < n
    stranded = slot_valid & ~slots("sells", False, np.bool_)
    producer = slot_valid & ~stranded
    unsupplied = (W > 0) & ~supplied

    numeraire = np.zeros((B, ns), dtype=np.bool_)
    for b, ml in enumerate(lists):
        if eta[b] != 0.0:
            continue
        act_b = np.zeros((n, n), dtype=np.bool_)
        act_b[ml.ai, ml.aj] = True
        ncomp, labels = _components(act_b)
        seller_lab = labels[:n][np.minimum(slot_country[b], n - 1)]
        for comp in range(ncomp):
            members = producer[b] & (seller_lab == comp)
            if members.any() and (eps_s[b][members] == 0.0).all():
                idx = np.flatnonzero(members)
                numeraire[b, idx[np.argmax(R[b, idx])]] = True
    uact = producer & ~numeraire
    check = producer

    # export quotas that can bind: finite positive cap, baseline exports, an open export pair
    has_exp = slots("exports", False, np.bool_)
    quota = np.isfinite(cap_s) & (cap_s > 0) & (X0 > 0) & producer & has_exp
    quota_slots = [np.flatnonzero(row) for row in quota]
    nq = max(len(q) for q in quota_slots)
    qslot = _padded(quota_slots, nq, ns, np.intp)
    lncap = _padded(
        [np.log(c[q]) for c, q in zip(cap_s, quota_slots, strict=True)], nq, 0.0, np.float64
    )
    qmask = np.arange(nq)[None, :] < np.array([len(q) for q in quota_slots])[:, None]

    return Stack(
        B=B,
        n=n,
        ns=ns,
        L=L,
        nq=nq,
        sizes=sizes,
        sigma=sigma,
        eta=eta,
        slot_country=slot_country,
        R=R,
        X0=X0,
        eps=eps_s,
        lnG=lnG,
        uact=uact,
        check=check,
        stranded=stranded,
        numeraire=numeraire,
        W=W,
        rev0=rev0,
        supplied=supplied,
        unsupplied=unsupplied,
        ps=ps,
        pj=pj,
        pV=pV,
        pw=pw,
        pdlt=pdlt,
        plnFc=plnFc,
        poff=poff,
        pvalid=pvalid,
        any_floor=any_floor,
        qslot=qslot,
        qmask=qmask,
        lncap=lncap,
    )


# --------------------------------------------------------------------------------------------
# equations


@dataclass(eq=False)
class Evaluation:
    """The model evaluated at ``z`` for every element of a :class:`Stack`.

    ``F`` is the residual of the Newton system (``(B, N)``: clearing rows for the producer
    slots, then quota rows; 0 for fixed slots). ``f_check`` is the clearing residual of every
    producer slot, including numeraires. ``lnP`` (``(B, n + 1)``) holds log composite prices;
    the pair arrays (``(B, L)``) and the rest are intermediates the Jacobian reuses.
    """

    z: FloatArray
    F: FloatArray
    f_check: FloatArray
    nu: FloatArray
    lnc_hat: FloatArray
    K: BoolArray
    theta: FloatArray
    lnP: FloatArray
    q: FloatArray
    Q: FloatArray
    S: FloatArray
    dS: FloatArray
    X: FloatArray
    h: FloatArray


def _sum_into(bins: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """``np.bincount`` with float weights, typed (sums in input order: deterministic)."""
    return np.asarray(np.bincount(bins, weights=weights, minlength=size), dtype=np.float64)


def evaluate(st: Stack, z: FloatArray) -> Evaluation:
    """Evaluate the equations of ``DESIGN.md`` at ``z = [u, nu]`` for the whole stack.

    Per active pair ``ln c_ij = u_i + nu_i [i != j] + ln((1+t1_ij)/(1+t0_ij))``, floored at
    ``ln(F_ij/(1+t0_ij))``; per buyer ``ln P_j = m_j + ln(sum_i w_ij exp((1-sigma)(ln c_ij -
    m_j)) / E_j) / (1-sigma)`` with ``w = V (1+t0)`` and ``m_j`` the cheapest active price
    (so no exponent is positive); ``ln x_ij = -eta ln P_j + sigma (ln P_j - ln c_ij)``.

    Exactness at the baseline: with ``t1 == t0``, no floor and ``z = 0``, ``ln c = 0``
    exactly, every CES term equals ``w_ij`` bit for bit and is summed in the same order as
    ``E_j``, so ``ln P = 0``, ``x = 1``, ``q = V``, sales equal ``R`` and every residual is 0.
    """
    ns = st.ns
    B = st.B
    u_ext = np.concatenate([z[:, :ns], np.zeros((B, 1))], axis=1)
    nu = st.nu_slots(z)
    lnc_hat, K, theta, lnP, q, Q_ext, X = evaluate_pairs(
        st.ps,
        st.pj,
        st.pV,
        st.pw,
        st.pdlt,
        st.plnFc,
        st.poff,
        st.pvalid,
        st.any_floor,
        st.sigma,
        st.eta,
        st.supplied,
        st.W,
        u_ext,
        nu,
    )
    Q = Q_ext[:, :ns]
    # clearing in logs: ln(sales / R) - ln S; exactly 0 at the baseline (sales == R bit for bit)
    f_check, f, S, dS = clearing(Q_ext, st.R, st.check, st.uact, st.eps, st.lnG, z)
    if st.nq:
        X0e = np.concatenate([np.where(st.X0 > 0, st.X0, 1.0), np.ones((B, 1))], axis=1)
        ratio = st.at_quota(X) / st.at_quota(X0e)
        # slack of the cap as a fraction of it: 1 - X / (cap X0), exactly 1 - 1/cap at the
        # baseline (so a slack quota leaves the baseline untouched)
        h = 1.0 - ratio * np.exp(-st.lncap)
        g = np.where(st.qmask, np.minimum(z[:, ns:], h), 0.0)
        F = np.concatenate([f, g], axis=1)
    else:
        h = np.zeros((B, 0))
        F = f
    return Evaluation(
        z=z,
        F=F,
        f_check=f_check,
        nu=nu,
        lnc_hat=lnc_hat,
        K=K,
        theta=theta,
        lnP=lnP,
        q=q,
        Q=Q,
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
    * ``df_i/du_k = (-sigma [i=k] sum_j q_ij K_ij + (sigma-eta) sum_j q_ij theta_kj K_kj) / Q_i
      - [i=k] eps_i [pi_i >= G_i]`` with sales ``Q_i = sum_j q_ij``;
    * binding quota rows ``dg_k/dz = -(dX_k/dz) / (cap_k X0_k)``; slack ones ``dg_k/dnu_k = 1``.

    At a kink (price exactly at a floor) the element with ``K = 1`` is used. See
    :func:`newton_system` for the rows that floors make flat.
    """
    B, ns, nq = st.B, st.ns, st.nq
    N = ns + nq
    bidx = np.arange(B)[:, None]
    se = (st.sigma - st.eta)[:, None, None]
    binding = st.qmask & (ev.h <= ev.z[:, ns:])
    Qs = np.where(st.check & (ev.Q > 0), ev.Q, 1.0)[:, :, None]
    Qd, ThKd, rowsum_ext, rowsum_x = dense_pairs(
        st.ps, st.pj, st.poff, ev.q, ev.theta, ev.K, ns, st.n
    )
    rowsum = rowsum_ext[:, :ns]
    J = np.zeros((B, N, N))
    Juu = J[:, :ns, :ns]
    np.matmul(Qd, ThKd.transpose(0, 2, 1), out=Juu)
    Juu *= se
    Juu /= Qs  # not se / Q first: sales can be tiny (a price driven towards 0) and overflow
    diag = np.arange(ns)
    Juu[:, diag, diag] -= st.sigma[:, None] * rowsum / Qs[:, :, 0] + ev.dS
    if nq:
        qs = np.minimum(st.qslot, ns - 1)  # padded slots point anywhere, masked below
        # the quota slots' rows of Qd and ThKd restricted to exports (own country zeroed)
        own = st.slot_country[bidx, qs][:, :, None]  # (B, nq, 1)
        exp_col = (np.arange(st.n)[None, None, :] != own) & st.qmask[:, :, None]
        thKx_q = np.where(exp_col, ThKd[bidx, qs], 0.0)  # (B, nq, n)
        qx_q = np.where(exp_col, Qd[bidx, qs], 0.0)
        rsx_q = st.at_quota(rowsum_x) * st.qmask  # sum_j q_kj K_kj [j != k]
        kidx = np.arange(nq)[None, :]
        # clearing rows, quota columns
        Juv = se * np.matmul(Qd, thKx_q.transpose(0, 2, 1))  # (B, ns, nq)
        Juv[bidx, qs, kidx] -= st.sigma[:, None] * rsx_q
        Juv /= Qs
        J[:, :ns, ns:] = Juv
        # quota rows: -dX_k/dz / (cap_k X0_k) where binding (h <= nu), unit row otherwise
        X0e = np.concatenate([np.where(st.X0 > 0, st.X0, 1.0), np.ones((B, 1))], axis=1)
        Xq = st.at_quota(X0e) * np.exp(st.lncap)  # cap * X0
        dXu = se * np.matmul(qx_q, ThKd.transpose(0, 2, 1))  # (B, nq, ns)
        dXu[bidx, kidx, qs] -= st.sigma[:, None] * rsx_q
        dXv = se * np.matmul(qx_q, thKx_q.transpose(0, 2, 1))  # (B, nq, nq)
        dXv[:, np.arange(nq), np.arange(nq)] -= st.sigma[:, None] * rsx_q
        eye_q = np.broadcast_to(np.eye(nq), (B, nq, nq))
        bq = binding[:, :, None]
        J[:, ns:, :ns] = np.where(bq, -dXu / Xq[:, :, None], 0.0)
        J[:, ns:, ns:] = np.where(bq, -dXv / Xq[:, :, None], eye_q)
    # fixed slots: unit row, zero column
    act = np.concatenate([st.uact, st.qmask], axis=1)
    if not act.all():
        J *= act[:, None, :]
        J *= act[:, :, None]
        idx = np.arange(N)
        J[:, idx, idx] = np.where(act, J[:, idx, idx], 1.0)
    return J


def newton_system(st: Stack, ev: Evaluation) -> tuple[FloatArray, FloatArray]:
    """The linear system ``J d = -F`` of one semismooth Newton step at ``ev.z``.

    This is :func:`jacobian` and ``ev.F`` except for unknowns that, at ``ev.z``, affect
    nothing (a zero column: the generalised Jacobian is singular there):

    * a producer price that moves no buyer price or supply: every sale held at a levy floor,
      or a sole supplier facing fixed demand (``eta = 0``), while supply does not respond
      (``eps = 0`` or a binding subsidy floor). If sales exceed supply the price must rise,
      so the step jumps ``u`` to the nearest kink above it (a buyer price leaving its floor,
      or the price reaching its subsidy floor, where supply starts to respond); otherwise
      ``u`` is held and the residual is left for the convergence test to report;
    * a binding export quota whose every export sits at a floor: if exports exceed the cap,
      ``nu`` jumps to the nearest kink; otherwise the quota is released (``nu`` to 0).

    A jump is taken along a unit row, ``d = gap`` (a hair past the kink), which keeps the
    matrix nonsingular; the line search and the following steps proceed as usual.
    """
    B, ns, nq = st.B, st.ns, st.nq
    F = ev.F.copy()
    J = jacobian(st, ev)
    if ns == 0:
        return J, F
    col_max = np.abs(J).max(axis=1)  # (B, N): the largest entry of each column
    cols = col_max[:, :ns]
    scale = np.maximum(1.0, col_max.max(axis=1))[:, None]
    flat_u = st.uact & (cols <= 1e-12 * scale) & (ev.dS == 0.0)
    flat_q = np.zeros((B, nq), dtype=np.bool_)
    if nq and st.any_floor:
        binding = st.qmask & (ev.h <= ev.z[:, ns:])
        rsx = st.by_seller(ev.q * ev.K * st.poff)
        flat_q = binding & (st.at_quota(rsx) == 0.0)
    if not flat_u.any() and not flat_q.any():
        return J, F
    floored = st.pvalid & ~ev.K
    gap = np.where(floored, st.plnFc - ev.lnc_hat, np.inf)  # > 0 where held at the floor

    def min_gap(mask: BoolArray) -> FloatArray:
        out = np.full(B * (ns + 1), np.inf)
        np.minimum.at(out, st.sflat, np.where(mask, gap, np.inf).ravel())
        return out.reshape(B, ns + 1)

    rows: list[tuple[BoolArray, FloatArray, int]] = []
    if flat_u.any():
        u = ev.z[:, :ns]
        g = np.minimum(min_gap(floored)[:, :ns], np.where(u < st.lnG, st.lnG - u, np.inf))
        up = flat_u & (ev.F[:, :ns] > 0) & np.isfinite(g)
        rows.append((flat_u, np.where(up, g, 0.0), 0))
    if flat_q.any():
        gq = st.at_quota(min_gap(floored & (st.poff > 0)))
        up = ev.h < 0
        # exports above the cap: jump to the kink; below it: release the quota (nu -> 0)
        step = np.where(up, np.where(np.isfinite(gq), gq, 0.0), -ev.z[:, ns:])
        rows.append((flat_q, step, ns))
    for mask, step, offset in rows:
        bb, kk = np.nonzero(mask)
        r = kk + offset
        J[bb, r, :] = 0.0
        J[bb, r, r] = 1.0
        jump = step[bb, kk]
        F[bb, r] = -np.where(jump > 0, jump * (1.0 + 1e-9) + 1e-12, jump)
    return J, F


def first_kink(st: Stack, ev: Evaluation, d: FloatArray, lo: float = 1e-3) -> FloatArray:
    """Smallest step ``alpha`` in (0, 1) at which ``ev.z + alpha d`` reaches a floor kink.

    Along a step the log buyer price of a pair is linear, ``ln c_hat + alpha (d_u + d_nu)``,
    so the step at which it meets its levy floor is explicit; likewise a producer price and
    its subsidy floor. Returns ``inf`` for elements whose step crosses no kink. The line
    search tries this step when the full one fails, so that a step does not jump across a
    kink into a piece where the linearisation is wrong. Kinks closer than ``lo`` (a pair
    already sitting at its floor) are ignored, so that the search cannot stall on them.
    """
    B, ns = st.B, st.ns
    out = np.full(B, np.inf)
    if not st.any_floor:
        return out
    du = np.concatenate([d[:, :ns], np.zeros((B, 1))], axis=1)
    dnu = st.nu_slots(d)
    slope = st.at_seller(du) + st.at_seller(dnu) * st.poff
    dist = st.plnFc - ev.lnc_hat
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = np.where(st.pvalid & np.isfinite(dist) & (slope != 0.0), dist / slope, np.inf)
        out = np.minimum(out, np.where((a > lo) & (a < 1), a, np.inf).min(axis=1, initial=np.inf))
        u = ev.z[:, :ns]
        dg = d[:, :ns]
        ag = np.where(st.uact & np.isfinite(st.lnG) & (dg != 0.0), (st.lnG - u) / dg, np.inf)
        out = np.minimum(
            out, np.where((ag > lo) & (ag < 1), ag, np.inf).min(axis=1, initial=np.inf)
        )
    return out
