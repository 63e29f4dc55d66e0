"""Dashboard pages without a form of their own: the overview and the data sources. Each page
has a JSON twin (``?format=json``) built from the same data by :func:`respond`."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from critmin.report.charts import concentration_heatmap, supply_map_figure
from critmin.report.resources import world_geojson_text
from critmin.web import services
from critmin.web.context import WebContext, get_context
from critmin.web.responses import FormErrors, respond
from critmin.web.viewdata import column_groups, overview_data

router = APIRouter(include_in_schema=False)
Ctx = Depends(get_context)
Format = Literal["html", "json"]

RANKING_COLUMNS: list[tuple[str, str | None, str, str]] = [
    ("mineral", None, "Mineral", "Mineral"),
    ("stage", None, "Stage", "Stage"),
    ("year", None, "Year", "Year"),
    ("hhi_10000", "Concentration of world supply", "HHI", "HHI of world supply (0-10,000)"),
    ("top_supplier", "Concentration of world supply", "top supplier", "Top supplier"),
    ("top_supplier_share", "Concentration of world supply", "its share", "Top supplier's share"),
    ("top3_share", "Concentration of world supply", "top 3", "Top 3 suppliers' share"),
    ("n_for_90", "Concentration of world supply", "n for 90%", "Suppliers needed for 90%"),
    ("coverage", "Concentration of world supply", "coverage", "Coverage (named countries)"),
    ("hhi_wgi_t", "Concentration of world supply", "HHI-WGI-t", "HHI-WGI-t (EU supply risk)"),
    ("zone_supply_share", "Share of world supply", "zone", "Zone share of world supply"),
    ("watch_supply_share", "Share of world supply", "watch", "Watch share of world supply"),
    ("zone_self_sufficiency", "Share of zone demand met", "in the zone", "Zone self-sufficiency"),
    (
        "watch_share",
        "Share of zone demand met",
        "by watch countries",
        "Watch share of zone demand",
    ),
    ("zone_basis", "Zone figures", "basis", "Zone basis"),
    ("zone_coverage", "Zone figures", "measured", "Measured (share of the zone figure)"),
    ("source", None, "Source", "Source"),
]
"""(key, group heading, short heading, full name) of the overview's ranking: with a zone its 17
columns of full names ran to 1,508 px in a 1,138 px card at 1440 px (scrolled sideways); under a
heading per group, short headings that wrap fit (the full name is each heading's tooltip). The
zone's columns (``zone_*``, ``watch_*``) are shown only when a zone is given."""

ZONE_COLUMNS = frozenset(
    {
        "zone_supply_share",
        "watch_supply_share",
        "zone_self_sufficiency",
        "watch_share",
        "zone_basis",
        "zone_coverage",
    }
)


def ranking_head(zone: bool) -> list[dict[str, Any]]:
    """The ranking's column groups in order: ``{"label", "columns": [{"key", "short",
    "full"}]}``; a column without a group (mineral, stage, year, source) is a group of its
    own, without a label (its heading spans both rows)."""
    return column_groups(
        (group, "", {"key": key, "short": short, "full": full})
        for key, group, short, full in RANKING_COLUMNS
        if zone or key not in ZONE_COLUMNS
    )


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
        ranking_head=ranking_head(bool(data["members"])),
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
