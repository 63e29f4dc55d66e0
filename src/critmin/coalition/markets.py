"""Solving coalitions in batches: one resolved market, many member masks.

A product is resolved once (:func:`critmin.scenario.resolution.resolve`); a coalition changes
only which countries are members. For each member mask the scenario's policies are rebuilt by
:func:`critmin.scenario.resolution.build_policy` (policies that say "members"/"non-members",
floors and the watch list follow the zone), the masks are solved together by the compiled
solver (:func:`critmin.model.solve_batch`) and each solution is reduced to the quantities
:data:`QUANTITIES` (baseline-price values, as :func:`critmin.simulation.zone_shares` and the
``summary`` of :func:`critmin.simulate` define them):

* ``zone_demand = sum_{i, j in Z} q_ij``, ``zone_internal = sum_{i in Z, j in Z} q_ij``,
  ``watch_to_zone = sum_{i in W \\ Z, j in Z} q_ij`` with ``q = V x`` (baseline-value units);
* ``zone_welfare = sum_{j in Z} welfare_j``, ``world_welfare = sum_j welfare_j`` (USD);
* ``converged`` (1/0) and ``iterations``.

The watch countries of a coalition are the scenario's watch list minus the coalition's members
(as :func:`critmin.scenario.resolution.zone_codes` drops watch countries that are members).

:func:`solve_masks` is a pure function of its arguments: it is what every engine runs (this
process, a local process pool, or a Dask cluster), and the solver's result for a market does not
depend on the other markets of its batch (one BLAS thread for these system sizes), so every
engine gives the same numbers bit for bit.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import multiprocessing
import os
import signal
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

import numpy as np

from critmin.baseline import ProductBaseline
from critmin.coalition.cache import CACHE_VERSION, CoalitionCache, mask_key
from critmin.errors import CritminError, ScenarioError, UnknownCountryError
from critmin.model.core import Market
from critmin.model.solver import CHUNK_ELEMENTS, solve_batch, warm_up
from critmin.parallel import collect, dask_client, deferred_interrupts, one_blas_thread
from critmin.scenario.resolution import ResolvedProduct, build_policy
from critmin.scenario.spec import Scenario
from critmin.world import World

__all__ = [
    "QUANTITIES",
    "Job",
    "PolicyCountries",
    "ProductTask",
    "Solved",
    "chunk_jobs",
    "run_jobs",
    "solve_coalitions",
    "solve_masks",
]

QUANTITIES = (
    "zone_demand",
    "zone_internal",
    "watch_to_zone",
    "zone_welfare",
    "world_welfare",
    "converged",
    "iterations",
)
"""What :func:`solve_masks` returns per mask, in this column order."""
POOL_MIN_MASKS = 1500
"""With ``workers`` left to the default, fewer markets to solve than this stay in-process
(starting worker processes costs seconds; the numbers are the same either way)."""
MASKS_PER_JOB_MAX = 256
"""At most this many masks per task (memory and progress granularity; results do not depend
on it)."""


@dataclass(frozen=True)
class PolicyCountries:
    """The world as :func:`build_policy` sees it: the country lists named in the scenario's
    policies (``exporters = ["CHN"]``), resolved once on the client.

    ``build_policy`` needs the world only to resolve those lists; carrying the few answers in
    the task spares every worker process loading the bundled data (seconds) and resolving the
    same list for every mask (about 1 ms, a fifth of a magnet market's solve). An item not
    resolved here raises :class:`UnknownCountryError`, as the world would.
    """

    resolved: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, world: World, scenario: Scenario) -> PolicyCountries:
        items: set[str] = set()
        for pol in scenario.policy:
            for selector in (getattr(pol, "exporters", None), getattr(pol, "importers", None)):
                if isinstance(selector, list):
                    items.update(selector)
        resolved = {}
        for item in sorted(items):
            if item.strip().lower() in {"watch", "members", "non-members", "all"}:
                continue
            try:
                resolved[item.strip().upper()] = tuple(world.resolve_countries([item]))
            except CritminError:
                continue  # build_policy reports it (resolve already did, for the scenario)
        return cls(resolved)

    def resolve_countries(self, items: list[str] | str) -> list[str]:
        out: set[str] = set()
        for item in [items] if isinstance(items, str) else items:
            key = item.strip().upper()
            if key not in self.resolved:
                raise UnknownCountryError(f"unknown country or group {item!r}")
            out.update(self.resolved[key])
        return sorted(out)


@dataclass(frozen=True, eq=False)
class ProductTask:
    """One resolved market and everything a worker needs to solve member masks of it.

    Picklable and light (no World): the policies' country lists travel resolved
    (:class:`PolicyCountries`).
    """

    product_id: str
    stage: str
    scenario: Scenario
    baseline: ProductBaseline
    sigma: float
    eta: float
    eps: np.ndarray
    watch_all: np.ndarray  # the scenario's watch list over the market's countries
    countries: PolicyCountries

    @classmethod
    def from_resolved(
        cls,
        scenario: Scenario,
        rp: ResolvedProduct,
        watch_codes: list[str],
        countries: PolicyCountries,
    ) -> ProductTask:
        base = rp.baseline
        return cls(
            product_id=rp.spec.id,
            stage=base.stage,
            scenario=scenario,
            baseline=base,
            sigma=rp.elasticities.sigma,
            eta=rp.elasticities.eta,
            eps=rp.elasticities.eps,
            watch_all=base.index(watch_codes),
            countries=countries,
        )

    @property
    def n(self) -> int:
        return self.baseline.n

    @cached_property
    def market(self) -> Market:
        base = self.baseline
        return Market(V=base.V, t0=base.t0, sigma=self.sigma, eta=self.eta, eps=self.eps)

    @cached_property
    def key(self) -> str:
        """The market's cache key: a hash of every input the solutions depend on: the
        baseline arrays, elasticities and watch list, and every scenario table that
        :func:`critmin.scenario.resolution.build_policy` reads for a coalition's policy (the
        ``[[policy]]`` entries and the ``[[shock]]`` demand and supply shifters)."""
        base = self.baseline
        h = hashlib.sha256()
        meta = {
            "version": CACHE_VERSION,
            "product": self.product_id,
            "year": self.scenario.year,
            "countries": list(base.countries),
            "sigma": self.sigma,
            "eta": self.eta,
            "policies": [p.model_dump(mode="json") for p in self.scenario.policy],
            "shocks": [s.model_dump(mode="json") for s in self.scenario.shock],
        }
        h.update(json.dumps(meta, sort_keys=True).encode())
        for arr in (base.V, base.t0, base.p0, self.eps, self.watch_all):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()[:32]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("market", None)  # rebuilt (and re-validated) where it is used
        return state


IN_A_COALITION = (
    " (in a coalition the analysis values, where candidates join the zone; the scenario "
    "alone is valid: leave that country out of the candidates or out of the policy)"
)
"""What a policy error raised for a coalition's zone adds to its message."""


