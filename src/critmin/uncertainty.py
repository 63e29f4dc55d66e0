"""Monte Carlo uncertainty: elasticity ranges, probabilistic disruptions, shortfall and stockpiles.

``run_uncertainty(scenario, draws=N, seed=S)`` samples every elasticity of every product from
its cited range and every declared ``[[disruption]]`` event, solves all draws in batches
(:func:`critmin.model.solver.solve_batch`) on a local process pool or a Dask cluster, and
summarises each key output by its median and 5-95% band, the probability that zone supply falls
short of zone demand by more than a threshold, and the stockpile that covers the shortfall with
probability ``q`` (:mod:`critmin.stockpile`). The method is documented in docs/uncertainty.md.

Sampling (one draw ``d``, one product with point values ``sigma``, ``eta``, ``eps_i``)
------------------------------------------------------------------------------------------
The elasticities table (``critmin data show elasticities``) gives, per product class and
parameter, a cited ``(low, default, high)`` and a distribution (triangular: mode = default).
Ranges are *relative* so that a scenario's own value keeps the cited uncertainty:

* ``r ~ Triangular(low/default, 1, high/default)`` (or ``Uniform``), one ``r`` per draw and
  parameter, independent across parameters and products;
* ``eta_d = eta * r_eta``; ``eps_i,d = eps_i * r_eps`` (one common factor for every country, so
  per-country overrides keep their pattern);
* ``sigma_d = 1 + (sigma - 1) * r_sigma`` with ``r_sigma ~ Tri((low-1)/(default-1), 1,
  (high-1)/(default-1))``: the range scales ``sigma - 1``, so every draw keeps ``sigma > 1``.

With the class defaults as point values these are exactly the cited triangular distributions.
A zero-width range (``r = 1``) reproduces the point value bit for bit. The scenario's
``[uncertainty]`` table may replace a relative range (``ranges``) or fix a parameter (``fixed``).

Disruptions: every ``[[disruption]]`` (type ``export_ban``) lists exporters (default the watch
countries); in each draw each of them independently bans its exports of the products to the
importers (default the members) with the annual probability ``p``, on top of the scenario's
own policies. The same exporter's event hits all products of that disruption together.

Reproducibility (same seed, same numbers, whatever the chunking or the cluster)
------------------------------------------------------------------------------
Random numbers are *counter-based*: each stream is ``PCG64(SeedSequence(seed, spawn_key=key))``
with ``key = (0, product id)`` for a product's elasticities (3 uniforms per draw) and
``key = (1, disruption index, exporter code)`` for a ban event (1 uniform per draw). Draw
``d`` reads the uniforms at positions ``[d * width, (d + 1) * width)`` of its stream, reached by
``PCG64.advance`` (one 64-bit output per float64 uniform). A chunk of draws therefore gets the
same numbers whichever process solves it and however the draws are cut into chunks; results
are concatenated in draw order. The solver's output does not depend on the other elements of
its batch, and every chunk runs with one BLAS thread (OpenBLAS with several threads rounds
differently in the last bits), so local and cluster runs agree bit for bit (tested).

Shortfall (per draw)
--------------------
Zone consumption is the model's own demand quantity: the Armington composite ``D_j = P_j^-eta``
of each member ``j`` (1 at the baseline, 0 for a member left without any supplier), summed with
baseline expenditure weights, ``Q = sum_{j in zone} E_j D_j`` (USD at baseline prices). (A sum
of flows at baseline prices, ``sum V_ij x_ij``, would not do: after a ban, CES substitution
makes the remaining suppliers' volume *rise* by ``(1 - s)^((1 - eta)/(1 - sigma)) > 1`` while
the composite falls.) ``Q_ref`` = the same draw's ``Q`` without its disruption events (``reference =
"no_disruption"``, the default: only what the events remove, never the demand reduction the
scenario's own policies, such as a floor, cause by design; draws without an event have no
shortfall) or the baseline ``Q0 = sum E_j`` (``"baseline"``: everything that lowers zone
consumption, the policies' deliberate effect included)::

    shortfall   = max(Q_ref - Q, 0) / Q_ref            (share of demand)
    shortfall_t = max(Q_ref - Q, 0) / Q0 * T0          (tonnes per year)

with ``T0 = sum_{j in zone} sum_i V_ij / p0_ij`` the zone's baseline tonnes (p0 = BACI pair
unit values), i.e. lost demand converted at the zone's average baseline unit value
``uv0 = Q0 / T0``.
"""

from __future__ import annotations

import contextlib
import functools
import math
import multiprocessing
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.random import PCG64, Generator, SeedSequence
from pydantic import ValidationError

from critmin.errors import CritminError, DataIntegrityError
from critmin.model.core import Market, Policy, ResolvedPolicy
from critmin.model.solver import CHUNK_ELEMENTS, Solution, solve_batch
from critmin.parallel import BLAS_ENV, dask_client, environment
from critmin.parallel import CONNECT_TIMEOUT as PARALLEL_CONNECT_TIMEOUT
from critmin.scenario import (
    PriceFloorPolicy,
    Scenario,
    UncertaintySettings,
    load_scenario,
)
from critmin.stockpile import StockpileSizing, size_stockpile

