"""The solved market of :func:`critmin.model.solver.solve_batch`: :class:`Solution`.

Prices, quantities and welfare per country, views of the rows of the solved stack (each market
owns its rows), taken on first access (:func:`lazy_solution`): a batch of 30 markets builds 30
small objects, not 600 views. The dense ``n x n`` arrays (buyer prices, quantities per pair)
are built on first access too, from the pair lists the solver evaluated. The message says how
the solve went (:func:`stack_solutions`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from critmin.model.core import (
    BoolArray,
    Evaluation,
    FloatArray,
    IntArray,
    Market,
    ResolvedPolicy,
    Stack,
)
from critmin.model.kernel_tuples import Levels
from critmin.model.welfare import Welfare

__all__ = [
    "LEVEL_FIELDS",
    "LOG_RANGE",
    "WELFARE_TERMS",
    "Outcome",
    "Solution",
    "StackRows",
    "lazy_solution",
    "stack_solutions",
]

LOG_RANGE = 700.0
"""A solution with a log price (or ``ln(1+e)``) beyond this cannot be represented in float64
levels; it is reported as not converged with an explanation."""


class Outcome(Protocol):
    """What the iteration says of each market of a stack (``critmin.model.solver._State``):
    its iterations and a note on why it failed (empty if it did not)."""

    iterations: IntArray
    note: list[str]


@dataclass(frozen=True, eq=False)
class _Levels:
    """What a :class:`Solution` needs to build its dense ``n x n`` arrays on first access."""

    market: Market
    policy: ResolvedPolicy
    pair_i: IntArray  # seller and buyer of every active pair
    pair_j: IntArray
    pair_q: FloatArray  # q = V x on the active pairs, as the solver evaluated it
    lnP: FloatArray
    E: FloatArray  # baseline expenditure per buyer


@dataclass(frozen=True, eq=False)
class Solution:
    """The solved market: prices and quantities relative to the baseline, welfare in USD.

    Prices (baseline = 1): ``pi`` producer prices (0 for a producer that lost every buyer),
    ``e`` export-tax equivalents of quotas, ``P`` composite prices (``inf`` for a buyer with no
    supplier left), ``pi_s`` producer prices incl. subsidy. Quantities (baseline = 1): ``D``
    composite demand, ``S`` supply. Values in baseline-value units (USD at baseline prices):
    ``exports``, ``baseline_exports``. Welfare (USD): ``dCS``, ``dPS``, ``tariff_revenue``
    (change), ``quota_rent``, ``subsidy_cost``, ``welfare``.

    The ``n x n`` arrays are built on first access (a 200-country market has 40,000 pairs,
    of which the solver only touches the few thousand that trade): ``b`` buyer prices incl.
    tariffs/levies, ``c`` buyer prices relative to the baseline buyer price (``b / (1+t0)``),
    ``x`` quantities per pair (0 where banned), ``q = V x``.

    ``max_residual`` is the largest residual of the system: clearing as ``|ln(sales / supply)|``
    (a relative gap) and quota complementarity as a fraction of the cap. ``unsupplied`` /
    ``stranded`` flag buyers that lost every supplier and producers that lost every buyer.
    """

    pi: FloatArray
    e: FloatArray
    P: FloatArray
    D: FloatArray
    S: FloatArray
    pi_s: FloatArray
    exports: FloatArray
    baseline_exports: FloatArray
    converged: bool
    iterations: int
    max_residual: float
    message: str
    dCS: FloatArray
    dPS: FloatArray
    tariff_revenue: FloatArray
    quota_rent: FloatArray
    subsidy_cost: FloatArray
    welfare: FloatArray
    unsupplied: BoolArray
    stranded: BoolArray
    levels: _Levels = field(repr=False)
    countries: tuple[str, ...] | None = None
    name: str = ""
    groups: Any = None  # a quota_groups.GroupSolution when the policy has destination quotas

    @property
    def n(self) -> int:
        """Number of countries."""
        return int(self.pi.shape[0])

    @cached_property
    def banned(self) -> BoolArray:
        """``(n, n)`` pairs removed from trade: the policy's bans and caps of 0 on exports."""
        policy = self.levels.policy
        banned = policy.banned.copy()
        cap0 = np.flatnonzero(policy.export_cap == 0.0)
        if cap0.size:
            domestic = policy.banned[cap0, cap0]
            banned[cap0] = True
            banned[cap0, cap0] = domestic
        return banned

    @cached_property
    def b(self) -> FloatArray:
        """Buyer prices ``pi_i (1 + e_i [i != j]) (1 + t1_ij)``, floored at the levy floor."""
        with np.errstate(over="ignore", invalid="ignore"):  # a failed solve's last iterate
            return _buyer_prices(self.pi, self.e, self.levels.policy)

    @cached_property
    def c(self) -> FloatArray:
        """Buyer prices relative to the baseline buyer price, ``b / (1 + t0)``."""
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(self.b / (1.0 + self.levels.market.t0), dtype=np.float64)

    @cached_property
    def x(self) -> FloatArray:
        """Quantities relative to the baseline, ``x_ij = D_j (c_ij / P_j)^(-sigma)``.

        Defined for every open pair, also those without baseline trade (what a pair would
        sell per unit of baseline value); 0 where banned, from a stranded seller or to an
        unsupplied buyer; 1 for buyers without baseline demand. On trading pairs it is the
        solver's own ``q / V``, so ``V x`` reproduces the cleared sales exactly.
        """
        lv = self.levels
        m = lv.market
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            x = np.full((m.n, m.n), -np.inf)
            c = self.c
            np.log(c, out=x, where=c > 0)
            x *= -m.sigma
            x += -m.eta * lv.lnP + m.sigma * lv.lnP + np.log(lv.policy.demand_shift)
            np.minimum(x, 700.0, out=x)
            np.exp(x, out=x)
        x[:, lv.E <= 0] = 1.0
        x[self.banned] = 0.0
        x[self.stranded, :] = 0.0
        x[:, self.unsupplied] = 0.0
        x[lv.pair_i, lv.pair_j] = lv.pair_q / m.V[lv.pair_i, lv.pair_j]
        return x

    @cached_property
    def q(self) -> FloatArray:
        """Quantities in baseline-value units, ``q = V x`` (0 off the trading pairs)."""
        lv = self.levels
        q = np.zeros((lv.market.n, lv.market.n))
        q[lv.pair_i, lv.pair_j] = lv.pair_q
        return q


