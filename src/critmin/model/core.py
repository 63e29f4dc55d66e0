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

from dataclasses import dataclass
from functools import cached_property, lru_cache
from operator import attrgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from critmin.model.arrays import (
    ModelInputError,
    _bool_array,
    _float_array,
    _frozen,
    _scalar,
)
from critmin.model.compiled import (
    EvalBuf,
    StackArrays,
    alloc_eval,
    evaluate_batch,
    jacobian_batch,
    market_fill,
    market_sizes,
    newton_system_batch,
)
from critmin.model.numeraires import numeraires

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
    "StackBuilder",
    "evaluate",
    "jacobian",
    "market_counts",
    "newton_system",
    "stack",
    "stack_of",
    "unshifted",
]


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
    demand_shift: FloatArray
    supply_shift: FloatArray


# A Policy's defaults, per number of countries: read-only like the validated inputs (the
# compiled loops are specialised on the arrays' types, read-only included, so every policy
# then shares one compilation) and shared between policies (read-only: no caller can change
# them). Built when first needed.


@lru_cache(maxsize=8)
def _no_ban(n: int) -> BoolArray:
    return _frozen(np.zeros((n, n), dtype=np.bool_))


@lru_cache(maxsize=8)
def _no_levy_floor(n: int) -> FloatArray:
    return _frozen(np.zeros((n, n)))


@lru_cache(maxsize=64)
def _zeros(n: int) -> FloatArray:
    return _frozen(np.zeros(n))


@lru_cache(maxsize=64)
def _no_cap(n: int) -> FloatArray:
    return _frozen(np.full(n, np.inf))


@lru_cache(maxsize=64)
def _ones(n: int) -> FloatArray:
    """Shifters of 1 (see :func:`unshifted`)."""
    return _frozen(np.ones(n))