if TYPE_CHECKING:
    from critmin.scenario.resolution import ResolvedProduct
    from critmin.world import World

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FAN_LEVELS",
    "OUTPUTS",
    "PARAMETERS",
    "ParameterRange",
    "ProductTask",
    "ProductUncertainty",
    "UncertaintyResult",
    "draw_uniforms",
    "fan_data",
    "multiplier",
    "run_uncertainty",
    "single_thread_blas",
    "solve_chunk",
]

DEFAULT_CHUNK_SIZE = 250
"""Draws per task (one batched solve). Results do not depend on it; it sets the granularity of
scheduling and progress, and memory (about 0.5 MB per draw for a 120-country market)."""
PARAMETERS = ("sigma", "demand_elasticity", "supply_elasticity")
FAN_LEVELS = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
"""Quantile levels of :func:`fan_data` (nested bands 5-95, 10-90, 25-75 and the median)."""
POOL_MIN_DRAWS = 1000
"""With ``workers`` left to the default, runs of fewer product-draws than this stay in-process
(starting worker processes costs about a second; the numbers are the same either way)."""
CONNECT_TIMEOUT = PARALLEL_CONNECT_TIMEOUT
"""How long to try to reach a Dask scheduler given by address."""

OUTPUTS: dict[str, tuple[str, str]] = {
    "zone_consumer_price_change_pct": ("Zone consumer price change", "%"),
    "outside_consumer_price_change_pct": ("Outside consumer price change", "%"),
    "self_sufficiency": ("Zone self-sufficiency", "share"),
    "watch_share": ("Watch countries' share of zone demand", "share"),
    "zone_welfare_change_usd": ("Zone welfare change", "USD"),
    "outside_welfare_change_usd": ("Outside welfare change", "USD"),
    "world_welfare_change_usd": ("World welfare change", "USD"),
    "tariff_revenue_change_usd": ("Tariff and levy revenue change", "USD"),
    "subsidy_cost_usd": ("Subsidy cost", "USD"),
    "zone_consumption_change_pct": ("Zone consumption change (composite demand)", "%"),
    "shortfall": ("Shortfall of zone supply vs reference demand", "share"),
    "shortfall_t": ("Shortfall of zone supply vs reference demand", "t/year"),
}
"""Key outputs: key -> (label, unit). The first nine follow ``simulate``'s definitions."""
_INPUTS = ("sigma", "demand_elasticity", "supply_elasticity_factor", "disruptions")


# ----------------------------------------------------------------------------- sampling


@dataclass(frozen=True)
class ParameterRange:
    """The range a parameter is drawn from, relative to its point value.

    ``relative_low``/``relative_high`` bound the multiplier ``r`` (mode 1); for sigma ``r``
    scales ``sigma - 1``. ``low``/``mode``/``high`` are the implied absolute values (for the
    supply elasticity: of the market's median ``eps``).
    """

    parameter: str
    distribution: str
    relative_low: float
    relative_high: float
    mode: float
    low: float
    high: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def triangular_ppf(u: np.ndarray, low: float, mode: float, high: float) -> np.ndarray:
    """Inverse CDF of Triangular(low, mode, high) at ``u`` in [0, 1).

    ``F(c) = (c - a)/(b - a)``; ``x = a + sqrt(u (b - a)(c - a))`` for ``u < F(c)``, else
    ``x = b - sqrt((1 - u)(b - a)(b - c))``. A zero-width range returns ``mode`` exactly.
    """
    u = np.asarray(u, dtype=np.float64)
    if high == low:
        return np.full(u.shape, float(mode))
    width = high - low
    fc = (mode - low) / width
    left = low + np.sqrt(u * width * (mode - low))
    right = high - np.sqrt((1.0 - u) * width * (high - mode))
    return np.where(u < fc, left, right)


def multiplier(u: np.ndarray, rng: ParameterRange) -> np.ndarray:
    """The relative factor ``r`` of a parameter for uniforms ``u`` (exactly 1 for zero width)."""
    lo, hi = rng.relative_low, rng.relative_high
    if lo == hi:
        return np.full(np.shape(u), 1.0) if lo == 1.0 else np.full(np.shape(u), lo)
    if rng.distribution == "uniform":
        return np.asarray(lo + np.asarray(u) * (hi - lo), dtype=np.float64)
    return triangular_ppf(u, lo, 1.0, hi)


def _apply(parameter: str, point: float, r: np.ndarray) -> np.ndarray:
    if parameter == "sigma":
        return np.where(r == 1.0, point, 1.0 + (point - 1.0) * r)
    return np.where(r == 1.0, point, point * r)


