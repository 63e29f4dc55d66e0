"""Dashboard pages without a form of their own: the overview and the data sources. Each page
has a JSON twin (``?format=json``) built from the same data by :func:`respond`."""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from critmin.report.charts import concentration_heatmap, supply_map_figure
from critmin.report.resources import world_geojson_text
from critmin.web import services
from critmin.web.context import WebContext, get_context
from critmin.web.responses import FormErrors, respond
from critmin.web.viewdata import overview_data

router = APIRouter(include_in_schema=False)
Ctx = Depends(get_context)
Format = Literal["html", "json"]


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/overview", status_code=307)


@router.get("/overview")
async def overview_page(
    request: Request,
    members: str | None = Query(None, max_length=2000),
    watch: str | None = Query(None, max_length=2000),
    stage: str | None = Query(None, max_length=200),
    map: str | None = Query(None, max_length=200),
    format: Format = "html",
    ctx: WebContext = Ctx,
) -> Response:
    data = None
    with FormErrors(request) as refused:  # the field marked as typed
        data = await overview_data(ctx, members, watch, stage, map)
    errors = refused.errors
    if data is None:  # refused: the overview without the zone
        data = await overview_data(ctx, None, None, None, None)
    sel = data["map"]["selected"]
    title = (
        f"{sel.split(':')[0].replace('_', ' ')} — {sel.split(':')[1]} stage: share of world supply"
        if sel
        else ""
    )
    figures = (
        {
            "chart-hhi": concentration_heatmap(data["records"]),
            "chart-supply-map": supply_map_figure(data["map"]["shares"], title),
        }
        if data["records"] and format == "html"
        else {}
    )
    query = f"members={quote(members or '')}&watch={quote(watch or '')}&stage={quote(stage or '')}"
    return respond(
        request,
        data,
        "overview.html.j2",
        status=422 if errors else 200,
        errors=errors,
        title="Overview — critmin",
        active="overview",
        figures=figures,
        geojson=world_geojson_text(),
        q={"members": members or "", "watch": watch or "", "stage": stage or ""},
        map_options=[
            (f"{r['mineral']}:{r['stage']}", f"{r['mineral'].replace('_', ' ')} · {r['stage']}")
            for r in sorted(data["records"], key=lambda r: (r["mineral"], r["stage"]))
        ],
        json_url=f"/overview?{query}&format=json",
    )


@router.get("/sources")
def sources_page(request: Request, format: Format = "html") -> Response:
    return respond(
        request,
        services.sources(),
        "sources.html.j2",
        title="Data sources — critmin",
        active="sources",
        groups=services.groups(),
    )
