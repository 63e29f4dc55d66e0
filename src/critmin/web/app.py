"""The critmin web app: a JSON API (OpenAPI at ``/openapi.json``) and a dashboard.

Every dashboard page has a JSON twin: ``/overview`` and ``/overview?format=json`` (=
``/api/overview``), ``/designer?format=json`` (= ``/api/designer``), ``/scenarios`` and
``/api/scenarios``, ``/scenarios/{id}?format=json``, ``/sources?format=json``.

Bad input never gives a 5xx: a bad scenario is 422 ``{"error": ..., "field": ...}``, other
user errors 400/404, an oversized body 413, a busy or timed-out simulation 503. Limits are in
:class:`critmin.web.services.Limits`. Run with ``critmin serve``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment
from starlette.exceptions import HTTPException as StarletteHTTPException

from critmin import __version__
from critmin.assessment.tables import TABLE_NAMES
from critmin.errors import (
    CritminError,
    ScenarioError,
)
from critmin.report import render as report_render
from critmin.report.charts import (
    concentration_heatmap,
    supply_map_figure,
    uncertainty_figures,
)
from critmin.report.format import clean
from critmin.report.resources import plotly_js, world_geojson_text
from critmin.web import forms, services
from critmin.web.middleware import BodySizeLimit, first_validation_error
from critmin.web.services import (
    BadRequestError,
    BusyError,
    Limits,
    SimulationRunner,
    SimulationTimeout,
    TooLargeError,
)
from critmin.web.store import NotFoundError, ScenarioStore, default_db_path

log = logging.getLogger("critmin.web")
TEMPLATES = Path(__file__).parent / "templates"
SCENARIO_SCHEMA_REF = {"$ref": "#/components/schemas/Scenario"}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad request (not JSON, or another user error)"},
    413: {"description": "Request body above the size limit"},
    422: {"description": 'Invalid input: `{"error": ..., "field": ...}` names the field'},
}


class StoreFullError(CritminError):
    """The scenario database holds the maximum number of saved scenarios (HTTP 409)."""


@lru_cache(maxsize=1)
def _env() -> Environment:
    return report_render.make_env(TEMPLATES)


# ----------------------------------------------------------------------------- helpers


def wants_json(request: Request) -> bool:
    """API paths and ``?format=json`` get JSON; dashboard pages get HTML."""
    return (
        request.url.path.startswith("/api/")
        or request.url.path == "/openapi.json"
        or request.query_params.get("format") == "json"
    )


def page(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _env().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code)


def error_response(
    request: Request,
    status: int,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_json(request):
        body: dict[str, Any] = {"error": message}
        if field is not None:
            body["field"] = field
        return JSONResponse(body, status_code=status, headers=headers)
    return page(
        "error.html.j2",
        status_code=status,
        title=f"Error {status}",
        active="",
        status=status,
        message=message,
        field=field,
    )


def _split(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").replace(";", ",").split(",") if s.strip()]


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(clean(data), status_code=status)


# ----------------------------------------------------------------------------- the app


def create_app(
    db_path: str | Path | None = None, limits: Limits | None = None, warm_up: bool = False
) -> FastAPI:
    """Build the FastAPI app. ``db_path``: SQLite file for saved scenarios (default
    :func:`critmin.web.store.default_db_path`); ``warm_up`` loads the data and the overview
    in a background thread at startup."""
    limits = limits or Limits()
    store = ScenarioStore(db_path or default_db_path())
    runner = SimulationRunner(limits)

    ready = threading.Event()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if warm_up:
            threading.Thread(
                target=_warm, args=(ready,), name="critmin-warm-up", daemon=True
            ).start()
        else:
            ready.set()
        yield
        runner.shutdown()

    app = FastAPI(
        title="critmin",
        version=__version__,
        description=(
            "Design and stress-test a critical-minerals preferential trade zone on real public "
            "data. `POST /api/simulate` takes a scenario (the schema of the TOML scenario file, "
            "as JSON; bundled products only) and returns the results contract. Errors are "
            '`{"error": message, "field": name}`.'
        ),
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_bytes)
    app.state.store = store
    app.state.limits = limits
    app.state.runner = runner

    # ------------------------------------------------------------------ errors
    @app.exception_handler(CritminError)
    async def critmin_error(request: Request, exc: CritminError) -> Response:
        if isinstance(exc, ScenarioError):
            return error_response(request, 422, str(exc), exc.field)
        if isinstance(exc, BadRequestError):
            return error_response(request, 400, str(exc), exc.field)
        if isinstance(exc, NotFoundError):
            return error_response(request, 404, str(exc))
        if isinstance(exc, BusyError | SimulationTimeout):
            return error_response(request, 503, str(exc), headers={"Retry-After": "5"})
        if isinstance(exc, TooLargeError):
            return error_response(request, 413, str(exc), "<body>")
        if isinstance(exc, StoreFullError):
            return error_response(request, 409, str(exc))
        return error_response(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        field, message = first_validation_error(list(exc.errors()))
        return error_response(request, 422, f"{field}: {message}", field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: "no such page or endpoint", 405: "method not allowed"}.get(
            exc.status_code, str(exc.detail)
        )
        return error_response(
            request, exc.status_code, message, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:  # pragma: no cover
        log.exception("internal error on %s", request.url.path)
        return error_response(
            request,
            500,
            f"internal error ({type(exc).__name__}); this is a bug in critmin, please report it",
        )

    # ------------------------------------------------------------------ helpers using state
    async def read_scenario(request: Request) -> tuple[dict[str, Any], Any]:
        body = await request.body()
        if len(body) > limits.max_body_bytes:
            raise TooLargeError(f"the request body is larger than {limits.max_body_bytes} bytes")
        data = services.parse_json_body(body)
        return data, services.web_scenario(data, limits)

    async def simulate_scenario(scenario: Any) -> dict[str, Any]:
        result: dict[str, Any] = await runner.run(services.run_simulation, scenario)
        return result

    async def uncertainty_of(data: dict[str, Any], draws: int, seed: int) -> dict[str, Any]:
        """Monte Carlo draws of a saved scenario's data (at most ``limits.max_uncertainty_draws``)."""
        if draws > limits.max_uncertainty_draws:
            raise ScenarioError(
                "draws",
                f"at most {limits.max_uncertainty_draws} draws per request on the server, got "
                f"{draws}; run larger analyses with `critmin uncertainty`",
            )
        scenario = services.web_scenario(data, limits)
        result: dict[str, Any] = await runner.run(services.run_uncertainty, scenario, draws, seed)
        return result

    def save(scenario: dict[str, Any], result: dict[str, Any] | None) -> dict[str, Any]:
        if store.count() >= limits.max_saved_scenarios:
            raise StoreFullError(
                f"the database holds {limits.max_saved_scenarios} saved "
                "scenarios, the maximum; delete some first"
            )
        entry = store.save(scenario, result)
        return entry.to_dict() | _links(entry.id)

    # ------------------------------------------------------------------ API: data
    @app.get("/api/health", tags=["meta"], summary="Liveness, version and limits")
    def health() -> dict[str, Any]:
        from critmin.world import trade_years

        return {
            "status": "ok",
            "ready": ready.is_set(),
            "version": __version__,
            "trade_years": trade_years(),
            "saved_scenarios": store.count(),
            "limits": limits.to_dict(),
        }

    @app.get("/api/products", tags=["data"], summary="Bundled products (HS6) and their stage")
    def api_products() -> list[dict[str, Any]]:
        return services.products()

    @app.get("/api/groups", tags=["data"], summary="Country groups with members and citation")
    def api_groups() -> list[dict[str, Any]]:
        return services.groups()

    @app.get("/api/countries", tags=["data"], summary="Countries in the bundled data")
    def api_countries() -> list[dict[str, Any]]:
        return services.countries()

    @app.get("/api/sources", tags=["data"], summary="Provenance of every bundled table")
    def api_sources() -> dict[str, Any]:
        return services.sources()

    @app.get(
        "/api/assess",
        tags=["metrics"],
        summary="Supply concentration by mineral and stage, optionally for a zone",
        responses=ERROR_RESPONSES,
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
    ) -> JSONResponse:
        m = services.parse_codes(members, "members")
        w = services.parse_codes(watch, "watch")
        records = await runner.run(
            services.assess_records, m, w, _split(minerals), _split(stage), year
        )
        return _json(records)

    @app.get(
        "/api/data/{table}",
        tags=["data"],
        summary="Rows of a bundled table, filtered",
        description="Tables: " + ", ".join(TABLE_NAMES) + ". Same filters as `critmin data show`.",
        responses=ERROR_RESPONSES | {404: {"description": "Unknown table"}},
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
        limit: int = Query(
            200,
            ge=1,
            le=limits.max_data_rows,
            description=f"At most this many rows (1-{limits.max_data_rows})",
        ),
    ) -> JSONResponse:
        if table not in TABLE_NAMES:
            raise NotFoundError(f"unknown table {table!r}; tables: {', '.join(TABLE_NAMES)}")
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
        return _json(services.data_table(table, filters, limit))

    # ------------------------------------------------------------------ API: simulate
    @app.post(
        "/api/simulate",
        tags=["model"],
        summary="Simulate a scenario; returns the results contract",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": SCENARIO_SCHEMA_REF}},
            }
        },
        responses=ERROR_RESPONSES | {503: {"description": "Busy or over the time limit"}},
    )
    async def api_simulate(request: Request) -> JSONResponse:
        _data, scenario = await read_scenario(request)
        return _json(await simulate_scenario(scenario))

    # ------------------------------------------------------------------ API: saved scenarios
    @app.get("/api/scenarios", tags=["scenarios"], summary="Saved scenarios, newest first")
    def api_scenarios() -> list[dict[str, Any]]:
        return [e.to_dict() | _links(e.id) for e in store.entries()]

    @app.post(
        "/api/scenarios",
        tags=["scenarios"],
        status_code=201,
        summary="Save a scenario (and, by default, run it and save the result)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": SCENARIO_SCHEMA_REF}},
            }
        },
        responses=ERROR_RESPONSES | {409: {"description": "Database full"}},
    )
    async def api_save(
        request: Request, run: bool = Query(True, description="Run it first")
    ) -> JSONResponse:
        data, scenario = await read_scenario(request)
        if run:
            result: dict[str, Any] | None = await simulate_scenario(scenario)
        else:  # still check that the countries and products resolve
            await runner.run(services.check_resolves, scenario)
            result = None
        return _json(save(clean(data), result), status=201)

    @app.get(
        "/api/scenarios/{scenario_id}",
        tags=["scenarios"],
        summary="A saved scenario",
        responses={404: {"description": "No such scenario"}},
    )
    def api_scenario(scenario_id: str) -> dict[str, Any]:
        entry, scenario = store.get(scenario_id)
        return entry.to_dict() | {"scenario": scenario} | _links(entry.id)

    @app.delete(
        "/api/scenarios/{scenario_id}",
        tags=["scenarios"],
        status_code=204,
        summary="Delete a saved scenario",
        responses={404: {"description": "No such scenario"}},
    )
    def api_delete(scenario_id: str) -> Response:
        store.delete(scenario_id)
        return Response(status_code=204)

    @app.post(
        "/api/scenarios/{scenario_id}/uncertainty",
        tags=["scenarios"],
        summary="Monte Carlo draws of a saved scenario: summary and fan-chart bands",
        responses={
            404: {"description": "No such scenario"},
            422: {"description": "Too many draws"},
            503: {"description": "Busy or over the time limit"},
        },
    )
    async def api_uncertainty(
        scenario_id: str,
        draws: int = Query(500, ge=1, description="Draws (at most the server's limit)"),
        seed: int = Query(0, ge=0, le=2**63 - 1, description="Random seed"),
    ) -> JSONResponse:
        _entry, data = store.get(scenario_id)
        return _json(await uncertainty_of(data, draws, seed))

    @app.get(
        "/api/scenarios/{scenario_id}/result",
        tags=["scenarios"],
        summary="The saved results contract",
        responses={404: {"description": "No result"}},
    )
    def api_result(scenario_id: str) -> JSONResponse:
        return _json(store.result(scenario_id))

    # ------------------------------------------------------------------ overview
    async def overview_data(
        members: str | None, watch: str | None, stage: str | None, map_key: str | None
    ) -> dict[str, Any]:
        m = services.parse_codes(members, "members")
        w = services.parse_codes(watch, "watch")
        stages = _split(stage)
        records = await runner.run(services.assess_records, m, w, [], stages, 2024)
        keys = [f"{r['mineral']}:{r['stage']}" for r in records]
        selected = map_key if map_key in keys else (keys[0] if keys else None)
        shares: dict[str, float] = {}
        if selected:
            mineral, st = selected.split(":", 1)
            shares = await runner.run(services.supply_shares, mineral, st, 2024)
        return {
            "members": m,
            "watch": w,
            "stage": stages,
            "records": records,
            "map": {"selected": selected, "shares": shares},
        }

    @app.get(
        "/api/overview",
        tags=["metrics"],
        summary="The overview page's data: concentration records and the map selection",
        responses=ERROR_RESPONSES,
    )
    async def api_overview(
        members: str | None = Query(None, max_length=2000),
        watch: str | None = Query(None, max_length=2000),
        stage: str | None = Query(None, max_length=200),
        map: str | None = Query(None, max_length=200, description="mineral:stage shown on the map"),
    ) -> JSONResponse:
        return _json(await overview_data(members, watch, stage, map))

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/overview", status_code=307)

    @app.get("/overview", include_in_schema=False)
    async def overview_page(
        members: str | None = Query(None, max_length=2000),
        watch: str | None = Query(None, max_length=2000),
        stage: str | None = Query(None, max_length=200),
        map: str | None = Query(None, max_length=200),
        format: Literal["html", "json"] = "html",
    ) -> Response:
        data = await overview_data(members, watch, stage, map)
        if format == "json":
            return _json(data)
        sel = data["map"]["selected"]
        title = (
            f"{sel.split(':')[0].replace('_', ' ')} — {sel.split(':')[1]} stage: "
            "share of world supply"
            if sel
            else ""
        )
        figures = (
            {
                "chart-hhi": concentration_heatmap(data["records"]),
                "chart-supply-map": supply_map_figure(data["map"]["shares"], title),
            }
            if data["records"]
            else {}
        )
        return page(
            "overview.html.j2",
            title="Overview — critmin",
            active="overview",
            data=data,
            figures=figures,
            geojson=world_geojson_text(),
            q={"members": members or "", "watch": watch or "", "stage": stage or ""},
            map_options=[
                (f"{r['mineral']}:{r['stage']}", f"{r['mineral'].replace('_', ' ')} · {r['stage']}")
                for r in sorted(data["records"], key=lambda r: (r["mineral"], r["stage"]))
            ],
            json_url=_with_format(
                f"/overview?members={quote(members or '')}&watch="
                f"{quote(watch or '')}&stage={quote(stage or '')}"
            ),
        )

    # ------------------------------------------------------------------ designer
    def designer_options() -> dict[str, Any]:
        return {
            "countries": services.countries(),
            "groups": [
                {k: g[k] for k in ("id", "name", "citation")} | {"size": len(g["members"])}
                for g in services.groups()
            ],
            "products": services.products(),
            "policy_types": [t for t, _ in forms.POLICY_TYPES if t],
            "mechanisms": ["variable_levy", "producer_subsidy"],
            "presets": forms.PRESETS,
            "trade_years": [2024, 2022],
            "limits": limits.to_dict(),
            "simulate": "POST /api/simulate with the scenario as JSON; POST /designer with the form",
        }

    def designer_page(
        state: forms.DesignerState,
        status: int = 200,
        error: str | None = None,
        field: str | None = None,
        scenario: dict[str, Any] | None = None,
        results: dict[str, Any] | None = None,
    ) -> HTMLResponse:
        ctx: dict[str, Any] = {}
        if results is not None and scenario is not None:
            ctx = report_render.results_view(scenario, results)
        opts = designer_options()
        return page(
            "designer.html.j2",
            status_code=status,
            title="Zone designer — critmin",
            active="designer",
            state=state,
            opts=opts,
            error=error,
            field=field,
            has_results=results is not None,
            policy_types=forms.POLICY_TYPES,
            preset_labels=forms.PRESET_LABELS,
            policy_slots=state.padded_policies(),
            geojson=world_geojson_text() if results is not None else "",
            **ctx,
        )

    @app.get(
        "/api/designer",
        tags=["meta"],
        summary="What the zone designer offers: countries, groups, products, instruments",
    )
    def api_designer() -> dict[str, Any]:
        return designer_options()

    @app.get("/designer", include_in_schema=False)
    def designer_get(
        preset: str | None = None,
        from_: str | None = Query(None, alias="from"),
        format: Literal["html", "json"] = "html",
    ) -> Response:
        if format == "json":
            return _json(designer_options())
        group_ids = {g["id"] for g in services.groups()}
        if from_:
            _entry, data = store.get(from_)
            state = forms.state_from_scenario(data, group_ids)
        elif preset:
            if preset not in forms.PRESETS:
                raise NotFoundError(
                    f"unknown preset {preset!r}; presets: {', '.join(forms.PRESETS)}"
                )
            state = forms.state_from_scenario(forms.PRESETS[preset], group_ids)
        else:
            state = forms.DesignerState()
        return designer_page(state)

    @app.post("/designer", include_in_schema=False)
    async def designer_post(request: Request, format: Literal["html", "json"] = "html") -> Response:
        body = await request.body()
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=2000)
        except (UnicodeDecodeError, ValueError) as err:
            raise BadRequestError(f"cannot read the form: {err}") from None
        state = forms.state_from_form(form)
        action = (form.get("action") or ["run"])[0]
        try:
            data = forms.scenario_from_state(state)
            scenario = services.web_scenario(data, limits)
            results = await simulate_scenario(scenario)
        except ScenarioError as err:
            if format == "json":
                raise
            return designer_page(state, status=422, error=str(err), field=err.field)
        if action == "save":
            entry = save(data, results)
            if format == "json":
                return _json(entry, status=201)
            return RedirectResponse(f"/scenarios/{entry['id']}?saved=1", status_code=303)
        if format == "json":
            return _json({"scenario": data, "result": results})
        return designer_page(state, scenario=report_render.scenario_dict(scenario), results=results)

    # ------------------------------------------------------------------ saved scenarios pages
    @app.get("/scenarios", include_in_schema=False)
    def scenarios_page(format: Literal["html", "json"] = "html") -> Response:
        entries = [e.to_dict() | _links(e.id) for e in store.entries()]
        if format == "json":
            return _json(entries)
        return page(
            "scenarios.html.j2",
            title="Saved scenarios — critmin",
            active="scenarios",
            entries=entries,
        )

    @app.get("/scenarios/{scenario_id}", include_in_schema=False)
    async def scenario_page(
        scenario_id: str,
        saved: int = 0,
        format: Literal["html", "json"] = "html",
        draws: int = Query(0, ge=0, description="Monte Carlo draws to add (0: none)"),
        seed: int = Query(0, ge=0, le=2**63 - 1),
    ) -> Response:
        entry, data = store.get(scenario_id)
        result = store.result(scenario_id) if entry.has_result else None
        uncertainty = await uncertainty_of(data, draws, seed) if draws else None
        if format == "json":
            return _json(
                entry.to_dict()
                | {"scenario": data, "result": result}
                | ({"uncertainty": uncertainty} if uncertainty else {})
                | _links(entry.id)
            )
        ctx: dict[str, Any] = {}
        if result is not None:
            ctx = report_render.results_view(report_render.scenario_dict(data), result)
            if uncertainty is not None:
                ctx["figures"].update(uncertainty_figures(uncertainty["fans"]))
                ctx["uncertainty"] = uncertainty
        return page(
            "scenario.html.j2",
            title=f"{entry.name} — critmin",
            active="scenarios",
            entry=entry.to_dict() | _links(entry.id),
            just_saved=bool(saved),
            has_results=result is not None,
            geojson=world_geojson_text() if result is not None else "",
            max_draws=limits.max_uncertainty_draws,
            draws=draws or 500,
            seed=seed,
            **ctx,
        )

    @app.get("/scenarios/{scenario_id}/report.html", include_in_schema=False)
    def scenario_report(scenario_id: str) -> HTMLResponse:
        _entry, data = store.get(scenario_id)
        html = report_render.render_report(data, store.result(scenario_id))
        return HTMLResponse(
            html,
            headers={
                "Content-Disposition": f'attachment; filename="critmin-report-{scenario_id}.html"'
            },
        )

    @app.post("/scenarios/{scenario_id}/delete", include_in_schema=False)
    def scenario_delete(scenario_id: str) -> RedirectResponse:
        store.delete(scenario_id)
        return RedirectResponse("/scenarios", status_code=303)

    # ------------------------------------------------------------------ sources
    @app.get("/sources", include_in_schema=False)
    def sources_page(format: Literal["html", "json"] = "html") -> Response:
        data = services.sources()
        if format == "json":
            return _json(data)
        return page(
            "sources.html.j2",
            title="Data sources — critmin",
            active="sources",
            data=data,
            groups=services.groups(),
        )

    # ------------------------------------------------------------------ static assets
    @app.get("/assets/plotly.min.js", include_in_schema=False)
    def asset_plotly() -> Response:
        return Response(
            plotly_js(),
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/assets/world-110m.geojson", include_in_schema=False)
    def asset_geojson() -> Response:
        return Response(
            world_geojson_text(),
            media_type="application/geo+json",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    _install_openapi(app)
    return app


def _links(sid: str) -> dict[str, Any]:
    return {
        "links": {
            "self": f"/api/scenarios/{sid}",
            "result": f"/api/scenarios/{sid}/result",
            "page": f"/scenarios/{sid}",
            "report": f"/scenarios/{sid}/report.html",
        }
    }


def _with_format(url: str) -> str:
    return url + ("&" if "?" in url else "?") + "format=json"


def _install_openapi(app: FastAPI) -> None:
    """Add the scenario schema (from the pydantic model) to the OpenAPI components."""
    from critmin.scenario import Scenario

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        scenario = Scenario.model_json_schema(ref_template="#/components/schemas/{model}")
        defs = scenario.pop("$defs", {})
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs)
        components["Scenario"] = scenario
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _warm(ready: threading.Event) -> None:
    """Load the data and compute the default overview so the first page is fast; then set
    ``ready`` (reported by ``/api/health``)."""
    try:
        services.world(2024)
        services.assess_records([], [], [], [], 2024)
        from critmin.model import warm_up

        warm_up()  # the solver's compiled kernels
    except Exception:  # pragma: no cover - warm-up is best effort
        log.exception("warm-up failed")
    finally:
        ready.set()


def serve(host: str = "127.0.0.1", port: int = 8000, db_path: str | Path | None = None) -> None:
    """Run the dashboard and API with uvicorn (blocking)."""
    import uvicorn

    path = Path(db_path) if db_path else default_db_path()
    app = create_app(path, warm_up=True)
    print(
        f"critmin {__version__}: dashboard http://{host}:{port}/overview · API "
        f"http://{host}:{port}/openapi.json · scenarios in {path}"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


__all__ = ["create_app", "serve"]