def _key(text: str) -> int:
    """A stable integer for a product id or country code (part of a SeedSequence spawn key)."""
    return int.from_bytes(text.encode("utf-8"), "big")


def draw_uniforms(seed: int, key: tuple[int, ...], start: int, stop: int, width: int) -> np.ndarray:
    """Uniforms ``(stop - start, width)`` for draws ``start..stop-1`` of the stream ``key``.

    Draw ``d`` always reads positions ``[d * width, (d + 1) * width)`` of the stream
    ``PCG64(SeedSequence(seed, spawn_key=key))`` (``advance`` skips the earlier draws), so the
    numbers do not depend on how draws are cut into chunks.
    """
    bg = PCG64(SeedSequence(seed, spawn_key=key))
    if start:
        bg.advance(start * width)
    return Generator(bg).random((stop - start, width))


def cited_range(world: World, product_class: str, parameter: str) -> dict[str, Any]:
    """The elasticities-table row for a class and parameter (``metal`` when the class has none)."""
    el = world.elasticities
    row = el[(el["product_class"] == product_class) & (el["parameter"] == parameter)]
    if row.empty:
        row = el[(el["product_class"] == "metal") & (el["parameter"] == parameter)]
    if row.empty:
        raise DataIntegrityError(f"the elasticities table has no row for {parameter}")
    return {str(k): v for k, v in row.iloc[0].to_dict().items()}


def parameter_ranges(
    world: World, product_class: str, point: dict[str, float], settings: UncertaintySettings
) -> tuple[ParameterRange, ...]:
    """Relative ranges of sigma, eta and eps for one product (table, or the scenario's)."""
    out = []
    for name in PARAMETERS:
        row = cited_range(world, product_class, name)
        low, default, high = float(row["low"]), float(row["default"]), float(row["high"])
        dist = str(row["distribution"]).strip().lower()
        if dist not in {"triangular", "uniform"}:
            raise DataIntegrityError(
                f"elasticities table: distribution {dist!r} for {product_class}/{name} is not "
                "supported (triangular or uniform)"
            )
        if not low <= default <= high:
            raise DataIntegrityError(
                f"elasticities table: {product_class}/{name} needs low <= default <= high"
            )
        source = str(row["source"])
        if name == "sigma":
            if low <= 1.0:
                raise DataIntegrityError(
                    f"elasticities table: the sigma range of {product_class} must stay above 1"
                )
            rlo, rhi = (low - 1.0) / (default - 1.0), (high - 1.0) / (default - 1.0)
        elif default > 0:
            rlo, rhi = low / default, high / default
        else:
            rlo = rhi = 1.0
        if name in settings.ranges:
            rlo, rhi = settings.ranges[name]
            dist, source = "triangular", "scenario [uncertainty] ranges"
        if name in settings.fixed:
            rlo = rhi = 1.0
            source = "fixed by the scenario ([uncertainty] fixed)"
        p = point[name]
        lo_abs = float(_apply(name, p, np.array(rlo)))
        hi_abs = float(_apply(name, p, np.array(rhi)))
        out.append(ParameterRange(name, dist, rlo, rhi, p, lo_abs, hi_abs, source))
    return tuple(out)


# ----------------------------------------------------------------------------- tasks


@dataclass(frozen=True, eq=False)
class DisruptionEvent:
    """One exporter's possible ban under one ``[[disruption]]`` for one product."""

    disruption: int
    exporter: str
    probability: float
    pairs: np.ndarray  # (n, n) bool: the pairs it removes

    @property
    def stream(self) -> tuple[int, ...]:
        return (1, self.disruption, _key(self.exporter))


@dataclass(frozen=True, eq=False)
class ProductTask:
    """Everything a worker needs to solve draws of one product (picklable, no World)."""

    product_id: str
    V: np.ndarray
    t0: np.ndarray
    members: np.ndarray
    watch: np.ndarray
    unit_value: float
    sigma: float
    eta: float
    eps: np.ndarray
    ranges: tuple[ParameterRange, ...]
    policy: ResolvedPolicy
    events: tuple[DisruptionEvent, ...]
    reference: str

    @property
    def n(self) -> int:
        return int(self.V.shape[0])

    @functools.cached_property
    def E(self) -> np.ndarray:
        """Baseline expenditure per buyer, as ``simulate.product_result`` computes it."""
        return np.asarray((self.V * (1 + self.t0)).sum(axis=0))

    @functools.cached_property
    def Ez(self) -> np.ndarray:
        """Baseline expenditure of members (0 for the others)."""
        return np.where(self.members, self.E, 0.0)

    @functools.cached_property
    def Q0(self) -> float:
        """Baseline zone consumption ``sum_{j in zone} E_j`` (USD at baseline prices)."""
        return float(self.Ez.sum())

    @property
    def stream(self) -> tuple[int, ...]:
        return (0, _key(self.product_id))

    def market(self, sigma: float, eta: float, eps: np.ndarray) -> Market:
        return Market(V=self.V, t0=self.t0, sigma=sigma, eta=eta, eps=eps)

    def base_policy(self) -> Policy:
        p = self.policy
        return Policy(
            t1=p.t1,
            banned=p.banned,
            levy_floor=p.levy_floor,
            subsidy_floor=p.subsidy_floor,
            export_cap=p.export_cap,
        )

    def disrupted_policy(self, fired: np.ndarray) -> Policy:
        p = self.policy
        banned = p.banned.copy()
        for e in np.flatnonzero(fired):
            banned |= self.events[e].pairs
        return Policy(
            t1=p.t1,
            banned=banned,
            levy_floor=p.levy_floor,
            subsidy_floor=p.subsidy_floor,
            export_cap=p.export_cap,
        )


