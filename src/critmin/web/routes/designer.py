"""The zone designer: a form that builds a scenario, runs it and saves it.

- ``GET /designer`` (``?preset=``, ``?from=<saved id>``, ``?run=<run id>``): the form, prefilled;
  with ``run`` also that run's results below it.
- ``POST /designer`` (a browser form): ``action=run`` runs the scenario, keeps the run under its
  shareable address and redirects to ``/designer?run=<id>#results`` (so reload and share are
  safe); ``action=save`` saves it (reusing the run's result when the form is unchanged: the
  model is not run again) and redirects to the saved page; ``action=add`` / ``remove:<i>``
  add or remove an instrument, ``add-shock`` / ``remove-shock:<i>`` a market shock, without
  JavaScript. Errors re-render the form as typed, with the
  message next to the field; a busy server (503) keeps the form and says when to retry.
  ``?format=json`` answers JSON instead.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from critmin.errors import (
    CritminError,
    ScenarioError,
    UnknownProductError,
    each_error,
    raise_refused,
)
from critmin.report.resources import world_geojson_text
from critmin.scenario.spec import Scenario
from critmin.web import formdisruptions, formerrors, forms, services
from critmin.web.context import WebContext, get_context
from critmin.web.formbody import parse_form
from critmin.web.responses import json_response, page, run_links, shorten_values
from critmin.web.resultview import results_context
from critmin.web.services import (
    BusyError,
    InvalidInputError,
)
from critmin.web.store import IdempotencyConflictError, NotFoundError, run_id
from critmin.web.viewdata import designer_options

router = APIRouter(include_in_schema=False)
Ctx = Depends(get_context)
Format = Literal["html", "json"]


def product_names() -> dict[str, str]:
    """Lower-case product name and id -> id (instrument products may be typed either way)."""
    out: dict[str, str] = {}
    for p in services.products():
        out[str(p["name"]).lower()] = str(p["product_id"])
        out[str(p["product_id"]).lower()] = str(p["product_id"])
    return out


def designer_page(
    ctx: WebContext,
    state: forms.DesignerState,
    *,
    status: int = 200,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    field: str | None = None,
    busy: int | None = None,
    run: tuple[str, dict[str, Any], dict[str, Any]] | None = None,
    extra_slots: int = 0,
    extra_shocks: int = 0,
    extra_disruptions: int = 0,
    notice: str | None = None,
) -> Response:
    """The form as ``state`` holds it; ``run``: (run id, scenario, result) shown below it;
    ``busy``: seconds after which to retry (503); ``notice``: a line above the form (an add
    button pressed at its limit)."""
    view: dict[str, Any] = {}
    if run is not None:
        rid, scenario, result = run
        view = results_context(scenario, result)
        view["run_id"] = rid
        view["scenario_paths"] = bool(scenario.get("paths"))
    headers = {"Retry-After": str(busy)} if busy is not None else None
    opts = designer_options(ctx)
    stage_choices = forms.stage_choices(opts["stages"], opts["chains"], opts["products"])
    return page(
        "designer.html.j2",
        status,
        headers,
        title="Zone designer — critmin",
        active="designer",
        state=state,
        opts=opts,
        options=forms.picker_options(
            opts["countries"], opts["groups"], opts["products"], opts["chains"]
        ),
        error=error,
        errors=errors or {},
        field=field,
        busy=busy,
        notice=notice,
        has_results=run is not None,
        policy_types=forms.POLICY_TYPES,
        policy_type_values={t for t, _ in forms.POLICY_TYPES},
        tariff_baselines=forms.TARIFF_BASELINES,
        empty_policy=forms.empty_policy(),
        stage_choices=stage_choices,
        stage_values={v for _, items in stage_choices for v, _ in items},
        origin_rules=forms.ORIGIN_RULES,
        field_label=formerrors.field_label,
        preset_labels=forms.PRESET_LABELS,
        policy_slots=state.padded_policies(extra_slots),
        shock_slots=state.padded_shocks(extra_shocks),
        shock_types=forms.SHOCK_TYPES,
        empty_shock=forms.empty_shock(),
        max_shocks=forms.MAX_SHOCKS,
        disruption_slots=state.padded_disruptions(extra_disruptions),
        max_disruptions=formdisruptions.MAX_DISRUPTIONS,
        max_policies=forms.MAX_POLICIES,
        idempotency_key=secrets.token_hex(8),
        geojson=world_geojson_text() if run is not None else "",
        **view,
    )


def _bundled_ids(data: dict[str, Any]) -> dict[str, Any]:
    """A saved scenario's products named by their bundled ids (:func:`forms.with_bundled_ids`)."""
    world = services.world()

    def bundled_id(code: str) -> str | None:
        try:
            return str(world.product_record(code)["product_id"])
        except UnknownProductError:
            return None

    return forms.with_bundled_ids(data, bundled_id)