def unshifted(shift: FloatArray) -> bool:
    """Whether every shifter is 1: the default array itself, else checked."""
    return shift is _ones(len(shift)) or not (shift != 1.0).any()


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
        quota_groups: destination-specific export quotas, each with its own export-tax
            equivalent (:class:`critmin.model.quota_groups.QuotaGroup`); a pair is under at
            most one group.
        trade_cost: ``(n, n)`` ad valorem real trade cost on the buyer price (e.g. the extra
            cost of a detour through a third country); ``None`` where none.
        demand_shift: ``(n,)`` demand shifter ``a_j > 0`` (``D_j = a_j P_j^-eta``: 1.1 is 10%
            more demand at every price, e.g. precautionary buying); ``None``: 1.
        supply_shift: ``(n,)`` supply shifter ``k_i > 0`` (``S_i = k_i (pi^s_i)^eps_i``: 0.9 is
            10% less output at every price, e.g. a mine outage); ``None``: 1.
    """

    t1: FloatArray | None = None
    banned: BoolArray | None = None
    levy_floor: FloatArray | None = None
    subsidy_floor: FloatArray | None = None
    export_cap: FloatArray | None = None
    quota_groups: tuple[Any, ...] = ()
    trade_cost: FloatArray | None = None
    demand_shift: FloatArray | None = None
    supply_shift: FloatArray | None = None

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
        object.__setattr__(self, "quota_groups", tuple(self.quota_groups))
        if self.trade_cost is not None:
            tc = _float_array(self.trade_cost, "trade_cost", ndim=2)
            if (tc < 0).any():
                raise ModelInputError("trade_cost: ad valorem trade costs must be >= 0")
            object.__setattr__(self, "trade_cost", tc)
        for name in ("demand_shift", "supply_shift"):
            if getattr(self, name) is not None:
                shift = _float_array(getattr(self, name), name, ndim=1)
                if (shift <= 0).any():
                    raise ModelInputError(f"{name}: shifters must be > 0 (1 = no shift)")
                object.__setattr__(self, name, shift)

    @property
    def has_groups(self) -> bool:
        """Whether the policy has destination quotas or trade costs (solved by
        :mod:`critmin.model.quota_groups` around the compiled system)."""
        return bool(self.quota_groups) or (
            self.trade_cost is not None and bool(self.trade_cost.any())
        )

    @property
    def has_shifts(self) -> bool:
        """Whether the policy shifts demand or supply (a market shock)."""
        return any(
            v is not None and bool((v != 1.0).any()) for v in (self.demand_shift, self.supply_shift)
        )

    def resolve(self, market: Market) -> ResolvedPolicy:
        """Expand to full arrays for ``market``, checking every shape against ``n``."""
        n = market.n
        square, vector = (n, n), (n,)
        for name, val, shape in (
            ("t1", self.t1, square),
            ("banned", self.banned, square),
            ("levy_floor", self.levy_floor, square),
            ("subsidy_floor", self.subsidy_floor, vector),
            ("export_cap", self.export_cap, vector),
            ("demand_shift", self.demand_shift, vector),
            ("supply_shift", self.supply_shift, vector),
        ):
            if val is not None and val.shape != shape:
                raise ModelInputError(
                    f"{name}: expected shape {shape} to match the market's {n} countries, "
                    f"got {val.shape}"
                )
        return ResolvedPolicy(
            t1=market.t0 if self.t1 is None else self.t1,
            banned=_no_ban(n) if self.banned is None else self.banned,
            levy_floor=_no_levy_floor(n) if self.levy_floor is None else self.levy_floor,
            subsidy_floor=_zeros(n) if self.subsidy_floor is None else self.subsidy_floor,
            export_cap=_no_cap(n) if self.export_cap is None else self.export_cap,
            demand_shift=_ones(n) if self.demand_shift is None else self.demand_shift,
            supply_shift=_ones(n) if self.supply_shift is None else self.supply_shift,
        )


# --------------------------------------------------------------------------------------------
# the stacked (batched) system


_STACK_ARRAYS = attrgetter(*StackArrays._fields)


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
    pt1: FloatArray  # scenario tariff and levy floor (welfare only)
    pF: FloatArray
    pvalid: BoolArray
    any_floor: bool
    # quotas (B, nq)
    qslot: IntArray
    qmask: BoolArray
    lncap: FloatArray
    # demand shifters per buyer (B, n + 1) and supply shifters per slot (B, ns), in logs
    lna: FloatArray
    lnk: FloatArray
    nvalid: IntArray  # (B,) valid pairs per market (they come first)
    # per market and country (B, n): supply elasticity and subsidy floor (levels, welfare)
    eps_country: FloatArray
    floor_country: FloatArray
    own_sized: bool = False
    """One market at its own sizes (no padding country, slot, quota or pair): known when
    :func:`stack` builds it, else found by :func:`critmin.model.solver._own_sized`."""

    @property
    def N(self) -> int:
        """Length of the unknown vector."""
        return self.ns + self.nq

    @property
    def arrays(self) -> StackArrays:
        """The arrays the compiled loops of :mod:`critmin.model.kernels` read (built once)."""
        arrays: StackArrays | None = self.__dict__.get("_arrays")
        if arrays is None:
            arrays = self.__dict__["_arrays"] = StackArrays._make(_STACK_ARRAYS(self))
        return arrays

    def new_evaluation(self) -> EvalBuf:
        """Zeroed space for an evaluation of every market of the stack."""
        return alloc_eval(self.B, self.L, self.n + 1, self.ns, self.nq)

    def subset(self, idx: IntArray) -> Stack:
        """The stack restricted to batch elements ``idx`` (copies)."""
        kw: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            val = getattr(self, name)
            if name in ("n", "ns", "L", "nq", "any_floor"):
                kw[name] = val
            elif name == "B":
                kw[name] = len(idx)
            elif name == "own_sized":
                kw[name] = val and len(idx) == 1
            else:
                kw[name] = val[idx]
        return Stack(**kw)


PAIR_ROWS = ("pV", "pw", "pdlt", "plnFc", "poff", "pt1", "pF")
"""The rows of a stack's pair block, as :func:`critmin.model.kernels.market_fill` writes them."""


