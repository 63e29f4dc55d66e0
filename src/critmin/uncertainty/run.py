"""The entry point of a Monte Carlo run: :func:`run_uncertainty`."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from critmin.errors import CritminError
from critmin.note_kinds import WARNING_PREFIXES
from critmin.parallel import check_count
from critmin.scenario import Scenario, UncertaintySettings, load_scenario
from critmin.stockpile import size_stockpile, without_draws
from critmin.uncertainty.checks import (
    cut_off_in_draws,
    extreme_in_draws,
    idle_settings,
    nonfinite_in_draws,
    point_extremes,
)
from critmin.uncertainty.engines import Progress, run_dask, run_local
from critmin.uncertainty.results import ProductUncertainty, UncertaintyResult
from critmin.uncertainty.tasks import ProductTask, build_task
from critmin.util import check_results_fit

if TYPE_CHECKING:
    from critmin.world import World

DEFAULT_CHUNK_SIZE = 250
"""Draws per task (one compiled call). Results do not depend on it; it sets the granularity of
scheduling, progress and Ctrl-C."""


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


BYTES_PER_DRAW = 400
"""Peak memory per product and draw (bytes): 137 of result arrays (18 of them), their
chunks while they are joined, and the copies the percentiles sort."""


def _check_memory(draws: int, products: int) -> None:
    """Draws whose results fit in memory (:func:`critmin.util.check_results_fit`): 10^8
    draws of one product need about 40 GB, and the run grew until the OS killed it."""
    per_draw = max(products, 1) * BYTES_PER_DRAW
    check_results_fit(
        draws * per_draw,
        f"{draws:,} draws of {products} product(s)",
        lambda room: f"{int(room / per_draw):,} draws",
        "the 5th and 95th percentiles of 100,000 draws are within about 0.2 percentile points "
        "of their limits",
    )


def _point_estimates(tasks: list[ProductTask]) -> list[dict[str, float]]:
    """Each product's point estimate: the point elasticities, the scenario's policies, no
    disruption event, through the same compiled reduction as the draws. Solved before the
    draws: where it does not converge, neither would draws around it (a sigma a hair above
    1, fixed demand with a floor no supply can meet ...), and a server or a terminal would
    spend minutes on draws that all fail; one message names those products instead."""
    out = []
    failed = []
    for task in tasks:
        point, converged = task.point_solve()
        out.append(point)
        if not converged:
            failed.append(task.product_id)
    if failed:
        raise CritminError(
            f"the scenario does not solve at its own elasticities for {', '.join(failed)} "
            "(critmin simulate gives the solver's message), so no draws were run: draws "
            "around a point that does not solve would not solve either"
        )
    return out


BAND_DRAWS = 20
"""Fewer draws than this give no 5%-95% band: ``np.quantile`` of ``n < 20`` draws at 0.05 and
0.95 (linear interpolation at positions ``0.05 (n - 1)`` and ``0.95 (n - 1)``) lies between
the two smallest and the two largest draws, so the band is about the draws' range (and one
draw's band is that draw): such a run warns."""

CONTROLS = ("export_ban", "export_quota", "export_licensing")


