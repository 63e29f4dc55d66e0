"""Solving draws: one product's task, its draws solved and reduced in compiled code.

A :class:`ProductTask` holds one resolved product as plain arrays (picklable, no ``World``), so
that any engine (threads here, Dask workers elsewhere) can solve any chunk of its draws with
:func:`solve_chunk`, a pure function of ``(task, seed, start, stop)``.

How a chunk is solved (no ``n x n`` array and no :class:`critmin.model.Solution` per draw):

* draws are grouped by their *pattern*: which disruption events fired, and whether the draw's
  ``eta`` or supply-elasticity factor is 0 (these change which prices are determined, so
  the system's layout). Each pattern's pair lists are built once per task and process
  (:func:`critmin.model.core.stack` of one market), together with its point solution: the
  point elasticities under the pattern's policy, solved from the baseline;
* each draw is solved by the compiled Newton iteration warm-started from its pattern's point
  solution, and its key outputs are computed from the pair lists in the same compiled call
  (:func:`critmin.model.kernels.solve_draws`);
* a draw on which that iteration fails is solved again from the baseline with every fallback
  of :func:`critmin.model.solver.solve_batch` (:func:`critmin.model.solver.solve_unknowns`),
  then reduced by :func:`critmin.model.kernels.outputs_at`.

A product with quota groups, trade costs or uncertain grant shares is solved
draw by draw instead (:mod:`critmin.uncertainty.solutions`).

A draw's result depends only on its parameters and its pattern (never on the other draws of
its chunk), so the numbers are the same whichever engine, chunking or thread solves it.
"""

from __future__ import annotations

import functools
import math
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.model.compiled import DRAW_OUTPUTS, outputs_at, solve_draws
from critmin.model.core import Market, Policy, ResolvedPolicy, Stack
from critmin.model.solver import solve_unknowns
from critmin.scenario import PriceFloorPolicy, Scenario, UncertaintySettings
from critmin.uncertainty.licensing import (
    LicenceRange,
    LicensedPolicies,
    RecordedSelection,
    draw_shares,
    licence_ranges,
    point_shares,
)
from critmin.uncertainty.sampling import (
    ParameterRange,
    _apply,
    _key,
    draw_uniforms,
    multiplier,
    parameter_ranges,
)
from critmin.uncertainty.solutions import solve_by_solutions

if TYPE_CHECKING:
    from critmin.scenario.resolution import ResolvedProduct
    from critmin.world import World

TOL = 1e-12
"""Residual tolerance of every draw (as :func:`critmin.model.solve`)."""
MAX_ITER = 100

OUTPUT_KEYS = (
    "zone_consumer_price_change_pct",
    "outside_consumer_price_change_pct",
    "self_sufficiency",
    "watch_share",
    "zone_welfare_change_usd",
    "outside_welfare_change_usd",
    "world_welfare_change_usd",
    "tariff_revenue_change_usd",
    "subsidy_cost_usd",
)
"""The compiled outputs, in the order of :data:`critmin.model.kernels.DRAW_OUTPUTS` (then
zone consumption ``Q`` and the largest residual)."""


class ChunkCancelled(Exception):
    """A chunk stopped early because its caller set the cancel flag (Ctrl-C)."""