@dataclass(eq=False)
class StackBuilder:
    """The arrays of a :class:`Stack`, allocated for its markets' sizes (``counts``: open
    pairs, producer slots and quotas per market, :func:`market_counts`) and filled market by
    market with :meth:`fill` (:func:`critmin.model.kernels.market_fill`, straight into the
    padded rows: nothing is copied afterwards); :meth:`finish` returns the stack.

    Each market writes only its own rows, so threads may fill different markets at once.
    """

    markets: list[Market]
    policies: list[ResolvedPolicy]
    counts: list[tuple[int, int, int]]

    def __post_init__(self) -> None:
        B = len(self.markets)
        n = max(m.n for m in self.markets)
        L = max(c[0] for c in self.counts)
        ns = max(c[1] for c in self.counts)
        nq = max(c[2] for c in self.counts)
        self.shape = (B, n, L, ns, nq)
        """The stack's sizes: markets, countries, pairs, producer slots and quotas."""
        self.blocks = (
            np.empty((len(PAIR_ROWS), B, L)),  # pairs
            np.empty((2, B, L), dtype=np.intp),  # pair slot and buyer
            np.empty((B, L), dtype=np.bool_),  # pvalid
            np.empty((5, B, ns)),  # per slot: R, X0, eps, lnG, lnk
            np.empty((B, ns), dtype=np.intp),  # slot_country
            np.empty((4, B, ns), dtype=np.bool_),  # stranded, check, uact, numeraire
            np.empty((3, B, n + 1)),  # per buyer: W, rev0, lna
            np.empty((2, B, n + 1), dtype=np.bool_),  # supplied, unsupplied
            np.empty((B, nq), dtype=np.intp),  # qslot
            np.empty((B, nq)),  # lncap
            np.empty((B, nq), dtype=np.bool_),  # qmask
            np.empty((2, B, n)),  # per country: eps, subsidy floor
            np.empty(B, dtype=np.intp),  # nvalid
        )
        self.floors = [False] * B

    def fill(self, b: int, kernel: Any = None) -> None:
        """Write market ``b``'s rows (:func:`critmin.model.kernels.market_fill`, or ``kernel``:
        the same function, e.g. the one that releases the GIL,
        :func:`critmin.model.compiled.releasing_gil`)."""
        m, p = self.markets[b], self.policies[b]
        self.floors[b] = (market_fill if kernel is None else kernel)(
            m.V,
            m.t0,
            p.t1,
            p.banned,
            p.export_cap,
            p.levy_floor,
            p.subsidy_floor,
            m.eps,
            b,
            *self.blocks,
        )

    @property
    def N(self) -> int:
        """Length of the unknown vector of the stack (:attr:`Stack.N`)."""
        return int(self.blocks[3].shape[2] + self.blocks[8].shape[1])

    def finish_row(self, b: int) -> None:
        """The rare parts of market ``b``'s rows that the compiled fill leaves out: its
        numeraires (``eta = 0``) and shifters. Writes only its own rows (after :meth:`fill`)."""
        _, pair_index, _, slots, slot_country, slot_flags, buyers, *_, nvalid = self.blocks
        if self.markets[b].eta == 0.0:
            numeraire = slot_flags[3, b]
            producer = slot_flags[1, b]
            numeraires(
                pair_index[:, b, : nvalid[b]],
                slots[:, b],
                slot_country[b],
                producer,
                max(m.n for m in self.markets),
                numeraire,
            )
            slot_flags[2, b] &= ~numeraire  # uact: a numeraire's price is held
        p = self.policies[b]
        if not unshifted(p.demand_shift):
            buyers[2, b, : len(p.demand_shift)] = np.log(p.demand_shift)
        if not unshifted(p.supply_shift):
            ks = np.log(p.supply_shift)
            sc = slot_country[b]
            slots[4, b] = np.where(sc < len(ks), ks[np.minimum(sc, len(ks) - 1)], 0.0)

    def finish(self) -> Stack:
        """The :class:`Stack` of the filled arrays (views of them), with the rare parts the
        compiled fill leaves out (:meth:`finish_row`)."""
        for b in range(len(self.markets)):
            self.finish_row(b)
        return self.assemble()

    def assemble(self) -> Stack:
        """:func:`stack_of` the arrays as they are (``any_floor`` from the fills so far):
        after :meth:`finish_row` of every market, or before the fills for kernels that read
        only the rows of markets filled by then (:func:`critmin.model.threads.solve_shared`)."""
        return stack_of(self.markets, self.blocks, any(self.floors))


