"""Pages of saved scenarios and runs: the list (key figures, tags), one scenario (results,
rename / notes / tags, duplicate, delete, Monte Carlo draws, report download), a shared run
(``/runs/{id}``) and the side-by-side comparison (``/compare?a=&b=``)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from critmin.note_kinds import draw_warnings
from critmin.report import render as report_render
from critmin.report.charts import uncertainty_figures
from critmin.report.resources import world_geojson_text
from critmin.web.context import WebContext, get_context, query_tags
from critmin.web.figures import LIST_FIGURES
from critmin.web.formbody import parse_form
from critmin.web.pagefields import UNCERTAINTY_SEED_MAX, whole_number
from critmin.web.responses import FormErrors, links, respond, run_links
from critmin.web.resultview import controls_twin, results_context
from critmin.web.routes.api import comparison

router = APIRouter(include_in_schema=False)
Ctx = Depends(get_context)
Format = Literal["html", "json"]


@router.get("/scenarios")
def scenarios_page(
    request: Request,
    tag: list[str] | None = Query(None),
    format: Format = "html",
    ctx: WebContext = Ctx,
) -> Response:
    tags = query_tags(tag)
    entries = ctx.entries(tags)
    all_tags = sorted({t for e in (ctx.entries() if tags else entries) for t in e["tags"]})
    return respond(
        request,
        entries,
        "scenarios.html.j2",
        title="Saved scenarios — critmin",
        active="scenarios",
        entries=entries,
        tags=tags,
        all_tags=all_tags,
        list_figures=LIST_FIGURES,
    )


@router.get("/scenarios/{scenario_id}")
async def scenario_page(
    request: Request,
    scenario_id: str,
    saved: int = 0,
    format: Format = "html",
    draws: str | None = Query(
        None, max_length=50, description="Monte Carlo draws (left out: none; 0 is refused)"
    ),
    seed: str | None = Query(None, max_length=50),
    ctx: WebContext = Ctx,
) -> Response:
    entry, data = ctx.store.get(scenario_id)
    result = ctx.store.result(scenario_id) if entry.has_result else None
    uncertainty = None
    with FormErrors(request) as refused:  # the draws form's fields, as typed
        n_draws = whole_number(  # draws=0 in the address showed the page without draws, silently
            draws,
            "draws",
            default=0,
            low=1,
            high=ctx.limits.max_uncertainty_draws,
            beyond="larger runs: `critmin uncertainty`",
        )
        n_seed = whole_number(seed, "seed", default=0, low=0, high=UNCERTAINTY_SEED_MAX)
        if n_draws:
            uncertainty = await ctx.uncertainty(data, n_draws, n_seed)
    twin = (
        entry.to_dict()
        | {"scenario": data, "result": result}
        | ({"uncertainty": uncertainty} if uncertainty else {})
        | controls_twin(result)
        | links(entry.id)
    )
    view: dict[str, Any] = {}
    if result is not None and format == "html":
        view = results_context(data, result)
        if uncertainty is not None:
            view["figures"].update(uncertainty_figures(uncertainty["fans"]))
            view["uncertainty"] = uncertainty
            view["uncertainty_warnings"] = draw_warnings(uncertainty, result)
    others = [e for e in ctx.entries() if e["id"] != entry.id and e["has_result"]]
    return respond(
        request,
        twin,
        "scenario.html.j2",
        title=f"{entry.name} — critmin",
        active="scenarios",
        entry=entry.to_dict() | links(entry.id),
        just_saved=bool(saved),
        has_results=result is not None,
        has_paths=bool(data.get("paths")),
        geojson=world_geojson_text() if result is not None else "",
        status=422 if refused.errors else 200,
        errors=refused.errors,
        max_draws=ctx.limits.max_uncertainty_draws,
        draws="500" if draws is None or draws.strip() == "0" else draws,  # 0: none drawn
        seed="0" if seed is None else seed,
        # the JSON API's call for the draws shown (the form's defaults while it is refused)
        api_draws=500 if refused.errors or not n_draws else n_draws,
        api_seed=0 if refused.errors else n_seed,
        others=others,
        **view,
    )


async def _form(request: Request) -> dict[str, str]:
    """The rename / notes / tags form, read as the designer's is
    (:func:`critmin.web.formbody.parse_form`: 415 for a body that is not an HTML form, 400 for
    one that is not UTF-8): never an empty form applied as "nothing to change", never a name
    saved with replacement characters."""
    form = parse_form(
        request.headers.get("content-type"),
        await request.body(),
        max_fields=50,
        reader="the edit form",
        instead="send the changes as JSON to PATCH /api/scenarios/{id}",
    )
    return {k: v[0] for k, v in form.items()}


@router.post("/scenarios/{scenario_id}/edit")
async def scenario_edit(request: Request, scenario_id: str, ctx: WebContext = Ctx) -> Response:
    form = await _form(request)
    # a field the form did not send stays as it is (a blank one is cleared); names, notes and
    # tags beyond their limits are refused by the store, not cut short
    await run_in_threadpool(  # off the event loop: a write may wait for the database
        ctx.store.update,
        scenario_id,
        name=form.get("name"),
        notes=form.get("notes"),
        tags=form.get("tags"),
        expect_key=form.get("loaded"),  # the form was drawn with: no edit undone in silence
    )
    return RedirectResponse(f"/scenarios/{scenario_id}", status_code=303)


@router.post("/scenarios/{scenario_id}/duplicate")
def scenario_duplicate(scenario_id: str, ctx: WebContext = Ctx) -> RedirectResponse:
    ctx.ensure_room()
    entry = ctx.store.duplicate(scenario_id)
    return RedirectResponse(f"/scenarios/{entry.id}", status_code=303)


@router.post("/scenarios/{scenario_id}/delete")
def scenario_delete(scenario_id: str, ctx: WebContext = Ctx) -> RedirectResponse:
    ctx.store.delete(scenario_id)
    return RedirectResponse("/scenarios", status_code=303)


@router.get("/scenarios/{scenario_id}/report.html")
async def scenario_report(scenario_id: str, ctx: WebContext = Ctx) -> HTMLResponse:
    html = await ctx.runner.run(_report_html, ctx, scenario_id)  # bounded, as exports are
    return HTMLResponse(
        html,
        headers={
            "Content-Disposition": f'attachment; filename="critmin-report-{scenario_id}.html"'
        },
    )


def _report_html(ctx: WebContext, scenario_id: str) -> str:
    _entry, data = ctx.store.get(scenario_id)
    html: str = report_render.render_report(data, ctx.store.result(scenario_id))
    return html


@router.get("/runs/{run_id}")
def run_page(
    request: Request, run_id: str, format: Format = "html", ctx: WebContext = Ctx
) -> Response:
    scenario, result = ctx.store.run(run_id)
    view: dict[str, Any] = {}
    if format == "html":
        view = results_context(scenario, result)
    return respond(
        request,
        {"id": run_id, "scenario": scenario, "result": result}
        | controls_twin(result)
        | run_links(run_id),
        "run.html.j2",
        title=f"{scenario.get('name', 'Run')} — critmin",
        active="designer",
        run_id=run_id,
        has_paths=bool(scenario.get("paths")),
        geojson=world_geojson_text(),
        **view,
    )


@router.get("/compare")
def compare_page(
    request: Request,
    a: str | None = Query(None, max_length=100),
    b: str = Query("baseline", max_length=100),
    format: Format = "html",
    ctx: WebContext = Ctx,
) -> Response:
    entries = [e for e in ctx.entries() if e["has_result"]]
    data = comparison(ctx, a, b) if a else None
    return respond(
        request,
        data,
        "compare.html.j2",
        title="Compare scenarios — critmin",
        active="compare",
        entries=entries,
        a=a or "",
        b=b,
    )