def _pct(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (x - 1.0) * 100.0


def key_outputs(task: ProductTask, sol: Solution) -> dict[str, float]:
    """The key outputs of one solved draw; the first nine use ``simulate``'s exact formulas.

    Zone consumption ``Q = sum_{j in zone} E_j D_j`` (the composite demand, module docstring);
    tonnes are USD / ``unit_value``. Shortfall keys are relative to the baseline here;
    :func:`solve_chunk` recomputes them for ``reference = "no_disruption"``.
    """
    V, m, w = task.V, task.members, task.watch
    o = ~m
    E = task.E
    ok = np.isfinite(sol.P)
    dP = _pct(np.where(ok, sol.P, 1.0))

    def avg_price(mask: np.ndarray) -> float:
        wt = E * mask
        return float((wt * dP).sum() / wt.sum()) if wt.sum() > 0 else math.nan

    # as critmin.simulation.zone_shares (the same operations, so the same bits)
    q = V * np.nan_to_num(sol.x)
    demand = q[:, m].sum()
    if demand > 0:
        ss = float(q[np.ix_(m, m)].sum() / demand)
        ws = float(q[np.ix_(w, m)].sum() / demand) if w.any() else 0.0
    else:
        ss = ws = math.nan
    Q = float((task.Ez * np.nan_to_num(sol.D)).sum())
    Q0 = task.Q0
    lost = max(Q0 - Q, 0.0)
    return {
        "zone_consumer_price_change_pct": avg_price(m),
        "outside_consumer_price_change_pct": avg_price(o),
        "self_sufficiency": ss,
        "watch_share": ws,
        "zone_welfare_change_usd": float(np.nansum(sol.welfare[m])),
        "outside_welfare_change_usd": float(np.nansum(sol.welfare[o])),
        "world_welfare_change_usd": float(np.nansum(sol.welfare)),
        "tariff_revenue_change_usd": float(np.nansum(sol.tariff_revenue)),
        "subsidy_cost_usd": float(np.nansum(sol.subsidy_cost)),
        "zone_consumption_change_pct": (Q / Q0 - 1.0) * 100.0 if Q0 > 0 else math.nan,
        "shortfall": lost / Q0 if Q0 > 0 else 0.0,
        "shortfall_t": lost / task.unit_value,
        "_Q": Q,
    }


@contextlib.contextmanager
def single_thread_blas() -> Iterator[None]:
    """Run the block with one BLAS thread (small batched solves are fastest that way, and the
    result is then the same on every machine configuration)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _solve_rows(
    task: ProductTask, markets: list[Market], policies: list[Policy]
) -> list[dict[str, float]]:
    """Key outputs (plus ``_converged``, ``_iterations``) of each market under its policy.

    ``solve_batch`` runs in sub-batches of at most ``CHUNK_ELEMENTS / n^2`` markets, and each
    sub-batch's solutions are reduced to their key outputs at once, so memory stays bounded.
    """
    step = max(1, CHUNK_ELEMENTS // max(task.n * task.n, 1))
    rows: list[dict[str, float]] = []
    for k in range(0, len(markets), step):
        for sol in solve_batch(markets[k : k + step], policies[k : k + step]):
            row = key_outputs(task, sol)
            row["_converged"] = float(sol.converged)
            row["_iterations"] = float(sol.iterations)
            rows.append(row)
    return rows


def solve_chunk(task: ProductTask, seed: int, start: int, stop: int) -> dict[str, np.ndarray]:
    """Sample and solve draws ``start..stop-1`` of one product; per-draw arrays by key.

    Keys: :data:`OUTPUTS`, the sampled inputs (``sigma``, ``demand_elasticity``,
    ``supply_elasticity_factor``, ``disruptions`` = events fired), ``converged`` and
    ``iterations``. A pure function of its arguments (the worker function of every engine).
    """
    with single_thread_blas():
        B = stop - start
        u = draw_uniforms(seed, task.stream, start, stop, 3)
        r = [multiplier(u[:, k], task.ranges[k]) for k in range(3)]
        sigma = _apply("sigma", task.sigma, r[0])
        eta = _apply("demand_elasticity", task.eta, r[1])
        fired = np.zeros((B, len(task.events)), dtype=np.bool_)
        for e, ev in enumerate(task.events):
            if ev.probability > 0.0:
                fired[:, e] = draw_uniforms(seed, ev.stream, start, stop, 1)[:, 0] < ev.probability
        hit: np.ndarray = np.asarray(fired.any(axis=1))
        base = task.base_policy()
        markets = [
            task.market(
                float(sigma[d]), float(eta[d]), task.eps if r[2][d] == 1.0 else task.eps * r[2][d]
            )
            for d in range(B)
        ]
        policies = [task.disrupted_policy(fired[d]) if hit[d] else base for d in range(B)]
        rows = _solve_rows(task, markets, policies)
        out = {k: np.array([row[k] for row in rows]) for k in OUTPUTS}
        conv_ref = np.ones(B, dtype=np.bool_)
        if task.reference == "no_disruption":
            # relative to the same draw without its events: draws without events lose nothing
            out["shortfall_t"][:] = 0.0
            out["shortfall"][:] = 0.0
            if hit.any():
                idx = np.flatnonzero(hit)
                ref = _solve_rows(task, [markets[d] for d in idx], [base] * len(idx))
                Q = np.array([rows[d]["_Q"] for d in idx])
                Q_ref = np.array([row["_Q"] for row in ref])
                lost = np.maximum(Q_ref - Q, 0.0)
                out["shortfall_t"][idx] = lost / task.unit_value
                out["shortfall"][idx] = np.divide(
                    lost, Q_ref, out=np.zeros_like(lost), where=Q_ref > 0
                )
                conv_ref[idx] = [row["_converged"] == 1.0 for row in ref]
        out["sigma"] = sigma
        out["demand_elasticity"] = eta
        out["supply_elasticity_factor"] = r[2]
        out["disruptions"] = fired.sum(axis=1).astype(np.int64)
        out["converged"] = np.array([row["_converged"] == 1.0 for row in rows]) & conv_ref
        out["iterations"] = np.array([row["_iterations"] for row in rows], dtype=np.int64)
        return out


def build_task(
    world: World, scenario: Scenario, rp: ResolvedProduct, settings: UncertaintySettings
) -> tuple[ProductTask, dict[str, Any]]:
    """A picklable task for one resolved product, and the facts the summary needs."""
    from critmin.scenario.resolution import select_countries

    base = rp.baseline
    V, p0, m = base.V, base.p0, rp.members
    n = base.n
    offdiag = ~np.eye(n, dtype=np.bool_)
    in_zone = m[None, :] & (V > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tons = np.where(in_zone, V / p0, 0.0)
    has_tonnes = bool(np.isfinite(tons[in_zone]).all() and (tons[in_zone] > 0).all())
    Q0 = float(np.where(m, (V * (1 + base.t0)).sum(axis=0), 0.0).sum())
    T0 = float(tons.sum()) if has_tonnes else Q0
    unit = "t" if has_tonnes and T0 > 0 else "usd_baseline"
    uv = Q0 / T0 if unit == "t" else 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        pair_t = np.where(V > 0, V / p0, 0.0) if unit == "t" else V
    net_imports = max(float(pair_t[np.ix_(~m, m)].sum() - pair_t[np.ix_(m, ~m)].sum()), 0.0)
    el = rp.elasticities
    point = {
        "sigma": el.sigma,
        "demand_elasticity": el.eta,
        "supply_elasticity": float(np.median(el.eps)),
    }
    ranges = parameter_ranges(world, base.product_class, point, settings)
    events: list[DisruptionEvent] = []
    policy = rp.policy.resolve(rp.market)
    for j, dis in enumerate(scenario.disruption):
        if dis.products is not None and base.product_id not in dis.products:
            continue
        fname = f"disruption[{j}]"
        rows = select_countries(world, dis.exporters, m, rp.watch, base, f"{fname}.exporters")
        cols = select_countries(world, dis.importers, m, rp.watch, base, f"{fname}.importers")
        for i in np.flatnonzero(rows):
            pairs = np.zeros((n, n), dtype=np.bool_)
            pairs[i] = cols & offdiag[i]
            if not ((V > 0) & pairs & ~policy.banned).any():
                continue  # no trade this event could stop
            pairs.flags.writeable = False
            events.append(DisruptionEvent(j, base.countries[i], dis.probability, pairs))
    floors = [
        p.price_usd_per_t
        for p in scenario.policy
        if isinstance(p, PriceFloorPolicy) and (p.products is None or base.product_id in p.products)
    ]
    if floors and unit == "t":
        price: float | None = max(floors)
        basis = "the zone's price floor"
    elif unit == "t":
        price = uv
        basis = "baseline unit value of zone consumption"
    else:
        price, basis = None, "none (no zone demand)"
    content = None
    if not rp.spec.flows:
        cf = world.product(base.product_id)["content_factor"]
        content = float(cf) if cf is not None and np.isfinite(cf) else None
    task = ProductTask(
        product_id=base.product_id,
        V=V,
        t0=base.t0,
        members=m,
        watch=rp.watch,
        unit_value=uv,
        sigma=el.sigma,
        eta=el.eta,
        eps=el.eps,
        ranges=ranges,
        policy=policy,
        events=tuple(events),
        reference=settings.reference,
    )
    facts = {
        "name": base.name,
        "countries": n,
        "unit": unit,
        "baseline_zone_demand": T0,
        "net_imports": net_imports,
        "unit_value_usd_per_t": uv if unit == "t" else None,
        "reference_price_usd_per_t": price if unit == "t" else 1.0,
        "reference_price_basis": basis if unit == "t" else "USD at baseline prices",
        "content_factor": content,
    }
    return task, facts


# ----------------------------------------------------------------------------- engines

Progress = Callable[[int, int], None]
Job = tuple[int, int, int]  # task index, start, stop

_POOL_TASKS: list[ProductTask] = []


def _init_pool(tasks: list[ProductTask]) -> None:
    global _POOL_TASKS
    _POOL_TASKS = tasks


def _pool_chunk(ti: int, seed: int, start: int, stop: int) -> dict[str, np.ndarray]:
    return solve_chunk(_POOL_TASKS[ti], seed, start, stop)


def _submission_order(tasks: list[ProductTask], jobs: list[Job]) -> list[int]:
    """Job indices, most expensive first (cost ~ draws x n^2): longest-processing-time-first
    scheduling keeps a big market from running alone at the end. Results are placed by index,
    so the order changes nothing else."""
    return sorted(
        range(len(jobs)), key=lambda k: -(jobs[k][2] - jobs[k][1]) * tasks[jobs[k][0]].n ** 2
    )


def _run_local(
    tasks: list[ProductTask], jobs: list[Job], seed: int, workers: int, progress: Progress | None
) -> list[dict[str, np.ndarray]]:
    results: list[dict[str, np.ndarray] | None] = [None] * len(jobs)
    total = sum(stop - start for _, start, stop in jobs)
    done = 0
    if workers <= 1 or len(jobs) == 1:
        for k, (ti, start, stop) in enumerate(jobs):
            results[k] = solve_chunk(tasks[ti], seed, start, stop)
            done += stop - start
            if progress:
                progress(done, total)
    else:
        ctx = multiprocessing.get_context("spawn")
        with (
            environment(dict.fromkeys(BLAS_ENV, "1")),
            ProcessPoolExecutor(
                max_workers=min(workers, len(jobs)),
                mp_context=ctx,
                initializer=_init_pool,
                initargs=(tasks,),
            ) as pool,
        ):
            futs = {
                pool.submit(_pool_chunk, jobs[k][0], seed, jobs[k][1], jobs[k][2]): k
                for k in _submission_order(tasks, jobs)
            }
            for fut in as_completed(futs):
                k = futs[fut]
                results[k] = fut.result()
                done += jobs[k][2] - jobs[k][1]
                if progress:
                    progress(done, total)
    return [r for r in results if r is not None]


def _run_dask(
    tasks: list[ProductTask], jobs: list[Job], seed: int, scheduler: Any, progress: Progress | None
) -> tuple[list[dict[str, np.ndarray]], int]:
    """One Dask task per chunk; the product tasks are scattered to every worker once."""
    from distributed import as_completed as dask_completed

    with dask_client(scheduler, timeout=CONNECT_TIMEOUT) as client:
        nworkers = len(client.scheduler_info().get("workers", {}))
        token = uuid.uuid4().hex[:10]
        remote = client.scatter(tasks, broadcast=True, hash=False)
        order = _submission_order(tasks, jobs)
        futures = [
            client.submit(
                solve_chunk,
                remote[jobs[k][0]],
                seed,
                jobs[k][1],
                jobs[k][2],
                key=f"critmin-uncertainty-{token}-{k}",
                priority=len(jobs) - rank,
            )
            for rank, k in enumerate(order)
        ]
        index = {f.key: k for k, f in zip(order, futures, strict=True)}
        results: list[dict[str, np.ndarray] | None] = [None] * len(jobs)
        total = sum(stop - start for _, start, stop in jobs)
        done = 0
        for fut in dask_completed(futures, loop=client.loop):
            k = index[fut.key]
            results[k] = fut.result()
            done += jobs[k][2] - jobs[k][1]
            if progress:
                progress(done, total)
        del futures, remote
        return [r for r in results if r is not None], nworkers


# ----------------------------------------------------------------------------- results


def _json_num(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        return float(v) if np.isfinite(v) else None
    return v


@dataclass
class ProductUncertainty:
    """The draws of one product and what its summary needs."""

    product_id: str
    name: str
    countries: int
    draws: dict[str, np.ndarray]
    point: dict[str, float]
    ranges: tuple[ParameterRange, ...]
    events: list[dict[str, Any]]
    facts: dict[str, Any]
    stockpile: StockpileSizing
    threshold: float

    @property
    def converged(self) -> np.ndarray:
        return self.draws["converged"]

    def values(self, key: str) -> np.ndarray:
        """Draws of one output, converged draws only."""
        return self.draws[key][self.converged]

    def quantiles(self, key: str, levels: Sequence[float]) -> list[float | None]:
        v = self.values(key)
        v = v[np.isfinite(v)]
        if v.size == 0:
            return [None] * len(levels)
        return [float(q) for q in np.quantile(v, list(levels))]

    @property
    def probability_shortfall(self) -> float:
        """P(shortfall > threshold) over the converged draws."""
        s = self.values("shortfall")
        return float(np.count_nonzero(s > self.threshold) / s.size) if s.size else math.nan

    def summary(self) -> dict[str, Any]:
        outputs = {}
        for key, (label, unit) in OUTPUTS.items():
            p05, p50, p95 = self.quantiles(key, (0.05, 0.5, 0.95))
            v = self.values(key)
            v = v[np.isfinite(v)]
            outputs[key] = {
                "label": label,
                "unit": unit,
                "median": p50,
                "p05": p05,
                "p95": p95,
                "mean": float(v.mean()) if v.size else None,
                "point": _json_num(self.point.get(key, math.nan)),
            }
        nconv = int(self.converged.sum())
        n = int(self.converged.size)
        return {
            "name": self.name,
            "countries": self.countries,
            "draws": n,
            "converged_draws": nconv,
            "nonconverged_draws": n - nconv,
            "parameters": {r.parameter: r.to_dict() for r in self.ranges},
            "disruption_events": self.events,
            "disrupted_share": float(np.count_nonzero(self.draws["disruptions"] > 0) / n),
            "outputs": outputs,
            "shortfall": {
                "threshold": self.threshold,
                "probability_above_threshold": _json_num(self.probability_shortfall),
                "unit": self.facts["unit"],
                "baseline_zone_demand": self.facts["baseline_zone_demand"],
                "baseline_zone_net_imports": self.facts["net_imports"],
            },
            "stockpile": self.stockpile.to_dict(),
        }


@dataclass
class UncertaintyResult:
    """All draws of a scenario; ``to_dict()`` is the ``--json`` output."""

    scenario: Scenario
    settings: UncertaintySettings
    chunk_size: int
    engine: str
    workers: int
    products: dict[str, ProductUncertainty]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def draws(self) -> int:
        return self.settings.draws

    @property
    def converged(self) -> bool:
        return all(bool(p.converged.all()) for p in self.products.values())

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "scenario": self.scenario.name,
            "draws": s.draws,
            "seed": s.seed,
            "chunk_size": self.chunk_size,
            "engine": self.engine,
            "workers": self.workers,
            "shortfall_threshold": s.shortfall_threshold,
            "shortfall_reference": s.reference,
            "coverage": s.coverage,
            "duration_days": s.duration_days,
            "converged": self.converged,
            "timings": self.timings,
            "products": {pid: p.summary() for pid, p in self.products.items()},
        }

    def frame(self) -> Any:
        """Every draw of every product as one pandas DataFrame (long: product, draw, ...)."""
        import pandas as pd

        parts = []
        for pid, p in self.products.items():
            df = pd.DataFrame(p.draws)
            df.insert(0, "draw", np.arange(len(df)))
            df.insert(0, "product", pid)
            parts.append(df)
        return pd.concat(parts, ignore_index=True)


def fan_data(
    result: UncertaintyResult, levels: Sequence[float] = FAN_LEVELS
) -> dict[str, dict[str, Any]]:
    """Quantile bands for fan charts, per product and key output (JSON-safe).

    ``{product_id: {"name", "levels": [0.05, ...], "outputs": {key: {"label", "unit",
    "quantiles": [one value per level], "point": value at the point estimate}}}}``. Draw nested
    bands between symmetric levels (5-95, 10-90, 25-75) and a line at the median (0.5).
    """
    out: dict[str, dict[str, Any]] = {}
    for pid, p in result.products.items():
        outputs = {
            key: {
                "label": label,
                "unit": unit,
                "quantiles": p.quantiles(key, levels),
                "point": _json_num(p.point.get(key, math.nan)),
            }
            for key, (label, unit) in OUTPUTS.items()
        }
        out[pid] = {
            "name": p.name,
            "draws": int(p.converged.sum()),
            "levels": list(levels),
            "outputs": outputs,
        }
    return out


# ----------------------------------------------------------------------------- entry point


def _settings(scenario: Scenario, overrides: dict[str, Any]) -> UncertaintySettings:
    base = (scenario.uncertainty or UncertaintySettings()).model_dump()
    base.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return UncertaintySettings.model_validate(base)
    except ValidationError as exc:
        e = exc.errors(include_url=False)[0]
        loc = ".".join(str(x) for x in e["loc"])
        raise CritminError(
            f"uncertainty option '{loc}': {str(e['msg']).removeprefix('Value error, ')}"
        ) from None


def run_uncertainty(
    source: str | Path | dict[str, Any] | Scenario,
    *,
    draws: int | None = None,
    seed: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    scheduler: Any = None,
    workers: int | None = None,
    shortfall_threshold: float | None = None,
    coverage: float | None = None,
    duration_days: float | None = None,
    reference: str | None = None,
    progress: Progress | None = None,
    world: World | None = None,
) -> UncertaintyResult:
    """Sample, solve and summarise ``draws`` Monte Carlo draws of a scenario.

    Arguments left ``None`` come from the scenario's ``[uncertainty]`` table, else the defaults
    of :class:`critmin.scenario.UncertaintySettings`. ``scheduler``: ``None`` runs locally on
    ``workers`` processes (default: every core, or this process alone for runs of fewer than
    :data:`POOL_MIN_DRAWS` product-draws; 1 = in this process); a Dask scheduler address
    (``tcp://host:port``) or a ``distributed.Client`` runs one task per chunk on that cluster.
    ``progress(done, total)`` is called as chunks finish (counts of product draws).
    """
    from critmin.scenario.resolution import resolve

    t_start = time.perf_counter()
    scenario = load_scenario(source)
    settings = _settings(
        scenario,
        {
            "draws": draws,
            "seed": seed,
            "shortfall_threshold": shortfall_threshold,
            "coverage": coverage,
            "duration_days": duration_days,
            "reference": reference,
        },
    )
    if chunk_size < 1:
        raise CritminError(f"chunk size must be at least 1, got {chunk_size}")
    world, resolved = resolve(scenario, world)
    built = [build_task(world, scenario, rp, settings) for rp in resolved]
    tasks = [t for t, _ in built]
    # the point estimate: point elasticities, the scenario's policies, no disruption event
    with single_thread_blas():
        point_sols = solve_batch([rp.market for rp in resolved], [rp.policy for rp in resolved])
    t_resolved = time.perf_counter()

    N = settings.draws
    jobs = [
        (ti, start, min(start + chunk_size, N))
        for ti in range(len(tasks))
        for start in range(0, N, chunk_size)
    ]
    if scheduler is None:
        if workers is not None:
            nworkers = workers
        elif N * len(tasks) < POOL_MIN_DRAWS:
            nworkers = 1
        else:
            nworkers = os.cpu_count() or 1
        results = _run_local(tasks, jobs, settings.seed, nworkers, progress)
        engine = "local" if nworkers <= 1 or len(jobs) == 1 else "local-processes"
        nworkers = 1 if engine == "local" else min(nworkers, len(jobs))
    else:
        results, nworkers = _run_dask(tasks, jobs, settings.seed, scheduler, progress)
        engine = "dask"
    t_solved = time.perf_counter()

    products: dict[str, ProductUncertainty] = {}
    for ti, (task, facts) in enumerate(built):
        parts = [res for (tj, _, _), res in zip(jobs, results, strict=True) if tj == ti]
        arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        point = {
            k: v for k, v in key_outputs(task, point_sols[ti]).items() if not k.startswith("_")
        }
        if settings.reference == "no_disruption":
            point["shortfall"] = point["shortfall_t"] = 0.0
        ok = arrays["converged"]
        shortfall = arrays["shortfall_t"][ok]
        stock = size_stockpile(
            shortfall if shortfall.size else np.zeros(1),
            coverage=settings.coverage,
            duration_days=settings.duration_days,
            baseline_demand_t=facts["baseline_zone_demand"],
            net_imports_t=facts["net_imports"],
            reference_price_usd_per_t=facts["reference_price_usd_per_t"],
            reference_price_basis=facts["reference_price_basis"],
            content_factor=facts["content_factor"],
            unit=facts["unit"],
        )
        events = [
            {"disruption": ev.disruption, "exporter": ev.exporter, "probability": ev.probability}
            for ev in task.events
        ]
        products[task.product_id] = ProductUncertainty(
            product_id=task.product_id,
            name=facts["name"],
            countries=facts["countries"],
            draws=arrays,
            point=point,
            ranges=task.ranges,
            events=events,
            facts=facts,
            stockpile=stock,
            threshold=settings.shortfall_threshold,
        )
    t_end = time.perf_counter()
    solve_s = t_solved - t_resolved
    timings = {
        "resolve_seconds": t_resolved - t_start,
        "solve_seconds": solve_s,
        "summary_seconds": t_end - t_solved,
        "total_seconds": t_end - t_start,
        "draws_per_second": N / solve_s if solve_s > 0 else math.inf,
        "product_draws_per_second": N * len(tasks) / solve_s if solve_s > 0 else math.inf,
    }
    return UncertaintyResult(
        scenario=scenario,
        settings=settings,
        chunk_size=chunk_size,
        engine=engine,
        workers=nworkers,
        products=products,
        timings=timings,
    )