def never() -> np.ndarray:
    """A cancel flag that is never set."""
    return np.zeros(1, dtype=np.int64)


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
    controls: Policy | None = None  # the model policy, for products solved draw by draw
    licences: tuple[LicenceRange, ...] = ()
    licensed: LicensedPolicies | None = None

    @property
    def n(self) -> int:
        return int(self.V.shape[0])

    @functools.cached_property
    def E(self) -> np.ndarray:
        """Baseline expenditure per buyer, as ``simulation.product_result`` computes it."""
        return np.asarray((self.V * (1 + self.t0)).sum(axis=0))

    @functools.cached_property
    def kernel_inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``E``, ``members`` and ``watch`` as the draws kernels take them: writable
        C-contiguous float64, bool and bool arrays, the argument types the kernels' ahead-of-time
        build exports (:mod:`critmin.model.compiled`; a read-only array is another type, which
        would run through Numba's JIT instead)."""
        return (
            np.require(self.E, np.float64, ["C", "W"]),
            np.require(self.members, np.bool_, ["C", "W"]),
            np.require(self.watch, np.bool_, ["C", "W"]),
        )

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

    @property
    def by_solutions(self) -> bool:
        """Whether draws are solved one model solution each (quota groups, trade costs or
        uncertain grant shares: :mod:`critmin.uncertainty.solutions`) rather than by the
        compiled draws kernel (which takes market shocks)."""
        return self.controls is not None

    def market(self, sigma: float, eta: float, eps: np.ndarray) -> Market:
        return Market(V=self.V, t0=self.t0, sigma=sigma, eta=eta, eps=eps)

    def disrupted_policy(self, fired: np.ndarray) -> Policy:
        """The scenario's policy with the bans of the events ``fired`` (bool per event); its
        market shocks kept."""
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
            demand_shift=p.demand_shift,
            supply_shift=p.supply_shift,
        )

    def point_outputs(self) -> dict[str, float]:
        """The key outputs at the point elasticities, the scenario's policies and no event:
        the same compiled reduction as every draw (a zero-width range reproduces it bit for
        bit). Shortfalls are relative to the baseline (0 for ``no_disruption``). NaN where
        that solve did not converge (:meth:`point_solve`)."""
        return self.point_solve()[0]

    def point_solve(self) -> tuple[dict[str, float], bool]:
        """:meth:`point_outputs` and whether that solve converged (its outputs are NaN if
        not: an unconverged iterate is no estimate)."""
        values, _, ok = _solve_draws(
            self,
            np.zeros((1, len(self.events)), dtype=np.bool_),
            np.array([self.sigma]),
            np.array([self.eta]),
            np.ones(1),
            point_shares(self.licences),
            never(),
        )
        converged = bool(ok[0])
        out = {
            k: float(v[0]) if converged else math.nan
            for k, v in derived_outputs(self, values).items()
        }
        if self.reference == "no_disruption" and converged:
            out["shortfall"] = out["shortfall_t"] = 0.0
        return out, converged


def derived_outputs(task: ProductTask, values: np.ndarray) -> dict[str, np.ndarray]:
    """Per-draw outputs by key from the compiled outputs ``(D, DRAW_OUTPUTS)``: the first
    nine as computed, then zone consumption change and the shortfall (share and tonnes)
    relative to the baseline zone consumption ``Q0``."""
    D = values.shape[0]
    out = {k: values[:, i].copy() for i, k in enumerate(OUTPUT_KEYS)}
    Q = values[:, DRAW_OUTPUTS - 2]
    Q0 = task.Q0
    lost = np.maximum(Q0 - Q, 0.0)
    out["zone_consumption_change_pct"] = (Q / Q0 - 1.0) * 100.0 if Q0 > 0 else np.full(D, np.nan)
    out["shortfall"] = lost / Q0 if Q0 > 0 else np.zeros(D)
    out["shortfall_t"] = lost / task.unit_value
    return out


def build_task(
    world: World,
    scenario: Scenario,
    rp: ResolvedProduct,
    settings: UncertaintySettings,
    user_codes: frozenset[str] = frozenset(),
) -> tuple[ProductTask, dict[str, Any]]:
    """A picklable task for one resolved product, and the facts the summary needs.

    ``user_codes``: the country codes of the scenario's own flows files (as ``resolve`` takes
    them), for the countries a licensing policy selects in each draw."""
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
    licences = licence_ranges(scenario, base.product_id, "grant_share" in settings.fixed)
    controls: Policy | None = None
    licensed: LicensedPolicies | None = None
    if licences:

        def select(selector: Any, field_name: str) -> np.ndarray:
            return select_countries(world, selector, m, rp.watch, base, field_name, user_codes)

        recorded = RecordedSelection(select)
        licensed = LicensedPolicies(scenario, base, m, rp.watch, licences, recorded)
        controls = licensed.policy(point_shares(licences)[0])  # records every selection
        recorded.freeze()
    elif rp.policy.has_groups:
        controls = rp.policy
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
        controls=controls,
        licences=licences,
        licensed=licensed,
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


# ----------------------------------------------------------------------------- patterns