def _coalition_policy(world: World, task: ProductTask, members: np.ndarray) -> Any:
    """The scenario's policy for one coalition (``members``): a policy that cannot apply with
    that zone (a country that joins is a leak's via or a restricted destination) is named with
    the coalition, since the scenario alone is valid."""
    try:
        return build_policy(
            world, task.scenario, task.baseline, members, task.watch_all & ~members, []
        )
    except ScenarioError as err:
        raise ScenarioError(err.field, f"{err.problem}{IN_A_COALITION}") from None


def solve_masks(task: ProductTask, masks: np.ndarray) -> np.ndarray:
    """The :data:`QUANTITIES` of the market under each member mask, ``(B, len(QUANTITIES))``.

    ``masks`` is ``(B, n)`` bool. Pure: the same inputs give the same bits in any process.
    """
    world = cast(World, task.countries)
    masks = np.asarray(masks, dtype=np.bool_)
    out = np.zeros((len(masks), len(QUANTITIES)))
    step = max(1, CHUNK_ELEMENTS // max(task.n * task.n, 1))
    for start in range(0, len(masks), step):
        block = masks[start : start + step]
        policies = [_coalition_policy(world, task, m) for m in block]
        solutions = solve_batch([task.market] * len(block), policies)
        for b, (m, sol) in enumerate(zip(block, solutions, strict=True)):
            q = sol.q
            w = task.watch_all & ~m
            to_zone = q[:, m]
            out[start + b] = (
                to_zone.sum(),
                to_zone[m].sum(),
                to_zone[w].sum(),
                float(np.nansum(sol.welfare[m])),
                float(np.nansum(sol.welfare)),
                float(sol.converged),
                float(sol.iterations),
            )
        del policies, solutions
    return out


# ----------------------------------------------------------------------------- coalitions

Job = tuple[int, int, np.ndarray]  # task index, first row within the task's masks, masks (B, n)
Progress = Callable[[int, int], None]


@dataclass
class Solved:
    """The quantities of every coalition in every market, and how they were obtained."""

    quantities: np.ndarray  # (coalitions, markets, len(QUANTITIES))
    solved: int
    cache_hits: int
    nonconverged: int
    engine: str
    workers: int
    seconds: float


def solve_coalitions(
    tasks: list[ProductTask],
    actor_countries: list[np.ndarray],
    coalitions: np.ndarray,
    cache: CoalitionCache,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> Solved:
    """Solve each market under each coalition, every distinct member mask once.

    ``coalitions`` is ``(C, A)`` 0/1 (which actors are in); ``actor_countries[t]`` is ``(A, n)``
    0/1 (the countries each actor makes members of market ``t``: its codes, where its scope
    covers the market). A market's member mask is the union over the coalition's actors. Masks
    found in ``cache`` are not solved again; converged new ones are added to it.
    """
    t0 = time.perf_counter()
    col_conv = QUANTITIES.index("converged")
    quantities = np.zeros((len(coalitions), len(tasks), len(QUANTITIES)))
    plans = []
    pending: list[np.ndarray] = []
    hits = 0
    for task, countries in zip(tasks, actor_countries, strict=True):
        masks = (coalitions @ countries) > 0
        unique, inverse = np.unique(masks, axis=0, return_inverse=True)
        keys = [mask_key(m) for m in unique]
        cached = cache.load(task.key)
        values = np.full((len(unique), len(QUANTITIES)), np.nan)
        missing = []
        for u, key in enumerate(keys):
            if key in cached and len(cached[key]) == len(QUANTITIES):
                values[u] = cached[key]
                hits += 1
            else:
                missing.append(u)
        pending.append(unique[missing])
        plans.append((values, np.array(missing, dtype=np.int64), keys, inverse.reshape(-1)))
    n_solve = sum(len(m) for m in pending)
    if workers is None:
        workers = (os.cpu_count() or 1) if n_solve >= POOL_MIN_MASKS else 1
    jobs = chunk_jobs(tasks, pending, workers if scheduler is None else 2)
    if n_solve:
        warm_up()
    results, engine, used = run_jobs(
        tasks, jobs, workers=workers, scheduler=scheduler, progress=progress
    )
    for (ti, start, ms), res in zip(jobs, results, strict=True):
        values, missing_rows, _, _ = plans[ti]
        values[missing_rows[start : start + len(ms)]] = res
    nonconverged = 0
    for ti, (task, (values, missing_rows, keys, inverse)) in enumerate(
        zip(tasks, plans, strict=True)
    ):
        if len(missing_rows):
            nonconverged += int((values[missing_rows, col_conv] < 1).sum())
            cache.store(
                task.key, {keys[u]: values[u] for u in missing_rows if values[u, col_conv] == 1}
            )
        quantities[:, ti] = values[inverse]
    return Solved(quantities, n_solve, hits, nonconverged, engine, used, time.perf_counter() - t0)


# ----------------------------------------------------------------------------- engines


def chunk_jobs(tasks: list[ProductTask], masks: list[np.ndarray], workers: int) -> list[Job]:
    """Cut each task's masks into jobs: at most :data:`MASKS_PER_JOB_MAX` masks and about
    ``CHUNK_ELEMENTS / n^2`` (memory), and enough jobs to keep ``workers`` busy."""
    total = sum(len(m) for m in masks)
    jobs: list[Job] = []
    for ti, (task, ms) in enumerate(zip(tasks, masks, strict=True)):
        if not len(ms):
            continue
        cap = max(1, min(MASKS_PER_JOB_MAX, CHUNK_ELEMENTS // max(task.n * task.n, 1)))
        if workers > 1:
            cap = max(1, min(cap, -(-total // (4 * workers))))
        for start in range(0, len(ms), cap):
            jobs.append((ti, start, ms[start : start + cap]))
    # most expensive first (cost ~ masks x n^2): a big market does not run alone at the end
    jobs.sort(key=lambda j: -len(j[2]) * tasks[j[0]].n ** 2)
    return jobs


_POOL_TASKS: list[ProductTask] = []
_PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent ends


def _init_pool(tasks: list[ProductTask]) -> None:
    """A worker process's start: the tasks; Ctrl-C left to the parent (a terminal's Ctrl-C
    reaches every process of its group: a worker would print a traceback), and the worker
    ends with its parent (Linux: ``PR_SET_PDEATHSIG``), so that killing the parent leaves no
    orphan computing on."""
    global _POOL_TASKS
    _POOL_TASKS = tasks
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before the line above: end now
            os._exit(1)


def _pool_job(ti: int, masks: np.ndarray) -> np.ndarray:
    return solve_masks(_POOL_TASKS[ti], masks)


def run_jobs(
    tasks: list[ProductTask],
    jobs: list[Job],
    *,
    workers: int = 1,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> tuple[list[np.ndarray], str, int]:
    """Solve every job; returns the results in job order, the engine and its worker count.

    ``scheduler``: a Dask scheduler address (``tcp://host:port``) or a ``distributed.Client``;
    else ``workers`` local processes (1 = this process).
    """
    total = sum(len(m) for _, _, m in jobs)
    results: list[np.ndarray | None] = [None] * len(jobs)
    done = 0

    def finished(k: int, value: np.ndarray) -> None:
        nonlocal done
        results[k] = value
        done += len(jobs[k][2])
        if progress:
            progress(done, total)

    if scheduler is not None:
        nworkers = _run_dask(tasks, jobs, scheduler, finished)
        engine = "dask"
    elif workers <= 1 or len(jobs) <= 1:
        for k, (ti, _, ms) in enumerate(jobs):
            finished(k, solve_masks(tasks[ti], ms))
        engine, nworkers = "local", 1
    else:
        nworkers = min(workers, len(jobs))
        _run_processes(tasks, jobs, nworkers, finished)
        engine = "local"
    return [r for r in results if r is not None], engine, nworkers


def _run_processes(
    tasks: list[ProductTask],
    jobs: list[Job],
    nworkers: int,
    finished: Callable[[int, np.ndarray], None],
) -> None:
    """The jobs on ``nworkers`` spawned worker processes (one BLAS thread each; the batches'
    Python, policies and reductions per mask, runs in parallel there, which threads would
    not). The parent only waits; Ctrl-C there (:func:`critmin.parallel.deferred_interrupts`)
    or an error terminates the workers at once instead of letting them finish their jobs
    (which took 3-7 s), then is raised."""
    ctx = multiprocessing.get_context("spawn")
    with one_blas_thread():
        pool = ProcessPoolExecutor(
            max_workers=nworkers, mp_context=ctx, initializer=_init_pool, initargs=(tasks,)
        )
    completed = False
    with deferred_interrupts() as check:
        try:
            futs = {pool.submit(_pool_job, ti, ms): k for k, (ti, _, ms) in enumerate(jobs)}
            collect(futs, finished, check)
            completed = True
        finally:
            if not completed:  # the workers' jobs are of no use now: stop them, not wait
                for proc in list((getattr(pool, "_processes", None) or {}).values()):
                    with contextlib.suppress(OSError, ValueError):
                        proc.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            if not completed:  # and multiprocessing's resource tracker, which would outlive us
                _stop_resource_tracker()


def _stop_resource_tracker() -> None:
    """Stop multiprocessing's resource-tracker process now (it ends by itself once this
    process has ended, about a second later); a later pool starts it again."""
    from multiprocessing import resource_tracker

    with contextlib.suppress(Exception):  # a private API: at worst it ends by itself
        resource_tracker._resource_tracker._stop()  # type: ignore[attr-defined]


def _run_dask(
    tasks: list[ProductTask],
    jobs: list[Job],
    scheduler: Any,
    finished: Callable[[int, np.ndarray], None],
) -> int:
    """One Dask task per job; the product tasks are scattered to every worker once."""
    from distributed import as_completed as dask_completed

    with dask_client(scheduler) as client:
        nworkers = len(client.scheduler_info().get("workers", {}))
        token = uuid.uuid4().hex[:10]
        remote = client.scatter(tasks, broadcast=True, hash=False)
        futures = [
            client.submit(
                solve_masks,
                remote[ti],
                ms,
                key=f"critmin-coalition-{token}-{k}",
                priority=len(jobs) - k,
            )
            for k, (ti, _, ms) in enumerate(jobs)
        ]
        index = {f.key: k for k, f in enumerate(futures)}
        for fut in dask_completed(futures, loop=client.loop):
            finished(index[fut.key], fut.result())
        del futures, remote
        return nworkers