def _group_ids() -> set[str]:
    return {g["id"] for g in services.groups()}


@router.get("/designer")
def designer_get(
    request: Request,
    preset: str | None = Query(None, max_length=100),
    from_: str | None = Query(None, alias="from", max_length=100),
    run: str | None = Query(None, max_length=100),
    format: Format = "html",
    ctx: WebContext = Ctx,
) -> Response:
    if run:
        scenario, result = ctx.store.run(run)
        if format == "json":
            return json_response(
                {"id": run, "scenario": scenario, "result": result} | run_links(run)
            )
        state = forms.state_from_scenario(_bundled_ids(scenario), _group_ids())
        return designer_page(ctx, state, run=(run, scenario, result))
    if format == "json":
        return json_response(designer_options(ctx))
    if from_:
        _entry, data = ctx.store.get(from_)
        state = forms.state_from_scenario(_bundled_ids(data), _group_ids())
    elif preset:
        if preset not in forms.PRESETS:
            raise NotFoundError(f"unknown preset {preset!r}; presets: {', '.join(forms.PRESETS)}")
        state = forms.state_from_scenario(forms.PRESETS[preset], _group_ids())
    else:
        state = forms.DesignerState()
    return designer_page(ctx, state)


async def _read_form(request: Request) -> dict[str, list[str]]:
    return parse_form(
        request.headers.get("content-type"),
        await request.body(),
        max_fields=MAX_FORM_FIELDS,
        reader="the designer",
        instead="send scenarios as JSON to POST /api/simulate",
    )


MAX_FORM_FIELDS = 5000
"""Fields a designer form may send (the largest form the page draws has a few hundred)."""


_KNOWN_ACTION = re.compile(
    r"run|save|add|add-shock|add-disruption|remove:\d{1,5}|remove-shock:\d{1,5}"
    r"|remove-disruption:\d{1,5}"
)
"""The values of the form's buttons (``remove:<i>``: the instrument box ``i``)."""


