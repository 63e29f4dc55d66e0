"""Simulate a scenario's ``[[chain]]`` entries: resolve, solve all stages at once, report.

:func:`simulate_chains` returns the ``products`` entries of every stage (the results contract's
per-product dict, built by the simulation's own ``product_result``, passed in) and the
``chains`` entries::

    {"<chain id>": {"converged", "iterations", "max_residual", "message", "solve_seconds",
       "stages": [{"stage", "products", "key", "link", "input_cost_share",
                   "zone_price_change_pct", "outside_price_change_pct",
                   "zone_producer_price_change_pct", "outside_producer_price_change_pct",
                   "zone_output_change_pct", "outside_output_change_pct",
                   "zone_self_sufficiency_before", "zone_self_sufficiency_after",
                   "watch_share_before", "watch_share_after",
                   "producer_surplus_usd": {"zone", "outside"},
                   "consumer_surplus_usd": {"zone", "outside"},
                   "welfare_usd": {"zone", "outside", "world"},
                   "tariff_revenue_usd", "subsidy_cost_usd", "quota_rent_usd",
                   "non_qualifying_member_sales_usd", "notes"}, ...],
       "welfare": {"zone", "outside", "world"},
       "captured_by_stage": [{"stage", "products", "zone_producers_usd",
                              "outside_producers_usd", "share_of_zone_producer_gain"}],
       "notes": [...]}}

Welfare of a chain is the sum over its stages (each stage's input buyers are the next stage's
producers, whose surplus nets the input's price; see :mod:`critmin.model.chain_solver`).
``captured_by_stage`` says which stage's producers gain (the rent of a floor: miners or
refiners), in the zone and outside.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from critmin.model.chain_solver import ChainSolution, StageSolution, solve_chain, warm_up_chains
from critmin.numbers import finite_or_none as _num
from critmin.scenario.chains import ResolvedChain, resolve_chains
from critmin.scenario.resolution import ResolvedProduct
from critmin.scenario.spec import ProductSpec, Scenario
from critmin.world import World

__all__ = ["ProductResult", "chain_result", "simulate_chains"]

ProductResult = Callable[[ResolvedProduct, Any, float], dict[str, Any]]
"""The simulation's per-product result builder: (resolved product, solution, seconds)."""


def _weighted_pct(values: np.ndarray, weights: np.ndarray) -> float | None:
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any() or weights[ok].sum() <= 0:
        return None
    return _num(float((weights[ok] * (values[ok] - 1.0)).sum() / weights[ok].sum() * 100.0))


def _split(x: np.ndarray, members: np.ndarray) -> dict[str, float | None]:
    return {
        "zone": _num(float(np.nansum(x[members]))),
        "outside": _num(float(np.nansum(x[~members]))),
    }


def _stage_entry(
    rc: ResolvedChain, k: int, st: StageSolution, product: dict[str, Any]
) -> dict[str, Any]:
    rs = rc.stages[k]
    m, o = rc.members, ~rc.members
    zone = product["zone"]
    summary = product["summary"]
    producers = st.R > 0
    share = float((st.input_share * st.R).sum() / st.R[producers].sum()) if producers.any() else 0.0
    welfare = _split(st.welfare, m)
    welfare["world"] = _num(float(np.nansum(st.welfare)))
    return {
        "stage": rs.stage,
        "products": list(rs.product_ids),
        "key": rs.key,
        "link": rs.link,
        "input_cost_share": share if rs.link == "input" else None,
        "zone_price_change_pct": summary["zone_consumer_price_change_pct"],
        "outside_price_change_pct": summary["outside_consumer_price_change_pct"],
        "zone_producer_price_change_pct": _weighted_pct(st.pi, st.R * m),
        "outside_producer_price_change_pct": _weighted_pct(st.pi, st.R * o),
        "zone_output_change_pct": _weighted_pct(st.S, st.R * m),
        "outside_output_change_pct": _weighted_pct(st.S, st.R * o),
        "zone_self_sufficiency_before": zone["self_sufficiency_baseline"],
        "zone_self_sufficiency_after": zone["self_sufficiency"],
        "watch_share_before": zone["watch_share_baseline"],
        "watch_share_after": zone["watch_share"],
        "producer_surplus_usd": _split(st.dPS, m),
        "consumer_surplus_usd": _split(st.dCS, m),
        "welfare_usd": welfare,
        "tariff_revenue_usd": _num(float(np.nansum(st.tariff_revenue))),
        "subsidy_cost_usd": _num(float(np.nansum(st.subsidy_cost))),
        "quota_rent_usd": _num(float(np.nansum(st.quota_rent))),
        "non_qualifying_member_sales_usd": _num(float(st.q_nonqualifying[m].sum())),
        "notes": rs.notes,
    }


def chain_result(
    rc: ResolvedChain, sol: ChainSolution, seconds: float, products: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ``chains.<id>`` entry of a solved chain (``products``: its stages' product results)."""
    stages = [_stage_entry(rc, k, st, products[k]) for k, st in enumerate(sol.stages)]
    m = rc.members
    total = sol.welfare
    gains = [float(np.nansum(np.maximum(st.dPS[m], 0.0))) for st in sol.stages]
    all_gain = sum(gains)
    captured = [
        {
            "stage": e["stage"],
            "products": e["products"],
            "zone_producers_usd": e["producer_surplus_usd"]["zone"],
            "outside_producers_usd": e["producer_surplus_usd"]["outside"],
            "share_of_zone_producer_gain": gains[k] / all_gain if all_gain > 0 else None,
        }
        for k, e in enumerate(stages)
    ]
    return {
        "id": rc.id,
        "mineral": rc.mineral,
        "converged": sol.converged,
        "iterations": sol.iterations,
        "max_residual": sol.max_residual,
        "message": sol.message,
        "solve_seconds": seconds,
        "countries": len(rc.countries),
        "stages": stages,
        "welfare": {
            "zone": _num(float(np.nansum(total[m]))),
            "outside": _num(float(np.nansum(total[~m]))),
            "world": _num(float(np.nansum(total))),
        },
        "captured_by_stage": captured,
        "notes": [*rc.notes, *sol.notes],
    }


def simulate_chains(
    scenario: Scenario, world: World, product_result: ProductResult
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Resolve and solve every ``[[chain]]``: ``(products entries, chains entries)``."""
    products: dict[str, dict[str, Any]] = {}
    chains: dict[str, dict[str, Any]] = {}
    resolved = resolve_chains(scenario, world)
    if resolved:
        warm_up_chains()  # load the compiled kernels first: solve_seconds times the solve
    for rc in resolved:
        t = time.perf_counter()
        sol = solve_chain(rc.model_stages())
        seconds = time.perf_counter() - t
        stage_products = []
        for rs, st in zip(rc.stages, sol.stages, strict=True):
            rp = ResolvedProduct(
                spec=ProductSpec(id=rs.key),
                baseline=rs.baseline,
                elasticities=rs.elasticities,
                policy=rs.policy,
                members=rc.members,
                watch=rc.watch,
                notes=rs.notes,
            )
            entry = product_result(rp, st, seconds)
            entry["chain"] = rc.id
            entry["message"] = sol.message
            entry["converged"] = sol.converged
            entry["iterations"] = sol.iterations
            entry["max_residual"] = sol.max_residual
            stage_products.append(entry)
            key = rs.key if rs.key not in products else f"{rc.id}:{rs.key}"
            products[key] = entry
        chains[rc.id] = chain_result(rc, sol, seconds, stage_products)
    return products, chains
