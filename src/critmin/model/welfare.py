"""Welfare accounting of the Armington partial-equilibrium model (USD, per country).

Formulas (``DESIGN.md``, "The trade model"; the surplus measures are the standard ones for
constant-elasticity demand and supply, as in GSIM, Francois & Hall 2003):

* consumer surplus ``dCS_j = -E_j (P_j^(1-eta) - 1) / (1 - eta)``, and ``-E_j ln P_j`` at
  ``eta = 1`` (the area left of the composite demand curve ``D = P^(-eta)`` scaled by baseline
  expenditure ``E_j``);
* producer surplus ``dPS_i = R_i ((pi^s_i)^(1+eps_i) - 1) / (1 + eps_i)`` (area left of the
  supply curve ``S = (pi^s)^eps``; for ``eps_i = 0`` this is ``R_i (pi^s_i - 1)``);
* tariff and levy revenue change of buyer ``j``:
  ``sum_i (b_ij - pi_i (1+e_i)) q_ij - sum_i t0_ij V_ij`` (``e_i`` only on exports,
  ``q_ij = V_ij x_ij`` in baseline-value units);
* quota rent of exporter ``i``: ``pi_i e_i X_i`` with ``X_i = sum_{j != i} q_ij``;
* subsidy cost of producer country ``i``: ``(pi^s_i - pi_i) S_i R_i``;
* ``welfare = dCS + dPS + revenue + rent - subsidy``.

Every term is computed so that "no policy change" gives exactly 0.0. A buyer that loses all
its suppliers has ``P_j = inf``: its ``dCS_j`` is ``-inf`` for ``eta <= 1`` (CES demand has no
choke price) and ``-E_j / (eta - 1)`` for ``eta > 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from critmin.model.compiled import (
    buyer_revenue,
    consumer_surplus_change,
    producer_surplus_change,
)
from critmin.model.core import FloatArray, IntArray, Market

__all__ = [
    "Welfare",
    "assemble_welfare",
    "compute_welfare",
    "consumer_surplus_change",
    "producer_surplus_change",
]


@dataclass(frozen=True, eq=False)
class Welfare:
    """Per-country welfare changes (USD), each ``(n,)``."""

    dCS: FloatArray
    dPS: FloatArray
    tariff_revenue: FloatArray
    quota_rent: FloatArray
    subsidy_cost: FloatArray
    welfare: FloatArray


def compute_welfare(
    market: Market,
    *,
    E: FloatArray,
    R: FloatArray,
    baseline_revenue: FloatArray,
    pi: FloatArray,
    e: FloatArray,
    pi_s: FloatArray,
    S: FloatArray,
    P: FloatArray,
    pair_i: IntArray,
    pair_j: IntArray,
    pair_q: FloatArray,
    pair_t1: FloatArray,
    pair_floor: FloatArray,
    exports: FloatArray,
) -> Welfare:
    """Welfare terms of one solved market (see the module docstring for the formulas).

    ``E``, ``R`` and ``baseline_revenue`` are the market's baseline expenditure, sales and
    tariff revenue ``sum_i t0_ij V_ij`` (what :class:`Market` computes, passed in so that a
    solver can reuse the sums it already has). Trade enters as the list of trading pairs
    (seller ``pair_i``, buyer ``pair_j``, quantity ``pair_q = V x`` in baseline-value units,
    scenario tariff ``pair_t1`` and levy floor ``pair_floor``, 0 where none),
    in the order in which ``baseline_revenue`` was summed (sellers in ascending order for each
    buyer, as in ``sum(axis=0)`` of a dense ``t0 V``): the
    buyer price is built as ``pi_i (1 + e_i [i != j]) (1 + t1_ij)`` (then floored), so at no
    change the tariff per unit ``b - pi (1 + e)`` is ``(1 + t0) - 1`` bit for bit and the
    revenue change is exactly 0.
    """
    n = market.n
    dCS = consumer_surplus_change(E, P, market.eta)
    dPS = producer_surplus_change(R, pi_s, market.eps)
    # tariff or levy paid, where trade flows (a compiled loop over the pairs)
    revenue_new = buyer_revenue(pair_i, pair_j, pair_q, pair_t1, pair_floor, pi, e, n)
    return assemble_welfare(
        dCS=dCS,
        dPS=dPS,
        revenue=revenue_new,
        baseline_revenue=baseline_revenue,
        pi=pi,
        e=e,
        pi_s=pi_s,
        S=S,
        R=R,
        exports=exports,
    )


def assemble_welfare(
    *,
    dCS: FloatArray,
    dPS: FloatArray,
    revenue: FloatArray,
    baseline_revenue: FloatArray,
    pi: FloatArray,
    e: FloatArray,
    pi_s: FloatArray,
    S: FloatArray,
    R: FloatArray,
    exports: FloatArray,
) -> Welfare:
    """The welfare terms from the surplus changes and the new tariff and levy revenue per
    buyer (module docstring): revenue change ``revenue - baseline_revenue`` (the same sums:
    exactly 0 at no change), quota rent ``pi e X``, subsidy cost ``(pi^s - pi) S R`` and
    ``welfare = dCS + dPS + revenue change + rent - subsidy``."""
    tariff_revenue = revenue - baseline_revenue
    quota_rent = pi * e * exports
    subsidy_cost = (pi_s - pi) * S * R
    welfare = dCS + dPS + tariff_revenue + quota_rent - subsidy_cost
    return Welfare(
        dCS=np.asarray(dCS, dtype=np.float64),
        dPS=np.asarray(dPS, dtype=np.float64),
        tariff_revenue=np.asarray(tariff_revenue, dtype=np.float64),
        quota_rent=np.asarray(quota_rent, dtype=np.float64),
        subsidy_cost=np.asarray(subsidy_cost, dtype=np.float64),
        welfare=np.asarray(welfare, dtype=np.float64),
    )
