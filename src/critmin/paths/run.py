"""``critmin paths``: every mechanism's yearly paths over the same draws, in chunks, locally or
on a Dask cluster.

Each draw has its own random stream (:func:`critmin.paths.engine.draw_inputs`), and every
mechanism (and the no-floor reference ``none``) runs on the same draws, so the comparison is on
the same paths. Chunks of draws run on threads of this process (the chain solver's compiled
kernels release the GIL; one BLAS thread; :func:`critmin.parallel.run_in_threads`: Ctrl-C
stops them within one draw's path) or as Dask tasks; a draw's numbers do not depend on where or
with which other draws it ran (bit-identical, tested).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from critmin.errors import CritminError, ScenarioError
from critmin.model.chain_solver import ChainSolution
from critmin.parallel import check_count, dask_client, one_blas_thread, run_in_threads
from critmin.paths.engine import (
    YearSolver,
    central_inputs,
    draw_inputs,
    market_price,
    simulate_path,
    zone_other_use_value,
)
from critmin.paths.inputs import capacity_rules, fit_shocks
from critmin.paths.results import PathsResult
from critmin.paths.setup import PathModel, check_start_year, path_model
from critmin.scenario.no_effect import cut_buyers, listed
from critmin.scenario.paths_settings import PathsSettings
from critmin.scenario.spec import Scenario, load_scenario
from critmin.simulation import EXTREME_PRICE_RATIO, FAR_FROM_BASELINE, far_from_baseline
from critmin.util import check_results_fit
from critmin.world import World, world_for

__all__ = ["DEFAULT_CHUNK", "run_chunk", "run_paths"]

DEFAULT_CHUNK = 25
"""Draws per chunk (a task of a worker process or of Dask)."""
Progress = Callable[[int, int], None]


def run_chunk(
    model: PathModel,
    settings: PathsSettings,
    mechanisms: list[str],
    years: list[int],
    sd: tuple[float, float],
    start: int,
    stop: int,
) -> dict[str, dict[str, np.ndarray]]:
    """Draws ``start..stop-1`` of every mechanism: ``{mech: {key: (B, ...)}}``. A pure
    function of its arguments (the function a Dask worker runs; one BLAS thread in the
    processes it may start)."""
    with one_blas_thread():
        return _draws(model, settings, mechanisms, years, sd, start, stop, None)


def _draws(
    model: PathModel,
    settings: PathsSettings,
    mechanisms: list[str],
    years: list[int],
    sd: tuple[float, float],
    start: int,
    stop: int,
    stopped: Callable[[], bool] | None,
) -> dict[str, dict[str, np.ndarray]]:
    """:func:`run_chunk`'s work (the threads' job: no environment to set, the caller holds
    BLAS to one thread). ``stopped``: looked at before each year of each path; once True the
    chunk raises :class:`critmin.parallel.Cancelled` (Ctrl-C)."""
    T, S, E = len(years), len(model.stages), len(model.events)
    per: dict[str, list[dict[str, np.ndarray]]] = {m: [] for m in mechanisms}
    solver = YearSolver(model)  # the chunk's paths share their stage templates
    for d in range(start, stop):
        z, u = draw_inputs(settings.seed, d, T, S, E)
        for mech in mechanisms:
            per[mech].append(
                simulate_path(
                    model, settings, mech, years, z, u, sd, stopped=stopped, solver=solver
                )
            )
    return {m: {k: np.stack([p[k] for p in rows]) for k in rows[0]} for m, rows in per.items()}


def _settings(scenario: Scenario, **update: Any) -> PathsSettings:
    if scenario.paths is None:
        raise ScenarioError(
            "paths", "critmin paths needs a [paths] table with floor_usd_per_t (docs/paths.md)"
        )
    changes = {k: v for k, v in update.items() if v is not None}
    try:  # validated as the [paths] table is (model_copy(update=...) took draws=2.5 as given)
        return PathsSettings.model_validate(scenario.paths.model_dump() | changes)
    except ValidationError as exc:
        e = exc.errors(include_url=False)[0]
        loc = ".".join(str(x) for x in e["loc"])
        message = str(e["msg"]).removeprefix("Value error, ").removeprefix(f"{loc}: ")
        raise CritminError(f"paths option '{loc}': {message}") from None


BYTES_PER_DRAW_YEAR = 400
"""Peak memory per draw, year and mechanism (the no-floor reference counted): 8 KB per draw
of 11 years and 5 mechanisms in the results, doubled while they are gathered."""


def _check_memory(draws: int, years: int, mechanisms: int) -> None:
    """Paths whose results fit in memory (:func:`critmin.util.check_results_fit`): 10^6
    draws of 11 years need about 20 GB."""
    per_draw = years * mechanisms * BYTES_PER_DRAW_YEAR
    check_results_fit(
        draws * per_draw,
        f"{draws:,} draws of {years} years and {mechanisms - 1} mechanism(s)",
        lambda room: f"{int(room / per_draw):,} draws",
    )


def _cut_off(model: PathModel, label: str, banned: list[np.ndarray]) -> list[str]:
    """``cut off:`` warnings for a disruption that leaves buyers of a stage with no supplier
    at all in the years it fires: their price is infinite and the zone buyers' cost of those
    years undefined (shown as '-'), which a numerical warning alone did not explain."""
    out = []
    for stage, ban in zip(model.stages, banned, strict=True):
        cut = cut_buyers(stage.market.V, ban)
        if cut.any():
            out.append(
                f"cut off: {label}: in the years it fires it leaves {int(cut.sum())} buyer(s) "
                f"of {stage.name} with no supplier ({listed(model.countries, cut)}): their "
                "price is infinite, so the buyers' costs of those years are undefined (shown "
                "as '-', null in JSON)"
            )
    return out


def release_below_floor(
    model: PathModel, settings: PathsSettings, base_year: ChainSolution
) -> list[str]:
    """A note when the offtake's release trigger (``release_price_ratio`` x the base year's
    market price at the floored stage) is below the floor: the agency then releases only
    above the floor (:func:`critmin.paths.engine.simulate_path`), not at prices it is buying
    to lift to the floor. With the defaults (1.5) any floor more than 50% above the market
    does this (the bundled NdPr example's USD 46,000 against a trigger of about 44,000).
    ``base_year``: :meth:`YearSolver.baseline`."""
    if "offtake" not in settings.mechanisms:
        return []
    k = model.floor_stage
    base = market_price(base_year, k, model.info[k].unit_value)
    trigger = settings.release_price_ratio * base
    if not trigger < model.floor_usd_per_t:  # NaN (no producer): nothing to say
        return []
    return [
        f"offtake: the release trigger, release_price_ratio {settings.release_price_ratio:g} "
        f"x the base year's price (USD {base:,.0f}/t) = USD {trigger:,.0f}/t, is below the "
        f"floor (USD {model.floor_usd_per_t:,.0f}/t): the agency releases stock only above the "
        "floor (and on disruptions)"
    ]


def own_extremes(model: PathModel, base_year: ChainSolution) -> list[str]:
    """``extreme:`` warnings for the scenario's own policies, as ``critmin simulate`` gives
    them (:func:`critmin.simulation.far_from_baseline`), for each stage: its base year solved
    without the floor and without disruptions (:meth:`YearSolver.baseline`). Those policies
    apply in every year of every mechanism, so a producer subsidy far above the market puts
    every figure of the paths far from the baseline, whatever the paths' floor. None when
    that solve does not converge (the paths then count draws that did not converge).
    ``base_year``: :meth:`YearSolver.baseline`."""
    sol = base_year
    if not sol.converged:
        return []
    where = "under the scenario's own policies (the base year, without the paths' floor): "
    return [
        note
        for info, st in zip(model.info, sol.stages, strict=True)
        for note in far_from_baseline(
            model.countries, st.P, st.S, st.E > 0, st.R > 0, f"{info.key} {where}"
        )
    ]


READ_BY = {
    "cfd_volume_cap_t": "producer_subsidy",
    "cfd_term_years": "producer_subsidy",
    "offtake_budget_usd": "offtake",
    "stockpile_target_days": "offtake",
    "release_price_ratio": "offtake",
    "release_days": "offtake",
}
"""The ``[paths]`` settings that one mechanism alone reads."""


def idle_mechanisms(settings: PathsSettings) -> list[str]:
    """``no effect:`` warnings for mechanisms compared that their settings leave idle (an
    offtake without a budget or without a stockpile target buys nothing: its figures are all
    zero), and for a mechanism's settings given away from their defaults while that mechanism
    is not compared (``cfd_term_years = 5`` with ``mechanisms = ["variable_levy"]`` changed
    nothing, in silence; a value equal to the default is not told apart from one left out)."""
    defaults = PathsSettings.model_fields
    out = [
        f"no effect: paths.{name} = {getattr(settings, name)!r}: only the {mech} mechanism "
        f"reads it, and the paths compare {', '.join(settings.mechanisms)}"
        for name, mech in READ_BY.items()
        if mech not in settings.mechanisms and getattr(settings, name) != defaults[name].default
    ]
    if "offtake" not in settings.mechanisms:
        return out
    if settings.offtake_budget_usd == 0.0:
        out.append("no effect: paths.offtake_budget_usd = 0: the offtake mechanism buys nothing")
    if settings.stockpile_target_days == 0.0:
        out.append("no effect: paths.stockpile_target_days = 0: the offtake mechanism buys nothing")
    return out


def _same_path(path: dict[str, np.ndarray], none: dict[str, np.ndarray]) -> bool:
    """Whether a mechanism's path is the path without a floor in every series and year, to
    rounding (a price-gap path solves another template: its idle years differ from the path
    without a floor by 1e-8 USD)."""
    return all(
        np.allclose(path[key], none[key], rtol=1e-12, atol=1e-6, equal_nan=True) for key in none
    )


def mechanisms_like_none(central: dict[str, dict[str, np.ndarray]], floor: float) -> list[str]:
    """``no effect:`` warnings for mechanisms whose central path is the path without a floor
    (``central["none"]``) in every series and year: the scenario's own policies, which every
    path keeps, already hold the price where the floor would (a ``price_floor`` policy at or
    above it, say), so the mechanism's figures are all zero and would otherwise read as a
    fault."""
    none = central["none"]
    out = []
    for mech, path in central.items():
        if mech == "none":
            continue
        if _same_path(path, none):
            out.append(
                f"no effect: paths mechanism {mech}: its central path is the one without a "
                f"floor in every year: the scenario's own policies, which apply in every path, "
                f"already do what it would at USD {floor:,.0f}/t (its figures are all 0)"
            )
    return out


def runaway_supply(
    central: dict[str, dict[str, np.ndarray]], years: Sequence[int], stages: Sequence[str]
) -> list[str]:
    """``extreme:`` warnings for mechanisms whose central path's supply at a stage, in some
    year, is more than :data:`critmin.simulation.EXTREME_PRICE_RATIO` times the path without
    a floor's (``central["none"]``, same years, same growth): the capacity rule adds
    ``kappa ln(pt)`` to log capacity every year (:mod:`critmin.paths.engine`), so a received
    price held above the base year's for decades compounds without end (a producer subsidy
    4% above the baseline over 60 years put lithium carbonate's supply at 2,000 times the
    path without it, and its fiscal cost at USD 74 trillion, without a word). One warning
    per mechanism: its first stage and year past the bound, with the largest ratio."""
    none = central["none"]["stage_supply_t"]
    out = []
    for mech, path in central.items():
        if mech == "none":
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(none > 0, path["stage_supply_t"] / none, np.nan)
        past = np.argwhere(ratio > EXTREME_PRICE_RATIO)  # NaN compares False
        if not len(past):
            continue
        t, s = (int(v) for v in past[0])
        out.append(
            f"extreme: paths mechanism {mech}: supply at {stages[s]} in {years[t]} is "
            f"{ratio[t, s]:,.0f} times the path without a floor's (up to "
            f"{float(np.nanmax(ratio)):,.0f} times later): the capacity rule builds capacity "
            "every year the received price stays above the base year's, so a floor held "
            "for decades compounds without end; read its figures as a sign of a floor held "
            "too long, not as a forecast (a producer subsidy ends with paths.cfd_term_years)"
        )
    return out


def offtake_without_buyers(
    model: PathModel, mechanisms: Sequence[str], base_year: ChainSolution
) -> list[str]:
    """A ``no effect:`` warning for an offtake at a stage whose zone buyers have no other use
    (all of their purchases are their own producers' input for the next stage, as lithium
    ores bought by refiners): the agency's purchases are carried as a shift of the zone's
    other use (:mod:`critmin.paths.engine`), so there it buys nothing. ``base_year``:
    :meth:`YearSolver.baseline`."""
    if "offtake" not in mechanisms:
        return []
    k = model.floor_stage
    sol = base_year
    if not sol.converged or zone_other_use_value(sol, k, model.members) > 0:
        return []
    return [
        f"no effect: paths offtake at {model.info[k].key}: the zone's buyers of it are all "
        "producers of the next stage (no other use to carry the agency's purchases): the "
        "offtake mechanism buys nothing"
    ]


def run_paths(
    source: str | Path | dict[str, Any] | Scenario,
    *,
    years: str | None = None,
    draws: int | None = None,
    seed: int | None = None,
    scheduler: Any = None,
    workers: int | None = None,
    chunk: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    world: World | None = None,
) -> PathsResult:
    """Yearly paths of the scenario's floor under every mechanism of its ``[paths]`` table."""
    chunk = check_count(chunk, "chunk size")
    if workers is not None:
        check_count(workers, "workers")
    scenario = load_scenario(source)
    settings = _settings(scenario, years=years, draws=draws, seed=seed)
    y0, y1 = check_start_year(settings)
    year_list = list(range(y0, y1 + 1))
    _check_memory(settings.draws, len(year_list), len(settings.mechanisms) + 1)
    t0 = time.perf_counter()
    world = world_for(world, scenario.year)
    model = path_model(scenario, world, settings)
    k = model.floor_stage
    mk = model.stages[k].market
    R0 = mk.V.sum(axis=1)
    eps_bar = float((R0 * mk.eps).sum() / R0.sum()) if R0.sum() > 0 else 1.0
    fit = fit_shocks(model.mineral, mk.eta, eps_bar)
    notes = list(model.notes)
    if fit is None:
        sd = (0.0, 0.0)
        notes.append(f"no price history for {model.mineral}: the draws carry no price shocks")
    else:
        sd = (fit.sd_demand, fit.sd_output)
    if not settings.shocks:
        notes.append("shocks = false: the draws differ only in their disruptions")
    if model.growth.rate == 0.0 and settings.demand_growth:
        notes.append(f"{model.mineral}: {model.growth.source}")
    for ev in model.events:  # a disruption dated outside the years runs in none of them
        if ev.year is not None and ev.year not in year_list:
            notes.append(
                f"no effect: {ev.label}: its year {ev.year} is outside the paths' years "
                f"{year_list[0]}-{year_list[-1]}"
            )
        elif not any(b.any() for b in ev.banned):
            notes.append(f"no effect: {ev.label}: it removes no trade of the chain's stages")
        elif ev.probability == 0.0:
            notes.append(f"no effect: {ev.label}: no draw fires it (probability 0)")
        else:
            notes += _cut_off(model, ev.label, ev.banned)
    notes += idle_mechanisms(settings)
    base_year = YearSolver(model).baseline()  # solved once for the three checks below
    notes += offtake_without_buyers(model, settings.mechanisms, base_year)
    notes += own_extremes(model, base_year)
    notes += release_below_floor(model, settings, base_year)
    ratio = settings.floor_usd_per_t / model.info[k].unit_value
    if ratio > EXTREME_PRICE_RATIO:
        notes.append(
            f"extreme: the floor USD {settings.floor_usd_per_t:,.0f}/t is {ratio:,.0f} times "
            f"the baseline price (USD {model.info[k].unit_value:,.0f}/t): {FAR_FROM_BASELINE}; "
            "read its figures as a sign of a policy far beyond the market, not as a forecast"
        )
    mechanisms = ["none", *settings.mechanisms]
    t1 = time.perf_counter()
    T, S, E = len(year_list), len(model.stages), len(model.events)
    nworkers = max(1, min(workers or (os.cpu_count() or 1), len(mechanisms)))
    central: dict[str, dict[str, np.ndarray]] = {}

    def central_path(mech: str) -> Callable[[Callable[[], bool]], dict[str, np.ndarray]]:
        # no shocks: a shock's multiplier exp(sd z - sd^2 / 2) is 1 only with sd = 0 (with the
        # fitted sd and z = 0 it was exp(-sd^2 / 2), the median of the mean-one lognormal:
        # lithium's demand and capacity 17% below trend in every year, the base year too, so
        # every quantity and money figure of --draws 0 was 17% short of the calibration's)
        return lambda stopped: simulate_path(
            model, settings, mech, year_list, *central_inputs(T, S, E), (0.0, 0.0), stopped=stopped
        )

    # on threads even here: the calling thread only waits, so Ctrl-C stops the run at once
    run_in_threads(
        [central_path(m) for m in mechanisms],
        nworkers,
        lambda i, path: central.__setitem__(mechanisms[i], path),
    )
    central = {m: central[m] for m in mechanisms}
    t2 = time.perf_counter()
    low = float(np.nanmin(central["none"]["price_usd_per_t"]))
    if settings.floor_usd_per_t < low:
        below = (
            f"the floor (USD {settings.floor_usd_per_t:,.0f}/t) is below the market price in "
            f"every year of the central path (lowest USD {low:,.0f}/t)"
        )
        idle = [m for m in settings.mechanisms if _same_path(central[m], central["none"])]
        if settings.draws == 0 and len(idle) == len(settings.mechanisms):
            # the central path is all there is: every figure is 0, a warning, not a note
            notes.append(
                f"no effect: {below} and there are no draws: no mechanism does anything "
                "(every figure is 0)"
            )
        else:
            notes.append(f"{below}: it binds only where draws push prices down")
    else:
        notes += mechanisms_like_none(central, settings.floor_usd_per_t)
    notes += runaway_supply(central, year_list, [info.key for info in model.info])
    D = settings.draws
    jobs = [(a, min(a + chunk, D)) for a in range(0, D, max(1, chunk))]
    parts: list[dict[str, dict[str, np.ndarray]] | None] = [None] * len(jobs)
    engine, nworkers = "local", 1
    done = 0
    if jobs and scheduler is not None:
        engine = "dask"
        with dask_client(scheduler) as client:
            from distributed import as_completed as dask_completed

            token = uuid.uuid4().hex[:10]
            refs = client.scatter([model, settings], broadcast=True, hash=False)
            futs = [
                client.submit(
                    run_chunk,
                    refs[0],
                    refs[1],
                    mechanisms,
                    year_list,
                    sd,
                    a,
                    b,
                    key=f"critmin-paths-{token}-{i}",
                )
                for i, (a, b) in enumerate(jobs)
            ]
            index = {f.key: i for i, f in enumerate(futs)}
            for fut in dask_completed(futs, loop=client.loop):
                i = index[fut.key]
                parts[i] = fut.result()
                done += jobs[i][1] - jobs[i][0]
                if progress:
                    progress(done, D)
            del futs, refs
            nworkers = len(client.scheduler_info().get("workers", {})) or 1
    elif jobs:
        nworkers = max(1, min(workers or (os.cpu_count() or 1), len(jobs)))

        def draws_job(a: int, b: int) -> Callable[[Callable[[], bool]], dict[str, Any]]:
            return lambda stopped: _draws(model, settings, mechanisms, year_list, sd, a, b, stopped)

        def finished(i: int, part: dict[str, dict[str, np.ndarray]]) -> None:
            nonlocal done
            parts[i] = part
            done += jobs[i][1] - jobs[i][0]
            if progress:
                progress(done, D)

        run_in_threads([draws_job(a, b) for a, b in jobs], nworkers, finished)
    t3 = time.perf_counter()
    raw: dict[str, dict[str, np.ndarray]] = {}
    if jobs:
        ready = [p for p in parts if p is not None]
        raw = {
            m: {key: np.concatenate([p[m][key] for p in ready]) for key in ready[0][m]}
            for m in mechanisms
        }
    solves = D * len(mechanisms) * T
    rules = capacity_rules()
    facts = {
        "mineral": model.mineral,
        "floor_stage": model.info[k].key,
        "floor_usd_per_t": settings.floor_usd_per_t,
        "baseline_price_usd_per_t": model.info[k].unit_value,
        "demand_growth": {
            "annual_rate": model.growth.rate if settings.demand_growth else 0.0,
            "period": model.growth.period,
            "source": model.growth.source,
        },
        "capacity_rule": {
            "formula": "ln A_t = ln A_{t-1} + ln(1+g) + kappa_s ln pt_{t-L_s}",
            "stages": {
                i.key: {
                    "stage": i.stage,
                    "lead_time_years": i.rule.lead_time_years,
                    "lead_time_range_years": list(i.rule.lead_time_range),
                    "adjustment_per_year": i.rule.adjustment_per_year,
                    "source": i.rule.source,
                }
                for i in model.info
            },
            "all_stages": sorted(rules),
        },
        "shock_fit": fit.to_dict() if fit else None,
        "events": [e.label for e in model.events],
        "references": {
            "iea_days_of_net_imports": 90,
            "stockpile_aim_days": 60,
            "source": "IEA 90-day rule (Agreement on an International Energy Program, 1974); "
            "60-day buffer aim of the US Project Vault (2026)",
        },
    }
    return PathsResult(
        scenario=scenario.name,
        market=model.name,
        stages=[i.key for i in model.info],
        years=year_list,
        mechanisms=list(settings.mechanisms),
        raw=raw,
        central=central,
        settings=settings.model_dump(),
        facts=facts,
        notes=notes,
        timing={
            "setup_s": t1 - t0,
            "central_s": t2 - t1,
            "draws_s": t3 - t2,
            "engine": engine,
            "workers": nworkers,
            "solves": solves,
            "draws_per_s": D / (t3 - t2) if D and t3 > t2 else None,
            "ms_per_year_solve": 1000 * (t3 - t2) / solves if solves else None,
        },
    )