class _Pattern:
    """The layout key of a draw: events fired, ``eta == 0``, supply factor ``== 0``."""

    def __init__(self, task: ProductTask, fired: tuple[int, ...], eta0: bool, eps0: bool):
        self.task = task
        self.key = (fired, eta0, eps0)

    def market(self, sigma: float, eta: float, factor: float) -> Market:
        t = self.task
        return t.market(sigma, eta, t.eps if factor == 1.0 else t.eps * factor)

    def policy(self) -> ResolvedPolicy:
        fired = self.key[0]
        if not fired:
            return self.task.policy
        mask = np.zeros(len(self.task.events), dtype=np.bool_)
        mask[list(fired)] = True
        # resolved (for the market's n and t0): the batched solver takes market shocks so
        t = self.task
        return t.disrupted_policy(mask).resolve(t.market(t.sigma, t.eta, t.eps))


@dataclass(frozen=True, eq=False)
class _Compiled:
    """One pattern's pair lists and point solution, as the compiled draws kernel reads them."""

    stack: Stack
    z0: np.ndarray
    subsidy_floor: np.ndarray
    pt1: np.ndarray
    pF: np.ndarray
    rev0: np.ndarray


_CACHE: weakref.WeakKeyDictionary[ProductTask, dict[Any, _Compiled]] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def _compiled(pattern: _Pattern) -> _Compiled:
    """The pattern's pair lists and point solution, built once per task and process."""
    task = pattern.task
    with _CACHE_LOCK:
        found = _CACHE.setdefault(task, {}).get(pattern.key)
    if found is not None:
        return found
    _, eta0, eps0 = pattern.key
    market = pattern.market(task.sigma, 0.0 if eta0 else task.eta, 0.0 if eps0 else 1.0)
    resolved = pattern.policy()
    st, z, _, done = solve_unknowns([market], [resolved], tol=TOL, max_iter=MAX_ITER)
    n = task.n
    built = _Compiled(
        stack=st,
        z0=z[0] if done[0] else np.zeros(st.N),  # no point solution: start from the baseline
        subsidy_floor=np.ascontiguousarray(resolved.subsidy_floor, dtype=np.float64),
        pt1=np.ascontiguousarray(st.pt1[0]),
        pF=np.ascontiguousarray(st.pF[0]),
        rev0=np.ascontiguousarray(st.rev0[0, :n]),
    )
    with _CACHE_LOCK:
        return _CACHE[task].setdefault(pattern.key, built)