def controls_are_no_disruption(scenario: Scenario, reference: str, events: bool) -> list[str]:
    """A ``no effect:`` warning for a scenario whose export controls are policies and which has
    no disruption event that removes trade: with ``reference = "no_disruption"`` the shortfall
    is what the events remove (docs/uncertainty.md, "Shortfall"), so every draw's shortfall and
    the stockpile are 0 by construction, whatever the controls cut (an antimony licence at
    0.80 showed a stockpile of 0 t and no word why)."""
    if reference != "no_disruption" or events:
        return []
    named = [f"policy[{k}] ({p.type})" for k, p in enumerate(scenario.policy) if p.type in CONTROLS]
    if not named:
        return []
    return [
        "no effect: shortfall and stockpile: with reference no_disruption they count only what "
        "[[disruption]] events remove, and this scenario has none that removes trade, so both "
        f"are 0 in every draw; its export controls ({', '.join(named)}) are policies, not "
        "disruptions: --reference baseline counts what they remove (so does giving a ban as a "
        "[[disruption]])"
    ]


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
    ``workers`` threads of this process (default: one per core; 1 = this thread alone; the
    compiled solver releases the GIL, so threads run in parallel); a Dask scheduler address
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
    check_count(chunk_size, "chunk size")
    if workers is not None:
        check_count(workers, "workers")
    world, resolved = resolve(scenario, world)
    # codes of the scenario's own flows files, as resolve() takes them (licensing draws)
    user_codes = frozenset(c for rp in resolved if rp.spec.flows for c in rp.baseline.countries)
    _check_memory(settings.draws, len(resolved))
    built = [build_task(world, scenario, rp, settings, user_codes) for rp in resolved]
    tasks = [t for t, _ in built]
    points = _point_estimates(tasks)
    t_resolved = time.perf_counter()

    N = settings.draws
    jobs = [
        (ti, start, min(start + chunk_size, N))
        for ti in range(len(tasks))
        for start in range(0, N, chunk_size)
    ]
    if scheduler is None:
        nworkers = workers if workers is not None else (os.cpu_count() or 1)
        if nworkers < 1:
            raise CritminError(f"workers must be at least 1, got {nworkers}")
        results = run_local(tasks, jobs, settings.seed, nworkers, progress)
        engine = "local" if nworkers <= 1 or len(jobs) == 1 else "local-threads"
        nworkers = 1 if engine == "local" else min(nworkers, len(jobs))
    else:
        results, nworkers = run_dask(tasks, jobs, settings.seed, scheduler, progress)
        engine = "dask"
    t_solved = time.perf_counter()

    products: dict[str, ProductUncertainty] = {}
    for ti, (task, facts) in enumerate(built):
        parts = [res for (tj, _, _), res in zip(jobs, results, strict=True) if tj == ti]
        arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        point = points[ti]
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
        if not shortfall.size:  # no draw converged: no stock to size (not 0 t from one 0)
            stock = without_draws(stock)
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
            licences=task.licences,
            facts=facts,
            stockpile=stock,
            threshold=settings.shortfall_threshold,
        )
    warnings = [  # every kind ("may have no effect", a destination control ...), as simulate
        f"{rp.baseline.product_id}: {note}"
        for rp, task in zip(resolved, tasks, strict=True)
        for note in [*rp.notes, *point_extremes(rp, task)]
        if note.startswith(WARNING_PREFIXES)
    ]
    hit = {ev.disruption for t in tasks for ev in t.events}
    for j, dis in enumerate(scenario.disruption):
        if dis.year is not None:
            warnings.append(
                f"disruption[{j}].year = {dis.year} is for critmin paths (a ban in that year "
                "only): critmin uncertainty has no years, and draws the ban in every draw "
                f"with its probability ({dis.probability:g})"
            )
        if dis.probability == 0:
            warnings.append(f"no effect: disruption[{j}] has probability 0: no draw fires it")
        elif j not in hit:
            warnings.append(
                f"no effect: disruption[{j}]: none of the exporters it names sells the "
                "products it covers to the importers it names (no draw can disrupt any trade)"
            )
    warnings += controls_are_no_disruption(scenario, settings.reference, bool(hit))
    warnings += idle_settings(scenario, settings, tasks)
    warnings += [
        f"{rp.baseline.product_id}: {note}"
        for rp, task in zip(resolved, tasks, strict=True)
        for note in cut_off_in_draws(task, rp.baseline.countries, settings.seed, N)
    ]
    warnings += [  # figures overflowed in draws where no buyer is cut off (a cut-off says so)
        f"{pid}: {note}"
        for pid, product in products.items()
        if not any(w.startswith(f"{pid}: cut off:") for w in warnings)
        for note in nonfinite_in_draws(product.draws)
    ]
    warnings += [  # far from the calibration in some draws
        f"{pid}: {note}"
        for pid, product in products.items()
        for note in extreme_in_draws(product.draws, product.point)
    ]
    if N < BAND_DRAWS:
        warnings.append(
            f"{N} draw(s): the 5th and 95th percentiles of fewer than {BAND_DRAWS} draws lie "
            "between the two smallest and the two largest draws (of one draw, they are that "
            "draw): the bands show the draws' range, not a 90% interval; ask for 1,000 draws "
            "or more (-n)"
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
        warnings=warnings,
    )
