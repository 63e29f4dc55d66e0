"""Parameter sweeps from the dashboard: one parameter of a saved scenario (or a run) over a
range, the key figures of every point as a chart and a table (:func:`critmin.sweep.run_sweep`,
the function behind ``critmin sweep``). ``GET /sweep?source=&parameter=&start=&stop=&steps=`` is
the page (a shareable address), ``GET /api/sweep`` the same as JSON."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from critmin.errors import ScenarioError
from critmin.figures import sweep_figure
from critmin.web import forms, pagefields, services
from critmin.web.context import WebContext, get_context
from critmin.web.openapi import responses
from critmin.web.responses import FormErrors, json_response, respond
from critmin.web.services import InvalidInputError
from critmin.web.viewdata import column_groups

router = APIRouter()
Ctx = Depends(get_context)
DEFAULT_STEPS = 11
LARGER_SWEEPS = "larger sweeps: `critmin sweep`"


SWEEP_GROUPS: dict[str, tuple[str, str]] = {
    "self_sufficiency": ("Share of zone demand met", "in the zone"),
    "watch_share": ("Share of zone demand met", "by watch countries"),
    "zone_consumer_price_change_pct": ("Consumer prices, change", "zone"),
    "outside_consumer_price_change_pct": ("Consumer prices, change", "outside"),
    "zone_consumer_surplus_change_usd": ("Zone welfare and its parts, change", "consumer surplus"),
    "zone_producer_surplus_change_usd": ("Zone welfare and its parts, change", "producer surplus"),
    "zone_tariff_revenue_change_usd": (
        "Zone welfare and its parts, change",
        "tariff / levy revenue",
    ),
    "zone_quota_rent_usd": ("Zone welfare and its parts, change", "quota rent"),
    "zone_subsidy_cost_usd": ("Zone welfare and its parts, change", "subsidy cost"),
    "zone_welfare_change_usd": ("Zone welfare and its parts, change", "zone welfare"),
    "outside_welfare_change_usd": ("Welfare, change", "outside"),
    "world_welfare_change_usd": ("Welfare, change", "world"),
}
"""(group heading, short column heading) of the sweep table's figures: 13 columns of the key
figures' full names ran to 2,165 px, scrolled sideways on a 1440 px screen; under a heading per
group they fit (the full name is each heading's tooltip and each phone card's label)."""


def sweep_head(sweep: dict[str, Any]) -> list[dict[str, Any]]:
    """The sweep table's column groups in the figures' order: ``{"label", "unit", "columns":
    [{"key", "short", "full"}]}``; a figure without a group is a group of its own."""

    def column(key: str, label: str) -> tuple[str | None, str, dict[str, str]]:
        unit = sweep["figure_units"].get(key) or ""
        shown = {"share": "%", "%": "%"}.get(unit, unit)
        group, short = SWEEP_GROUPS.get(key, (None, label))
        full = f"{label} ({shown})" if shown else label
        return group, shown, {"key": key, "short": short, "full": full}

    return column_groups(column(key, label) for key, label in sweep["figure_labels"].items())


def source_scenario(ctx: WebContext, source: str) -> dict[str, Any]:
    """The scenario dict of a saved scenario id or ``run:<run id>``."""
    if source.startswith("run:"):
        return ctx.store.run(source.removeprefix("run:"))[0]
    return ctx.store.get(source)[1]


def typed_number(text: str | None, name: str) -> float | None:
    """A number typed in the page's range (``15,000`` too), None when blank; else a 422 naming
    the field (a text the browser passes as it is: it was FastAPI's 'Input should be a valid
    number' on an error page)."""
    if text is None or not text.strip():
        return None
    try:
        return forms.typed_number(text, name)
    except ScenarioError as err:
        raise InvalidInputError(name, err.problem) from None


async def sweep_data(
    ctx: WebContext, source: str, parameter: str, start: float, stop: float, steps: int
) -> dict[str, Any]:
    """Run the sweep on the worker pool (at most ``limits.max_sweep_points`` points)."""
    limit = ctx.limits.max_sweep_points
    if not 2 <= steps <= limit:
        raise InvalidInputError(
            "steps",
            f"between 2 and {limit} points on the server, got {steps}; {LARGER_SWEEPS}",
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
    steps: int = Query(DEFAULT_STEPS),
    ctx: WebContext = Ctx,
) -> JSONResponse:
    return json_response(await sweep_data(ctx, source, parameter, start, stop, steps))


@router.get("/sweep", include_in_schema=False)
async def sweep_page(
    request: Request,
    source: str | None = Query(None, max_length=100),
    parameter: str | None = Query(None, max_length=100),
    start: str | None = Query(None, max_length=50),
    stop: str | None = Query(None, max_length=50),
    steps: str | None = Query(None, max_length=50),
    format: Literal["html", "json"] = "html",
    ctx: WebContext = Ctx,
) -> Response:
    entries = [e for e in ctx.entries()]
    params = services.sweep_parameters(source_scenario(ctx, source)) if source else []
    chosen = next((p for p in params if p["path"] == parameter), params[0] if params else None)
    sweep = None
    limit = ctx.limits.max_sweep_points
    fields = pagefields.sweep_fields(parameter or "", start)
    with FormErrors(request, fields) as refused:  # shown next to the field, the form as typed
        low, high = typed_number(start, "start"), typed_number(stop, "stop")
        points = pagefields.whole_number(
            steps, "steps", default=DEFAULT_STEPS, low=2, high=limit, beyond=LARGER_SWEEPS
        )
        if source and chosen and parameter and low is not None and high is not None:
            sweep = await sweep_data(ctx, source, parameter, low, high, points)
    errors = refused.errors
    return respond(
        request,
        sweep,
        "sweep.html.j2",
        status=422 if errors else 200,
        title="Parameter sweep — critmin",
        active="sweep",
        entries=entries,
        source=source or "",
        params=params,
        chosen=chosen,
        start=start if start else (forms.shown_number(chosen["start"]) if chosen else ""),
        stop=stop if stop else (forms.shown_number(chosen["stop"]) if chosen else ""),
        errors=errors,
        steps=str(DEFAULT_STEPS) if steps is None else steps,
        max_steps=limit,
        figures={"chart-sweep": sweep_figure(sweep)} if sweep else {},
        sweep=sweep,
        sweep_head=sweep_head(sweep) if sweep else [],
        json_url=str(request.url.include_query_params(format="json")),
    )
