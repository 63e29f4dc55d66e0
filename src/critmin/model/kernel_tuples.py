"""The named tuples the compiled kernels take and return (:mod:`critmin.model.kernels`, and
:mod:`critmin.model.chain_kernels` for linked chains).

They live apart from the kernels so that code which only builds or reads them does not import
Numba: :mod:`critmin.model.compiled` rebuilds the results of the ahead-of-time compiled
kernels with these very classes, and both the AOT module and Numba's JIT see the same types.
(Numba's cache keys a compiled function by its argument types, fields included, so a change
here recompiles what uses it; the AOT build's key covers this file.)
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["ChainArrays", "ChainEval", "EvalBuf", "Levels", "StackArrays"]


class StackArrays(NamedTuple):
    """The arrays of a :class:`critmin.model.core.Stack` that the compiled loops read.

    Pairs ``(B, L)`` (valid ones first, ``nvalid`` of them per market), buyers ``(B, n + 1)``,
    producer slots ``(B, ns)``, quotas ``(B, nq)``; see the ``Stack`` docstring.
    """

    ps: Any
    pj: Any
    pV: Any
    pw: Any
    pdlt: Any
    plnFc: Any
    poff: Any
    nvalid: Any
    sigma: Any
    eta: Any
    supplied: Any
    W: Any
    R: Any
    X0: Any
    eps: Any
    lnG: Any
    uact: Any
    check: Any
    slot_country: Any
    qslot: Any
    qmask: Any
    lncap: Any
    any_floor: bool
    lna: Any  # (B, n + 1) log demand shifter per buyer (0: none)
    lnk: Any  # (B, ns) log supply shifter per producer slot (0: none)


class EvalBuf(NamedTuple):
    """The model evaluated at ``z``: per pair ``(L,)``, per buyer ``(n + 1,)``, per slot
    ``(ns + 1,)`` or ``(ns,)``, residuals ``(N,)``, quota slack ``(nq,)``; with a leading
    batch axis for a whole stack. ``m``, ``T``, ``lnc``, ``work`` and ``scratch`` are work
    space (cheapest log price and CES sum per buyer, floored log prices, exponents)."""

    lnc_hat: Any
    K: Any
    theta: Any
    lnP: Any
    q: Any
    Q: Any
    X: Any
    nu: Any
    f_check: Any
    F: Any
    S: Any
    dS: Any
    h: Any
    lnc: Any
    m: Any
    T: Any
    work: Any
    scratch: Any


class Levels(NamedTuple):
    """Every market of a solved stack in countries (:func:`levels_batch`): ``(B, n)`` arrays
    padded past each market's ``n``, the seller country of each valid pair ``(B, L)``, per
    market ``(B,)`` whether the solution is representable, its largest residual and whether
    it has a numeraire, an unsupplied buyer or a stranded producer, the welfare terms
    ``(B, n)`` and per market whether a welfare is NaN."""

    pi: Any
    e: Any
    P: Any
    D: Any
    pi_s: Any
    S: Any
    exports: Any
    baseline_exports: Any
    R: Any
    stranded: Any
    dCS: Any
    dPS: Any
    revenue: Any
    pair_i: Any
    representable: Any
    max_residual: Any
    flagged: Any
    tariff_revenue: Any
    quota_rent: Any
    subsidy_cost: Any
    welfare: Any
    invalid: Any


class ChainArrays(NamedTuple):
    """The flat arrays of one chain (built by :func:`critmin.model.chain.chain_setup`)."""

    # stages (S,)
    sigma: Any
    eta: Any
    link: Any
    pstart: Any  # (S + 1,) pair ranges
    sstart: Any  # (S + 1,) slot ranges
    zstart: Any  # (S + 1,) unknown ranges
    # buyers (S, n)
    W: Any
    supplied: Any
    delta: Any  # derived-demand share of the baseline composite (next stage's input)
    nxt: Any  # global slot of the buyer country at the next stage, -1 if none
    lnH: Any  # log demand shift of the other use (buyers' demand multiplier; 0 = none)
    # pairs (L,)
    pslot: Any
    pu: Any  # z index of the seller's log price, -1 if fixed
    pq: Any  # z index of the seller's quota nu, -1 if none
    pj: Any
    pV: Any
    pw: Any
    pdlt: Any
    plnFc: Any
    poff: Any
    # slots (G,)
    sstage: Any
    scountry: Any
    R: Any
    eps: Any
    lnG: Any
    lnA: Any
    a: Any  # input cost share (input link)
    phi: Any  # share of the slot's output that receives its subsidy floor
    su: Any  # z index of u, -1 if fixed
    sq: Any  # z index of nu, -1 if no quota
    host: Any  # global slot of the host (by-product link), -1 if none
    capX0: Any  # cap x baseline exports of a quota slot
    # unknowns (N,)
    zslot: Any
    zkind: Any  # 0: u, 1: nu
    any_floor: bool


class ChainEval(NamedTuple):
    """The chain evaluated at ``z`` (pairs, per-stage buyers, slots, residuals)."""

    lnc_hat: Any
    lnc: Any
    K: Any
    theta: Any
    q: Any
    lnP: Any
    lnD: Any
    omega: Any
    Q: Any
    X: Any
    lnS: Any
    lnpt: Any
    alpha: Any
    beta: Any
    F: Any
    h: Any