WELFARE_TERMS = ("dCS", "dPS", "tariff_revenue", "quota_rent", "subsidy_cost", "welfare")
LEVEL_FIELDS = ("pi", "e", "P", "D", "S", "pi_s", "exports", "baseline_exports")
"""The :class:`Solution` fields that are rows of the stack's levels (same names)."""


@dataclass(frozen=True, eq=False)
class StackRows:
    """The arrays of a solved stack that its markets' :class:`Solution` objects view: levels
    and welfare ``(B, n)``, the unsupplied buyers, each valid pair's buyer, the baseline
    expenditure and the evaluation's quantities and log composite prices."""

    lv: Levels
    wf: Welfare
    unsupplied: BoolArray
    pj: IntArray
    W: FloatArray
    q: FloatArray
    lnP: FloatArray


Source = tuple[StackRows, int, int, int, Market, ResolvedPolicy]
"""Where a lazily built :class:`Solution` finds its arrays: the stack's rows, the market's
row ``b``, its ``n`` and number of valid pairs, the market and its resolved policy."""


def _row_getter(field_name: str) -> Callable[[Source], Any]:
    """How a :class:`Solution` field is taken from its stack's rows (a view of row ``b``)."""
    if field_name == "unsupplied":
        return lambda src: src[0].unsupplied[src[1], : src[2]]
    if field_name == "levels":
        return lambda src: _Levels(
            src[4],
            src[5],
            src[0].lv.pair_i[src[1], : src[3]],
            src[0].pj[src[1], : src[3]],
            src[0].q[src[1], : src[3]],
            src[0].lnP[src[1], : src[2]],
            src[0].W[src[1], : src[2]],
        )
    where = "wf" if field_name in WELFARE_TERMS else "lv"
    return lambda src: getattr(getattr(src[0], where), field_name)[src[1], : src[2]]


