"""Yearly paths in the dashboard: a saved scenario's (or a designer run's) price floor over the
years under each financing mechanism, and who pays (:func:`critmin.paths.run_paths`, the
function behind ``critmin paths``; docs/paths.md).

``GET /paths?source=&years=&draws=&seed=&mechanisms=`` is the page (a shareable address: the
expected NPV per mechanism of fiscal cost, levy revenue, zone buyers' cost and producers' gain,
the price and fiscal-cost fans and the "who pays" bar); ``?format=json`` and ``GET /api/paths``
answer the results contract of ``critmin paths --json`` plus ``source``. The run goes to the
simulation workers with its own time limit, bounded in draws and years
(:class:`critmin.web.services.Limits`).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from critmin.figures.paths import paths_figures
from critmin.note_kinds import WARNING_PREFIXES
from critmin.scenario import Scenario
from critmin.scenario.paths_settings import MECHANISMS, PathsSettings, parse_years
from critmin.web import pagefields, services
from critmin.web.context import WebContext, get_context
from critmin.web.openapi import responses
from critmin.web.pagefields import SEED_MAX
from critmin.web.responses import FormErrors, json_response, respond
from critmin.web.routes.coalition import NO_SOURCE, candidate_list
from critmin.web.routes.sweep import source_scenario
from critmin.web.services import InvalidInputError

router = APIRouter()
Ctx = Depends(get_context)
DEFAULT_YEARS = str(PathsSettings.model_fields["years"].default)
"""The years of a ``[paths]`` table that gives none: the schema's default, as in ``critmin paths``."""
DEFAULT_DRAWS = 50
NPV_COLUMNS = (
    ("fiscal_cost_usd", "Fiscal cost"),
    ("levy_revenue_usd", "Levy revenue"),
    ("zone_buyers_cost_usd", "Zone buyers' cost"),
    ("zone_producers_gain_usd", "Zone producers' gain"),
    ("outside_producers_gain_usd", "Outside producers' gain"),
)


def mechanism_list(values: list[str]) -> list[str]:
    """Mechanisms as the query gives them (repeated or comma-separated), once each, in the
    order of :data:`MECHANISMS`; none = all four; an unknown one is 422 naming ``mechanisms``."""
    chosen = [m.lower() for m in candidate_list(values)]
    unknown = [m for m in chosen if m not in MECHANISMS]
    if unknown:
        raise InvalidInputError(
            "mechanisms",
            f"unknown mechanism {unknown[0]!r}; choose from " + ", ".join(MECHANISMS),
        )
    return [m for m in MECHANISMS if m in chosen] or list(MECHANISMS)


def check_bounds(limits: services.Limits, scenario: Scenario, years: str, draws: int) -> None:
    """The server's bounds on one request (422 naming the field): draws and years."""
    if not 0 <= draws <= limits.max_paths_draws:
        raise InvalidInputError(
            "draws",
            f"between 0 (the central path alone) and {limits.max_paths_draws} draws on the "
            f"server, got {draws}; more draws: `critmin paths`",
        )
    try:
        y0, y1 = parse_years(years)
    except ValueError:  # one message with the server's own bound (parse_years allows more)
        raise InvalidInputError(
            "years",
            f"expected FIRST-LAST such as 2025-2035, with 1900 <= first < last <= 2100 and "
            f"at most {limits.max_paths_years} years on the server, got {years!r}",
        ) from None
    if y1 - y0 + 1 > limits.max_paths_years:
        raise InvalidInputError(
            "years",
            f"at most {limits.max_paths_years} years on the server, got {years} "
            f"({y1 - y0 + 1}); longer paths: `critmin paths`",
        )
    if scenario.paths is None:
        raise InvalidInputError(
            "source",
            "this scenario has no [paths] table (the floor, its product and stage; "
            "docs/paths.md): set a floor under Yearly paths in the designer and save it",
        )


def default_years(data: dict[str, Any] | None) -> str:
    """The years of the scenario's ``[paths]`` table, else :data:`DEFAULT_YEARS`."""
    return str(((data or {}).get("paths") or {}).get("years") or DEFAULT_YEARS)