@router.post("/designer")
async def designer_post(
    request: Request, format: Format = "html", ctx: WebContext = Ctx
) -> Response:
    form = await _read_form(request)
    state = forms.state_from_form(form)
    action = (form.get("action") or ["run"])[0]
    if not _KNOWN_ACTION.fullmatch(action):
        error = (
            f"unknown action {action[:40]!r}: the form's buttons send run, save, add, "
            "add-shock, add-disruption, remove:<n>, remove-shock:<n> or remove-disruption:<n>"
        )
        if format == "json":
            raise InvalidInputError("action", error)
        return designer_page(ctx, state, status=422, error=error)
    if format == "json" and action not in ("run", "save"):  # the buttons redraw the form
        raise InvalidInputError(
            "action", f"{action!r} redraws the HTML form; with format=json send run or save"
        )
    if action == "add":
        full = sum(1 for p in state.policies if p.get("type")) >= forms.MAX_POLICIES
        note = f"At most {forms.MAX_POLICIES} instruments can be added here." if full else None
        return designer_page(ctx, state, extra_slots=0 if full else 1, notice=note)
    if action == "add-shock":
        full = sum(1 for s in state.shocks if s.get("type")) >= forms.MAX_SHOCKS
        note = f"At most {forms.MAX_SHOCKS} market shocks can be added here." if full else None
        return designer_page(ctx, state, extra_shocks=0 if full else 1, notice=note)
    if action == "add-disruption":
        full = len(state.padded_disruptions()) >= formdisruptions.MAX_DISRUPTIONS
        note = (
            f"At most {formdisruptions.MAX_DISRUPTIONS} disruptions can be added here."
            if full
            else None
        )
        return designer_page(ctx, state, extra_disruptions=0 if full else 1, notice=note)
    if action.startswith(("remove-disruption:", "remove-shock:", "remove:")):
        kind, _, index = action.partition(":")
        prefix, rows = {
            "remove-disruption": ("disruption", state.disruptions),
            "remove-shock": ("shock", state.shocks),
            "remove": ("policy", state.policies),
        }[kind]
        # the box whose fields carry that index (boxes removed in the browser leave gaps)
        posted = forms.row_indices(form, prefix)
        if not (index.isascii() and index.isdigit() and int(index) in posted):
            return designer_page(ctx, state, notice=f"There is no box {index[:20]!r} to remove.")
        del rows[posted.index(int(index))]
        return designer_page(ctx, state)
    try:
        data, scenario = _form_scenario(state, ctx)
        rid = run_id(data)
        result = _kept_result(ctx, rid, data) if action == "save" else None
        if result is None:
            result = await ctx.simulate(scenario)
            rid = await run_in_threadpool(ctx.store.put_run, data, result)
    except ScenarioError as err:
        if format == "json":
            raise  # 422: the first field as `error` and `field`, all of them as `errors`
        refused = [(e.field, shorten_values(e.problem)) for e in each_error(err)]
        return designer_page(
            ctx,
            state,
            status=422,
            error=shorten_values(str(err)),
            errors=formerrors.form_errors(refused),
            field=err.field,
        )
    except BusyError as err:
        if format == "json":
            raise
        return _busy_page(ctx, state, err)
    if action == "save":
        key = (form.get("idempotency_key") or [""])[0].strip() or None
        try:  # a double-clicked Save stores one scenario
            entry = await run_in_threadpool(ctx.save, data, result, key)
        except IdempotencyConflictError:  # the page's key, reused after going back and editing
            entry = await run_in_threadpool(ctx.save, data, result)
        except BusyError as err:  # the database locked, read-only or full: keep the form
            if format == "json":
                raise
            return _busy_page(ctx, state, err)
        entry.pop("replayed", None)
        if format == "json":
            return json_response(entry, 201)
        return RedirectResponse(f"/scenarios/{entry['id']}?saved=1", status_code=303)
    if format == "json":
        return json_response({"scenario": data, "result": result, "id": rid} | run_links(rid))
    return RedirectResponse(f"/designer?run={rid}#results", status_code=303)


def _form_scenario(state: forms.DesignerState, ctx: WebContext) -> tuple[dict[str, Any], Scenario]:
    """The scenario the form describes, validated for the web (:func:`services.web_scenario`).
    Every refused field is raised at once (a :class:`~critmin.errors.ScenarioErrors` when
    there are several): those the form's reading refuses, then those the scenario model
    refuses among the values that passed."""
    data, refused = forms.read_scenario(state, product_names())
    try:
        scenario = services.web_scenario(data, ctx.limits)
    except ScenarioError as err:
        seen = {e.field for e in refused}  # a field the form refused is missing to the model
        raise_refused(refused + [e for e in each_error(err) if e.field not in seen])
        raise
    except CritminError:
        if not refused:
            raise
    raise_refused(refused)  # the form refused fields the model did not see
    return data, scenario


def _busy_page(ctx: WebContext, state: Any, err: BusyError) -> Response:
    """The form kept, with a countdown to retry when the server is busy or the database
    locked; with the message alone when the database cannot be written (read-only, full)."""
    busy = err.retry_after if getattr(err, "transient", True) else None
    return designer_page(ctx, state, status=503, error=str(err), busy=busy)


def _kept_result(ctx: WebContext, rid: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The result of the run this exact scenario already had (``None`` if there is none)."""
    try:
        scenario, result = ctx.store.run(rid)
    except NotFoundError:
        return None
    return result if scenario == data else None
