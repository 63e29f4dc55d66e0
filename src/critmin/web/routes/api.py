"""The JSON API: health, bundled data, concentration metrics, simulation, runs and comparison.
Saved scenarios have their own router (:mod:`critmin.web.routes.api_scenarios`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from critmin import __version__
from critmin.assessment.tables import TABLE_NAMES
from critmin.scenario import Scenario
from critmin.web import services
from critmin.web.context import WebContext, get_context
from critmin.web.figures import Side, compare
from critmin.web.openapi import BODY_ERRORS, SCENARIO_BODY, responses
from critmin.web.responses import json_response, run_links
from critmin.web.services import InvalidInputError, TooLargeError
from critmin.web.store import NotFoundError
from critmin.web.viewdata import designer_options, overview_data, split_list

router = APIRouter(prefix="/api")
Ctx = Depends(get_context)


async def read_scenario(request: Request, ctx: WebContext) -> tuple[dict[str, Any], Scenario]:
    """The JSON body as a scenario dict and its validated :class:`Scenario` (415 unless the
    body is sent as JSON; 400 for unreadable JSON; 413 above the size limit; 422 naming the
    field)."""
    services.check_json_content_type(request.headers.get("content-type"))
    body = await request.body()
    if len(body) > ctx.limits.max_body_bytes:
        raise TooLargeError(f"the request body is larger than {ctx.limits.max_body_bytes} bytes")
    data = services.parse_json_body(body)
    return data, services.web_scenario(data, ctx.limits)


# ----------------------------------------------------------------------------- meta and data


@router.get("/health", tags=["meta"], summary="Liveness, version and limits", responses=responses())
def health(ctx: WebContext = Ctx) -> dict[str, Any]:
    from critmin.world import trade_years

    return {
        "status": "ok",
        "ready": ctx.ready.is_set(),
        "version": __version__,
        "trade_years": trade_years(),
        "saved_scenarios": ctx.store.count(),
        "limits": ctx.limits.to_dict(),
    }


@router.get(
    "/products",
    tags=["data"],
    summary="Bundled products (HS6) and their stage",
    responses=responses(),
)
def api_products() -> list[dict[str, Any]]:
    return services.products()


@router.get(
    "/groups",
    tags=["data"],
    summary="Country groups with members and citation",
    responses=responses(),
)
def api_groups() -> list[dict[str, Any]]:
    return services.groups()


@router.get(
    "/countries", tags=["data"], summary="Countries in the bundled data", responses=responses()
)
def api_countries() -> list[dict[str, Any]]:
    return services.countries()


@router.get(
    "/sources", tags=["data"], summary="Provenance of every bundled table", responses=responses()
)
def api_sources() -> dict[str, Any]:
    return services.sources()


@router.get(
    "/designer",
    tags=["meta"],
    summary="What the zone designer offers: countries, groups, products, instruments",
    responses=responses(),
)
def api_designer(ctx: WebContext = Ctx) -> JSONResponse:
    return json_response(designer_options(ctx))


@router.get(
    "/assess",
    tags=["metrics"],
    summary="Supply concentration by mineral and stage, optionally for a zone",
    responses=responses(400, 503),
)
async def api_assess(
    members: str | None = Query(
        None, description="Zone members: ISO3 codes / groups, comma-separated", max_length=2000
    ),
    watch: str | None = Query(
        None, description="Watch countries, comma-separated", max_length=2000
    ),
    minerals: str | None = Query(
        None, description="Mineral ids, comma-separated (default all)", max_length=2000
    ),
    stage: str | None = Query(
        None, description="mine, refine or product (comma-separated)", max_length=200
    ),
    year: int = Query(2024, ge=1900, le=2100, description="Production year"),
    ctx: WebContext = Ctx,
) -> JSONResponse:
    m, w, _dropped = services.zone_codes(members, watch)  # a watch group: outside the zone
    records = await ctx.runner.run(
        services.assess_records, m, w, split_list(minerals), split_list(stage), year
    )
    return json_response(records)


@router.get(
    "/data/{table}",
    tags=["data"],
    summary="Rows of a bundled table, filtered",
    description="Tables: " + ", ".join(TABLE_NAMES) + ". Same filters as `critmin data show`.",
    responses=responses(400, 404),
)
def api_data(
    table: str,
    mineral: str | None = Query(None, max_length=100),
    year: int | None = Query(None, ge=1900, le=2100),
    stage: str | None = Query(None, max_length=50),
    country: str | None = Query(None, max_length=2000),
    product: str | None = Query(None, max_length=100),
    exporter: str | None = Query(None, max_length=2000),
    importer: str | None = Query(None, max_length=2000),
    group: str | None = Query(None, max_length=100),
    all_editions: bool = False,
    limit: int = Query(200, ge=1, description="At most this many rows (1 to the server's limit)"),
    ctx: WebContext = Ctx,
) -> JSONResponse:
    if table not in TABLE_NAMES:
        raise NotFoundError(f"unknown table {table!r}; tables: {', '.join(TABLE_NAMES)}")
    if limit > ctx.limits.max_data_rows:
        raise InvalidInputError(
            "query.limit", f"at most {ctx.limits.max_data_rows} rows per request, got {limit}"
        )
    filters = {
        "mineral": mineral,
        "year": year,
        "stage": stage,
        "country": country,
        "product": product,
        "exporter": exporter,
        "importer": importer,
        "group": group,
        "all_editions": all_editions,
    }
    return json_response(services.data_table(table, filters, limit))


@router.get(
    "/overview",
    tags=["metrics"],
    summary="The overview page's data: concentration records and the map selection",
    responses=responses(400, 503),
)
async def api_overview(
    members: str | None = Query(None, max_length=2000),
    watch: str | None = Query(None, max_length=2000),
    stage: str | None = Query(None, max_length=200),
    map: str | None = Query(None, max_length=200, description="mineral:stage shown on the map"),
    ctx: WebContext = Ctx,
) -> JSONResponse:
    return json_response(await overview_data(ctx, members, watch, stage, map))


# ----------------------------------------------------------------------------- model


@router.post(
    "/simulate",
    tags=["model"],
    summary="Simulate a scenario; returns the results contract",
    openapi_extra=SCENARIO_BODY,
    responses=responses(*BODY_ERRORS, 503),
)
async def api_simulate(request: Request, ctx: WebContext = Ctx) -> JSONResponse:
    _data, scenario = await read_scenario(request, ctx)
    return json_response(await ctx.simulate(scenario))


@router.get(
    "/runs/{run_id}",
    tags=["model"],
    summary="A designer run (shareable address): its scenario and result",
    responses=responses(404),
)
def api_run(run_id: str, ctx: WebContext = Ctx) -> JSONResponse:
    scenario, result = ctx.store.run(run_id)
    return json_response({"id": run_id, "scenario": scenario, "result": result} | run_links(run_id))


def compare_side(ctx: WebContext, ref: str, field: str) -> Side:
    """``baseline``, ``run:<id>`` or a saved scenario id -> one side of a comparison."""
    if ref == "baseline":
        return Side("Baseline (no instrument)", None)
    if ref.startswith("run:"):
        scenario, result = ctx.store.run(ref.removeprefix("run:"))
        return Side(str(scenario.get("name") or ref), result)
    try:
        entry, _data = ctx.store.get(ref)
        return Side(entry.name, ctx.store.result(ref))
    except NotFoundError as err:
        raise NotFoundError(f"{field}: {err}") from None


@router.get(
    "/compare",
    tags=["scenarios"],
    summary="Two saved scenarios (or one and its baseline) side by side, with differences",
    description="`a`, `b`: a saved scenario id, `run:<run id>`, or `baseline` (the other "
    "side's markets with no instrument). Each row: `a`, `b` and `diff` = b - a.",
    responses=responses(404),
)
def api_compare(
    a: str = Query(..., max_length=100),
    b: str = Query("baseline", max_length=100),
    ctx: WebContext = Ctx,
) -> JSONResponse:
    return json_response(comparison(ctx, a, b))


def comparison(ctx: WebContext, a: str, b: str) -> dict[str, Any]:
    """The comparison of two references (see :func:`compare_side`)."""
    if a == "baseline" and b == "baseline":
        raise InvalidInputError("a", "compare a saved scenario with another or with its baseline")
    return compare(compare_side(ctx, a, "a"), compare_side(ctx, b, "b")) | {"refs": [a, b]}