def _solve_pattern(
    task: ProductTask,
    pattern: _Pattern,
    sigma: np.ndarray,
    eta: np.ndarray,
    factor: np.ndarray,
    cancel: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outputs ``(D, DRAW_OUTPUTS)``, iterations and convergence of draws of one pattern."""
    c = _compiled(pattern)
    eps = np.where(factor[:, None] == 1.0, task.eps[None, :], task.eps[None, :] * factor[:, None])
    eps = np.ascontiguousarray(eps)
    args = (c.subsidy_floor, c.pt1, c.pF, c.rev0, *task.kernel_inputs)
    _, out, iterations, status = solve_draws(
        c.stack.arrays, sigma, eta, eps, c.z0, TOL, MAX_ITER, *args, cancel
    )
    if cancel[0]:
        raise ChunkCancelled
    ok = (status == 1) & (out[:, DRAW_OUTPUTS - 1] <= TOL)
    failed = np.flatnonzero(~ok)
    if len(failed):  # from the baseline, with every fallback of solve_batch
        markets = [pattern.market(float(sigma[d]), float(eta[d]), float(factor[d])) for d in failed]
        policy = pattern.policy()
        _, z, more, _ = solve_unknowns(markets, [policy] * len(markets), tol=TOL, max_iter=MAX_ITER)
        again = outputs_at(
            c.stack.arrays, sigma[failed], eta[failed], eps[failed], np.ascontiguousarray(z), *args
        )
        out[failed] = again
        iterations[failed] += more
        ok[failed] = again[:, DRAW_OUTPUTS - 1] <= TOL
    return out, iterations, ok


def _solve_draws(
    task: ProductTask,
    fired: np.ndarray,
    sigma: np.ndarray,
    eta: np.ndarray,
    factor: np.ndarray,
    shares: np.ndarray,
    cancel: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outputs, iterations and convergence of draws with events ``fired`` ``(D, events)``
    and grant shares ``shares`` ``(D, K)`` (:mod:`critmin.uncertainty.licensing`)."""
    if task.by_solutions:
        out, iterations, ok = solve_by_solutions(
            task, fired, sigma, eta, factor, shares, cancel, TOL, MAX_ITER
        )
        if cancel[0]:
            raise ChunkCancelled
        return out, iterations, ok
    D = len(sigma)
    out = np.empty((D, DRAW_OUTPUTS))
    iterations = np.zeros(D, dtype=np.int64)
    ok = np.zeros(D, dtype=np.bool_)
    keys = [
        (tuple(np.flatnonzero(fired[d]).tolist()), bool(eta[d] == 0.0), bool(factor[d] == 0.0))
        for d in range(D)
    ]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for d, key in enumerate(keys):
        groups.setdefault(key, []).append(d)
    for key, members in groups.items():
        idx = np.asarray(members)
        pattern = _Pattern(task, *key)
        o, it, k = _solve_pattern(task, pattern, sigma[idx], eta[idx], factor[idx], cancel)
        out[idx], iterations[idx], ok[idx] = o, it, k
    return out, iterations, ok


def fired_events(task: ProductTask, seed: int, start: int, stop: int) -> np.ndarray:
    """Which of the task's disruption events fire in draws ``start..stop-1``: ``(draws,
    events)`` bool, each event from its own stream (``u < p``; one of probability 0 never
    fires), so the same whoever asks and however the draws are cut."""
    fired = np.zeros((stop - start, len(task.events)), dtype=np.bool_)
    for e, ev in enumerate(task.events):
        if ev.probability > 0.0:
            fired[:, e] = draw_uniforms(seed, ev.stream, start, stop, 1)[:, 0] < ev.probability
    return fired


def solve_chunk(
    task: ProductTask, seed: int, start: int, stop: int, cancel: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Sample and solve draws ``start..stop-1`` of one product; per-draw arrays by key.

    Keys: :data:`critmin.uncertainty.results.OUTPUTS`, the sampled inputs (``sigma``,
    ``demand_elasticity``, ``supply_elasticity_factor``, ``disruptions`` = events fired),
    ``converged`` and ``iterations``. A pure function of its arguments (the worker function of
    every engine). Shortfall: module docstring of :mod:`critmin.uncertainty`.

    ``cancel``: an ``int64`` array of one element the caller may set to 1 from another thread
    to stop the chunk within one draw (it then raises :class:`ChunkCancelled`).
    """
    cancel = never() if cancel is None else cancel
    u = draw_uniforms(seed, task.stream, start, stop, 3)
    r = [multiplier(u[:, k], task.ranges[k]) for k in range(3)]
    sigma = np.ascontiguousarray(_apply("sigma", task.sigma, r[0]), dtype=np.float64)
    eta = np.ascontiguousarray(_apply("demand_elasticity", task.eta, r[1]), dtype=np.float64)
    factor = np.ascontiguousarray(r[2], dtype=np.float64)
    fired = fired_events(task, seed, start, stop)
    hit: np.ndarray = np.asarray(fired.any(axis=1))
    shares = draw_shares(task.licences, seed, start, stop)
    values, iterations, ok = _solve_draws(task, fired, sigma, eta, factor, shares, cancel)
    out = derived_outputs(task, values)
    Q = values[:, DRAW_OUTPUTS - 2]
    if task.reference == "no_disruption":
        # relative to the same draw without its events: draws without events lose nothing
        out["shortfall_t"][:] = 0.0
        out["shortfall"][:] = 0.0
        if hit.any():
            idx = np.flatnonzero(hit)
            none = np.zeros((len(idx), len(task.events)), dtype=np.bool_)
            ref, _, ok_ref = _solve_draws(
                task, none, sigma[idx], eta[idx], factor[idx], shares[idx], cancel
            )
            Q_ref = ref[:, DRAW_OUTPUTS - 2]
            lost = np.maximum(Q_ref - Q[idx], 0.0)
            out["shortfall_t"][idx] = lost / task.unit_value
            out["shortfall"][idx] = np.divide(lost, Q_ref, out=np.zeros_like(lost), where=Q_ref > 0)
            ok[idx] &= ok_ref
    out["sigma"] = sigma
    out["demand_elasticity"] = eta
    out["supply_elasticity_factor"] = factor
    out["disruptions"] = fired.sum(axis=1).astype(np.int64)
    columns = [c for lic in task.licences for c in lic.columns]
    for c, name in enumerate(columns):
        out[name] = np.ascontiguousarray(shares[:, c])
    out["converged"] = ok
    out["iterations"] = iterations.astype(np.int64)
    return out