def stack_of(markets: list[Market], blocks: tuple[Any, ...], any_floor: bool) -> Stack:
    """The :class:`Stack` of ``markets`` on the arrays ``blocks`` (views of them; as in
    :class:`StackBuilder`), ``any_floor``: a levy floor applies on an open pair of one."""
    pairs, pair_index, pvalid, slots, slot_country, slot_flags, buyers = blocks[:7]
    buyer_flags, qslot, lncap, qmask, per_country, nvalid = blocks[7:]
    sizes = [m.n for m in markets]
    n = max(sizes)
    etas = [m.eta for m in markets]
    return Stack(
        B=len(markets),
        n=n,
        ns=slots.shape[2],
        L=pairs.shape[2],
        nq=qslot.shape[1],
        sizes=np.array(sizes, dtype=np.intp),
        sigma=np.array([m.sigma for m in markets]),
        eta=np.array(etas),
        slot_country=slot_country,
        R=slots[0],
        X0=slots[1],
        eps=slots[2],
        lnG=slots[3],
        uact=slot_flags[2],
        check=slot_flags[1],
        stranded=slot_flags[0],
        numeraire=slot_flags[3],
        W=buyers[0],
        rev0=buyers[1],
        supplied=buyer_flags[0],
        unsupplied=buyer_flags[1],
        ps=pair_index[0],
        pj=pair_index[1],
        pV=pairs[0],
        pw=pairs[1],
        pdlt=pairs[2],
        plnFc=pairs[3],
        poff=pairs[4],
        pt1=pairs[5],
        pF=pairs[6],
        pvalid=pvalid,
        any_floor=any_floor,
        qslot=qslot,
        qmask=qmask,
        lncap=lncap,
        lna=buyers[2],
        lnk=slots[4],
        nvalid=nvalid,
        eps_country=per_country[0],
        floor_country=per_country[1],
        own_sized=len(markets) == 1,
    )


def market_counts(m: Market, p: ResolvedPolicy, kernel: Any = None) -> tuple[int, int, int]:
    """Open pairs, producer slots and export quotas of a market under ``p``
    (:func:`critmin.model.kernels.market_sizes`, or ``kernel``, the same function)."""
    return (market_sizes if kernel is None else kernel)(m.V, p.banned, p.export_cap)


def stack(markets: list[Market], policies: list[ResolvedPolicy]) -> Stack:
    """Pad ``markets`` (with their resolved policies) to common sizes and stack them.

    Pair lists run seller after seller, then buyer, both for the baseline sums and the open
    pairs, so that without bans every baseline sum (per seller or per buyer) and the
    corresponding evaluated sum are the same floating-point reduction (exact no-change).
    (:class:`StackBuilder`; :func:`critmin.model.threads.solve_shared` builds the stacks of
    a batch on several threads.)
    """
    builder = StackBuilder(
        list(markets),
        list(policies),
        [market_counts(m, p) for m, p in zip(markets, policies, strict=True)],
    )
    for b in range(len(markets)):
        builder.fill(b)
    return builder.finish()


# --------------------------------------------------------------------------------------------
# equations


@dataclass(eq=False)
class Evaluation:
    """The model evaluated at ``z`` for every element of a :class:`Stack`.

    ``F`` is the residual of the Newton system (``(B, N)``: clearing rows for the producer
    slots, then quota rows; 0 for fixed slots). ``f_check`` is the clearing residual of every
    producer slot, including numeraires. ``lnP`` (``(B, n + 1)``) holds log composite prices,
    ``q`` (``(B, L)``) the quantities ``V x`` of the active pairs, ``Q`` and ``X`` the sales and
    exports per slot, ``h`` the slack of each quota; ``buf`` holds all of it (and the rest
    the Jacobian reuses) for the compiled loops.
    """

    z: FloatArray
    buf: EvalBuf

    @property
    def F(self) -> FloatArray:
        return np.asarray(self.buf.F)

    @property
    def f_check(self) -> FloatArray:
        return np.asarray(self.buf.f_check)

    @property
    def nu(self) -> FloatArray:
        return np.asarray(self.buf.nu)

    @property
    def lnc_hat(self) -> FloatArray:
        return np.asarray(self.buf.lnc_hat)

    @property
    def K(self) -> BoolArray:
        return np.asarray(self.buf.K)

    @property
    def lnP(self) -> FloatArray:
        return np.asarray(self.buf.lnP)

    @property
    def q(self) -> FloatArray:
        return np.asarray(self.buf.q)

    @property
    def Q(self) -> FloatArray:
        return np.asarray(self.buf.Q[:, :-1])

    @property
    def X(self) -> FloatArray:
        return np.asarray(self.buf.X)

    @property
    def S(self) -> FloatArray:
        return np.asarray(self.buf.S)

    @property
    def dS(self) -> FloatArray:
        return np.asarray(self.buf.dS)

    @property
    def h(self) -> FloatArray:
        return np.asarray(self.buf.h)


