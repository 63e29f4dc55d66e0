"""What the web layer asks of the library: cached worlds, safe simulation, overview data,
strict request bodies, key figures and the simulation work queue.

Everything here is framework-free (no FastAPI imports) so it can be tested on its own. A
scenario is turned into markets only by the scenario layer (:mod:`critmin.scenario.resolution`
and, for ``[[chain]]``, :mod:`critmin.scenario.chains`), through
:func:`critmin.simulation.simulate` or :func:`check_resolves`.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from critmin.errors import CritminError, ScenarioError
from critmin.report.format import clean, country_label
from critmin.scenario import Scenario
from critmin.scenario.spec import RepeatedKeyError, unique_keys
from critmin.world import World, load_world, trade_years

T = TypeVar("T")


def machine_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


QUEUE_PER_WORKER = 32
"""Simulations that may wait per worker before the server answers 503."""
MAX_JSON_DEPTH = 32
"""Nesting of arrays and objects in a JSON body (a scenario needs 4)."""
MAX_NUMBER_CHARS = 40
"""Characters of one number in a JSON body (a float needs at most 24)."""


@dataclass(frozen=True)
class Limits:
    """Guards of the web server. Every one turns into a clear 4xx/503, never a 5xx.

    The work queue is sized to the machine: one simulation worker per core, and
    :data:`QUEUE_PER_WORKER` waiting per worker (2 cores: 2 computing, 64 waiting), so a burst
    of tens of simulations is served; beyond that, 503 with ``Retry-After``."""

    max_body_bytes: int = 256 * 1024
    """Request bodies above this get 413."""
    max_products: int = 60
    """Products per simulation request (every bundled product fits: 48)."""
    simulate_timeout_s: float = 60.0
    """A simulation still running after this gets 503 (it finishes in the background)."""
    max_concurrent_simulations: int = field(default_factory=machine_cores)
    """Simulations computed at once (the machine's cores)."""
    max_queued_simulations: int = field(default_factory=lambda: QUEUE_PER_WORKER * machine_cores())
    """Simulations waiting for a worker; beyond this, 503 'busy' with ``Retry-After``."""
    max_data_rows: int = 5000
    """Upper bound of ``limit`` on ``/api/data/{table}``."""
    max_saved_scenarios: int = 10_000
    """Saved scenarios in the database; beyond this, saving gets 409."""
    max_sweep_points: int = 21
    """Points of a parameter sweep on the server (larger sweeps: ``critmin sweep``)."""
    max_uncertainty_draws: int = 2000
    """Monte Carlo draws per uncertainty request (each costs about one simulation of the
    scenario; larger runs belong on the command line: ``critmin uncertainty``)."""

    max_coalition_players: int = 16
    """Players of a coalition analysis (candidates, plus the members when they play): exact
    Shapley values up to :data:`critmin.coalition.EXACT_MAX_PLAYERS` (12: 4,096 coalitions),
    a sampled estimate beyond; more players: ``critmin coalition``."""
    max_coalition_products: int = 10
    """Products of a scenario analysed for coalitions on the server (each coalition solves
    every product)."""
    max_coalition_permutations: int = 200
    """Random orders of a sampled Shapley estimate on the server."""
    coalition_timeout_s: float = 180.0
    """A coalition analysis still running after this gets 503 (it finishes in the background
    and fills the cache, so the same request is then answered at once)."""
    max_paths_draws: int = 200
    """Draws of a yearly-paths request on the server (larger runs: ``critmin paths``)."""
    max_paths_years: int = 30
    """Years of a yearly-paths request on the server (one equilibrium per year, mechanism and
    draw)."""
    paths_timeout_s: float = 180.0
    """A yearly-paths request still running after this gets 503."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class BusyError(CritminError):
    """Too many simulations running or queued (HTTP 503); ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class SimulationTimeout(BusyError):
    """A simulation exceeded the time limit (HTTP 503)."""


class InvalidInputError(CritminError):
    """A query parameter or form value out of range (HTTP 422), naming the field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.problem = message
        super().__init__(f"{field}: {message}")


class UnsupportedMediaError(CritminError):
    """A body in a content type the endpoint does not read (HTTP 415)."""

    field = "Content-Type"


class TooLargeError(CritminError):
    """A request body above the size limit (HTTP 413)."""


class BadRequestError(CritminError):
    """A request the API cannot read: not JSON, not an object (HTTP 400/422)."""

    def __init__(self, message: str, field: str = "<body>") -> None:
        self.field = field
        super().__init__(message)


# ----------------------------------------------------------------------------- data


@lru_cache(maxsize=4)
def world(year: int = 2024) -> World:
    """The baseline for a trade year, loaded once per process."""
    return load_world(year)


def products() -> list[dict[str, Any]]:
    """Bundled products: id, HS6, mineral, stage, name, class, caveat."""
    cols = ["product_id", "hs6", "name", "mineral", "stage", "product_class", "caveat"]
    records: list[dict[str, Any]] = clean(world().products[cols].to_dict("records"))
    return records


def chains() -> list[dict[str, Any]]:
    """The catalog's chains (id, mineral, steps with stage and product ids), or none when the
    catalog has no chains yet (``critmin.catalog.chains``)."""
    import importlib

    read = getattr(importlib.import_module("critmin.catalog"), "chains", None)
    if read is None:
        return []
    return [
        {
            "id": str(chain.id),
            "mineral": str(chain.mineral),
            "steps": [
                {"step": int(st.step), "stage": str(st.stage), "products": list(st.product_ids)}
                for st in chain.steps
            ],
        }
        for chain in read().values()
    ]


def stages() -> list[dict[str, str]]:
    """The production stages in order (``data/curated/stages.csv``): id, name, description."""
    from critmin.catalog import read_curated

    rows = sorted(read_curated("stages"), key=lambda r: int(r["order"]))
    return [{"id": r["stage"], "name": r["name"], "description": r["description"]} for r in rows]


def groups() -> list[dict[str, Any]]:
    """Country groups with their members and citation."""
    out = []
    for gid, sub in world().groups.groupby("group_id"):
        first = sub.iloc[0]
        out.append(
            {
                "id": str(gid),
                "name": str(first["name"]),
                "members": sorted(map(str, sub["country"])),
                "citation": str(first["citation"]),
                "url": str(first["url"]),
                "as_of": str(first["as_of"]),
            }
        )
    return out


def countries() -> list[dict[str, Any]]:
    """Every country in the bundled data, with its display name and groups."""
    w = world()
    member_of: dict[str, list[str]] = {}
    for gid, sub in w.groups.groupby("group_id"):
        for c in sub["country"]:
            member_of.setdefault(str(c), []).append(str(gid))
    return [
        {"iso3": c, "name": country_label(c), "groups": sorted(member_of.get(c, []))}
        for c in w.countries
    ]


def zone_codes(members: str | None, watch: str | None) -> tuple[list[str], list[str], list[str]]:
    """Comma-separated members and watch countries -> their ISO3 codes and the watch codes
    dropped as members, by the rule of ``critmin assess`` and ``simulate``
    (:func:`critmin.scenario.resolution.zone_lists`): a watch group (G7) keeps only its
    countries outside the zone, a watch country named on its own must be outside it, and
    each country or group is named once. Errors name the field."""
    from critmin.scenario.resolution import ZoneListError, zone_lists

    def items(text: str | None) -> list[str]:
        return [s.strip() for s in (text or "").replace(";", ",").split(",") if s.strip()]

    m, w = items(members), items(watch)
    if w and not m:
        raise ScenarioError("watch", "watch countries need a zone: give members too")
    try:
        return zone_lists(world(), m, w)
    except ZoneListError as err:
        raise ScenarioError(err.which, err.problem) from None


def dropped_watch_note(dropped: list[str]) -> list[str]:
    """The note that the watch countries ``dropped`` are members (as ``critmin assess``)."""
    if not dropped:
        return []
    return [
        f"{', '.join(dropped)} are zone members and are not counted as watch countries "
        "(a watch group keeps only its countries outside the zone)"
    ]


@lru_cache(maxsize=64)
def _assess_cached(
    members: tuple[str, ...],
    watch: tuple[str, ...],
    minerals: tuple[str, ...],
    stages: tuple[str, ...],
    year: int,
) -> str:
    from critmin.assessment import Zone, assess

    try:
        zone = Zone(list(members), list(watch)) if members else None
    except CritminError as err:
        raise ScenarioError("watch", str(err)) from None
    records = assess(world(), list(minerals) or None, list(stages) or None, year, zone)
    return json.dumps(clean(records), allow_nan=False)


def assess_records(
    members: list[str], watch: list[str], minerals: list[str], stages: list[str], year: int = 2024
) -> list[dict[str, Any]]:
    """Ranked concentration records (critmin.assess), cached per query."""
    if watch and not members:
        raise ScenarioError("watch", "watch countries need a zone: give members too")
    key = (
        tuple(sorted(members)),
        tuple(sorted(watch)),
        tuple(sorted(minerals)),
        tuple(sorted(stages)),
        year,
    )
    data: list[dict[str, Any]] = json.loads(_assess_cached(*key))
    return data


@lru_cache(maxsize=128)
def supply_shares(mineral: str, stage: str, year: int = 2024) -> dict[str, float]:
    """Each country's share of world supply for one mineral and stage (for the overview map)."""
    from critmin.assessment import stage_supply
    from critmin.metrics import concentration

    supply = stage_supply(world(), mineral, stage, year)
    if supply is None or supply.values.empty:
        return {}
    s = concentration.shares(supply.values).drop(["WLD", "OTH"], errors="ignore").dropna()
    return {str(k): float(v) for k, v in s.items() if math.isfinite(float(v)) and v > 0}


def data_table(table: str, filters: dict[str, Any], limit: int) -> dict[str, Any]:
    """Rows of a bundled table through critmin.assessment.tables (same filters as the CLI)."""
    from critmin.assessment.tables import show_table

    df, title = show_table(table, **filters)
    total = len(df)
    df = df.head(limit)
    rows: list[dict[str, Any]] = json.loads(df.to_json(orient="records", date_format="iso"))
    return {
        "table": table,
        "title": title,
        "total_rows": total,
        "returned_rows": len(rows),
        "truncated": total > len(rows),
        "columns": [str(c) for c in df.columns],
        "rows": clean(rows),
    }


def sources() -> dict[str, Any]:
    """Provenance of every bundled table (``critmin data sources``)."""
    from critmin.world import read_manifest

    manifest = read_manifest()
    tables = {
        name: {
            "rows": entry["rows"],
            "row": entry["row"],
            "provenance": entry["provenance"],
            "transformations": entry["transformations"],
        }
        for name, entry in manifest["tables"].items()
    }
    return {"built": manifest.get("built"), "tables": tables}


# ----------------------------------------------------------------------------- scenarios


def _finite_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(
            f"a number in the body has {len(text)} characters; at most {MAX_NUMBER_CHARS} "
            "are accepted"
        )
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is too large (numbers must be finite)")
    return value


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_NUMBER_CHARS:
        raise ValueError(
            f"a number in the body has {digits} digits; at most {MAX_NUMBER_CHARS} are accepted"
        )
    return int(text)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number in JSON (numbers must be finite)")


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings do not
    count)."""
    depth = deepest = 0
    for m in _BRACKETS.finditer(_JSON_STRING.sub("", text)):
        if m.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


JSON_TYPES = ("application/json",)


def check_json_content_type(content_type: str | None) -> None:
    """Bodies are read as JSON only when they say so (``application/json`` or ``*/*+json``):
    raises :class:`UnsupportedMediaError` (415) for anything else, text/plain included."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json")):
        return
    raise UnsupportedMediaError(
        f"the body must be JSON sent with 'Content-Type: application/json', got "
        f"{media or 'no Content-Type'}"
    )


def parse_json_body(body: bytes, what: str = "the scenario") -> Any:
    """Strict JSON: UTF-8, at most :data:`MAX_JSON_DEPTH` levels of nesting, numbers of at
    most :data:`MAX_NUMBER_CHARS` characters, no NaN/Infinity or numbers that overflow, no key
    twice in one object. ``what``: what the body should hold, for the message when empty."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("the request body is not UTF-8 text") from None
    text = text.removeprefix("\ufeff")  # a byte-order mark is not an error
    if not text.strip():
        raise BadRequestError(f"the request body is empty: send {what} as a JSON object")
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise BadRequestError(
            f"the JSON body is nested {depth} levels deep; at most {MAX_JSON_DEPTH} are "
            "accepted (a scenario needs 4)"
        )
    try:
        return json.loads(
            text,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            parse_constant=_no_constant,
            object_pairs_hook=unique_keys,
        )
    except RepeatedKeyError as err:  # a long key is cut short with every message (error_response)
        raise BadRequestError(
            f"the JSON body gives the key {err.args[0]!r} twice in one object: which value is meant "
            "is ambiguous (a JSON parser would keep the last one and drop the other in "
            "silence); send it once"
        ) from None
    except json.JSONDecodeError as err:
        raise BadRequestError(
            f"the request body is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}"
        ) from None
    except ValueError as err:  # raised by the number hooks above, with a plain message
        raise BadRequestError(f"the request body is not valid JSON: {err}") from None


def web_scenario(data: Any, limits: Limits) -> Scenario:
    """Validate a scenario received over HTTP. On top of :meth:`Scenario.from_dict`: only
    bundled products and no tariff file (no file of the server is read over the web), at most
    ``limits.max_products`` products, and a bundled trade year."""
    if not isinstance(data, dict):
        raise ScenarioError("<root>", f"expected a JSON object, got {type(data).__name__}")
    scenario = Scenario.from_dict(data)
    for k, spec in enumerate(scenario.product):
        if spec.flows is not None:
            raise ScenarioError(
                f"product[{k}].flows",
                "user flow files are not accepted by the web API; use bundled products "
                "(GET /api/products) or run 'critmin simulate' locally",
            )
    if scenario.tariffs is not None and scenario.tariffs.file is not None:
        raise ScenarioError(
            "tariffs.file",
            "tariff files are not read by the web API (it never reads the server's files); "
            "use tariffs.baseline = 'curated' or instruments, or run 'critmin simulate' locally",
        )
    if len(scenario.product) > limits.max_products:
        raise ScenarioError(
            "product",
            f"at most {limits.max_products} products per request, got {len(scenario.product)}",
        )
    steps = {c["id"]: sum(len(st["products"]) for st in c["steps"]) for c in chains()}
    in_chains = sum(steps.get(c.id, 0) for c in scenario.chain if not c.step)
    if in_chains and len(scenario.product) + in_chains > limits.max_products:
        raise ScenarioError(
            "chain",
            f"at most {limits.max_products} products per request, counting every stage "
            f"product of the chains: got {len(scenario.product)} products and {in_chains} in "
            "chains",
        )
    years = trade_years()
    if scenario.year not in years:
        raise ScenarioError(
            "year",
            f"no bundled trade data for {scenario.year}: trade years "
            f"are {', '.join(map(str, years))}",
        )
    return scenario


def run_simulation(scenario: Scenario) -> dict[str, Any]:
    """Simulate on the cached world and return the JSON-safe results contract."""
    from critmin.simulation import simulate

    check_analysis_tables(scenario)
    data: dict[str, Any] = clean(simulate(scenario, world=world(scenario.year)).to_dict(copy=False))
    return data


class Abandoned(CritminError):
    """Work past its request's time limit: the request has had its 503 already."""


WEB_CHUNK_DRAWS = 50
"""Draws per chunk of a Monte Carlo run on the server: the time limit is looked at as each
chunk ends (the results do not depend on it)."""


def run_uncertainty(
    scenario: Scenario,
    draws: int,
    seed: int,
    limit_s: float | None = None,
    stop: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Monte Carlo draws of a scenario in this process, on the cached world: the summary
    (``critmin uncertainty --json``) and the quantile bands of the fan charts. Past
    ``limit_s`` seconds the request has been answered with a 503 (:class:`SimulationRunner`),
    so the draws not yet solved are dropped (:class:`Abandoned`) instead of holding a worker
    for as long as they take. ``stop(done, total)`` may raise :class:`Abandoned` as well
    (:meth:`SimulationRunner.check_stop`: the server is shutting down)."""
    from critmin.uncertainty import fan_data
    from critmin.uncertainty import run_uncertainty as run

    give_up = math.inf if limit_s is None else time.monotonic() + limit_s

    def deadline(done: int, total: int) -> None:
        if time.monotonic() > give_up:
            raise Abandoned(f"abandoned after {limit_s:g} s")
        if stop is not None:
            stop(done, total)

    result = run(
        scenario,
        draws=draws,
        seed=seed,
        workers=1,
        world=world(scenario.year),
        chunk_size=WEB_CHUNK_DRAWS,
        progress=deadline,
    )
    summary = result.to_dict()
    summary.pop("timings", None)  # wall-clock times: not part of a reproducible answer
    data: dict[str, Any] = clean(summary | {"fans": fan_data(result)})
    return data


SWEEPABLE = {
    "price_floor": ("price_usd_per_t", "floor price, USD per tonne"),
    "tariff": ("rate", "tariff rate, a fraction: 0.25 = 25%"),
    "export_quota": ("share_of_baseline", "cap, a fraction of baseline exports"),
}
"""Instrument fields a sweep can vary: instrument type -> (field, what it is and its unit)."""
SWEEPABLE_DEFAULTS = (("sigma", 5.0), ("demand_elasticity", 0.5), ("supply_elasticity", 1.0))


def sweep_parameters(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The parameters of a scenario dict a sweep can vary, each with its path (as
    :func:`critmin.sweep.run_sweep` takes it), a label, its value and a default range."""
    out = []
    for k, pol in enumerate(data.get("policy") or []):
        field_unit = SWEEPABLE.get(str(pol.get("type")))
        if field_unit is None:
            continue
        name, unit = field_unit
        value = float(pol.get(name, 0.0))
        label = f"Instrument {k + 1} ({str(pol['type']).replace('_', ' ')}): {unit}"
        out.append(_sweep_row(f"policy[{k}].{name}", label, value, name != "price_usd_per_t"))
    defaults = data.get("defaults") or {}
    for name, typical in SWEEPABLE_DEFAULTS:
        given = defaults.get(name)
        value = float(given) if isinstance(given, int | float) else typical
        out.append(_sweep_row(f"defaults.{name}", f"Default {name.replace('_', ' ')}", value, True))
    return out


def _sweep_row(path: str, label: str, value: float, fraction_like: bool) -> dict[str, Any]:
    """A sweepable parameter with a range around its value (+-50%, at least +-0.1)."""
    half = max(abs(value) * 0.5, 0.1 if fraction_like else 1.0)
    start = max(0.0, value - half)
    return {"path": path, "label": label, "value": value, "start": start, "stop": value + half}


def run_sweep(
    scenario: Scenario, parameter: str, start: float, stop: float, steps: int
) -> dict[str, Any]:
    """:func:`critmin.sweep.run_sweep` of a validated scenario, JSON-safe."""
    from critmin.sweep import run_sweep as sweep
    from critmin.sweep import values_between

    data: dict[str, Any] = clean(
        sweep(scenario, parameter, values_between(start, stop, steps)).to_dict()
    )
    return data


def run_coalition(
    scenario: Scenario,
    candidates: list[str],
    members_as_players: bool | None,
    sampled: int | None,
    seed: int | None,
    on_fail: str | None,
    cache_dir: Path | None,
    stop: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """:func:`critmin.coalition.run_coalition` in this process (one worker) on the cached
    world, JSON-safe; the scenario's ``[coalition]`` table supplies what is not given (gates,
    scope, objectives; candidates when the list is empty; member players, sampled orders,
    seed and what to do on a failed gate when ``None``), as ``critmin coalition`` reads it.
    ``stop``: called as the work progresses (:meth:`SimulationRunner.check_stop`)."""
    from critmin.coalition import run_coalition as run

    result = run(
        scenario,
        candidates=candidates or None,
        members_as_players=members_as_players,
        sampled=sampled,
        seed=seed,
        on_fail=on_fail,
        world=world(scenario.year),
        workers=1,
        cache_dir=cache_dir if cache_dir is not None else False,
        progress=stop,
    )
    data: dict[str, Any] = clean(result.to_dict())
    return data


def run_paths(
    scenario: Scenario,
    mechanisms: list[str],
    years: str | None,
    draws: int,
    seed: int,
    stop: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """:func:`critmin.paths.run_paths` in this process (one worker) on the cached world,
    JSON-safe; ``mechanisms`` replace those of the scenario's ``[paths]`` table. ``stop``:
    called as the draws are solved (:meth:`SimulationRunner.check_stop`)."""
    from critmin.paths import run_paths as run

    if scenario.paths is not None:
        paths = scenario.paths.model_copy(update={"mechanisms": list(mechanisms)})
        scenario = scenario.model_copy(update={"paths": paths})
    result = run(
        scenario,
        years=years,
        draws=draws,
        seed=seed,
        workers=1,
        world=world(scenario.year),
        progress=stop,
    )
    data: dict[str, Any] = clean(result.to_dict())
    return data


def check_resolves(scenario: Scenario) -> None:
    """Resolve groups, countries, products and chains without solving (raises ScenarioError):
    the single markets by :func:`critmin.scenario.chains.resolve_single_markets` and the
    ``[[chain]]`` entries (stages, a policy's ``stage``, the origin rule) by
    :func:`critmin.scenario.chains.resolve_chains`, as :func:`critmin.simulation.simulate`
    does."""
    from critmin.scenario.chains import resolve_chains, resolve_single_markets

    w, _resolved = resolve_single_markets(scenario, world(scenario.year))
    resolve_chains(scenario, w)
    check_analysis_tables(scenario)


def check_analysis_tables(scenario: Scenario) -> None:
    """The scenario's ``[paths]`` and ``[coalition]`` tables checked as ``critmin paths`` and
    ``critmin coalition`` read them (:func:`critmin.paths.setup.check_paths_table`,
    :func:`critmin.coalition.analysis.check_coalition_table`; raises ScenarioError), so that
    a scenario whose yearly paths or coalition could never run is refused when it is saved or
    run, not later on its paths or coalition page."""
    if scenario.paths is not None:
        from critmin.paths.setup import check_paths_table

        check_paths_table(scenario, world(scenario.year))
    if scenario.coalition is not None:
        from critmin.coalition.analysis import check_coalition_table

        check_coalition_table(scenario, world(scenario.year))


class SimulationRunner:
    """Runs simulations on a thread pool of ``max_concurrent_simulations`` workers with at most
    ``max_queued_simulations`` waiting, and a time limit per request.

    Beyond the queue, :class:`BusyError` (503) carries a ``retry_after`` estimated from the
    work in hand and the mean duration of recent runs. A simulation that times out keeps its
    worker until it finishes (Python threads cannot be killed), so at most
    ``max_concurrent_simulations`` ever compute at once. After :meth:`shutdown`, new work is
    refused (503) and long analyses given :meth:`check_stop` stop at their next step, so the
    server exits promptly instead of waiting for them.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._capacity = limits.max_concurrent_simulations + limits.max_queued_simulations
        self._slots = threading.BoundedSemaphore(self._capacity)
        self._in_hand = 0
        self._mean_seconds = 0.5  # running mean of recent run times (seeded with a typical run)
        self.stopping = threading.Event()

    def check_stop(self, _done: int = 0, _total: int = 0) -> None:
        """A progress callback for long analyses: raises :class:`Abandoned` once the server
        is shutting down."""
        if self.stopping.is_set():
            raise Abandoned("the server is shutting down")

    def retry_after(self) -> int:
        """Seconds until the work in hand is likely done (1-60)."""
        waves = math.ceil(max(1, self._in_hand) / max(1, self.limits.max_concurrent_simulations))
        return int(min(60, max(1, math.ceil(waves * self._mean_seconds))))

    def _timed(self, fn: Callable[..., T], *args: Any) -> T:
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            elapsed = time.perf_counter() - start
            with self._lock:
                self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * elapsed

    def _done(self, future: Any) -> None:
        if future is not None and not future.cancelled():
            future.exception()  # retrieved: an abandoned run's error is not logged at exit
        with self._lock:
            self._in_hand -= 1
        self._slots.release()

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """``fn(*args)`` on a worker, waiting at most ``timeout`` seconds (default: the
        simulation time limit)."""
        limit = self.limits.simulate_timeout_s if timeout is None else timeout
        if self.stopping.is_set():
            raise self._shutting_down()
        if not self._slots.acquire(blocking=False):
            wait = self.retry_after()
            raise BusyError(
                f"the server is busy: {self._capacity} simulations are running or queued, the "
                f"most it holds; your request was not run, retry in {wait} s",
                wait,
            )
        with self._lock:
            self._in_hand += 1
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._pool(), self._timed, fn, *args)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        deadline = loop.time() + limit
        while not future.done():  # looked at 4 times a second: the time limit, shutting down
            if self.stopping.is_set():
                raise self._shutting_down()
            remaining = deadline - loop.time()
            if remaining <= 0:
                wait = self.retry_after()
                raise SimulationTimeout(
                    f"the simulation took longer than {limit:g} s and was "
                    f"abandoned; try fewer products, or retry in {wait} s if the server was busy",
                    wait,
                )
            await asyncio.wait({future}, timeout=min(remaining, 0.25))
        if future.cancelled():  # queued work cancelled by shutdown()
            raise self._shutting_down()
        try:
            return future.result()
        except Abandoned:
            raise self._shutting_down() from None

    @staticmethod
    def _shutting_down() -> BusyError:
        return BusyError("the server is shutting down; your request was not finished, retry in 5 s")

    def _pool(self) -> ThreadPoolExecutor:
        """The worker pool, created on first use (and again after :meth:`shutdown`)."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.limits.max_concurrent_simulations,
                    thread_name_prefix="critmin-sim",
                )
            return self._executor

    def stop(self) -> None:
        """The server is shutting down (Ctrl-C, SIGTERM): the requests waiting here are
        answered 503 within a quarter of a second, new work is refused and long analyses stop
        at their next step (:meth:`check_stop`). Safe in a signal handler: it takes no lock
        but the event's own."""
        self.stopping.set()

    def shutdown(self) -> None:
        """Stop (:meth:`stop`) and drop the workers: queued work is cancelled, running
        simulations finish."""
        self.stop()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
