"""Parameter sweeps from the dashboard: one parameter of a saved scenario (or a run) over a
range, the key figures of every point as a chart and a table (:func:`critmin.sweep.run_sweep`,
the function behind ``critmin sweep``). ``GET /sweep?source=&parameter=&start=&stop=&steps=`` is
the page (a shareable address), ``GET /api/sweep`` the same as JSON."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from critmin.figures import sweep_figure
from critmin.web import services
from critmin.web.context import WebContext, get_context
from critmin.web.openapi import responses
from critmin.web.responses import json_response, respond
from critmin.web.services import InvalidInputError

router = APIRouter()
Ctx = Depends(get_context)


def source_scenario(ctx: WebContext, source: str) -> dict[str, Any]:
    """The scenario dict of a saved scenario id or ``run:<run id>``."""
    if source.startswith("run:"):
        return ctx.store.run(source.removeprefix("run:"))[0]
    return ctx.store.get(source)[1]


async def sweep_data(
    ctx: WebContext, source: str, parameter: str, start: float, stop: float, steps: int
) -> dict[str, Any]:
    """Run the sweep on the worker pool (at most ``limits.max_sweep_points`` points)."""
    limit = ctx.limits.max_sweep_points
    if not 2 <= steps <= limit:
        raise InvalidInputError(
            "steps",
            f"between 2 and {limit} points on the server, got {steps}; larger sweeps: "
            "`critmin sweep`",
        )
    data = source_scenario(ctx, source)
    allowed = [p["path"] for p in services.sweep_parameters(data)]
    if parameter not in allowed:
        raise InvalidInputError(
            "parameter",
            f"{parameter!r} cannot be swept in this scenario; choose one of " + ", ".join(allowed),
        )
    scenario = services.web_scenario(data, ctx.limits)
    result: dict[str, Any] = await ctx.runner.run(
        services.run_sweep, scenario, parameter, start, stop, steps
    )
    return result


@router.get(
    "/api/sweep",
    tags=["model"],
    summary="Sweep one parameter of a saved scenario (or a run) over a range",
    description="`source`: a saved scenario id or `run:<run id>`; `parameter`: a path such as "
    "`policy[0].price_usd_per_t`, `policy[1].rate`, `defaults.sigma`; `steps` points from "
    "`start` to `stop` (both included). Each point: the key figures (shares as fractions, "
    "`*_pct` in percent, `*_usd` in USD) and each product's summary.",
    responses=responses(400, 404, 503),
)
async def api_sweep(
    source: str = Query(..., max_length=100),
    parameter: str = Query(..., max_length=100),
    start: float = Query(..., allow_inf_nan=False),
    stop: float = Query(..., allow_inf_nan=False),
    steps: int = Query(11),
    ctx: WebContext = Ctx,
) -> JSONResponse:
    return json_response(await sweep_data(ctx, source, parameter, start, stop, steps))


@router.get("/sweep", include_in_schema=False)
async def sweep_page(
    request: Request,
    source: str | None = Query(None, max_length=100),
    parameter: str | None = Query(None, max_length=100),
    start: float | None = Query(None, allow_inf_nan=False),
    stop: float | None = Query(None, allow_inf_nan=False),
    steps: int = Query(11),
    format: Literal["html", "json"] = "html",
    ctx: WebContext = Ctx,
) -> Response:
    entries = [e for e in ctx.entries()]
    params = services.sweep_parameters(source_scenario(ctx, source)) if source else []
    chosen = next((p for p in params if p["path"] == parameter), params[0] if params else None)
    sweep = None
    if source and chosen and parameter and start is not None and stop is not None:
        sweep = await sweep_data(ctx, source, parameter, start, stop, steps)
    return respond(
        request,
        sweep,
        "sweep.html.j2",
        title="Parameter sweep — critmin",
        active="sweep",
        entries=entries,
        source=source or "",
        params=params,
        chosen=chosen,
        start=start if start is not None else (chosen["start"] if chosen else None),
        stop=stop if stop is not None else (chosen["stop"] if chosen else None),
        steps=steps,
        max_steps=ctx.limits.max_sweep_points,
        figures={"chart-sweep": sweep_figure(sweep)} if sweep else {},
        sweep=sweep,
        json_url=str(request.url.include_query_params(format="json")),
    )