def evaluate(st: Stack, z: FloatArray) -> Evaluation:
    """Evaluate the equations of ``DESIGN.md`` at ``z = [u, nu]`` for the whole stack.

    Per active pair ``ln c_ij = u_i + nu_i [i != j] + ln((1+t1_ij)/(1+t0_ij))``, floored at
    ``ln(F_ij/(1+t0_ij))``; per buyer ``ln P_j = m_j + ln(sum_i w_ij exp((1-sigma)(ln c_ij -
    m_j)) / E_j) / (1-sigma)`` with ``w = V (1+t0)`` and ``m_j`` the cheapest active price
    (so no exponent is positive); ``ln x_ij = -eta ln P_j + sigma (ln P_j - ln c_ij)``;
    clearing ``f_i = ln(sum_j V_ij x_ij / R_i) - ln S_i``; quota rows
    ``g_k = min(nu_k, 1 - X_k / (cap_k X0_k))``. The loops are
    :func:`critmin.model.kernels.eval_one`.

    Exactness at the baseline: with ``t1 == t0``, no floor and ``z = 0``, ``ln c = 0``
    exactly, every CES term equals ``w_ij`` bit for bit and is summed in the same order as
    ``E_j``, so ``ln P = 0``, ``x = 1``, ``q = V``, sales equal ``R`` and every residual is 0.
    """
    z = np.ascontiguousarray(z, dtype=np.float64)
    buf = st.new_evaluation()
    evaluate_batch(st.arrays, z, buf)
    return Evaluation(z=z, buf=buf)


def jacobian(st: Stack, ev: Evaluation) -> FloatArray:
    """Analytic (semismooth) Jacobian ``dF/dz`` of the system at ``ev.z``, shape ``(B, N, N)``.

    With ``K_ij = 1`` where pair ``ij`` is active and not held at its levy floor, current
    expenditure shares ``theta_kj`` and quantities ``q_ij = V_ij x_ij``:

    * ``d ln x_ij / d ln c_kj = -sigma [i = k] + (sigma - eta) theta_kj`` (Armington CES with
      composite demand elasticity ``eta``: the GSIM own/cross price elasticities of
      Francois & Hall 2003);
    * ``d ln c_kj / d u_k = K_kj``, ``d ln c_kj / d nu_k = K_kj [j != k]``;
    * ``df_i/du_k = (-sigma [i=k] sum_j q_ij K_ij + (sigma-eta) sum_j q_ij theta_kj K_kj) / Q_i
      - [i=k] eps_i [pi_i >= G_i]`` with sales ``Q_i = sum_j q_ij``: a dense product of the
      ``(ns, n)`` arrays of ``q`` and ``theta K`` (BLAS) plus the diagonal;
    * binding quota rows ``dg_k/dz = -(dX_k/dz) / (cap_k X0_k)``; slack ones ``dg_k/dnu_k = 1``;
    * fixed slots (numeraires, padding): unit row, zero column.

    At a kink (price exactly at a floor) the element with ``K = 1`` is used. See
    :func:`newton_system` for the rows that floors make flat. The loops are
    :func:`critmin.model.kernels.jacobian_one`.
    """
    return np.asarray(jacobian_batch(st.arrays, ev.z, ev.buf), dtype=np.float64)


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
    matrix nonsingular; the line search and the following steps proceed as usual. The loops
    are :func:`critmin.model.kernels.newton_system_one`.
    """
    J, rhs = newton_system_batch(st.arrays, ev.z, ev.buf)
    return np.asarray(J, dtype=np.float64), np.asarray(rhs, dtype=np.float64)