class _RowView:
    """A :class:`Solution` field read from its stack's rows on first access, then kept on the
    instance like any field (a non-data descriptor: the instance's own value wins). Solutions
    built by their constructor hold every field from the start and never come here."""

    __slots__ = ("get", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.get = _row_getter(name)

    def __get__(self, obj: Solution | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = self.get(obj.__dict__["_source"])
        obj.__dict__[self.name] = value
        return value


_ROW_FIELDS = (
    *LEVEL_FIELDS,
    *WELFARE_TERMS,
    "stranded",
    "unsupplied",
    "levels",
)
"""The :class:`Solution` fields that a solution of a batch views lazily (:class:`_RowView`)."""
for _name in _ROW_FIELDS:
    setattr(Solution, _name, _RowView(_name))


def _solution_state(sol: Solution) -> dict[str, Any]:
    """A solution's fields for pickling: every lazy field taken, the stack's rows left out."""
    for name in _ROW_FIELDS:
        getattr(sol, name)
    return {k: v for k, v in sol.__dict__.items() if k != "_source"}


Solution.__getstate__ = _solution_state  # type: ignore[assignment,method-assign]


def lazy_solution(
    source: Source, converged: bool, iterations: int, max_residual: float, message: str
) -> Solution:
    """A :class:`Solution` whose arrays are views of its stack's rows taken on first access
    (:class:`_RowView`): building one costs a dictionary, not twenty views."""
    sol = object.__new__(Solution)
    market = source[4]
    sol.__dict__.update(
        _source=source,
        converged=converged,
        iterations=iterations,
        max_residual=max_residual,
        message=message,
        countries=market.countries,
        name=market.name,
        groups=None,
    )
    return sol


def _buyer_prices(pi: FloatArray, e: FloatArray, policy: ResolvedPolicy) -> FloatArray:
    """Dense ``b_ij = pi_i (1 + e_i [i != j]) (1 + t1_ij)``, floored (exactly ``1 + t1`` at
    ``pi = 1``, ``e = 0``)."""
    bp = 1.0 + policy.t1
    bp *= pi[:, None]
    if e.any():
        with_e = np.repeat((1.0 + e)[:, None], len(e), axis=1)
        np.fill_diagonal(with_e, 1.0)
        bp *= with_e
    if policy.levy_floor.any():
        np.maximum(bp, policy.levy_floor, out=bp)
    return np.asarray(bp, dtype=np.float64)


def stack_solutions(
    grp: list[int],
    markets: Sequence[Market],
    resolved: Sequence[ResolvedPolicy],
    st: Stack,
    ev: Evaluation,
    outcome: Outcome,
    tol: float,
    lv: Levels,
    wf: Welfare,
) -> list[Solution]:
    """The :class:`Solution` of each market of a solved stack (``grp``: the markets' indices
    in ``markets``), from the stack's levels ``lv`` (:func:`critmin.model.kernels.levels_batch`)
    and outcome welfare ``wf`` (:func:`critmin.model.solver._welfare`), ``outcome`` the
    iterations and notes of each market: its arrays are views of the market's rows
    of the stack (each market owns its rows; nothing writes them later), taken on first
    access (:func:`lazy_solution`)."""
    rows = StackRows(lv, wf, st.unsupplied, st.pj, st.W, ev.q, ev.lnP)
    nvalid = st.nvalid.tolist()  # the valid pairs come first
    flagged = lv.flagged.tolist()
    representable = lv.representable.tolist()
    max_residual = lv.max_residual.tolist()
    iterations = outcome.iterations.tolist()
    out = []
    for b, k in enumerate(grp):
        market = markets[k]
        max_res = max_residual[b]
        converged = math.isfinite(max_res) and max_res <= tol and representable[b]
        it = iterations[b]
        source = (rows, b, market.n, nvalid[b], market, resolved[k])
        if converged and not flagged[b]:  # the common case
            message = (
                f"converged in {it} iteration{'' if it == 1 else 's'} (max residual {max_res:.1e})"
            )
        else:
            message = _message(
                source, st, ev, outcome, tol, converged, representable[b], flagged[b]
            )
        out.append(lazy_solution(source, converged, it, max_res, message))
    return out


def _message(
    source: Source,
    st: Stack,
    ev: Evaluation,
    outcome: Outcome,
    tol: float,
    converged: bool,
    representable: bool,
    flagged: bool,
) -> str:
    """A market's :attr:`Solution.message`: how it converged or why it did not, and its
    numeraire, unsupplied buyers and stranded producers (``source`` as in
    :func:`lazy_solution`)."""
    rows, b, n, _, market, policy = source
    it = int(outcome.iterations[b])
    max_res = float(rows.lv.max_residual[b])
    msgs: list[str] = []
    if not representable:
        msgs.append(
            "the equilibrium lies beyond the floating-point range (a price or export-tax "
            f"equivalent above e^{LOG_RANGE:.0f}): a degenerate case, typically sigma near 1 "
            "with eta = 0 after a ban that removes most of a buyer's supply; its levels are "
            "not meaningful"
        )
        msgs.extend(fixed_supply_causes(market, policy))  # the likelier cause, where it applies
    elif converged:
        msgs.append(
            f"converged in {it} iteration{'' if it == 1 else 's'} (max residual {max_res:.1e})"
        )
    else:
        why = outcome.note[b] or "iteration limit reached"
        msgs.append(
            f"did not converge after {it} iteration{'' if it == 1 else 's'} (Newton, then restarts in float64, with "
            f"full Newton steps and with Levenberg-Marquardt): {why}; max residual {max_res:.1e}"
        )
        msgs.extend(fixed_supply_causes(market, policy))
        subsidised = (policy.subsidy_floor > 1.0) & (market.eps > 0.0) & (market.R > 0)
        if market.eta == 0.0 and subsidised.any():
            msgs.append(
                "possible cause: demand is fixed (eta = 0) while producer-subsidy floors above "
                f"the baseline price hold supply above its baseline ({_fmt(market, np.flatnonzero(subsidised))})"
                ": the extra output can only be sold if other producers' prices fall to zero"
            )
        fcheck = np.abs(ev.f_check[b, : st.ns])
        if st.numeraire[b].any() and fcheck[st.numeraire[b]].max() > tol:
            msgs.append(
                "with eta = 0 and supply elasticities 0 demand and supply are both fixed, "
                "and this policy leaves no equilibrium"
            )
    if flagged:
        _flag_messages(market, st, b, rows.unsupplied[b, :n], rows.lv.stranded[b, :n], msgs)
    return "; ".join(msgs)


def _flag_messages(
    market: Market, st: Stack, b: int, unsupplied: BoolArray, stranded: BoolArray, msgs: list[str]
) -> None:
    """The notes of a market with a numeraire, unsupplied buyers or stranded producers."""
    numeraire = np.zeros(market.n, dtype=np.bool_)
    if st.numeraire[b].any():
        numeraire[st.slot_country[b, st.numeraire[b]]] = True
    if numeraire.any():
        msgs.append(
            "price level not determined (eta = 0 and every supply elasticity 0 among the "
            f"producers trading with {_fmt(market, np.flatnonzero(numeraire))}): prices are "
            "normalised so that this producer's price is unchanged"
        )
    if unsupplied.any():
        msgs.append(
            f"buyers with no supplier left: {_fmt(market, np.flatnonzero(unsupplied))} "
            "(composite price infinite, demand 0)"
        )
    if stranded.any():
        msgs.append(
            f"producers with no buyer left: {_fmt(market, np.flatnonzero(stranded))} "
            "(producer price 0, no sales)"
        )


def fixed_supply_causes(market: Market, policy: ResolvedPolicy) -> list[str]:
    """Why a market whose producers have fixed supply (``eps = 0``) may have no equilibrium
    under ``policy``, for the message of a solve that did not converge: producers with an
    export cap below their baseline exports and no domestic sales (their unsold output has
    nowhere to go), and producers that sell only under levy floors (a buyer pays the floor
    whatever the seller's price, so a seller's lower price sells no more: with supply fixed,
    no price of its own clears output the floor leaves unsold). Empty where neither applies.
    The single market's message (:func:`stack_solutions`) and a chain's
    (:func:`critmin.model.chain_solver.solve_chain`, per stage) name them."""
    causes = []
    fixed = market.eps == 0.0
    capped = np.isfinite(policy.export_cap) & (policy.export_cap < 1.0)
    trapped = capped & fixed & (np.diag(market.V) == 0.0) & (market.baseline_exports > 0)
    if trapped.any():
        causes.append(
            "likely cause: export caps below baseline exports on producers with fixed "
            f"supply (eps = 0) and no domestic sales ({_fmt(market, np.flatnonzero(trapped))})"
            ": their unsold output has nowhere to go"
        )
    floored = fixed & (market.R > 0) & ((market.V == 0) | (policy.levy_floor > 0)).all(axis=1)
    if floored.any():
        causes.append(
            "possible cause: producers with fixed supply (eps = 0) that sell only under levy "
            f"floors ({_fmt(market, np.flatnonzero(floored))}): if the floor price leaves "
            "them with unsold output, no price of theirs can clear it"
        )
    return causes


def _fmt(market: Market, idx: IntArray, limit: int = 8) -> str:
    labels = [market.label(int(i)) for i in idx[:limit]]
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return ", ".join(labels) + more