async def paths_data(
    ctx: WebContext,
    source: str,
    years: str | None,
    draws: int,
    seed: int,
    mechanisms: list[str],
) -> dict[str, Any]:
    """Run the paths of a saved scenario or ``run:<id>`` on the worker pool (bounded by
    :func:`check_bounds`, limited to ``limits.paths_timeout_s``)."""
    data = source_scenario(ctx, source)
    scenario = services.web_scenario(data, ctx.limits)
    chosen_years = years or default_years(data)
    check_bounds(ctx.limits, scenario, chosen_years, draws)
    result: dict[str, Any] = await ctx.runner.run(
        services.run_paths,
        scenario,
        mechanisms,
        chosen_years,
        draws,
        seed,
        ctx.runner.check_stop,
        timeout=ctx.limits.paths_timeout_s,
    )
    return result | {"source": source}


@router.get(
    "/api/paths",
    tags=["model"],
    summary="Yearly paths of a saved scenario's (or a run's) price floor per mechanism",
    description="`source`: a saved scenario id or `run:<run id>` with a `[paths]` table; "
    "`years`: e.g. `2025-2035` (default: the table's); `draws`: Monte Carlo draws (0 = the "
    "central path alone); `seed`; `mechanisms`: comma-separated or repeated, of "
    "`variable_levy`, `producer_subsidy`, `price_gap`, `offtake` (default: all four). The "
    "answer is the results contract of `critmin paths --json` plus `source`.",
    responses=responses(400, 404, 503),
)
async def api_paths(
    source: str = Query(..., max_length=100),
    years: str | None = Query(None, max_length=20),
    draws: int = Query(DEFAULT_DRAWS),
    seed: int = Query(0, ge=0, le=SEED_MAX),
    mechanisms: list[str] = Query([], max_length=20),
    ctx: WebContext = Ctx,
) -> JSONResponse:
    data = await paths_data(ctx, source, years, draws, seed, mechanism_list(mechanisms))
    return json_response(data)


def npv_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per mechanism: the expected NPV of each money measure (USD)."""
    return [
        {"mechanism": mech, **{k: entry["npv"][k]["expected"] for k, _ in NPV_COLUMNS}}
        for mech, entry in result["mechanisms"].items()
    ]


@router.get("/paths", include_in_schema=False)
async def paths_page(
    request: Request,
    source: str | None = Query(None, max_length=100),
    years: str | None = Query(None, max_length=20),
    draws: str | None = Query(None, max_length=50),
    seed: str | None = Query(None, max_length=50),
    mechanisms: list[str] = Query([], max_length=20),
    run: bool = False,
    format: Literal["html", "json"] = "html",
    ctx: WebContext = Ctx,
) -> Response:
    scenario = source_scenario(ctx, source) if source else None
    result = None
    chosen: list[str] = [m for m in MECHANISMS if m in mechanisms] or list(MECHANISMS)  # typed
    with FormErrors(request, pagefields.paths_fields) as refused:  # next to the field, as typed
        n_draws = pagefields.whole_number(
            draws,
            "draws",
            default=DEFAULT_DRAWS,
            low=0,
            high=ctx.limits.max_paths_draws,
            beyond="more draws: `critmin paths`",
        )
        n_seed = pagefields.whole_number(seed, "seed", default=0, low=0, high=SEED_MAX)
        chosen = mechanism_list(mechanisms)
        if source and (run or format == "json"):
            result = await paths_data(ctx, source, years, n_draws, n_seed, chosen)
        elif run and format == "html":
            raise InvalidInputError("source", NO_SOURCE)
    errors = refused.errors
    figures = {f"chart-{k}": v for k, v in paths_figures(result).items()} if result else {}
    return respond(
        request,
        result,
        "paths.html.j2",
        status=422 if errors else 200,
        errors=errors,
        title="Yearly paths — critmin",
        active="paths",
        entries=ctx.entries(),
        with_paths=ctx.store.ids_with_table("paths"),
        source=source or "",
        scenario=scenario,
        years=years or default_years(scenario),
        draws=str(DEFAULT_DRAWS) if draws is None else draws,
        seed="0" if seed is None else seed,
        chosen=chosen,
        mechanisms=MECHANISMS,
        limits=ctx.limits,
        result=result,
        rows=npv_rows(result) if result else [],
        columns=NPV_COLUMNS,
        figures=figures,
        json_url=str(request.url.include_query_params(format="json")),
        warning_prefixes=WARNING_PREFIXES,
    )
