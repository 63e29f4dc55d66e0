"""What the web layer asks of the library: cached worlds, safe simulation, overview data.

Everything here is framework-free (no FastAPI imports) so it can be tested on its own.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, TypeVar

from critmin.errors import CritminError, ScenarioError
from critmin.report.format import clean, country_label
from critmin.scenario import Scenario
from critmin.world import World, load_world, trade_years

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """Guards of the web server. Every one turns into a clear 4xx/503, never a 5xx."""

    max_body_bytes: int = 256 * 1024
    """Request bodies above this get 413."""
    max_products: int = 40
    """Products per simulation request (every bundled product fits)."""
    simulate_timeout_s: float = 60.0
    """A simulation still running after this gets 503 (it finishes in the background)."""
    max_concurrent_simulations: int = 2
    """Simulations computed at once (the machine's cores)."""
    max_queued_simulations: int = 8
    """Simulations waiting for a worker; beyond this, 503 'busy'."""
    max_data_rows: int = 5000
    """Upper bound of ``limit`` on ``/api/data/{table}``."""
    max_saved_scenarios: int = 10_000
    """Saved scenarios in the database; beyond this, saving gets 409."""
    max_uncertainty_draws: int = 2000
    """Monte Carlo draws per uncertainty request (each costs about one simulation of the
    scenario; larger runs belong on the command line: ``critmin uncertainty``)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class BusyError(CritminError):
    """Too many simulations running or queued (HTTP 503)."""


class SimulationTimeout(CritminError):
    """A simulation exceeded the time limit (HTTP 503)."""


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


def parse_codes(text: str | None, field: str) -> list[str]:
    """Comma-separated ISO3 codes and group names -> ISO3 codes (errors name the field)."""
    if not text or not text.strip():
        return []
    items = [s.strip() for s in text.replace(";", ",").split(",") if s.strip()]
    try:
        return world().resolve_countries(items)
    except CritminError as err:
        raise ScenarioError(field, str(err)) from None


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
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(body: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no numbers that overflow to infinity."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("the request body is not UTF-8 text") from None
    if not text.strip():
        raise BadRequestError("the request body is empty: send the scenario as a JSON object")
    try:
        return json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except (ValueError, RecursionError) as err:
        raise BadRequestError(f"the request body is not valid JSON: {err}") from None


def web_scenario(data: Any, limits: Limits) -> Scenario:
    """Validate a scenario received over HTTP. On top of :meth:`Scenario.from_dict`: only
    bundled products (user flow files are not read over the web), at most
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
    if len(scenario.product) > limits.max_products:
        raise ScenarioError(
            "product",
            f"at most {limits.max_products} products per request, got {len(scenario.product)}",
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

    data: dict[str, Any] = clean(simulate(scenario, world=world(scenario.year)).to_dict())
    return data


def run_uncertainty(scenario: Scenario, draws: int, seed: int) -> dict[str, Any]:
    """Monte Carlo draws of a scenario in this process, on the cached world: the summary
    (``critmin uncertainty --json``) and the quantile bands of the fan charts."""
    from critmin.uncertainty import fan_data
    from critmin.uncertainty import run_uncertainty as run

    result = run(scenario, draws=draws, seed=seed, workers=1, world=world(scenario.year))
    summary = result.to_dict()
    summary.pop("timings", None)  # wall-clock times: not part of a reproducible answer
    data: dict[str, Any] = clean(summary | {"fans": fan_data(result)})
    return data


def check_resolves(scenario: Scenario) -> None:
    """Resolve groups, countries and products without solving (raises ScenarioError)."""
    from critmin.scenario.resolution import resolve

    resolve(scenario, world(scenario.year))


class SimulationRunner:
    """Runs simulations on a small thread pool with a queue bound and a time limit.

    A simulation that times out keeps its worker until it finishes (Python threads cannot be
    killed), so at most ``max_concurrent_simulations`` ever compute at once.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(
            limits.max_concurrent_simulations + limits.max_queued_simulations
        )

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if not self._slots.acquire(blocking=False):
            raise BusyError(
                "the server is busy: too many simulations are running or queued; "
                "retry in a few seconds"
            )
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._pool(), fn, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _f: self._slots.release())
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.limits.simulate_timeout_s)
        except TimeoutError:
            raise SimulationTimeout(
                f"the simulation took longer than {self.limits.simulate_timeout_s:g} s and was "
                "abandoned; try fewer products"
            ) from None

    def _pool(self) -> ThreadPoolExecutor:
        """The worker pool, created on first use (and again after :meth:`shutdown`)."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.limits.max_concurrent_simulations,
                    thread_name_prefix="critmin-sim",
                )
            return self._executor

    def shutdown(self) -> None:
        """Stop the workers (queued work is cancelled; running work finishes)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
